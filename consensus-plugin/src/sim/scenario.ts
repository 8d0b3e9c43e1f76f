import type { Authenticator, Protocol } from '../core/types';
import type { LoadOptions } from './clients';
import { BYZANTINE_BEHAVIOURS, type Fault } from './faults';
import { extraNodesFor, type MembershipEvent } from './membership';
import { isSafetyViolation, type Violation, type ViolationKind } from './invariants';
import type { SimMetrics } from './metrics';
import { Network, range, type NetworkOptions } from './network';
import { Rng } from './random';
import { simulate, type SimulationOptions } from './simulator';

/** A protocol configured for one simulated cluster, with its nodes' signers. */
export interface ProtocolSetup {
  protocol: Protocol<unknown, unknown>;
  authenticators: readonly Authenticator[];
}

/** What a protocol is built for: `n` nodes (ids 0 … n − 1) on `network`, ticking every `tickMs`. */
export interface ClusterSpec {
  n: number;
  /** Nodes that may join later (ids n … n + extraNodes − 1): they need authenticators, and DRKPBFT their latencies. Default 0. */
  extraNodes?: number;
  /** DRKPBFT clusters on its `latencyMatrix()` (ms; divide by tickMs for ticks). */
  network: Network;
  /** Seeds signing keys and any protocol randomness (Raft's election timeouts). */
  seed: string;
  tickMs: number;
}

/** Builds the protocol of one simulated cluster. */
export type ProtocolFactory = (spec: ClusterSpec) => ProtocolSetup;

/** Timing and load of a scenario; the defaults keep soak runs short. */
export interface ScenarioSettings {
  durationMs: number;
  /** Random faults start and end inside [0, faultWindowMs). */
  faultWindowMs: number;
  livenessBoundMs: number;
  tickMs: number;
  load: Partial<LoadOptions>;
  network: Partial<NetworkOptions>;
}

export const SOAK_SETTINGS: ScenarioSettings = {
  durationMs: 1200,
  faultWindowMs: 300,
  livenessBoundMs: 900,
  tickMs: 10,
  load: { clients: 3, window: 1, retryMs: 300 },
  network: {},
};

/** One reproducible run: a protocol, a cluster size, a seed and a fault schedule. */
export interface Scenario {
  protocol: string;
  n: number;
  seed: string;
  faults: Fault[];
  /** Joins and leaves (none when absent). */
  membership?: MembershipEvent[];
  settings: ScenarioSettings;
}

export interface ScenarioResult {
  /** No violation of any kind. */
  ok: boolean;
  safe: boolean;
  live: boolean;
  violations: Violation[];
  violationCounts: Partial<Record<ViolationKind, number>>;
  metrics: SimMetrics;
  eventsProcessed: number;
  traceHash: string;
}

/**
 * A random fault schedule for `seed` within the protocol's budget: up to f = maxFaulty()
 * Byzantine nodes with random behaviours (none for Raft, which tolerates crashes only),
 * up to f − (Byzantine) crashed nodes (most restart), and possibly a partition, message
 * loss, duplication and reordering, all inside the fault window.
 */
export function randomScenario(
  seed: string,
  protocol: Pick<Protocol<unknown, unknown>, 'name' | 'maxFaulty'>,
  n: number,
  settings: Partial<ScenarioSettings> = {},
): Scenario {
  const all = { ...SOAK_SETTINGS, ...settings };
  const rng = new Rng(seed).fork('scenario');
  const window = all.faultWindowMs;
  const f = protocol.maxFaulty();
  const nodes = rng.shuffle(range(n));
  const faults: Fault[] = [];
  const byzantine = protocol.name === 'raft' ? 0 : rng.int(0, f);
  for (const node of nodes.slice(0, byzantine)) faults.push({ kind: 'byzantine', node, behaviour: rng.pick(BYZANTINE_BEHAVIOURS) });
  const crashes = rng.int(0, f - byzantine);
  for (const node of nodes.slice(byzantine, byzantine + crashes)) {
    const atMs = rng.int(0, window - 2);
    const restart = rng.chance(0.8) ? { restartAtMs: rng.int(atMs + 1, window) } : {};
    faults.push({ kind: 'crash', node, atMs, ...restart });
  }
  if (rng.chance(0.3)) {
    const atMs = rng.int(0, window - 2);
    faults.push({ kind: 'partition', side: rng.sample(range(n), rng.int(1, Math.floor(n / 2))).sort((a, b) => a - b), atMs, healAtMs: rng.int(atMs + 1, window) });
  }
  const windowed = (): { fromMs: number; untilMs: number } => {
    const fromMs = rng.int(0, window - 2);
    return { fromMs, untilMs: rng.int(fromMs + 1, window) };
  };
  if (rng.chance(0.3)) faults.push({ kind: 'loss', probability: round2(rng.uniform(0.01, 0.2)), ...windowed() });
  if (rng.chance(0.3)) faults.push({ kind: 'duplicate', probability: round2(rng.uniform(0.01, 0.2)), ...windowed() });
  if (rng.chance(0.3)) faults.push({ kind: 'reorder', probability: round2(rng.uniform(0.05, 0.5)), maxDelayMs: rng.int(5, 50), ...windowed() });
  return { protocol: protocol.name, n, seed, faults, settings: all };
}

/** Run a scenario: the network and protocol are rebuilt from its seed, so a result is reproducible. */
export function runScenario(scenario: Scenario, factory: ProtocolFactory, extra: Pick<SimulationOptions<unknown, unknown>, 'trace' | 'maxEvents' | 'checkQuorums'> = {}): ScenarioResult {
  const { settings } = scenario;
  const membership = scenario.membership ?? [];
  const extraNodes = extraNodesFor(membership, scenario.n);
  const network = new Network(scenario.n, scenario.seed, settings.network, extraNodes);
  const { protocol, authenticators } = factory({ n: scenario.n, extraNodes, network, seed: scenario.seed, tickMs: settings.tickMs });
  const result = simulate({
    protocol,
    network,
    authenticators,
    seed: scenario.seed,
    durationMs: settings.durationMs,
    tickMs: settings.tickMs,
    faults: scenario.faults,
    membership,
    load: settings.load,
    livenessBoundMs: settings.livenessBoundMs,
    ...extra,
  });
  const safe = !result.violations.some(isSafetyViolation);
  return {
    ok: result.violations.length === 0,
    safe,
    live: !result.violations.some((v) => v.kind === 'liveness'),
    violations: result.violations,
    violationCounts: result.violationCounts,
    metrics: result.metrics,
    eventsProcessed: result.eventsProcessed,
    traceHash: result.traceHash,
  };
}

/**
 * A smaller failing scenario: drops faults one at a time while the run still fails the
 * same way (a safety violation of a kind the original had; for a liveness-only failure, a
 * liveness violation), until no single fault can go.
 */
export function shrinkScenario(scenario: Scenario, failing: ScenarioResult, factory: ProtocolFactory): Scenario {
  const kinds = new Set(failing.violations.filter(isSafetyViolation).map((v) => v.kind));
  const stillFails = (result: ScenarioResult): boolean =>
    kinds.size > 0 ? result.violations.some((v) => kinds.has(v.kind)) : !result.live;
  let current = scenario;
  for (let i = 0; i < current.faults.length; ) {
    const candidate = { ...current, faults: current.faults.filter((_, j) => j !== i) };
    if (stillFails(runScenario(candidate, factory))) current = candidate;
    else i++;
  }
  return current;
}

/** The one-line command that reruns `scenario` (settings other than the soak defaults are passed too). */
export function reproCommand(scenario: Scenario): string {
  const args = ['--protocol', scenario.protocol, '--n', String(scenario.n), '--seed', shellQuote(scenario.seed)];
  const { settings } = scenario;
  if (settings.durationMs !== SOAK_SETTINGS.durationMs) args.push('--duration', String(settings.durationMs));
  if (settings.livenessBoundMs !== SOAK_SETTINGS.livenessBoundMs) args.push('--liveness-bound', String(settings.livenessBoundMs));
  args.push('--faults', shellQuote(JSON.stringify(scenario.faults)));
  if (scenario.membership?.length) args.push('--membership', shellQuote(JSON.stringify(scenario.membership)));
  return `npm run soak:consensus -- ${args.join(' ')}`;
}

const round2 = (x: number): number => Math.round(x * 100) / 100;

const shellQuote = (text: string): string => (/^[\w.,:/=@-]+$/.test(text) ? text : `'${text.replace(/'/g, `'\\''`)}'`);
