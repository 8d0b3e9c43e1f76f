/** The ordering benchmark's summary: per workload and mode, and the ratios issue 17 asks for. */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { lineChart, type Series } from '../../consensus-plugin/bench/charts';
import type { Ordering } from '../src/ordering';
import type { ModeResult, SaturatedStep, Step } from './ordering';
import { ROLES, type Role } from './ordering-probe';

/** Appended to a workload's name for its steps with one orderer killed (`--killed`). */
export const KILLED = ', one orderer killed';

const COLORS: Record<Ordering, string> = { etcdraft: '#1f77b4', bft: '#ff7f0e', drkpbft: '#2ca02c' };

export interface ModeSummary {
  /** Committed throughput of the closed-loop windows, the mean over them: the most the mode carries (compared below). */
  saturatedPerS?: number;
  /** The same, window by window: two per round (A B B A over the workloads), and `--rounds` runs the modes again in reverse order, so a drifting machine evens out. */
  saturatedWindowsPerS?: number[];
  /** The mean of each round's windows, in round order: the ratios below are also given round by round, where the modes ran minutes, not hours, apart. */
  saturatedRoundsPerS?: number[];
  /** CPU milliseconds each committed transaction cost at saturation, by component (whole network and the client), mean over the windows. */
  saturatedCpuMsPerTx?: Record<Role, number>;
  /** The highest committed throughput over the open-loop steps. */
  peakPerS: number;
  /** At the lowest offered rate (every mode keeps up there). */
  lightP50Ms: number;
  lightP99Ms: number;
  lightBytesPerBlock: number;
  lightOrderingCores: number;
  /** At the highest offered rate every summarised mode kept up with. */
  sharedRate?: number;
  sharedP50Ms?: number;
}

export type Summary = Record<
  string,
  {
    modes: Partial<Record<Ordering, ModeSummary>>;
    ratios: Record<string, number>;
    /** Each saturated-throughput ratio round by round (rounds both sides ran), to show how far it moves between rounds. */
    roundRatios: Record<string, number[]>;
  }
>;

const kept = (s: Step) => s.throughputPerS >= 0.9 * s.offeredPerS;

export function cpuMsPerTx(step: SaturatedStep): Record<Role, number> {
  return Object.fromEntries(ROLES.map((r) => [r, (step.coresByRole[r] * 1000) / step.throughputPerS])) as Record<Role, number>;
}

const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;

function closedLoop(windows: SaturatedStep[]): Pick<ModeSummary, 'saturatedPerS' | 'saturatedWindowsPerS' | 'saturatedCpuMsPerTx'> {
  if (windows.length === 0) return {};
  const cpu = windows.map(cpuMsPerTx);
  return {
    saturatedPerS: mean(windows.map((s) => s.throughputPerS)),
    saturatedWindowsPerS: windows.map((s) => s.throughputPerS),
    saturatedCpuMsPerTx: Object.fromEntries(ROLES.map((r) => [r, mean(cpu.map((c) => c[r]))])) as Record<Role, number>,
  };
}

function modeSummary(steps: Step[], saturated: SaturatedStep[], rounds: number[], sharedRate: number | undefined): ModeSummary {
  const light = steps[0]!;
  const shared = steps.find((s) => s.offeredPerS === sharedRate);
  return {
    ...closedLoop(saturated),
    ...(rounds.length > 0 ? { saturatedRoundsPerS: rounds } : {}),
    peakPerS: Math.max(...steps.map((s) => s.throughputPerS)),
    lightP50Ms: light.p50Ms,
    lightP99Ms: light.p99Ms,
    lightBytesPerBlock: light.bytesPerBlock,
    lightOrderingCores: light.orderingCores,
    ...(shared ? { sharedRate, sharedP50Ms: shared.p50Ms } : {}),
  };
}

/** One result per mode: the rounds after the first add closed-loop steps only. */
function byMode(results: ModeResult[]): ModeResult[] {
  const modes = new Map<Ordering, ModeResult>();
  for (const r of results) {
    const m = modes.get(r.ordering);
    if (m === undefined) modes.set(r.ordering, { ...r, steps: [...r.steps], saturated: [...r.saturated] });
    else {
      m.steps.push(...r.steps);
      m.saturated.push(...r.saturated);
    }
  }
  return [...modes.values()];
}

/** The mean throughput of `workload`'s closed-loop windows in each round `ordering` ran, in round order. */
function roundMeans(all: ModeResult[], ordering: Ordering, workload: string): number[] {
  return all
    .filter((r) => r.ordering === ordering)
    .sort((a, b) => a.round - b.round)
    .map((r) => r.saturated.filter((s) => s.workload === workload).map((s) => s.throughputPerS))
    .filter((xs) => xs.length > 0)
    .map(mean);
}

/** x/y round by round, over the rounds both have. */
function byRound(x: ModeSummary, y: ModeSummary): number[] {
  const xs = x.saturatedRoundsPerS ?? [];
  const ys = y.saturatedRoundsPerS ?? [];
  return xs.slice(0, ys.length).map((v, i) => v / ys[i]!);
}

/** x/y of saturated throughput under `name`, overall and round by round, when both have it. */
function putSaturatedRatio(into: Summary[string], name: string, x: ModeSummary, y: ModeSummary): void {
  if (x.saturatedPerS === undefined || y.saturatedPerS === undefined) return;
  into.ratios[name] = x.saturatedPerS / y.saturatedPerS;
  into.roundRatios[name] = byRound(x, y);
}

export function summarise(all: ModeResult[]): Summary {
  const results = byMode(all);
  const summary: Summary = {};
  const workloads = [...new Set(results.flatMap((r) => r.steps.map((s) => s.workload)))];
  for (const workload of workloads) {
    const stepsOf = (r: ModeResult) => r.steps.filter((s) => s.workload === workload);
    const sustained = results.map((r) => new Set(stepsOf(r).filter(kept).map((s) => s.offeredPerS)));
    const sharedRate = Math.max(...[...(sustained[0] ?? [])].filter((rate) => sustained.every((set) => set.has(rate))), -Infinity);
    const modes: Partial<Record<Ordering, ModeSummary>> = {};
    for (const r of results) {
      if (stepsOf(r).length > 0) modes[r.ordering] = modeSummary(stepsOf(r), r.saturated.filter((s) => s.workload === workload), roundMeans(all, r.ordering, workload), Number.isFinite(sharedRate) ? sharedRate : undefined);
    }
    const entry: Summary[string] = { modes, ratios: {}, roundRatios: {} };
    const { ratios } = entry;
    const pairs: [Ordering, Ordering][] = [
      ['drkpbft', 'bft'],
      ['drkpbft', 'etcdraft'],
      ['bft', 'etcdraft'],
    ];
    for (const [a, b] of pairs) {
      const x = modes[a];
      const y = modes[b];
      if (!x || !y) continue;
      putSaturatedRatio(entry, `${a}/${b} saturated throughput`, x, y);
      ratios[`${a}/${b} open-loop peak throughput`] = x.peakPerS / y.peakPerS;
      ratios[`${a}/${b} p50 at the lowest rate`] = x.lightP50Ms / y.lightP50Ms;
      if (x.sharedP50Ms !== undefined && y.sharedP50Ms !== undefined) ratios[`${a}/${b} p50 at ${x.sharedRate}/s`] = x.sharedP50Ms / y.sharedP50Ms;
      ratios[`${a}/${b} bytes between orderers per block`] = x.lightBytesPerBlock / y.lightBytesPerBlock;
    }
    summary[workload] = entry;
  }
  // The EMR upload against the bare PutState floor and the floor with a read, and that read's
  // own cost, per mode: the ratio is put on the first workload of each pair.
  const named = (prefix: string) => Object.keys(summary).find((w) => w.startsWith(prefix));
  for (const [x, y] of [['upload', 'PutState'], ['GetState+PutState', 'PutState'], ['upload', 'GetState+PutState']] as const) {
    const label = `${x}/${y}`;
    const over = named(x);
    const under = named(y);
    if (!over || !under) continue;
    for (const mode of Object.keys(summary[over]!.modes) as Ordering[]) {
      const u = summary[over]!.modes[mode];
      const f = summary[under]!.modes[mode];
      if (!u || !f) continue;
      putSaturatedRatio(summary[over]!, `${mode} ${label} saturated throughput`, u, f);
      summary[over]!.ratios[`${mode} ${label} open-loop peak throughput`] = u.peakPerS / f.peakPerS;
    }
  }
  // Each workload with one orderer killed against the same workload intact, per mode.
  for (const workload of Object.keys(summary).filter((w) => w.endsWith(KILLED))) {
    const intact = summary[workload.slice(0, -KILLED.length)];
    for (const [mode, k] of Object.entries(summary[workload]!.modes) as [Ordering, ModeSummary][]) {
      const i = intact?.modes[mode];
      if (!i) continue;
      if (k.saturatedPerS !== undefined && i.saturatedPerS !== undefined) summary[workload]!.ratios[`${mode} killed/intact saturated throughput`] = k.saturatedPerS / i.saturatedPerS;
      summary[workload]!.ratios[`${mode} killed/intact open-loop peak throughput`] = k.peakPerS / i.peakPerS;
      summary[workload]!.ratios[`${mode} killed/intact p50 at the lowest rate`] = k.lightP50Ms / i.lightP50Ms;
    }
  }
  return summary;
}

const f1 = (x: number | undefined) => (x === undefined || !Number.isFinite(x) ? '—' : x >= 100 ? x.toFixed(0) : x.toFixed(1));

export function printReport(summary: Summary): void {
  for (const [workload, { modes, ratios, roundRatios }] of Object.entries(summary)) {
    console.log(`\n${workload}`);
    console.log('  mode      saturated tx/s  open-loop peak tx/s  p50 ms (light)  p99 ms (light)  KiB between orderers/block  ordering CPU (cores, light)');
    for (const [mode, m] of Object.entries(modes)) {
      console.log(`  ${mode.padEnd(9)} ${f1(m.saturatedPerS).padStart(14)}  ${f1(m.peakPerS).padStart(19)}  ${f1(m.lightP50Ms).padStart(14)}  ${f1(m.lightP99Ms).padStart(14)}  ${f1(m.lightBytesPerBlock / 1024).padStart(26)}  ${m.lightOrderingCores.toFixed(2).padStart(27)}`);
    }
    const windows = Object.entries(modes).filter(([, m]) => (m.saturatedWindowsPerS?.length ?? 0) > 1);
    if (windows.length > 0) console.log(`  saturated tx/s by window: ${windows.map(([mode, m]) => `${mode} ${m.saturatedWindowsPerS!.map(f1).join(', ')}`).join('; ')}`);
    console.log(`  CPU ms per committed tx at saturation: mode, ${ROLES.join(', ')}, total`);
    for (const [mode, m] of Object.entries(modes)) {
      const cpu = m.saturatedCpuMsPerTx;
      if (cpu !== undefined) console.log(`  ${mode.padEnd(9)} ${ROLES.map((r) => cpu[r].toFixed(1).padStart(8)).join(' ')} ${ROLES.reduce((sum, r) => sum + cpu[r], 0).toFixed(1).padStart(8)}`);
    }
    for (const [name, value] of Object.entries(ratios)) {
      const rounds = roundRatios[name] ?? [];
      console.log(`  ${name}: ${value.toFixed(2)}×${rounds.length > 1 ? ` (by round: ${rounds.map((r) => r.toFixed(2)).join(', ')})` : ''}`);
    }
  }
}

/** Throughput and p50 against offered load, one chart each per workload; returns the files written. */
export function writeCharts(all: ModeResult[], dir: string, prefix: string): string[] {
  const results = byMode(all);
  const files: string[] = [];
  const workloads = [...new Set(results.flatMap((r) => r.steps.map((s) => s.workload)))];
  for (const workload of workloads) {
    const series = (y: (s: Step) => number): Series[] =>
      results.map((r) => ({ name: r.ordering, color: COLORS[r.ordering], points: r.steps.filter((s) => s.workload === workload).map((s): [number, number] => [s.offeredPerS, y(s)]) }));
    const slug = (workload.startsWith('PutState') ? 'floor' : workload.startsWith('GetState+PutState') ? 'floor-read' : workload.split(' ')[0]!) + (workload.endsWith(KILLED) ? '-killed' : '');
    const charts = {
      [`${prefix}-${slug}-throughput.svg`]: lineChart({ title: `${workload}: committed throughput`, xLabel: 'offered load (tx/s)', yLabel: 'committed tx/s', series: series((s) => s.throughputPerS), yMin: 0 }),
      [`${prefix}-${slug}-latency.svg`]: lineChart({ title: `${workload}: median commit latency`, xLabel: 'offered load (tx/s)', yLabel: 'p50 latency (ms)', series: series((s) => s.p50Ms), yMin: 0 }),
    };
    for (const [name, svg] of Object.entries(charts)) {
      const file = path.join(dir, name);
      writeFileSync(file, svg);
      files.push(file);
    }
  }
  return files;
}
