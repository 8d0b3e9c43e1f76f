/**
 * Randomised soak of one protocol in the simulator: many short runs, each with its own seed
 * and random fault schedule. Exits non-zero on any safety violation and prints, for each,
 * a shrunk schedule and the command that reruns it.
 *
 *   npm run soak:consensus -- --protocol pbft|drkpbft|raft --runs 1000 --n 4,7 --seed base [--json]
 *   npm run soak:consensus -- --protocol pbft --n 7 --seed abc --faults '<json>' [--membership '<json>']   (one run)
 * Also: --duration <ms> and --liveness-bound <ms> (defaults in SOAK_SETTINGS).
 */
import { parseArgs } from 'node:util';
import { describeFault, type Fault } from './faults';
import { isSafetyViolation, type Violation } from './invariants';
import type { MembershipEvent } from './membership';
import { Network } from './network';
import { simProtocolFactory, SIM_PROTOCOLS, type SimProtocolName } from './protocols';
import { randomScenario, reproCommand, runScenario, shrinkScenario, SOAK_SETTINGS, type ProtocolFactory, type Scenario, type ScenarioResult, type ScenarioSettings } from './scenario';

export interface SoakOptions {
  protocol: string;
  factory: ProtocolFactory;
  runs: number;
  /** Cluster sizes, used in turn. */
  sizes: number[];
  seed: string;
  settings?: Partial<ScenarioSettings>;
  /** Called after each run (progress). */
  onRun?: (done: number, summary: SoakSummary) => void;
}

export interface SoakFailure {
  seed: string;
  n: number;
  violations: Violation[];
  /** For safety failures: the shrunk schedule's command; for liveness: the original's. */
  repro: string;
  shrunk?: Fault[];
}

export interface SoakSummary {
  protocol: string;
  runs: number;
  /** Runs with at least one safety violation / with a liveness violation. */
  safetyViolations: number;
  livenessViolations: number;
  safetyFailures: SoakFailure[];
  /** The first few liveness failures. */
  livenessFailures: SoakFailure[];
  eventsProcessed: number;
  elapsedMs: number;
}

const KEPT_LIVENESS_FAILURES = 5;

/** Run `runs` random scenarios; run i uses seed `${seed}-${i}` and size `sizes[i mod sizes.length]`. */
export function soak(options: SoakOptions): SoakSummary {
  const started = Date.now();
  const summary: SoakSummary = { protocol: options.protocol, runs: 0, safetyViolations: 0, livenessViolations: 0, safetyFailures: [], livenessFailures: [], eventsProcessed: 0, elapsedMs: 0 };
  for (let i = 0; i < options.runs; i++) {
    const seed = `${options.seed}-${i}`;
    const n = options.sizes[i % options.sizes.length];
    const scenario = scenarioFor(options, seed, n);
    const result = runScenario(scenario, options.factory);
    summary.runs++;
    summary.eventsProcessed += result.eventsProcessed;
    if (!result.safe) {
      summary.safetyViolations++;
      const shrunk = shrinkScenario(scenario, result, options.factory);
      summary.safetyFailures.push({ seed, n, violations: result.violations.filter(isSafetyViolation), repro: reproCommand(shrunk), shrunk: shrunk.faults });
    }
    if (!result.live) {
      summary.livenessViolations++;
      if (summary.livenessFailures.length < KEPT_LIVENESS_FAILURES) {
        summary.livenessFailures.push({ seed, n, violations: result.violations.filter((v) => !isSafetyViolation(v)), repro: reproCommand(scenario) });
      }
    }
    summary.elapsedMs = Date.now() - started;
    options.onRun?.(i + 1, summary);
  }
  return summary;
}

/** The scenario run `seed` of a soak gets (the protocol is built once to read its fault budget). */
function scenarioFor(options: SoakOptions, seed: string, n: number): Scenario {
  const settings = { ...SOAK_SETTINGS, ...options.settings };
  const scenario = randomScenario(seed, options.factory({ n, network: new Network(n, seed, settings.network), seed, tickMs: settings.tickMs }).protocol, n, settings);
  return { ...scenario, protocol: options.protocol };
}

export const summaryLine = (s: SoakSummary): string => `${s.runs} runs, ${s.safetyViolations} safety violations, ${s.livenessViolations} liveness violations`;

function describeResult(result: ScenarioResult): string {
  const m = result.metrics;
  return [
    result.ok ? 'ok' : result.violations.map((v) => `${v.kind} @${v.atMs.toFixed(1)}ms${v.node === undefined ? '' : ` node ${v.node}`}: ${v.detail}`).join('\n'),
    `events ${result.eventsProcessed}, batches ${m.batchesCommitted}, requests ${m.requestsCommitted}/${m.requestsSubmitted}, seq ${m.minCommittedSeq}…${m.maxCommittedSeq}, latency p50 ${m.latencyMs.p50.toFixed(1)}ms p99 ${m.latencyMs.p99.toFixed(1)}ms, trace ${result.traceHash}`,
  ].join('\n');
}

function main(argv: string[]): number {
  const { values } = parseArgs({
    args: argv,
    options: {
      protocol: { type: 'string', default: 'pbft' },
      runs: { type: 'string', default: '1000' },
      n: { type: 'string', default: '4,7' },
      seed: { type: 'string', default: 'soak' },
      faults: { type: 'string' },
      membership: { type: 'string' },
      duration: { type: 'string' },
      'liveness-bound': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
  });
  const protocol = values.protocol as SimProtocolName;
  if (!SIM_PROTOCOLS.includes(protocol)) throw new Error(`--protocol must be one of ${SIM_PROTOCOLS.join(', ')}`);
  const sizes = values.n.split(',').map(Number);
  const settings: Partial<ScenarioSettings> = {};
  if (values.duration) settings.durationMs = Number(values.duration);
  if (values['liveness-bound']) settings.livenessBoundMs = Number(values['liveness-bound']);
  const factory = simProtocolFactory(protocol);

  if (values.faults !== undefined) {
    const membership = values.membership === undefined ? undefined : (JSON.parse(values.membership) as MembershipEvent[]);
    const scenario: Scenario = { protocol, n: sizes[0], seed: values.seed, faults: JSON.parse(values.faults) as Fault[], membership, settings: { ...SOAK_SETTINGS, ...settings } };
    const result = runScenario(scenario, factory);
    console.log(values.json ? JSON.stringify({ scenario, ...result }, null, 2) : describeResult(result));
    return result.safe ? 0 : 1;
  }

  const runs = Number(values.runs);
  const every = Math.max(1, Math.floor(runs / 20));
  const summary = soak({
    protocol,
    factory,
    runs,
    sizes,
    seed: values.seed,
    settings,
    onRun(done, s) {
      if (done % every === 0 || done === runs) process.stderr.write(`[${protocol}] ${summaryLine(s)} (${(s.elapsedMs / 1000).toFixed(1)}s)\n`);
    },
  });
  if (values.json) {
    console.log(JSON.stringify(summary, null, 2));
  } else {
    for (const failure of [...summary.safetyFailures, ...summary.livenessFailures]) {
      console.log(`seed ${failure.seed} n=${failure.n}: ${failure.violations.map((v) => `${v.kind}: ${v.detail}`).join('; ')}`);
      if (failure.shrunk) console.log(`  shrunk to: ${failure.shrunk.map(describeFault).join('; ') || 'no faults'}`);
      console.log(`  rerun: ${failure.repro}`);
    }
    console.log(summaryLine(summary));
  }
  return summary.safetyViolations > 0 ? 1 : 0;
}

if (require.main === module) process.exitCode = main(process.argv.slice(2));
