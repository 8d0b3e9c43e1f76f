/**
 * npm run bench:consensus [-- --json] [--write] [--quick] [--sizes 4,7,16] [--seed S] [--no-real] [--workers 2]
 *
 * --sizes replaces the simulated sizes (default 4, 7, 16, 32, 64, 100, 1000; --quick: 4, 16,
 * 64) and keeps the fault (16, 64), membership (16) and real-process (4, 16) runs only at
 * the sizes it names.
 *
 * DRKPBFT vs flat PBFT vs Raft:
 *  1. simulator, same network, load and batch size for all three at each n (same seed per
 *     row): messages and bytes per committed batch, throughput under saturating closed-loop
 *     load, p50/p99 commit latency saturated and under light load;
 *  2. simulator with f faulty nodes: each protocol's own maximum (PBFT ⌊(n−1)/3⌋, DRKPBFT
 *     its `maxFaulty()`) Byzantine, silent or equivocating; Raft with ⌊(n−1)/2⌋ crashed;
 *  3. simulator while a member leaves and joins again: throughput and latency before,
 *     during and after each change (DRKPBFT and Raft; flat PBFT has a fixed membership);
 *  4. real processes on this host (`runCluster`, Ed25519), n = 4 and 16 (skip: --no-real).
 *
 * Prints the tables (Markdown) and the DRKPBFT / PBFT ratios with the n = 64 targets;
 * --json prints the whole report as JSON instead; --write also refreshes
 * docs/bench-consensus.{csv,json} and docs/charts/consensus-*.svg. Progress goes to stderr.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { describeJob, runJobs } from './pool';
import { REAL_SETTINGS, runRealClusters, type RealSettings } from './real-runs';
import { charts, ratios, renderText, toCsv, type BenchReport, type SteadyRow } from './report';
import { CLUSTER, LIGHT_LOAD, NETWORK, PROTOCOLS, RAFT_TIMERS, SATURATING_LOAD, TICK_MS, type ProtocolName } from './setup';
import { outstandingAt, type FaultBehaviour, type FaultyResult, type MembershipResult, type RunFigures, type SimJob, type SimResult, type SteadyJob, type SteadyResult } from './sim-runs';

/** Windows and sizes of one run of the benchmark (simulated ms). */
interface Plan {
  sizes: number[];
  faultSizes: number[];
  membershipSizes: number[];
  /** Both loads; `largeMeasureMs` replaces `measureMs` above n = 100, where a simulated second costs minutes. */
  steady: { warmupMs: number; measureMs: number; largeMeasureMs: number };
  faulty: { warmupMs: number; durationMs: number };
  membership: { durationMs: number; leaveAtMs: number; rejoinAtMs: number; bucketMs: number; phaseMs: number };
  realSizes: number[];
  real: RealSettings;
}

const FULL: Plan = {
  sizes: [4, 7, 16, 32, 64, 100, 1000],
  faultSizes: [16, 64],
  membershipSizes: [16],
  // Raft's first election waits a 1–2 s timeout (etcd's defaults) and at n = 100 the first
  // one splits its votes: measure from 3 s on, for every protocol alike.
  steady: { warmupMs: 3000, measureMs: 2000, largeMeasureMs: 1000 },
  // Long enough for a view change (2 s request timeout) to settle before measuring.
  faulty: { warmupMs: 4000, durationMs: 6000 },
  membership: { durationMs: 9000, leaveAtMs: 4000, rejoinAtMs: 6500, bucketMs: 250, phaseMs: 1000 },
  realSizes: [4, 16],
  real: REAL_SETTINGS,
};

const QUICK: Plan = {
  ...FULL,
  sizes: [4, 16, 64],
  faultSizes: [16],
  steady: { warmupMs: 3000, measureMs: 1000, largeMeasureMs: 1000 },
  real: { ...REAL_SETTINGS, durationSec: 5, warmupSec: 2 },
};

/**
 * Flat PBFT above this size is not simulated: every batch costs ~2n² messages (2 million
 * at n = 1000), each one a simulator event; the report says what it would have cost.
 */
const PBFT_MAX_N = 100;

const FAULT_BEHAVIOURS: Record<ProtocolName, FaultBehaviour[]> = { drkpbft: ['silent', 'equivocate'], pbft: ['silent', 'equivocate'], raft: ['crash'] };

function jobsFor(plan: Plan, seed: string): SimJob[] {
  const rowSeed = (n: number): string => `${seed}/n${n}`;
  const jobs: SimJob[] = [];
  for (const n of plan.sizes) {
    for (const protocol of PROTOCOLS) {
      if (protocol === 'pbft' && n > PBFT_MAX_N) continue;
      const { warmupMs, measureMs, largeMeasureMs } = plan.steady;
      const windows = { warmupMs, durationMs: warmupMs + (n > PBFT_MAX_N ? largeMeasureMs : measureMs) };
      jobs.push({ kind: 'steady', protocol, n, seed: rowSeed(n), load: 'saturating', ...windows });
      jobs.push({ kind: 'steady', protocol, n, seed: rowSeed(n), load: 'light', ...windows });
    }
  }
  for (const n of plan.faultSizes) {
    for (const protocol of PROTOCOLS) {
      for (const behaviour of FAULT_BEHAVIOURS[protocol]) jobs.push({ kind: 'faulty', protocol, n, seed: rowSeed(n), behaviour, ...plan.faulty });
    }
  }
  for (const n of plan.membershipSizes) {
    for (const protocol of MEMBERSHIP_PROTOCOLS) jobs.push({ kind: 'membership', protocol, n, seed: rowSeed(n), warmupMs: MEMBERSHIP_WARMUP_MS, ...plan.membership });
  }
  // Longest first, so the last job to finish is a short one.
  return jobs.sort((a, b) => cost(b) - cost(a));
}

const MEMBERSHIP_PROTOCOLS: ProtocolName[] = ['drkpbft', 'raft'];
/** The membership runs' phases have their own windows; the run-wide figures start after Raft's first election, as elsewhere. */
const MEMBERSHIP_WARMUP_MS = 3000;
const PBFT_STATIC = 'flat PBFT has a fixed membership: createPbft takes the members once and has no join or leave operation';

/** A rough relative cost (simulated messages), only to order the jobs. */
function cost(job: SimJob): number {
  const perBatch = job.protocol === 'pbft' ? job.n * job.n : job.protocol === 'drkpbft' ? job.n * Math.sqrt(job.n) : job.n;
  const load = job.kind === 'steady' && job.load === 'light' ? 0.2 : 1;
  return perBatch * load * job.durationMs;
}

/** A run counts as load-bound when its busiest CPU or uplink is at least this busy. */
const SATURATED = 0.9;
/** The search stops when doubling the load gains less than this. */
const MIN_GAIN = 0.05;
/** At most this many times the base load's outstanding requests. */
const MAX_SCALE = 8;

/**
 * Peak throughput. A closed loop commits at most outstanding / latency, so a run whose
 * busiest CPU and uplink are both below 90 % busy measured its clients, not the protocol:
 * such a row runs again with twice the requests outstanding, and again, until it is
 * resource-bound, a doubling gains under 5 %, or it reaches 8×. The same rule for every
 * protocol and size; the report keeps the base-load figures and adds the highest.
 */
async function peakSearch(results: readonly SimResult[], workers: number, log: (line: string) => void): Promise<SteadyResult[]> {
  const found: SteadyResult[] = [];
  let frontier = results.filter((r): r is SteadyResult => r.kind === 'steady' && r.job.load === 'saturating');
  let previous = new Map<string, number>();
  const key = (r: SteadyResult): string => `${r.job.protocol}/${r.job.n}`;
  for (let scale = 2; scale <= MAX_SCALE; scale *= 2) {
    const grow = frontier.filter((r) => {
      const before = previous.get(key(r));
      const gained = before === undefined || r.throughput >= before * (1 + MIN_GAIN);
      return r.throughput > 0 && gained && Math.max(r.busiestCpu, r.busiestUplink) < SATURATED;
    });
    if (grow.length === 0) break;
    log(`peak search: ${grow.length} client-bound rows again with ${scale}× the outstanding requests`);
    previous = new Map(frontier.map((r) => [key(r), r.throughput]));
    const jobs: SteadyJob[] = grow.map((r) => ({ ...r.job, scale }));
    const next = (await runJobs(jobs, workers, (job, result, done) => log(`[${done}/${jobs.length}] ${describeJob(job)} ×${scale}: ${result.throughput.toFixed(0)} req/s`))) as SteadyResult[];
    found.push(...next);
    frontier = next;
  }
  return found;
}

function steadyRows(plan: Plan, results: readonly SimResult[]): SteadyRow[] {
  const steady = results.filter((r): r is SteadyResult => r.kind === 'steady');
  const rows: SteadyRow[] = [];
  for (const n of plan.sizes) {
    for (const protocol of PROTOCOLS) {
      const mine = steady.filter((r) => r.job.n === n && r.job.protocol === protocol);
      const saturating = mine.find((r) => r.job.load === 'saturating' && (r.job.scale ?? 1) === 1);
      const light = mine.find((r) => r.job.load === 'light');
      const peak = mine.filter((r) => r.job.load === 'saturating').sort((a, b) => b.throughput - a.throughput)[0];
      if (saturating) {
        rows.push({ n, protocol, saturating: strip(saturating), peak: { ...strip(peak), outstanding: outstandingAt(peak.job.scale ?? 1) }, light: light && strip(light) });
      }
      else rows.push({ n, protocol, notRun: pbftNotRunReason(n, steady) });
    }
  }
  return rows;
}

const strip = ({ kind: _kind, job: _job, ...figures }: SteadyResult): RunFigures => figures;

/** Why flat PBFT was not simulated at n, with what the largest PBFT run measured. */
function pbftNotRunReason(n: number, steady: readonly SteadyResult[]): string {
  const largest = steady.filter((r) => r.job.protocol === 'pbft' && r.job.load === 'saturating').sort((a, b) => b.job.n - a.job.n)[0];
  if (!largest) return `flat PBFT is simulated up to n = ${PBFT_MAX_N} only`;
  const perBatch = largest.messagesPerBatch * (n / largest.job.n) ** 2;
  const eventsPerCpuSecond = largest.events / largest.cpuSeconds;
  const minutes = (20 * perBatch) / eventsPerCpuSecond / 60;
  return (
    `~${(perBatch / 1e6).toFixed(1)} M messages per batch (the n = ${largest.job.n} run's ${Math.round(largest.messagesPerBatch)} scaled by n²); ` +
    `at the ${Math.round(eventsPerCpuSecond / 1000)}k simulator events per CPU-second measured there, 20 batches alone would take ~${Math.round(minutes)} CPU-minutes`
  );
}

async function main(): Promise<void> {
  const started = Date.now();
  const loadStart = os.loadavg()[0];
  const { values } = parseArgs({
    args: process.argv.slice(2),
    options: {
      json: { type: 'boolean', default: false },
      write: { type: 'boolean', default: false },
      quick: { type: 'boolean', default: false },
      sizes: { type: 'string' },
      seed: { type: 'string', default: 'bench' },
      'no-real': { type: 'boolean', default: false },
      workers: { type: 'string' },
    },
  });
  const base = values.quick ? QUICK : FULL;
  const sizes = values.sizes ? values.sizes.split(',').map(Number) : base.sizes;
  if (sizes.some((n) => !Number.isInteger(n) || n < 4)) throw new Error('--sizes: integers of at least 4, comma-separated');
  // --sizes narrows every section: faults and membership run only at sizes it names.
  const named = (list: number[]): number[] => (values.sizes ? list.filter((n) => sizes.includes(n)) : list);
  const plan: Plan = { ...base, sizes, faultSizes: named(base.faultSizes), membershipSizes: named(base.membershipSizes), realSizes: named(base.realSizes) };
  const seed = values.seed;
  const workers = values.workers ? Number(values.workers) : Math.max(1, os.cpus().length);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);

  const jobs = jobsFor(plan, seed);
  log(`simulator: ${jobs.length} runs on ${workers} worker processes`);
  const results = await runJobs(jobs, workers, (job, result, done) =>
    log(`[${done}/${jobs.length}] ${describeJob(job)}: ${result.throughput.toFixed(0)} req/s, ${result.messagesPerBatch.toFixed(0)} messages/batch, p50 ${result.p50.toFixed(0)} ms (${result.cpuSeconds.toFixed(1)} CPU s)`),
  );
  results.push(...(await peakSearch(results, workers, log)));
  const steady = steadyRows(plan, results);
  const realSkipped = values['no-real'] ? '--no-real' : undefined;
  const real = realSkipped ? [] : await runRealClusters(plan.realSizes, ['drkpbft', 'pbft', 'raft'], plan.real, log);

  const report: BenchReport = {
    meta: {
      date: new Date().toISOString(),
      command: ['npm run bench:consensus --', ...process.argv.slice(2)].join(' '),
      machine: `${os.cpus().length} vCPU ${os.cpus()[0]?.model.trim() ?? ''}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
      node: process.version,
      loadAverage: { start: loadStart, end: os.loadavg()[0] },
      wallSeconds: (Date.now() - started) / 1000,
      seed,
      quick: values.quick,
      settings: { plan, tickMs: TICK_MS, cluster: CLUSTER, raftTimers: RAFT_TIMERS, saturatingLoad: SATURATING_LOAD, lightLoad: LIGHT_LOAD, network: NETWORK, pbftMaxN: PBFT_MAX_N },
    },
    steady,
    ratios: ratios(steady),
    faulty: results.filter((r): r is FaultyResult => r.kind === 'faulty').sort((a, b) => a.job.n - b.job.n || PROTOCOLS.indexOf(a.job.protocol) - PROTOCOLS.indexOf(b.job.protocol)),
    membership: results.filter((r): r is MembershipResult => r.kind === 'membership').sort((a, b) => a.job.n - b.job.n || PROTOCOLS.indexOf(a.job.protocol) - PROTOCOLS.indexOf(b.job.protocol)),
    membershipNotRun: plan.membershipSizes.length > 0 ? [{ protocol: 'pbft', reason: PBFT_STATIC }] : [],
    real,
    realSettings: plan.real,
    ...(realSkipped ? { realSkipped } : {}),
  };
  process.stdout.write(values.json ? `${JSON.stringify(report, null, 2)}\n` : renderText(report));
  if (values.write) write(report, log);
}

/** docs/bench-consensus.{csv,json} and docs/charts/consensus-*.svg. */
function write(report: BenchReport, log: (line: string) => void): void {
  const docs = path.resolve(__dirname, '../../docs');
  mkdirSync(path.join(docs, 'charts'), { recursive: true });
  writeFileSync(path.join(docs, 'bench-consensus.csv'), toCsv(report));
  writeFileSync(path.join(docs, 'bench-consensus.json'), `${JSON.stringify(report, null, 2)}\n`);
  const svgs = charts(report);
  for (const [name, svg] of Object.entries(svgs)) writeFileSync(path.join(docs, 'charts', name), svg);
  log(`wrote docs/bench-consensus.csv, docs/bench-consensus.json and ${Object.keys(svgs).length} charts in docs/charts/`);
}

// Exit through process.exit, so the 'exit' handlers kill the simulator workers and replica processes.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

main().catch((error: unknown) => {
  console.error(error instanceof Error ? (error.stack ?? error.message) : error);
  process.exit(1);
});
