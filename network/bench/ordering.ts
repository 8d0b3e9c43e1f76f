/**
 * npm run bench:ordering [-- --json] [--write] [--modes etcdraft,bft,drkpbft] [--orderers 4]
 *                          [--rates 25,50,100,200] [--seconds 12] [--backlog 64] [--workloads floor,floor-read,upload,access]
 *                          [--wan]   (orderers in 3 emulated WAN zones; 7 orderers unless told)
 *                          [--killed] (then each workload again with one follower orderer killed)
 *                          [--rounds 2] (the modes again in reverse order, closed-loop steps only)
 *
 * The channel's three ordering services side by side on the live network, one after the
 * other in one run, on the same workload (docs/benchmarks.md, "Ordering services"). Each
 * mode gets a fresh network (`up --ordering <mode>`), then, for each workload, steps of
 * rising offered load through the Fabric Gateway (ordering-load.ts) while the ordering
 * processes' CPU, the bytes they send each other and the blocks they cut are sampled
 * (ordering-probe.ts). Rising stops after the first step that commits under 70 % of the
 * offered rate. Then closed-loop windows keep `--backlog` transactions in flight, the
 * workloads in mirrored order (A B B A) for half a step each: what they commit is the
 * workload's saturated throughput, the figure the modes are compared on. This
 * machine's speed drifts by tens of percent over minutes, so with `--rounds` (2 by default)
 * the modes then run again in reverse order (A B C, C B A, …), closed-loop steps only, and
 * the comparison takes the mean over the rounds: a steady drift weighs on every mode alike.
 * With `--killed`, one orderer that does not lead (and, under drkpbft, its replica) is then
 * killed and every workload runs again on the n − 1 left. Its networks live in their own
 * state directory (network/.bench-run, set by the npm script) and are reset after each mode
 * and at the end; it refuses to run on the operator's network/.run.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { connectGateway, pseudonymOf, type EmrConnection } from '@emr/client';
import { replicaName } from '../src/drkpbft-replicas';
import { consensusView, reset, up } from '../src/network';
import { stopDaemon } from '../src/processes';
import { parseOrdererCount, parseOrdering, type Ordering } from '../src/ordering';
import { defaultStateDir, stateDir } from '../src/paths';
import { runningTopology } from '../src/run-state';
import { accessWorkload, floorWorkload, prepareAccess, readFloorWorkload, runSaturated, runStep, uploadWorkload, type SaturatedResult, type StepResult, type Workload } from './ordering-load';
import { delta, probe, type ProbeDelta } from './ordering-probe';
import { cpuMsPerTx, KILLED, printReport, summarise, writeCharts } from './ordering-report';

const { values: args } = parseArgs({
  options: {
    json: { type: 'boolean' },
    write: { type: 'boolean' },
    wan: { type: 'boolean' },
    killed: { type: 'boolean' },
    modes: { type: 'string' },
    orderers: { type: 'string' },
    rates: { type: 'string' },
    seconds: { type: 'string' },
    backlog: { type: 'string' },
    rounds: { type: 'string' },
    workloads: { type: 'string' },
  },
});
function positives(name: 'rates' | 'seconds' | 'backlog' | 'rounds', fallback: string): number[] {
  return (args[name] ?? fallback).split(',').map((v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name}: '${v}' is not a positive number`);
    return n;
  });
}

const WORKLOADS = ['floor', 'floor-read', 'upload', 'access'] as const;
type WorkloadName = (typeof WORKLOADS)[number];

const json = args.json === true;
const write = args.write === true;
const modes = (args.modes ?? 'etcdraft,bft,drkpbft').split(',').map((m) => parseOrdering(m, '--modes'));
const wan = args.wan === true;
const killed = args.killed === true;
const orderers = parseOrdererCount(args.orderers ?? (wan ? '7' : '4'), '--orderers');
const rates = positives('rates', '25,50,100,200');
const seconds = positives('seconds', '12')[0]!;
const backlog = positives('backlog', '64')[0]!;
const rounds = positives('rounds', '2')[0]!;
if (!Number.isInteger(rounds)) throw new Error(`--rounds: '${rounds}' is not a whole number`);
const workloads = (args.workloads ?? WORKLOADS.join(',')).split(',').map((w) => {
  if (!(WORKLOADS as readonly string[]).includes(w)) throw new Error(`--workloads: unknown workload '${w}'; choose from ${WORKLOADS.join(', ')}`);
  return w as WorkloadName;
});
/** Requests in flight at most per step (the access workload's consent pool is this big). */
const MAX_IN_FLIGHT = 400;
/** A step that commits under this share of the offered rate is the last one. */
const SATURATED = 0.7;
/**
 * Warm-up of the closed-loop step, not counted. The default backlog of 64 keeps every mode
 * busy (capacity × unloaded latency is about 120 tx/s × 0.25 s = 30 here) with queues short
 * enough that commit latency stays under a second or two.
 */
const SATURATED_WARMUP_S = 4;
/** Time given to the clients and the orderers left to notice the dead one before measuring. */
const KILL_SETTLE_MS = 5000;

const log = (line: string) => {
  if (!json) console.log(line);
};

export interface Step extends StepResult, ProbeDelta {
  bytesPerBlock: number;
  txPerBlock: number;
}

export type SaturatedStep = SaturatedResult & ProbeDelta;

export interface ModeResult {
  ordering: Ordering;
  orderers: number;
  upSeconds: number;
  /** 1 for the first pass over the modes (rising and closed-loop steps); later rounds have closed-loop steps only. */
  round: number;
  steps: Step[];
  /** The closed-loop windows, two per workload (A B B A). */
  saturated: SaturatedStep[];
}

async function benchMode(ordering: Ordering, round: number): Promise<ModeResult> {
  log(`\n## ${ordering}, ${orderers} orderers${wan ? ', 3 emulated WAN zones' : ''}${rounds > 1 ? `, round ${round} of ${rounds}` : ''}`);
  await reset(() => undefined);
  const started = await up((line) => log(`  [network] ${line}`), { ordering, orderers, wan });
  const t = runningTopology();
  const open: EmrConnection[] = [];
  const as = (org: string, user: string) => {
    const c = connectGateway({ org, user, profile: stateDir });
    open.push(c);
    return c;
  };
  try {
    // The floor goes through the same two gateways (the hospitals' peers) as the upload, so
    // the two differ in the transaction only.
    const admins = ['HospitalA', 'HospitalB'].map((org) => as(org, 'admin'));
    const doctors = [as('HospitalA', 'doctor1'), as('HospitalB', 'doctor1')];
    const patient = as('HospitalA', 'patient1');
    const researcher = as('ResearchInstitute', 'researcher1');
    const access = workloads.includes('access') || workloads.includes('upload') ? await prepareAccess(patient, doctors[0]!, researcher, MAX_IN_FLIGHT) : undefined;
    const pseudonym = pseudonymOf(patient.mspId, patient.certificate);
    const make: Record<WorkloadName, () => Workload> = {
      floor: () => floorWorkload(admins),
      'floor-read': () => readFloorWorkload(admins),
      upload: () => uploadWorkload(doctors, pseudonym),
      access: () => accessWorkload(researcher, access!.recordId, access!.consentIds),
    };
    const steps: Step[] = [];
    const saturated: SaturatedStep[] = [];
    const runWorkloads = async (label: string) => {
      const made = new Map(workloads.map((name) => [name, make[name]()] as const));
      for (const [name, workload] of made) {
        for (const rate of round === 1 ? rates : []) {
          const before = await probe(t);
          const result = await runStep(workload, rate, seconds, MAX_IN_FLIGHT);
          const d = delta(before, await probe(t));
          const step: Step = { ...result, workload: `${result.workload}${label}`, ...d, bytesPerBlock: d.blocks > 0 ? d.bytesBetweenOrderers / d.blocks : NaN, txPerBlock: d.blocks > 0 ? result.committed / d.blocks : NaN };
          steps.push(step);
          const failures = Object.entries(step.failed).map(([k, n]) => `${k} ×${n}`).join(', ');
          log(
            `  ${`${name}${label}`.padEnd(6)} offered ${String(rate).padStart(4)}/s → ${step.throughputPerS.toFixed(1).padStart(6)} tx/s, p50 ${step.p50Ms.toFixed(0)} ms, p99 ${step.p99Ms.toFixed(0)} ms; ` +
              `${step.blocks} blocks (${step.txPerBlock.toFixed(1)} tx each), ${(step.bytesPerBlock / 1024).toFixed(1)} KiB between orderers per block, ordering CPU ${step.orderingCores.toFixed(2)} cores` +
              (failures ? `; failed: ${failures}` : '') +
              (step.skipped ? `; not started: ${step.skipped}` : ''),
          );
          if (step.throughputPerS < SATURATED * rate) break;
        }
      }
      // The closed loop in windows of half a step, the workloads in mirrored order (A B B A):
      // measured one after the other, a workload measured later met a slower machine (the
      // floor fell from 90 to 66 tx/s over two minutes on one network), and the mirror
      // cancels a steady drift out of the comparison between workloads.
      for (const name of [...workloads, ...[...workloads].reverse()]) {
        const before = await probe(t);
        const result = await runSaturated(made.get(name)!, backlog, seconds / 2, SATURATED_WARMUP_S);
        const step: SaturatedStep = { ...result, workload: `${result.workload}${label}`, ...delta(before, await probe(t)) };
        saturated.push(step);
        const failures = Object.entries(step.failed).map(([k, n]) => `${k} ×${n}`).join(', ');
        log(
          `  ${`${name}${label}`.padEnd(6)} ${backlog} in flight → ${step.throughputPerS.toFixed(1).padStart(6)} tx/s, p50 ${step.p50Ms.toFixed(0)} ms, p99 ${step.p99Ms.toFixed(0)} ms; ordering CPU ${step.orderingCores.toFixed(2)} cores; CPU ms per tx ${Object.entries(cpuMsPerTx(step)).map(([r, ms]) => `${r} ${ms.toFixed(1)}`).join(', ')}` +
            (failures ? `; failed: ${failures}` : ''),
        );
      }
    };
    await runWorkloads('');
    if (killed) {
      const view = await consensusView(t);
      const victim = [...t.ordererOrg.orderers].reverse().find((o) => o.name !== view.leader)!;
      log(`  killing ${victim.name} (the leader is ${view.leader ?? 'unknown'})`);
      await stopDaemon(victim.name, 0);
      if (ordering === 'drkpbft') await stopDaemon(replicaName(victim), 0);
      await new Promise((r) => setTimeout(r, KILL_SETTLE_MS));
      await runWorkloads(KILLED);
    }
    return { ordering, orderers, upSeconds: started.seconds, round, steps, saturated };
  } finally {
    for (const c of open) c.close();
    await reset(() => undefined);
  }
}

async function main(): Promise<void> {
  if (stateDir === defaultStateDir) throw new Error(`bench:ordering resets its networks: run it with EMR_NETWORK_DIR set to a directory of its own (npm run bench:ordering does), not ${defaultStateDir}`);
  const t0 = Date.now();
  const results: ModeResult[] = [];
  for (let round = 1; round <= rounds; round++) {
    for (const mode of round % 2 === 1 ? modes : [...modes].reverse()) results.push(await benchMode(mode, round));
  }
  const summary = summarise(results);
  const result = {
    benchmark: 'ordering',
    date: new Date().toISOString(),
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
    config: { modes, orderers, wan, killed, rounds, rates, secondsPerStep: seconds, backlog, saturatedWarmupSeconds: SATURATED_WARMUP_S, workloads, maxInFlight: MAX_IN_FLIGHT, saturatedBelow: SATURATED },
    summary,
    modes: results,
    wallSeconds: (Date.now() - t0) / 1000,
  };
  if (json) console.log(JSON.stringify(result, null, 2));
  else printReport(summary);
  if (write) {
    const docs = path.join(__dirname, '..', '..', 'docs');
    mkdirSync(path.join(docs, 'charts'), { recursive: true });
    const name = wan ? 'ordering-wan' : 'ordering';
    writeFileSync(path.join(docs, `bench-${name}.json`), `${JSON.stringify(result, null, 2)}\n`);
    for (const file of writeCharts(results, path.join(docs, 'charts'), name)) log(`wrote ${path.relative(process.cwd(), file)}`);
    log(`wrote docs/bench-${name}.json`);
  }
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
