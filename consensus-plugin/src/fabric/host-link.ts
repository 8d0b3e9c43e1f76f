/**
 * The Fabric host link: how the Go chain inside Fabric's orderer (consensus-plugin/
 * fabric-orderer/drkpbft) uses this replica. One loopback TCP connection, frames of JSON
 * (`net/framing.ts`); docs/ordering.md, "The host link", has the protocol.
 *
 * - `order`: a Fabric envelope becomes the request (client `fabric:<tx id>`, timestamp 1),
 *   so the protocol's dedup by (client, timestamp) orders each tx id at most once however
 *   many orderers the gateway sent it to; the protocol forwards it to the primary.
 * - `decided`: every committed batch, in global order from the seq the host asks for in its
 *   `hello`. Batches are appended to `decided.log` before the replica's state is written and
 *   kept until the host reports them `applied` (in its ledger), so a crash of either side
 *   loses nothing.
 * - `signature`: relayed to the peers' hosts over the replica transport, outside the protocol.
 * - `status`: the replica's `LeaderView`, on `hello` and whenever it changes; the chain
 *   turns it into the orderer's `consensus_drkpbft_*` gauges.
 */
import { existsSync, readFileSync } from 'node:fs';
import { rename, writeFile } from 'node:fs/promises';
import net, { type Server, type Socket } from 'node:net';
import path from 'node:path';
import type { Commit, LeaderView, NodeId } from '../core/types';
import type { ReplicaEntry } from '../net/config';
import { AppendFile, completeLines } from '../net/append-file';
import { encodeFrame, onJsonFrames } from '../net/framing';
import type { ReplicaHooks } from '../net/replica-process';

/** What the host link needs of a replica. */
export interface LinkedReplica {
  submit(request: { client: string; timestamp: number; operation: string }): void;
  sendToPeer(to: NodeId, message: unknown): void;
}

/** A frame of the host link (the Go side's `Frame`); bytes are base64 strings. */
export interface LinkFrame {
  type: 'hello' | 'order' | 'applied' | 'signature' | 'decided' | 'status';
  channel?: string;
  seq?: number;
  key?: string;
  env?: string;
  envs?: string[];
  payload?: string;
  to?: NodeId;
  from?: NodeId;
  leader?: NodeId;
  view?: number;
  seats?: NodeId[];
}

/** The out-of-protocol peer message carrying a host's block signature. */
interface RelayedSignature {
  hostLink: 'signature';
  payload: string;
}

const DECIDED_LOG = 'decided.log';
const APPLIED_FILE = 'applied.json';
/** Rewrite decided.log once this many applied batches are dead weight in it. */
const COMPACT_AFTER = 1024;
const CLIENT_PREFIX = 'fabric:';
/** Host link frames may carry a whole batch of envelopes. */
const MAX_FRAME_BYTES = 256 * 1024 * 1024;

export class HostLink implements ReplicaHooks {
  /**
   * Decided batches the host has not reported applied, by seq, each as its log line's JSON
   * (`{"seq":…,"envs":[…]}`): the `decided` frame and a compaction reuse the text, so a batch
   * of envelopes is serialised once.
   */
  private readonly decided = new Map<number, string>();
  private applied = 0;
  private deadLines = 0;
  private readonly log: AppendFile;
  private readonly appliedPath: string;
  private server?: Server;
  private host?: Socket;
  /** The next seq the connected host gets (it asked from `hello.seq`). */
  private nextToSend = 0;
  private replica?: LinkedReplica;
  private readonly peers: NodeId[];
  /** The last status sent (JSON), to send only changes. */
  private status: LinkFrame = { type: 'status' };
  private statusSent = '';
  /** File writes one at a time: a compaction must not race an append. */
  private io: Promise<void> = Promise.resolve();

  constructor(
    private readonly entry: Pick<ReplicaEntry, 'id' | 'host' | 'hostLinkPort' | 'dataDir'>,
    members: readonly NodeId[],
  ) {
    this.peers = members.filter((id) => id !== entry.id);
    this.log = new AppendFile(path.join(entry.dataDir, DECIDED_LOG), false);
    this.appliedPath = path.join(entry.dataDir, APPLIED_FILE);
    if (existsSync(this.appliedPath)) this.applied = (JSON.parse(readFileSync(this.appliedPath, 'utf8')) as { applied: number }).applied;
    // A crash between this log and the state write may repeat a line: the same seq, the same
    // batch. A crash mid-append leaves a torn last line, which the replayed commit writes again.
    for (const line of completeLines(this.log.path)) {
      const { seq } = JSON.parse(line) as { seq: number };
      if (seq > this.applied) this.decided.set(seq, line);
      else this.deadLines++;
    }
  }

  async start(replica: LinkedReplica): Promise<void> {
    this.replica = replica;
    this.server = net.createServer((socket) => this.accept(socket));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.entry.hostLinkPort, this.entry.host, () => resolve());
    });
  }

  async close(): Promise<void> {
    this.host?.destroy();
    await this.serially(() => this.log.close());
    await new Promise<void>((resolve) => (this.server === undefined ? resolve() : this.server.close(() => resolve())));
  }

  /** Hook: runs before the replica writes the state that covers `commits`. */
  async persistCommits(commits: Commit[]): Promise<void> {
    let lines = '';
    for (const commit of commits) {
      if (commit.seq <= this.applied || this.decided.has(commit.seq)) continue;
      const envs = commit.requests.filter((r) => r.client.startsWith(CLIENT_PREFIX)).map((r) => r.operation);
      const line = JSON.stringify({ seq: commit.seq, envs });
      this.decided.set(commit.seq, line);
      lines += `${line}\n`;
    }
    if (lines !== '') await this.serially(() => this.log.append(lines));
    this.stream();
  }

  /** Hook: relayed signatures go to the host; everything else is the protocol's. */
  takePeerMessage(from: NodeId, message: unknown): boolean {
    const m = message as Partial<RelayedSignature> | null;
    if (typeof m !== 'object' || m === null || m.hostLink !== 'signature') return false;
    if (typeof m.payload === 'string') this.toHost({ type: 'signature', from, payload: m.payload });
    return true;
  }

  /** Hook: tells the host when leadership as this replica sees it changed. */
  observeLeader(view: LeaderView): void {
    this.status = { type: 'status', ...(view.leader === undefined ? {} : { leader: view.leader }), view: view.view, ...(view.seats ? { seats: view.seats } : {}) };
    this.sendStatus();
  }

  private sendStatus(): void {
    const text = JSON.stringify(this.status);
    if (text === this.statusSent || this.host === undefined || this.nextToSend === Number.POSITIVE_INFINITY) return;
    this.statusSent = text;
    this.toHost(this.status);
  }

  private accept(socket: Socket): void {
    socket.setNoDelay(true);
    // One host per replica: a new connection (a restarted orderer) replaces the old one once
    // it says hello, so a connection that only probes the port cannot cut the orderer off.
    onJsonFrames(
      socket,
      (value) => {
        const frame = value as LinkFrame;
        if (socket !== this.host) {
          if (frame?.type !== 'hello') return;
          this.host?.destroy();
          this.host = socket;
        }
        this.handle(frame).catch(() => socket.destroy());
      },
      MAX_FRAME_BYTES,
    );
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      if (this.host === socket) this.host = undefined;
    });
  }

  private async handle(frame: LinkFrame): Promise<void> {
    switch (frame.type) {
      case 'hello': {
        const from = Math.max(frame.seq ?? 1, 1);
        if (from <= this.applied) {
          // The host reported these batches in its ledger and now asks for them again: its
          // ledger was lost or belongs to another replica. They are gone here; say so loudly.
          console.error(`host link: the host asks for batches from ${from}, but ${this.applied} and below were applied and dropped`);
          this.host?.destroy();
          break;
        }
        this.nextToSend = from;
        this.statusSent = '';
        this.sendStatus();
        this.stream();
        break;
      }
      case 'order':
        if (typeof frame.key === 'string' && typeof frame.env === 'string') {
          this.replica?.submit({ client: CLIENT_PREFIX + frame.key, timestamp: 1, operation: frame.env });
        }
        break;
      case 'applied':
        if (typeof frame.seq === 'number') await this.serially(() => this.markApplied(frame.seq!));
        break;
      case 'signature': {
        if (typeof frame.payload !== 'string') break;
        const relayed: RelayedSignature = { hostLink: 'signature', payload: frame.payload };
        for (const peer of frame.to === undefined ? this.peers : [frame.to]) if (this.peers.includes(peer)) this.replica?.sendToPeer(peer, relayed);
        break;
      }
      default:
        break;
    }
  }

  /** Sends the connected host every decided batch from `nextToSend` on, in order without gaps. */
  private stream(): void {
    for (;;) {
      const line = this.decided.get(this.nextToSend);
      if (line === undefined) return;
      this.host?.write(encodeFrame(Buffer.from(`{"type":"decided",${line.slice(1)}`)));
      this.nextToSend++;
    }
  }

  private async markApplied(seq: number): Promise<void> {
    if (seq <= this.applied) return;
    // Recorded before anything is dropped: a crash leaves the batches, never a gap.
    const tmp = `${this.appliedPath}.tmp`;
    await writeFile(tmp, JSON.stringify({ applied: seq }));
    await rename(tmp, this.appliedPath);
    for (let s = this.applied + 1; s <= seq; s++) if (this.decided.delete(s)) this.deadLines++;
    this.applied = seq;
    if (this.deadLines >= COMPACT_AFTER) await this.compact();
  }

  private async compact(): Promise<void> {
    const seqs = [...this.decided.keys()].sort((a, b) => a - b);
    const text = seqs.map((seq) => `${this.decided.get(seq)!}\n`).join('');
    await this.log.replace(text);
    this.deadLines = 0;
  }

  private serially(task: () => Promise<void>): Promise<void> {
    const run = this.io.then(task);
    this.io = run.catch(() => undefined);
    return run;
  }

  private toHost(frame: LinkFrame): void {
    this.host?.write(encodeFrame(Buffer.from(JSON.stringify(frame))));
  }
}
