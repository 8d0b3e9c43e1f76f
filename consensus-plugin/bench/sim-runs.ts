/**
 * The benchmark's simulated runs, one function per kind of job. A job is plain data (it is
 * sent to a worker process), and so is its result.
 */
import type { ClientRequest, ConsensusNode, LeaderView, NodeId, Protocol, Ready } from '../src/core/types';
import { placeClients, DEFAULT_LOAD, type LoadOptions } from '../src/sim/clients';
import type { Fault } from '../src/sim/faults';
import type { ViolationKind } from '../src/sim/invariants';
import type { SimMetrics } from '../src/sim/metrics';
import { range } from '../src/sim/network';
import { Rng } from '../src/sim/random';
import { simulate, type SimulationResult, type TraceEvent } from '../src/sim/simulator';
import { LIGHT_LOAD, SATURATING_LOAD, simCluster, TICK_MS, type ProtocolName, type SimCluster } from './setup';
import { WindowRecorder, type WindowFigures } from './windows';

/** How the faulty nodes misbehave: Byzantine for PBFT and DRKPBFT, crashed (from the start, for good) for Raft. */
export type FaultBehaviour = 'silent' | 'equivocate' | 'crash';

interface JobBase {
  protocol: ProtocolName;
  n: number;
  seed: string;
  durationMs: number;
  warmupMs: number;
}

/** Steady state without faults under one of the two loads. */
export interface SteadyJob extends JobBase {
  kind: 'steady';
  load: 'saturating' | 'light';
  /** Saturating load only: outstanding requests as a multiple of `SATURATING_LOAD`'s (default 1; see `peakSearch`). */
  scale?: number;
}

/** Steady state with the protocol's maximum number of faulty nodes, saturating load. */
export interface FaultyJob extends JobBase {
  kind: 'faulty';
  behaviour: FaultBehaviour;
}

/** One member leaves at `leaveAtMs` and joins again at `rejoinAtMs`, saturating load. */
export interface MembershipJob extends JobBase {
  kind: 'membership';
  leaveAtMs: number;
  rejoinAtMs: number;
  /** Width of the timeline's buckets. */
  bucketMs: number;
  /** Each phase window (before / during / after a change) is this long. */
  phaseMs: number;
}

export type SimJob = SteadyJob | FaultyJob | MembershipJob;

/** What every run reports; latencies in simulated ms, throughput in committed requests per simulated second. */
export interface RunFigures {
  throughput: number;
  batches: number;
  messagesPerBatch: number;
  bytesPerBatch: number;
  requestsPerBatch: number;
  p50: number;
  p99: number;
  /** Busy share of the busiest node's CPU and uplink over the window, 0 … 1. */
  busiestCpu: number;
  busiestUplink: number;
  /** Safety violations the simulator's checker found (agreement, validity, order, quorum); must be 0. */
  safetyViolations: number;
  /** Whether commit quorums were checked against the votes sent (off at n ≥ 1000: costly). */
  quorumsChecked: boolean;
  events: number;
  /** CPU seconds the run took in its worker process. */
  cpuSeconds: number;
}

export interface SteadyResult extends RunFigures {
  kind: 'steady';
  job: SteadyJob;
}

export interface FaultyResult extends RunFigures {
  kind: 'faulty';
  job: FaultyJob;
  /** f: the protocol's `maxFaulty()`. */
  faulty: number;
  faultyNodes: NodeId[];
}

/** Throughput and latency before, during and after one membership change. */
export interface ChangePhases {
  change: 'leave' | 'join';
  node: NodeId;
  submittedAtMs: number;
  /** When the first honest node committed the change (undefined: never within the run). */
  committedAtMs: number | undefined;
  before: WindowFigures;
  during: WindowFigures;
  after: WindowFigures;
}

export interface MembershipResult extends RunFigures {
  kind: 'membership';
  job: MembershipJob;
  timeline: (WindowFigures & { startMs: number })[];
  changes: ChangePhases[];
}

export type SimResult = SteadyResult | FaultyResult | MembershipResult;

/** Run one job to the end (synchronously; workers call this). */
export function runSimJob(job: SimJob): SimResult {
  switch (job.kind) {
    case 'steady':
      return runSteady(job);
    case 'faulty':
      return runFaulty(job);
    case 'membership':
      return runMembership(job);
  }
}

/** Above this size, quorum checking (every vote recorded) costs more than the run is worth. */
const QUORUM_CHECK_MAX_N = 100;

function runSteady(job: SteadyJob): SteadyResult {
  const { protocol, network, authenticators } = simCluster(job.protocol, job.n, job.seed);
  const load = job.load === 'saturating' ? scaledLoad(job.scale ?? 1) : LIGHT_LOAD;
  const { result, cpuSeconds } = timed(() =>
    simulate({ protocol, network, authenticators, seed: job.seed, durationMs: job.durationMs, warmupMs: job.warmupMs, tickMs: TICK_MS, load, ...judging(job) }),
  );
  return { kind: 'steady', job, ...figures(result, cpuSeconds, job.n) };
}

/** The saturating load with `scale` times as many requests outstanding (more windows per client, same clients). */
export const scaledLoad = (scale: number): Partial<LoadOptions> => ({ ...SATURATING_LOAD, window: (SATURATING_LOAD.window ?? DEFAULT_LOAD.window) * scale });

/** Requests outstanding under `scaledLoad(scale)`. */
export function outstandingAt(scale: number): number {
  const load = { ...DEFAULT_LOAD, ...scaledLoad(scale) };
  return load.clients * load.window;
}

/**
 * The faulty nodes of a row: node 0 (PBFT's first primary, a DRKPBFT region primary, and
 * as likely a Raft leader as any) first, then the others in an order drawn from the row's
 * seed. Each protocol takes as many as it tolerates, so the smaller sets are prefixes of
 * the larger ones.
 */
export function faultOrder(n: number, seed: string): NodeId[] {
  return [0, ...new Rng(seed).fork('bench/faulty').shuffle(range(n).slice(1))];
}

function runFaulty(job: FaultyJob): FaultyResult {
  const { protocol, network, authenticators } = simCluster(job.protocol, job.n, job.seed);
  const f = protocol.maxFaulty();
  const faultyNodes = faultOrder(job.n, job.seed).slice(0, f);
  const faults: Fault[] = faultyNodes.map((node) =>
    job.behaviour === 'crash' ? { kind: 'crash', node, atMs: 0 } : { kind: 'byzantine', node, behaviour: job.behaviour },
  );
  const { result, cpuSeconds } = timed(() =>
    simulate({ protocol, network, authenticators, seed: job.seed, durationMs: job.durationMs, warmupMs: job.warmupMs, tickMs: TICK_MS, faults, load: SATURATING_LOAD, ...judging(job) }),
  );
  return { kind: 'faulty', job, faulty: f, faultyNodes, ...figures(result, cpuSeconds, job.n) };
}

/** The membership requests are submitted as this client's (the simulator's clients only send ordinary operations). */
const ADMIN_CLIENT = 'bench-admin';

function runMembership(job: MembershipJob): MembershipResult {
  const cluster = simCluster(job.protocol, job.n, job.seed);
  const load: LoadOptions = { ...DEFAULT_LOAD, ...SATURATING_LOAD };
  const mover = idleMember(cluster.protocol.members, load, cluster, job.seed);
  const admin = cluster.protocol.members.find((id) => id !== mover) as NodeId;
  const leave: ClientRequest = { client: ADMIN_CLIENT, timestamp: 1, operation: `leave:${mover}` };
  const join: ClientRequest = { client: ADMIN_CLIENT, timestamp: 2, operation: `join:${mover}` };
  const protocol = withScheduledRequests(cluster.protocol, admin, [
    { atTick: Math.round(job.leaveAtMs / TICK_MS), request: leave },
    { atTick: Math.round(job.rejoinAtMs / TICK_MS), request: join },
  ]);
  const recorder = new WindowRecorder(job.bucketMs, job.durationMs, ADMIN_CLIENT);
  const { result, cpuSeconds } = timed(() =>
    simulate({
      protocol,
      network: cluster.network,
      authenticators: cluster.authenticators,
      seed: job.seed,
      durationMs: job.durationMs,
      warmupMs: job.warmupMs,
      tickMs: TICK_MS,
      load: SATURATING_LOAD,
      trace: (event: TraceEvent<unknown>) => recorder.record(event),
      ...judging(job),
    }),
  );
  const base = figures(result, cpuSeconds, job.n);
  // The checker flags each honest commit of the admin requests as "never submitted" (no simulated client sent them).
  base.safetyViolations = Math.max(0, base.safetyViolations - recorder.adminCommits);
  const phases = (change: 'leave' | 'join', request: ClientRequest, atMs: number): ChangePhases => ({
    change,
    node: mover,
    submittedAtMs: atMs,
    committedAtMs: recorder.firstCommitOf(request),
    before: recorder.window(atMs - job.phaseMs, atMs),
    during: recorder.window(atMs, atMs + job.phaseMs),
    after: recorder.window(atMs + job.phaseMs, atMs + 2 * job.phaseMs),
  });
  return {
    kind: 'membership',
    job,
    ...base,
    timeline: recorder.timeline(),
    changes: [phases('leave', leave, job.leaveAtMs), phases('join', join, job.rejoinAtMs)],
  };
}

/**
 * The member that leaves and rejoins: the highest id no client sends to (placement drawn
 * exactly as the simulator draws it), so its absence costs no client a retry.
 */
function idleMember(members: readonly NodeId[], load: LoadOptions, cluster: SimCluster, seed: string): NodeId {
  const placementRng = new Rng(seed).fork('simulation').fork('clients').fork('placement');
  const targets = new Set(placeClients(load, cluster.network, members, placementRng).map((c) => c.target));
  const idle = members.filter((id) => !targets.has(id));
  return idle.length > 0 ? idle[idle.length - 1] : members[members.length - 1];
}

/**
 * `protocol` with node `at` also receiving `requests` as if from a client, each on its
 * `atTick`-th tick (ticks come every TICK_MS). The simulator has no hook to inject a
 * request other than its clients' ordinary operations.
 */
function withScheduledRequests<M, S>(protocol: Protocol<M, S>, at: NodeId, requests: { atTick: number; request: ClientRequest }[]): Protocol<M, S> {
  return {
    ...protocol,
    createNode(id, auth, persisted) {
      const node = protocol.createNode(id, auth, persisted);
      return id === at ? new ScheduledSubmitter(node, requests) : node;
    },
  };
}

class ScheduledSubmitter<M, S> implements ConsensusNode<M, S> {
  private ticks = 0;

  constructor(
    private readonly inner: ConsensusNode<M, S>,
    private readonly requests: readonly { atTick: number; request: ClientRequest }[],
  ) {}

  get id(): NodeId {
    return this.inner.id;
  }

  step(from: NodeId, message: M): Ready<M, S> {
    return this.inner.step(from, message);
  }

  submit(request: ClientRequest): Ready<M, S> {
    return this.inner.submit(request);
  }

  leaderView(): LeaderView {
    return this.inner.leaderView();
  }

  tick(): Ready<M, S> {
    this.ticks++;
    let ready = this.inner.tick();
    for (const { atTick, request } of this.requests) {
      if (atTick === this.ticks) ready = merge(ready, this.inner.submit(request));
    }
    return ready;
  }
}

const merge = <M, S>(a: Ready<M, S>, b: Ready<M, S>): Ready<M, S> => ({
  messages: [...a.messages, ...b.messages],
  commits: [...a.commits, ...b.commits],
  state: b.state ?? a.state,
});

/** Safety is checked on every run; liveness is the soak's business (a saturated queue is not a liveness failure). */
function judging(job: JobBase): { livenessBoundMs: number; checkQuorums: boolean } {
  return { livenessBoundMs: job.durationMs + 1, checkQuorums: job.n <= QUORUM_CHECK_MAX_N };
}

function timed(run: () => SimulationResult): { result: SimulationResult; cpuSeconds: number } {
  const start = process.cpuUsage();
  const result = run();
  const used = process.cpuUsage(start);
  return { result, cpuSeconds: (used.user + used.system) / 1e6 };
}

function figures(result: SimulationResult, cpuSeconds: number, n: number): RunFigures {
  const m: SimMetrics = result.metrics;
  const counts: Partial<Record<ViolationKind, number>> = result.violationCounts;
  const safetyViolations = Object.entries(counts).reduce((sum, [kind, count]) => (kind === 'liveness' ? sum : sum + (count ?? 0)), 0);
  return {
    throughput: m.throughputPerSec,
    batches: m.batchesCommitted,
    messagesPerBatch: m.messagesPerBatch,
    bytesPerBatch: m.bytesPerBatch,
    requestsPerBatch: m.batchesCommitted > 0 ? m.requestsCommitted / m.batchesCommitted : 0,
    p50: m.latencyMs.p50,
    p99: m.latencyMs.p99,
    busiestCpu: m.busiestCpu.utilisation,
    busiestUplink: m.busiestUplink.utilisation,
    safetyViolations,
    quorumsChecked: n <= QUORUM_CHECK_MAX_N,
    events: result.eventsProcessed,
    cpuSeconds,
  };
}
