/**
 * Throughput, latency and traffic over arbitrary time windows of one simulated run, from its
 * trace (the simulator's own metrics cover one window only). Definitions follow the
 * simulator's: a batch counts when the first honest node commits its sequence number; a
 * request's latency runs from its first submission to its commit at the node it was sent
 * to; every message put on the wire counts, duplicates made by the network excepted.
 */
import { requestKey } from '../src/core/digest';
import type { ClientRequest, NodeId } from '../src/core/types';
import { summariseLatency } from '../src/sim/metrics';
import type { TraceEvent } from '../src/sim/simulator';

export interface WindowFigures {
  /** Committed requests per simulated second. */
  throughput: number;
  batches: number;
  messagesPerBatch: number;
  p50: number;
  p99: number;
}

/** Granularity of the message counts (windows are multiples of it). */
const SLOT_MS = 10;

export class WindowRecorder {
  /** Honest commits of the admin client's requests (each one a "never submitted" validity report of the checker). */
  adminCommits = 0;
  private readonly submitted = new Map<string, { atMs: number; node: NodeId }>();
  private readonly completed = new Set<string>();
  private readonly decidedSeqs = new Set<number>();
  /** First honest commit of each sequence number: when, and how many client requests it held. */
  private readonly batches: { atMs: number; requests: number }[] = [];
  private readonly latencies: { atMs: number; ms: number }[] = [];
  private readonly messagesPerSlot: number[];
  private readonly adminCommitAt = new Map<string, number>();

  constructor(
    private readonly bucketMs: number,
    private readonly durationMs: number,
    private readonly adminClient: string,
  ) {
    this.messagesPerSlot = new Array<number>(Math.ceil(durationMs / SLOT_MS) + 1).fill(0);
  }

  record(event: TraceEvent<unknown>): void {
    switch (event.kind) {
      case 'send':
        if (!event.duplicate) this.messagesPerSlot[Math.floor(event.atMs / SLOT_MS)]++;
        return;
      case 'submit': {
        const key = requestKey(event.request);
        if (!this.submitted.has(key)) this.submitted.set(key, { atMs: event.atMs, node: event.node });
        return;
      }
      case 'commit':
        if (!event.byzantine) this.commit(event.atMs, event.node, event.commit.seq, event.commit.requests);
        return;
      default:
        return;
    }
  }

  /** When the first honest node committed `request`. */
  firstCommitOf(request: ClientRequest): number | undefined {
    return this.adminCommitAt.get(requestKey(request));
  }

  /** Figures over [fromMs, toMs). */
  window(fromMs: number, toMs: number): WindowFigures {
    const inside = (atMs: number): boolean => atMs >= fromMs && atMs < toMs;
    const batches = this.batches.filter((b) => inside(b.atMs));
    const requests = batches.reduce((sum, b) => sum + b.requests, 0);
    let messages = 0;
    for (let slot = Math.max(0, Math.floor(fromMs / SLOT_MS)); slot < Math.min(this.messagesPerSlot.length, Math.ceil(toMs / SLOT_MS)); slot++) messages += this.messagesPerSlot[slot];
    const latency = summariseLatency(this.latencies.filter((l) => inside(l.atMs)).map((l) => l.ms));
    return {
      throughput: (requests * 1000) / (toMs - fromMs),
      batches: batches.length,
      messagesPerBatch: batches.length > 0 ? messages / batches.length : Infinity,
      p50: latency.p50,
      p99: latency.p99,
    };
  }

  /** Consecutive buckets over the whole run. */
  timeline(): (WindowFigures & { startMs: number })[] {
    const buckets: (WindowFigures & { startMs: number })[] = [];
    for (let startMs = 0; startMs + this.bucketMs <= this.durationMs; startMs += this.bucketMs) buckets.push({ startMs, ...this.window(startMs, startMs + this.bucketMs) });
    return buckets;
  }

  private commit(atMs: number, node: NodeId, seq: number, requests: readonly ClientRequest[]): void {
    let clientRequests = 0;
    for (const request of requests) {
      const key = requestKey(request);
      if (request.client === this.adminClient) {
        this.adminCommits++;
        if (!this.adminCommitAt.has(key)) this.adminCommitAt.set(key, atMs);
        continue;
      }
      clientRequests++;
      const submitted = this.submitted.get(key);
      if (submitted && submitted.node === node && !this.completed.has(key)) {
        this.completed.add(key);
        this.latencies.push({ atMs, ms: atMs - submitted.atMs });
      }
    }
    if (this.decidedSeqs.has(seq)) return;
    this.decidedSeqs.add(seq);
    this.batches.push({ atMs, requests: clientRequests });
  }
}
