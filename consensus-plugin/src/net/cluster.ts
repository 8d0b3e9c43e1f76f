/**
 * tsx consensus-plugin/src/net/cluster.ts --protocol pbft|drkpbft|raft --n 4 [--duration 10]
 *   [--warmup 2] [--clients 8] [--window 50] [--batch 100] [--base-port 7600] [--tick-ms 10]
 *   [--request-timeout-ms 5000] [--resubmit-ms 10000] [--operation-bytes 64] [--fsync] [--keep] [--json]
 *
 * Runs the protocol as n real replica processes on 127.0.0.1 with Ed25519 signatures,
 * drives closed-loop load from this process, and reports committed requests per second and
 * commit latency (p50/p99) measured over `duration` seconds after `warmup` seconds. Every
 * replica process is stopped by its pid at the end, on errors and on Ctrl-C.
 *
 * DRKPBFT's genesis latency matrix is uniform (1 tick between any two nodes): on one host
 * every round trip is far below a tick, so measured RTTs would all round to the same
 * value anyway, and K-medoids then splits by node id (its deterministic tie-break).
 */
import { performance } from 'node:perf_hooks';
import { rmSync } from 'node:fs';
import { DEFAULT_OPTIONS } from '../core/types';
import { conflictingPositions, Cluster } from './launcher';
import { LoadDriver, type LoadMeasurement } from './load';
import type { NetProtocolOptions, ProtocolName } from '../protocols';

export interface RunClusterOptions {
  protocol: ProtocolName;
  n: number;
  /** Measured seconds, after the warm-up. */
  durationSec?: number;
  warmupSec?: number;
  clients?: number;
  /** Outstanding requests per client. */
  window?: number;
  batch?: number;
  basePort?: number;
  tickMs?: number;
  /** A request not committed this long after a replica heard of it makes the replica suspect the leader (default 5000). */
  requestTimeoutMs?: number;
  /** The driver sends a request again, to the next replica, when it has not committed after this long (default 10000). */
  resubmitMs?: number;
  /** Size of each request's operation (a Fabric envelope is a few KiB). */
  operationBytes?: number;
  fsync?: boolean;
  /** Keep the cluster directory (keys, configuration, logs, state) instead of deleting it. */
  keep?: boolean;
  /** Progress lines (none when absent). */
  log?: (line: string) => void;
}

export interface ClusterResult {
  protocol: ProtocolName;
  n: number;
  clients: number;
  window: number;
  batch: number;
  tickMs: number;
  warmupSec: number;
  durationSec: number;
  /** Committed requests per second over the measured window. */
  throughput: number;
  committed: number;
  latencyMs: LoadMeasurement['latencyMs'];
  resubmitted: number;
  /** Replica-to-replica messages (and bytes) per committed request, over the whole run. */
  messagesPerRequest: number;
  bytesPerRequest: number;
  /** Highest position committed by any replica. */
  highestSeq: number;
  /** Positions where replicas committed different batches; must be empty. */
  conflicts: number[];
  /** The cluster directory when kept. */
  dir?: string;
}

/**
 * Positions a one-shot client's record outlives its request (`ClusterOptions.dedupWindow`).
 * On by default: replicas serving Fabric see one client per transaction. 4096 batches is
 * 4× the most a request can stay in flight inside the protocol (DRKPBFT's top window at
 * n = 1000), and ≥ 9 s of ordering even at the benchmark's peak; a tx id ordered again
 * later is invalidated by the peers (DUPLICATE_TXID). Clients that number their requests
 * are not affected.
 */
export const NET_DEDUP_WINDOW = 4096;

/** The protocol options for a cluster on one host (timeouts converted from milliseconds to ticks). */
export function netProtocolOptions(protocol: ProtocolName, n: number, batch: number, tickMs: number, requestTimeoutMs: number, dedupWindow = NET_DEDUP_WINDOW): NetProtocolOptions {
  const options: NetProtocolOptions = { ...DEFAULT_OPTIONS, batchSize: batch, requestTimeoutTicks: Math.max(1, Math.round(requestTimeoutMs / tickMs)), dedupWindow };
  if (protocol === 'drkpbft') options.latency = Array.from({ length: n }, (_, i) => Array.from({ length: n }, (_, j) => (i === j ? 0 : 1)));
  return options;
}

/** Launches the cluster, drives load, measures, and stops every replica whatever happens. */
export async function runCluster(options: RunClusterOptions): Promise<ClusterResult> {
  const { protocol, n } = options;
  const durationSec = options.durationSec ?? 10;
  const warmupSec = options.warmupSec ?? 2;
  const clients = options.clients ?? 8;
  const window = options.window ?? 50;
  const batch = options.batch ?? 100;
  const tickMs = options.tickMs ?? 10;
  const log = options.log ?? (() => undefined);
  const cluster = await Cluster.launch({
    protocol,
    n,
    basePort: options.basePort ?? 7600,
    options: netProtocolOptions(protocol, n, batch, tickMs, options.requestTimeoutMs ?? 5_000),
    tickMs,
    fsync: options.fsync ?? false,
  });
  const teardown = async () => {
    activeClusters.delete(teardown);
    await cluster.stop();
    if (!options.keep) rmSync(cluster.dir, { recursive: true, force: true });
  };
  activeClusters.add(teardown);
  const driver = new LoadDriver(cluster.config.replicas, { clients, window, resubmitMs: options.resubmitMs ?? 10_000, ...(options.operationBytes ? { operationBytes: options.operationBytes } : {}) });
  try {
    log(`${protocol} n=${n}: ${n} replicas up in ${cluster.dir}; ${clients} clients × ${window} outstanding, batches of ${batch}`);
    await driver.start();
    const start = performance.now();
    await sleep(warmupSec * 1000);
    log(`warm-up done (${driver.completed} committed); measuring ${durationSec} s`);
    await sleep(durationSec * 1000);
    const measured = driver.measure(start + warmupSec * 1000, performance.now());
    driver.stop();
    const stats = await cluster.stats();
    const sent = stats.reduce((sum, s) => sum + s.sentMessages, 0);
    const bytes = stats.reduce((sum, s) => sum + s.sentBytes, 0);
    const logs = cluster.commitLogs();
    const total = driver.completed;
    return {
      protocol,
      n,
      clients,
      window,
      batch,
      tickMs,
      warmupSec,
      durationSec,
      throughput: measured.throughput,
      committed: measured.committed,
      latencyMs: measured.latencyMs,
      resubmitted: measured.resubmitted,
      messagesPerRequest: total > 0 ? sent / total : Number.NaN,
      bytesPerRequest: total > 0 ? bytes / total : Number.NaN,
      highestSeq: Math.max(0, ...stats.map((s) => s.committedSeq)),
      conflicts: conflictingPositions(logs),
      ...(options.keep ? { dir: cluster.dir } : {}),
    };
  } finally {
    driver.stop();
    await teardown();
  }
}

/** How to stop each cluster this process is running (and delete its directory), for Ctrl-C. */
const activeClusters = new Set<() => Promise<void>>();

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- CLI

function parseArgs(argv: readonly string[]): { options: RunClusterOptions; json: boolean } {
  const value = (name: string): string | undefined => {
    const i = argv.indexOf(`--${name}`);
    if (i < 0) return undefined;
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new Error(`--${name} needs a value`);
    return v;
  };
  const positive = (name: string): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const x = Number(v);
    if (!(x > 0) || !Number.isFinite(x)) throw new Error(`--${name} must be a positive number, got '${v}'`);
    return x;
  };
  const protocol = value('protocol') ?? 'pbft';
  if (protocol !== 'pbft' && protocol !== 'drkpbft' && protocol !== 'raft') throw new Error(`--protocol must be pbft, drkpbft or raft, got '${protocol}'`);
  const n = positive('n') ?? 4;
  if (!Number.isInteger(n) || n > 64) throw new Error(`--n must be an integer up to 64`);
  const json = argv.includes('--json');
  return {
    json,
    options: {
      protocol,
      n,
      durationSec: positive('duration'),
      warmupSec: positive('warmup'),
      clients: positive('clients'),
      window: positive('window'),
      batch: positive('batch'),
      basePort: positive('base-port'),
      tickMs: positive('tick-ms'),
      requestTimeoutMs: positive('request-timeout-ms'),
      resubmitMs: positive('resubmit-ms'),
      operationBytes: positive('operation-bytes'),
      fsync: argv.includes('--fsync'),
      keep: argv.includes('--keep'),
      log: json ? undefined : (line) => console.log(line),
    },
  };
}

function summary(r: ClusterResult): string {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  return [
    `${r.protocol} n=${r.n} (real processes, Ed25519, 127.0.0.1): ${r.clients} clients × ${r.window} outstanding, batch ${r.batch}, tick ${r.tickMs} ms`,
    `  throughput   ${r.throughput.toFixed(0)} committed requests/s (${r.committed} in ${r.durationSec} s after ${r.warmupSec} s warm-up)`,
    `  latency      p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, mean ${ms(r.latencyMs.mean)}, max ${ms(r.latencyMs.max)}`,
    `  network      ${r.messagesPerRequest.toFixed(1)} messages and ${(r.bytesPerRequest / 1024).toFixed(1)} KiB per committed request`,
    `  log          ${r.highestSeq} batches; ${r.conflicts.length === 0 ? 'all replicas agree' : `CONFLICTS at ${r.conflicts.join(', ')}`}; ${r.resubmitted} resubmissions`,
  ].join('\n');
}

async function main(): Promise<void> {
  const { options, json } = parseArgs(process.argv.slice(2));
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      void Promise.all([...activeClusters].map((teardown) => teardown())).finally(() => process.exit(130));
    });
  }
  const result = await runCluster(options);
  if (json) console.log(JSON.stringify(result, null, 2));
  else console.log(`${summary(result)}\n${JSON.stringify(result)}`);
  if (result.conflicts.length > 0) process.exitCode = 1;
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error instanceof Error ? error.message : error);
    process.exit(1);
  });
}
