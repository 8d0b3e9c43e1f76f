/**
 * Relays that carry orderer-to-orderer traffic: one listener per orderer, in front of the port
 * the other orderers dial (the consenter endpoint in the channel configuration, or a DRKPBFT
 * replica's peer port). Each accepted connection is traced to the orderer that dialed it
 * (socket-owner.ts), delayed by the one-way delay between the two orderers' zones in both
 * directions, and counted: bytes between orderers are measured the same way for every ordering
 * service. Order within a connection is kept; bandwidth is not limited. With no plan the relays
 * add no delay and only count.
 */
import net, { type Server, type Socket } from 'node:net';
import { dialerOf } from './socket-owner';
import { delayMs, type WanPlan } from './zones';

export interface RelayLink {
  /** The node the traffic goes to. */
  to: string;
  listenPort: number;
  targetPort: number;
}

/** Bytes that went from one node to another through the relays (both directions of every connection). */
export interface LinkCount {
  from: string;
  to: string;
  bytes: number;
  connections: number;
}

/** Stop reading a side once this much is waiting out its delay, so memory stays bounded. */
const HIGH_WATER = 8 * 1024 * 1024;

/** One direction of a relayed connection: every chunk leaves `delay` ms after it arrived, in order. */
class DelayedPipe {
  private inFlight = 0;
  private blocked = false;

  constructor(
    private readonly source: Socket,
    private readonly sink: Socket,
    private readonly delay: number,
    private readonly count: (bytes: number) => void,
  ) {
    source.on('data', (chunk: Buffer) => this.carry(chunk));
    // The end of the stream travels with the same delay as its data.
    source.once('end', () => this.later(() => sink.end()));
    sink.on('drain', () => this.unblock());
  }

  private later(action: () => void): void {
    if (this.delay === 0) action();
    else setTimeout(action, this.delay);
  }

  private carry(chunk: Buffer): void {
    this.count(chunk.length);
    this.inFlight += chunk.length;
    if (this.inFlight > HIGH_WATER) this.block();
    this.later(() => {
      this.inFlight -= chunk.length;
      if (this.sink.destroyed) return;
      if (!this.sink.write(chunk)) this.block();
      else if (this.inFlight <= HIGH_WATER / 2) this.unblock();
    });
  }

  private block(): void {
    if (this.blocked) return;
    this.blocked = true;
    this.source.pause();
  }

  private unblock(): void {
    if (!this.blocked || this.inFlight > HIGH_WATER / 2 || this.sink.writableNeedDrain) return;
    this.blocked = false;
    this.source.resume();
  }
}

export interface RelaysOptions {
  host: string;
  links: RelayLink[];
  /** Zones and delays; undefined: no delay, counting only. */
  plan?: WanPlan;
  /** The processes that may dial, by pid, with the node each belongs to (read afresh per connection: nodes restart). */
  processes: () => ReadonlyMap<number, string>;
}

export class Relays {
  private readonly servers: Server[] = [];
  private readonly sockets = new Set<Socket>();
  private readonly counts = new Map<string, LinkCount>();

  constructor(private readonly options: RelaysOptions) {}

  async start(): Promise<void> {
    for (const link of this.options.links) {
      const server = net.createServer((socket) => this.accept(link, socket));
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(link.listenPort, this.options.host, () => resolve());
      });
      this.servers.push(server);
    }
  }

  async stop(): Promise<void> {
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(this.servers.map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
  }

  /** Bytes per directed pair of nodes since start; `?` names a dialer that is no known node. */
  links(): LinkCount[] {
    return [...this.counts.values()].map((c) => ({ ...c }));
  }

  private counter(from: string, to: string): LinkCount {
    const key = `${from}>${to}`;
    let count = this.counts.get(key);
    if (count === undefined) {
      count = { from, to, bytes: 0, connections: 0 };
      this.counts.set(key, count);
    }
    return count;
  }

  private accept(link: RelayLink, inbound: Socket): void {
    const from = inbound.remoteAddress !== undefined && inbound.remotePort !== undefined ? dialerOf(inbound.remoteAddress, inbound.remotePort, this.options.processes()) : undefined;
    const delay = delayMs(this.options.plan, from, link.to);
    const there = this.counter(from ?? '?', link.to);
    const back = this.counter(link.to, from ?? '?');
    there.connections++;
    inbound.pause();
    const outbound = net.connect({ host: this.options.host, port: link.targetPort });
    for (const s of [inbound, outbound]) {
      s.setNoDelay(true);
      this.sockets.add(s);
      s.once('close', () => this.sockets.delete(s));
    }
    const fail = () => {
      inbound.destroy();
      outbound.destroy();
    };
    inbound.once('error', fail);
    outbound.once('error', fail);
    // A side that went away closes the other once what it sent has arrived (end() flushes first).
    const closeLater = (other: Socket) => () => (delay === 0 ? other.end() : setTimeout(() => other.end(), delay));
    inbound.once('close', closeLater(outbound));
    outbound.once('close', closeLater(inbound));
    outbound.once('connect', () => {
      new DelayedPipe(inbound, outbound, delay, (n) => (there.bytes += n));
      new DelayedPipe(outbound, inbound, delay, (n) => (back.bytes += n));
      inbound.resume();
    });
  }
}
