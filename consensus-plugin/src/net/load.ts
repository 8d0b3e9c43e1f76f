/**
 * Closed-loop load from one driver process: `clients` clients, each keeping `window`
 * requests outstanding (each window slot is its own logical client numbering its requests
 * 1, 2, 3, …, so no protocol ever sees a client with two requests in flight). A client
 * sends its requests to the replicas in turn; the latency of a request is from its first
 * submission to the commit notification from the replica it was (last) sent to.
 *
 * A request whose replica's connection drops, or that has not committed within
 * `resubmitMs`, is sent again, unchanged, to the next replica: a killed replica does not
 * stall its clients, and duplicate suppression makes the repeat harmless.
 */
import net, { type Socket } from 'node:net';
import { performance } from 'node:perf_hooks';
import { requestKey } from '../core/digest';
import type { ClientRequest } from '../core/types';
import type { CommittedFrame, ReplicaEntry, SubmitFrame } from './config';
import { encodeFrame, FrameDecoder } from './framing';

export interface LoadOptions {
  clients: number;
  /** Outstanding requests per client. */
  window: number;
  /** Size of each request's operation string. */
  operationBytes?: number;
  /** Send a request again (to the next replica) when it has not committed after this long. */
  resubmitMs?: number;
}

/** What the load achieved between two instants (performance.now() milliseconds). */
export interface LoadMeasurement {
  committed: number;
  seconds: number;
  throughput: number;
  latencyMs: { p50: number; p99: number; mean: number; max: number };
  resubmitted: number;
}

interface Outstanding {
  request: ClientRequest;
  slot: number;
  firstSentAt: number;
  lastSentAt: number;
  replica: number;
}

const RECONNECT_MS = 100;

/** The q-quantile of ascending `sorted` (nearest rank). */
export function quantile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

export class LoadDriver {
  private readonly sockets: (Socket | undefined)[];
  private readonly outstanding = new Map<string, Outstanding>();
  private readonly nextTimestamp: number[];
  /** Per client: how many requests it has sent, which picks the next replica. */
  private readonly sentBy: number[];
  private readonly completedAt: number[] = [];
  private readonly latencies: number[] = [];
  private readonly operation: string;
  private readonly resubmitMs: number;
  private readonly resubmissions: number[] = [];
  private running = false;
  private sweeper?: NodeJS.Timeout;
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly replicas: readonly ReplicaEntry[],
    private readonly options: LoadOptions,
  ) {
    this.sockets = replicas.map(() => undefined);
    this.nextTimestamp = new Array<number>(options.clients * options.window).fill(0);
    this.sentBy = new Array<number>(options.clients).fill(0);
    this.operation = 'x'.repeat(options.operationBytes ?? 16);
    this.resubmitMs = options.resubmitMs ?? 3_000;
  }

  /** Requests committed so far. */
  get completed(): number {
    return this.completedAt.length;
  }

  /** Connects to every replica, then fills every window slot. */
  async start(): Promise<void> {
    this.running = true;
    await Promise.all(this.replicas.map((_, index) => this.connect(index)));
    for (let slot = 0; slot < this.nextTimestamp.length; slot++) this.submitNext(slot);
    this.sweeper = setInterval(() => this.resubmitStale(), Math.min(500, this.resubmitMs / 2));
  }

  /** Stops submitting and disconnects; requests in flight are abandoned. */
  stop(): void {
    this.running = false;
    clearInterval(this.sweeper);
    for (const socket of this.sockets) socket?.destroy();
  }

  /** Resolves once `count` requests have committed in total; rejects after `timeoutMs`. */
  waitForCompleted(count: number, timeoutMs: number): Promise<void> {
    return new Promise((resolve, reject) => {
      const check = () => {
        if (this.completed < count) return;
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(new Error(`only ${this.completed} of ${count} requests committed within ${timeoutMs} ms`));
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Throughput and latency of the requests that committed in [from, to). */
  measure(from: number, to: number): LoadMeasurement {
    const window: number[] = [];
    for (let i = 0; i < this.completedAt.length; i++) {
      const at = this.completedAt[i]!;
      if (at >= from && at < to) window.push(this.latencies[i]!);
    }
    window.sort((a, b) => a - b);
    const seconds = (to - from) / 1000;
    const mean = window.reduce((sum, l) => sum + l, 0) / window.length;
    return {
      committed: window.length,
      seconds,
      throughput: window.length / seconds,
      latencyMs: { p50: quantile(window, 0.5), p99: quantile(window, 0.99), mean, max: window[window.length - 1] ?? Number.NaN },
      resubmitted: this.resubmissions.filter((at) => at >= from && at < to).length,
    };
  }

  private connect(index: number): Promise<void> {
    const entry = this.replicas[index]!;
    return new Promise((resolve) => {
      const socket = net.connect({ host: entry.host, port: entry.clientPort, noDelay: true });
      const decoder = new FrameDecoder();
      socket.once('connect', () => {
        this.sockets[index] = socket;
        resolve();
      });
      socket.on('data', (chunk: Buffer) => {
        for (const frame of decoder.push(chunk)) this.committed(JSON.parse(frame.toString('utf8')) as CommittedFrame);
      });
      socket.on('error', () => socket.destroy());
      socket.once('close', () => {
        if (this.sockets[index] === socket) this.sockets[index] = undefined;
        resolve(); // a replica that is down at start is retried below, not awaited
        if (!this.running) return;
        this.moveAwayFrom(index);
        setTimeout(() => void (this.running && this.connect(index)), RECONNECT_MS);
      });
    });
  }

  private submitNext(slot: number): void {
    if (!this.running) return;
    const client = Math.floor(slot / this.options.window);
    const request: ClientRequest = { client: `c${client}.${slot % this.options.window}`, timestamp: ++this.nextTimestamp[slot]!, operation: this.operation };
    const now = performance.now();
    const pending: Outstanding = { request, slot, firstSentAt: now, lastSentAt: now, replica: -1 };
    this.outstanding.set(requestKey(request), pending);
    this.send(pending, (client + this.sentBy[client]!++) % this.replicas.length);
  }

  /** Sends to replica `start`, or the next connected one after it. */
  private send(pending: Outstanding, start: number): void {
    for (let k = 0; k < this.replicas.length; k++) {
      const index = (start + k) % this.replicas.length;
      const socket = this.sockets[index];
      if (socket === undefined) continue;
      pending.replica = index;
      pending.lastSentAt = performance.now();
      const frame: SubmitFrame = { request: pending.request };
      socket.write(encodeFrame(Buffer.from(JSON.stringify(frame))));
      return;
    }
    pending.replica = -1; // nobody is up: the sweeper retries
  }

  private committed(reply: CommittedFrame): void {
    const key = requestKey({ client: reply.client, timestamp: reply.timestamp, operation: '' });
    const pending = this.outstanding.get(key);
    if (pending === undefined) return; // a second notification after a resubmission
    this.outstanding.delete(key);
    const now = performance.now();
    this.completedAt.push(now);
    this.latencies.push(now - pending.firstSentAt);
    for (const waiter of this.waiters) waiter();
    this.submitNext(pending.slot);
  }

  private moveAwayFrom(index: number): void {
    for (const pending of this.outstanding.values()) if (pending.replica === index) this.resend(pending);
  }

  private resubmitStale(): void {
    const now = performance.now();
    for (const pending of this.outstanding.values()) if (pending.replica < 0 || now - pending.lastSentAt >= this.resubmitMs) this.resend(pending);
  }

  private resend(pending: Outstanding): void {
    this.resubmissions.push(performance.now());
    this.send(pending, pending.replica + 1);
  }
}
