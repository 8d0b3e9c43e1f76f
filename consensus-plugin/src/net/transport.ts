/**
 * Replica-to-replica transport: one persistent TCP connection per pair of replicas (the
 * lower id dials, with backoff), Nagle off, length-prefixed frames each carrying the
 * sender's id and one JSON message. A message of COMPRESS_MIN bytes or more travels
 * deflated when that saves at least an eighth (the high bit of the sender id says so):
 * under Fabric a batch is a hundred envelopes that repeat the same certificates, and
 * deflate takes it to about a quarter at ~3 ms per 0.5 MB.
 *
 * Both ends open a connection with a signed hello (sender, receiver, a per-sender increasing
 * stamp), so a connection is bound to the peer that holds the key, and a stale process or a
 * stranger on a configured port is refused. That binding only decides where outbound
 * messages go and which frames are accepted on a connection: the protocol still gets the
 * frame's sender as an untrusted claim and verifies the signatures inside every message.
 *
 * Sends are queued per peer while the connection is down or the socket is not draining
 * (back-pressure); the queue is bounded in bytes and drops the newest message when full.
 * `congested()` tells the owner when to stop taking client requests.
 */
import net, { type Server, type Socket } from 'node:net';
import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { canonical } from '../core/digest';
import type { Authenticator, NodeId } from '../core/types';
import { DEFAULT_MAX_FRAME_BYTES, FrameDecoder } from './framing';

export interface PeerAddress {
  id: NodeId;
  host: string;
  port: number;
}

export interface TransportOptions<M> {
  self: PeerAddress;
  peers: readonly PeerAddress[];
  auth: Authenticator;
  /** A message from `from` (the connection's authenticated peer; the message itself is unverified). */
  onMessage(from: NodeId, message: M): void;
  maxFrameBytes?: number;
  /** Per-peer bound on queued bytes; beyond it new messages to that peer are dropped. */
  maxQueueBytes?: number;
  /** A connected peer with this many bytes waiting makes the transport congested. */
  congestionBytes?: number;
}

export interface TransportStats {
  sentMessages: number;
  sentBytes: number;
  receivedMessages: number;
  receivedBytes: number;
  /** Messages dropped because a peer's queue was full or the message exceeds the frame limit. */
  dropped: number;
  /** Frames refused: unparsable, or naming a sender other than the connection's peer. */
  refused: number;
}

const HELLO_DOMAIN = 'drkpbft/net/hello/v1';
const HELLO_TIMEOUT_MS = 5_000;
/** A hello stamped further than this from the receiver's clock is refused (bounds replays to a restarted process). */
const HELLO_MAX_SKEW_MS = 30_000;
const BACKOFF_MIN_MS = 20;
const BACKOFF_MAX_MS = 1_000;

interface Hello {
  from: NodeId;
  to: NodeId;
  stamp: number;
  signature: string;
}

/** A FIFO of frames that does not shift the array on every pop. */
class FrameQueue {
  private items: Buffer[] = [];
  private head = 0;
  bytes = 0;

  get length(): number {
    return this.items.length - this.head;
  }
  push(frame: Buffer): void {
    this.items.push(frame);
    this.bytes += frame.length;
  }
  shift(): Buffer | undefined {
    const frame = this.items[this.head];
    if (frame === undefined) return undefined;
    this.head++;
    this.bytes -= frame.length;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return frame;
  }
}

interface Link {
  address: PeerAddress;
  socket?: Socket;
  /** Hellos exchanged on `socket`: frames may flow. */
  open: boolean;
  /** The socket refused a write; wait for 'drain'. */
  blocked: boolean;
  queue: FrameQueue;
  /** Highest hello stamp accepted from this peer (replayed hellos are refused). */
  lastStamp: number;
  backoffMs: number;
  reconnect?: NodeJS.Timeout;
}

/** Messages at least this long (JSON bytes) are deflated when that pays. */
const COMPRESS_MIN = 16 * 1024;
/** Set in the sender id of a frame whose message is deflated. */
const DEFLATED = 0x8000_0000;

/** A peer frame's body: the sender id (uint32, DEFLATED set when compressed), then the message as JSON, raw or deflated. */
function peerFrame(from: NodeId, json: string): Buffer {
  let payload = Buffer.from(json);
  let id = from;
  if (payload.length >= COMPRESS_MIN) {
    const deflated = deflateRawSync(payload, { level: 1 });
    if (deflated.length <= payload.length - payload.length / 8) [payload, id] = [deflated, (from | DEFLATED) >>> 0];
  }
  const frame = Buffer.allocUnsafe(8 + payload.length);
  frame.writeUInt32BE(4 + payload.length, 0);
  frame.writeUInt32BE(id, 4);
  payload.copy(frame, 8);
  return frame;
}

export class PeerTransport<M> {
  private readonly links = new Map<NodeId, Link>();
  private readonly server: Server;
  /** Frames per message object: a broadcast is serialized once, not once per peer. */
  private readonly frames = new WeakMap<object, Buffer>();
  private readonly maxFrameBytes: number;
  private readonly maxQueueBytes: number;
  private readonly congestionBytes: number;
  private lastStampSent = 0;
  private closed = false;
  readonly stats: TransportStats = { sentMessages: 0, sentBytes: 0, receivedMessages: 0, receivedBytes: 0, dropped: 0, refused: 0 };

  constructor(private readonly options: TransportOptions<M>) {
    this.maxFrameBytes = options.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES;
    this.maxQueueBytes = options.maxQueueBytes ?? 16 * 1024 * 1024;
    this.congestionBytes = options.congestionBytes ?? 4 * 1024 * 1024;
    for (const address of options.peers) {
      if (address.id === options.self.id) continue;
      this.links.set(address.id, { address, open: false, blocked: false, queue: new FrameQueue(), lastStamp: 0, backoffMs: BACKOFF_MIN_MS });
    }
    this.server = net.createServer((socket) => this.accept(socket));
  }

  /** Listens on the own address, then starts dialing the higher-numbered peers. */
  async start(): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(this.options.self.port, this.options.self.host, () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    for (const link of this.links.values()) if (link.address.id > this.options.self.id) this.dial(link);
  }

  /** Queues `message` for `to`; sends at once when the connection is open and draining. */
  send(to: NodeId, message: M): void {
    const link = this.links.get(to);
    if (link === undefined || this.closed) return;
    const frame = this.frameFor(message);
    // The receiver would refuse an oversize message (inflated, if deflated): drop it instead.
    if (frame === undefined) this.stats.dropped++;
    else if (link.open && !link.blocked && link.queue.length === 0) this.write(link, frame);
    else if (link.queue.bytes + frame.length <= this.maxQueueBytes) link.queue.push(frame);
    else this.stats.dropped++;
  }

  /** Some open connection has a backlog beyond the congestion bound. */
  congested(): boolean {
    for (const link of this.links.values()) {
      if (link.open && link.socket !== undefined && link.queue.bytes + link.socket.writableLength > this.congestionBytes) return true;
    }
    return false;
  }

  /** Peers with an open (hello-authenticated) connection. */
  connectedPeers(): NodeId[] {
    return [...this.links.values()].filter((l) => l.open).map((l) => l.address.id);
  }

  async close(): Promise<void> {
    this.closed = true;
    for (const link of this.links.values()) {
      clearTimeout(link.reconnect);
      link.socket?.destroy();
    }
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  /** The frame for `message`, made once per message object; undefined when its JSON exceeds the frame limit. */
  private frameFor(message: M): Buffer | undefined {
    const cacheable = typeof message === 'object' && message !== null;
    let frame = cacheable ? this.frames.get(message) : undefined;
    if (frame === undefined) {
      const json = JSON.stringify(message);
      if (Buffer.byteLength(json) + 4 > this.maxFrameBytes) return undefined;
      frame = peerFrame(this.options.self.id, json);
      if (cacheable) this.frames.set(message, frame);
    }
    return frame;
  }

  private write(link: Link, frame: Buffer): void {
    this.stats.sentMessages++;
    this.stats.sentBytes += frame.length;
    if (!link.socket!.write(frame)) link.blocked = true;
  }

  private flush(link: Link): void {
    while (link.open && !link.blocked) {
      const frame = link.queue.shift();
      if (frame === undefined) return;
      this.write(link, frame);
    }
  }

  private dial(link: Link): void {
    if (this.closed) return;
    const socket = net.connect({ host: link.address.host, port: link.address.port, noDelay: true });
    socket.once('connect', () => socket.write(this.hello(link.address.id)));
    this.attach(link.address.id, socket, () => {
      link.backoffMs = BACKOFF_MIN_MS;
      return true;
    });
    // Registered after attach's: by now the link has let go of this socket.
    socket.once('close', () => {
      if (this.closed) return;
      link.reconnect = setTimeout(() => this.dial(link), link.backoffMs);
      link.backoffMs = Math.min(BACKOFF_MAX_MS, link.backoffMs * 2);
    });
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    this.attach(undefined, socket, (hello) => {
      const link = this.links.get(hello.from);
      if (link === undefined || hello.from > this.options.self.id) return false;
      socket.write(this.hello(hello.from));
      return true;
    });
  }

  /**
   * Reads frames from `socket`: first the peer's hello (checked by `admit` after the signature
   * and stamp), which binds the socket to that peer's link, then messages.
   */
  private attach(dialed: NodeId | undefined, socket: Socket, admit: (hello: Hello) => boolean): void {
    const decoder = new FrameDecoder(this.maxFrameBytes);
    let link: Link | undefined;
    const helloTimer = setTimeout(() => socket.destroy(), HELLO_TIMEOUT_MS);
    socket.on('data', (chunk: Buffer) => {
      let frames: Buffer[];
      try {
        frames = decoder.push(chunk);
      } catch {
        socket.destroy(); // an oversize frame: the stream cannot be trusted past it
        return;
      }
      for (const body of frames) {
        if (link === undefined) {
          link = this.openWith(body, dialed, socket, admit);
          clearTimeout(helloTimer);
          if (link === undefined) return void socket.destroy();
        } else this.receive(link, body);
      }
    });
    socket.on('error', () => socket.destroy());
    socket.on('drain', () => {
      if (link !== undefined && link.socket === socket) {
        link.blocked = false;
        this.flush(link);
      }
    });
    socket.once('close', () => {
      clearTimeout(helloTimer);
      if (link !== undefined && link.socket === socket) {
        link.open = false;
        link.blocked = false;
        link.socket = undefined;
      }
    });
  }

  private openWith(body: Buffer, dialed: NodeId | undefined, socket: Socket, admit: (hello: Hello) => boolean): Link | undefined {
    const hello = this.parseHello(body);
    if (hello === undefined || (dialed !== undefined && hello.from !== dialed)) return undefined;
    const link = this.links.get(hello.from);
    if (link === undefined || hello.stamp <= link.lastStamp || !admit(hello)) return undefined;
    link.lastStamp = hello.stamp;
    if (link.socket !== undefined && link.socket !== socket) link.socket.destroy(); // the peer reconnected
    link.socket = socket;
    link.open = true;
    link.blocked = false;
    this.flush(link);
    return link;
  }

  private receive(link: Link, body: Buffer): void {
    this.stats.receivedBytes += body.length + 4;
    const id = body.length < 4 ? -1 : body.readUInt32BE(0);
    if ((id & ~DEFLATED) >>> 0 !== link.address.id) {
      this.stats.refused++;
      return;
    }
    let message: M;
    try {
      // Inflated no further than a raw frame could be: a small frame cannot become a huge message.
      const json = id & DEFLATED ? inflateRawSync(body.subarray(4), { maxOutputLength: this.maxFrameBytes - 4 }) : body.subarray(4);
      message = JSON.parse(json.toString('utf8')) as M;
    } catch {
      this.stats.refused++;
      return;
    }
    this.stats.receivedMessages++;
    this.options.onMessage(link.address.id, message);
  }

  private hello(to: NodeId): Buffer {
    // Increasing even across restarts within a millisecond: the receiver refuses stamps it has seen.
    const stamp = Math.max(Date.now(), this.lastStampSent + 1);
    this.lastStampSent = stamp;
    const from = this.options.self.id;
    const hello: Hello = { from, to, stamp, signature: this.options.auth.sign(helloPayload(from, to, stamp)) };
    return peerFrame(from, JSON.stringify(hello));
  }

  private parseHello(body: Buffer): Hello | undefined {
    try {
      const hello = JSON.parse(body.toString('utf8', 4)) as Partial<Hello>;
      const { from, to, stamp, signature } = hello;
      if (typeof from !== 'number' || typeof stamp !== 'number' || typeof signature !== 'string') return undefined;
      if (Math.abs(Date.now() - stamp) > HELLO_MAX_SKEW_MS) return undefined;
      if (to !== this.options.self.id || body.readUInt32BE(0) !== from) return undefined;
      if (!this.options.auth.verify(from, helloPayload(from, to, stamp), signature)) return undefined;
      return { from, to, stamp, signature };
    } catch {
      return undefined;
    }
  }
}

const helloPayload = (from: NodeId, to: NodeId, stamp: number): string => canonical({ domain: HELLO_DOMAIN, from, to, stamp });
