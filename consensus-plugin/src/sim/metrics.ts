import type { NodeId } from '../core/types';
import type { ByzantineBehaviour } from './faults';

/** Latency percentiles in ms (nearest rank); zeros when nothing completed. */
export interface LatencySummary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** The busiest node by one resource over the measurement window. */
export interface Busiest {
  node: NodeId;
  /** Busy time / window length, 0 … 1. */
  utilisation: number;
}

/**
 * What a run measured. Counts marked "in the window" cover [windowStartMs, windowEndMs]
 * (after warm-up); the rest cover the whole run.
 */
export interface SimMetrics {
  simulatedMs: number;
  windowStartMs: number;
  windowEndMs: number;
  /** Distinct requests clients submitted (whole run). */
  requestsSubmitted: number;
  /** Sequence numbers first committed by an honest node in the window (empty batches included). */
  batchesCommitted: number;
  /** Requests in those batches. */
  requestsCommitted: number;
  /** requestsCommitted per simulated second of the window. */
  throughputPerSec: number;
  /** Protocol messages every node (Byzantine ones too) put on the wire in the window, after loss is decided (lost ones count: they were sent). */
  messagesSent: number;
  bytesSent: number;
  /** messagesSent / batchesCommitted (Infinity when nothing committed). */
  messagesPerBatch: number;
  bytesPerBatch: number;
  /** Submission → commit at the node the request was (last) sent to, for requests completed in the window; Byzantine targets excluded. */
  latencyMs: LatencySummary;
  busiestCpu: Busiest;
  busiestUplink: Busiest;
  /** Highest sequence number any honest node committed, and the lowest among honest nodes up at the end. */
  maxCommittedSeq: number;
  minCommittedSeq: number;
  /** Whole-run network counters. */
  delivered: number;
  dropped: { loss: number; partition: number; down: number; twinCut: number };
  duplicated: number;
  reordered: number;
  crashes: number;
  restarts: number;
  /** Messages a Byzantine behaviour changed or suppressed, per behaviour. */
  byzantine: Record<ByzantineBehaviour, number>;
}

/** Percentiles of a list of samples (sorted in place). */
export function summariseLatency(samples: number[]): LatencySummary {
  if (samples.length === 0) return { count: 0, mean: 0, p50: 0, p99: 0, max: 0 };
  samples.sort((a, b) => a - b);
  const rank = (p: number): number => samples[Math.min(samples.length - 1, Math.max(0, Math.ceil(p * samples.length) - 1))];
  const total = samples.reduce((sum, x) => sum + x, 0);
  return { count: samples.length, mean: total / samples.length, p50: rank(0.5), p99: rank(0.99), max: samples[samples.length - 1] };
}

/** Length of [start, end) ∩ [windowStart, windowEnd). */
export function overlap(start: number, end: number, windowStart: number, windowEnd: number): number {
  return Math.max(0, Math.min(end, windowEnd) - Math.max(start, windowStart));
}
