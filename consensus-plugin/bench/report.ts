/**
 * The benchmark's results as one serialisable report, and its renderings: Markdown tables
 * (printed, and pasted into docs/benchmarks.md), CSV and SVG charts.
 */
import { lineChart, type Series } from './charts';
import type { RealRow, RealSettings } from './real-runs';
import type { FaultyResult, MembershipResult, RunFigures } from './sim-runs';
import type { ProtocolName } from './setup';

export interface SteadyRow {
  n: number;
  protocol: ProtocolName;
  /** At the base saturating load (`SATURATING_LOAD`). */
  saturating?: RunFigures;
  /** The highest-throughput run of the peak search (the base run when it was already resource-bound). */
  peak?: RunFigures & { outstanding: number };
  light?: RunFigures;
  /** Why the row was not simulated. */
  notRun?: string;
}

/** DRKPBFT / flat PBFT at one n, from the saturated runs. */
export interface RatioRow {
  n: number;
  messagesPerBatch: number;
  bytesPerBatch: number;
  /** At the base saturating load. */
  throughput: number;
  peakThroughput: number;
}

/** The figures for n = 64 in the simulator. */
export const TARGETS = { n: 64, maxMessagesRatio: 0.25, minThroughputRatio: 3 } as const;

export interface BenchReport {
  meta: {
    date: string;
    command: string;
    machine: string;
    node: string;
    /** 1-minute load average when the run started and ended (other work on the host skews the real-process figures). */
    loadAverage: { start: number; end: number };
    wallSeconds: number;
    seed: string;
    quick: boolean;
    /** Every fixed parameter of the simulated runs (setup.ts) and of the real ones. */
    settings: Record<string, unknown>;
  };
  steady: SteadyRow[];
  ratios: RatioRow[];
  faulty: FaultyResult[];
  membership: MembershipResult[];
  /** Protocols the membership section could not run, and why. */
  membershipNotRun: { protocol: ProtocolName; reason: string }[];
  real: RealRow[];
  realSettings: RealSettings;
  realSkipped?: string;
}

export const PROTOCOL_LABEL: Record<ProtocolName, string> = { drkpbft: 'DRKPBFT', pbft: 'flat PBFT', raft: 'Raft' };
const COLOR: Record<ProtocolName, string> = { drkpbft: '#1f6fb4', pbft: '#d62728', raft: '#2ca02c' };

// ---------------------------------------------------------------- ratios and targets

export function ratios(steady: readonly SteadyRow[]): RatioRow[] {
  const rows: RatioRow[] = [];
  for (const d of steady) {
    const p = steady.find((r) => r.n === d.n && r.protocol === 'pbft');
    if (d.protocol !== 'drkpbft' || !d.saturating || !p?.saturating) continue;
    rows.push({
      n: d.n,
      messagesPerBatch: d.saturating.messagesPerBatch / p.saturating.messagesPerBatch,
      bytesPerBatch: d.saturating.bytesPerBatch / p.saturating.bytesPerBatch,
      throughput: d.saturating.throughput / p.saturating.throughput,
      peakThroughput: (d.peak?.throughput ?? NaN) / (p.peak?.throughput ?? NaN),
    });
  }
  return rows;
}

/** "met" / "missed" for the two n = 64 targets, or undefined when n = 64 was not run. */
export function targetVerdicts(rows: readonly RatioRow[]): { messages: string; throughput: string } | undefined {
  const row = rows.find((r) => r.n === TARGETS.n);
  if (!row) return undefined;
  return {
    messages: `${ratio(row.messagesPerBatch)} (target ≤ ${TARGETS.maxMessagesRatio}×): ${row.messagesPerBatch <= TARGETS.maxMessagesRatio ? 'met' : 'MISSED'}`,
    throughput: `${ratio(row.peakThroughput)} at peak (target ≥ ${TARGETS.minThroughputRatio}×): ${row.peakThroughput >= TARGETS.minThroughputRatio ? 'met' : 'MISSED'}; ${ratio(row.throughput)} at the base load`,
  };
}

// ---------------------------------------------------------------- Markdown tables

const num = (x: number | undefined, digits = 3): string => (x === undefined || !Number.isFinite(x) ? '—' : x >= 10 ** digits ? x.toFixed(0) : String(Number(x.toPrecision(digits))));
const int = (x: number | undefined): string => (x === undefined || !Number.isFinite(x) ? '—' : x.toFixed(0));
const pct = (x: number): string => `${(100 * x).toFixed(0)} %`;
const ratio = (x: number): string => (Number.isFinite(x) ? `${num(x, 2)}×` : '—');
const kib = (bytes: number): string => num(bytes / 1024);

function table(header: string[], rows: string[][], align: ('l' | 'r')[]): string {
  const rule = align.map((a) => (a === 'r' ? '---:' : '---'));
  return [header, rule, ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

export function steadyTable(rows: readonly SteadyRow[]): string {
  const body = rows.map((r) => {
    const s = r.saturating;
    const l = r.light;
    const pk = r.peak;
    if (!s) return [String(r.n), PROTOCOL_LABEL[r.protocol], `not run: ${r.notRun ?? '?'}`, '', '', '', '', '', '', '', '', ''];
    return [
      String(r.n),
      PROTOCOL_LABEL[r.protocol],
      s.batches === 0 ? '0 (nothing committed)' : int(s.throughput),
      pk ? `${int(pk.throughput)} @ ${int(pk.outstanding)} (${pct(pk.busiestCpu)} / ${pct(pk.busiestUplink)})` : '—',
      num(s.messagesPerBatch),
      kib(s.bytesPerBatch),
      num(s.requestsPerBatch),
      `${int(s.p50)} / ${int(s.p99)}`,
      l ? `${int(l.p50)} / ${int(l.p99)}` : '—',
      `${pct(s.busiestCpu)} / ${pct(s.busiestUplink)}`,
      String(s.safetyViolations + (l?.safetyViolations ?? 0)) + (s.quorumsChecked ? '' : '¹'),
      num(s.cpuSeconds + (l?.cpuSeconds ?? 0), 2),
    ];
  });
  return table(
    ['n', 'protocol', 'throughput (req/s)', 'peak throughput @ outstanding (busiest CPU / uplink)', 'messages / batch', 'KiB / batch', 'requests / batch', 'p50 / p99 saturated (ms)', 'p50 / p99 light load (ms)', 'busiest CPU / uplink', 'safety violations', 'sim CPU (s)'],
    body,
    ['r', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
  );
}

export function ratioTable(rows: readonly RatioRow[]): string {
  return table(
    ['n', 'messages / batch', 'bytes / batch', 'throughput, base load', 'peak throughput'],
    rows.map((r) => [String(r.n) + (r.n === TARGETS.n ? ' (targets: ≤ 0.25× messages, ≥ 3× throughput)' : ''), ratio(r.messagesPerBatch), ratio(r.bytesPerBatch), ratio(r.throughput), ratio(r.peakThroughput)]),
    ['l', 'r', 'r', 'r', 'r'],
  );
}

export function faultyTable(rows: readonly FaultyResult[]): string {
  return table(
    ['n', 'protocol', 'faulty nodes', 'behaviour', 'throughput (req/s)', 'messages / batch', 'p50 / p99 (ms)', 'safety violations'],
    rows.map((r) => [
      String(r.job.n),
      PROTOCOL_LABEL[r.job.protocol],
      `f = ${r.faulty}: ${r.faultyNodes.join(', ') || '—'}`,
      r.job.behaviour === 'crash' ? 'crashed (Raft: crash faults only)' : `Byzantine, ${r.job.behaviour}`,
      int(r.throughput),
      num(r.messagesPerBatch),
      `${int(r.p50)} / ${int(r.p99)}`,
      String(r.safetyViolations),
    ]),
    ['r', 'l', 'l', 'l', 'r', 'r', 'r', 'r'],
  );
}

export function membershipTable(rows: readonly MembershipResult[]): string {
  const body: string[][] = [];
  for (const r of rows) {
    for (const c of r.changes) {
      body.push([
        PROTOCOL_LABEL[r.job.protocol],
        `${c.change} of node ${c.node} @ ${c.submittedAtMs} ms`,
        c.committedAtMs === undefined ? 'not committed' : `${int(c.committedAtMs - c.submittedAtMs)} ms`,
        `${int(c.before.throughput)} / ${int(c.during.throughput)} / ${int(c.after.throughput)}`,
        `${int(c.before.p50)} / ${int(c.during.p50)} / ${int(c.after.p50)}`,
        `${int(c.before.p99)} / ${int(c.during.p99)} / ${int(c.after.p99)}`,
        `${num(c.before.messagesPerBatch)} / ${num(c.during.messagesPerBatch)} / ${num(c.after.messagesPerBatch)}`,
      ]);
    }
  }
  return table(
    ['protocol', 'change (submitted)', 'committed after', 'throughput before / during / after (req/s)', 'p50 (ms)', 'p99 (ms)', 'messages / batch'],
    body,
    ['l', 'l', 'r', 'r', 'r', 'r', 'r'],
  );
}

export function realTable(rows: readonly RealRow[]): string {
  return table(
    ['n', 'protocol', 'throughput (req/s)', 'p50 / p99 (ms)', 'messages / request', 'KiB / request', 'replicas agree'],
    rows.map((r) =>
      'error' in r
        ? [String(r.n), PROTOCOL_LABEL[r.protocol], `failed: ${r.error}`, '', '', '', '']
        : [
            String(r.n),
            PROTOCOL_LABEL[r.protocol],
            int(r.result.throughput),
            `${num(r.result.latencyMs.p50)} / ${num(r.result.latencyMs.p99)}`,
            num(r.result.messagesPerRequest),
            num(r.result.bytesPerRequest / 1024),
            r.result.conflicts.length === 0 ? `yes (${r.result.highestSeq} batches)` : `NO: ${r.result.conflicts.length} conflicts`,
          ],
    ),
    ['r', 'l', 'r', 'r', 'r', 'r', 'l'],
  );
}

/** Everything as text: one heading and table per section. */
export function renderText(report: BenchReport): string {
  const out: string[] = [];
  out.push('## Simulator: same network, saturating closed-loop load (light load: latency only)', steadyTable(report.steady));
  if (report.steady.some((r) => r.saturating && !r.saturating.quorumsChecked)) out.push('¹ commit quorums not checked against the votes sent at this size (costly); agreement, order and validity were.');
  out.push('## DRKPBFT / flat PBFT', ratioTable(report.ratios));
  const verdicts = targetVerdicts(report.ratios);
  if (verdicts) out.push(`n = ${TARGETS.n}: messages per batch ${verdicts.messages}; throughput ${verdicts.throughput}`);
  if (report.faulty.length > 0) out.push('## Simulator: f faulty nodes (saturating load)', faultyTable(report.faulty));
  if (report.membership.length > 0) {
    out.push('## Simulator: a member leaves, then joins again (saturating load; windows of 1 s before / during / after)', membershipTable(report.membership));
    for (const m of report.membershipNotRun) out.push(`${PROTOCOL_LABEL[m.protocol]}: not run (${m.reason})`);
  }
  out.push('## Real processes (127.0.0.1, Ed25519)', report.realSkipped ? `skipped: ${report.realSkipped}` : realTable(report.real));
  const { loadAverage, wallSeconds } = report.meta;
  out.push(`${report.meta.machine}; load average ${loadAverage.start.toFixed(1)} at start, ${loadAverage.end.toFixed(1)} at end; ${(wallSeconds / 60).toFixed(1)} min.`);
  return out.join('\n\n') + '\n';
}

// ---------------------------------------------------------------- CSV

const CSV_HEADER = ['section', 'scenario', 'protocol', 'n', 'throughput_req_s', 'messages_per_batch', 'bytes_per_batch', 'requests_per_batch', 'p50_ms', 'p99_ms', 'busiest_cpu', 'busiest_uplink', 'safety_violations', 'note'];

/** One line per measured row of every section (membership: one per change and phase). */
export function toCsv(report: BenchReport): string {
  const lines: (string | number)[][] = [CSV_HEADER];
  const fig = (f: RunFigures): (string | number)[] => [f.throughput, f.messagesPerBatch, f.bytesPerBatch, f.requestsPerBatch, f.p50, f.p99, f.busiestCpu, f.busiestUplink, f.safetyViolations];
  for (const r of report.steady) {
    if (r.saturating) lines.push(['sim', 'saturating', r.protocol, r.n, ...fig(r.saturating), '']);
    if (r.peak) lines.push(['sim', 'peak', r.protocol, r.n, ...fig(r.peak), `${r.peak.outstanding} requests outstanding`]);
    if (r.light) lines.push(['sim', 'light', r.protocol, r.n, ...fig(r.light), '']);
    if (r.notRun) lines.push(['sim', 'saturating', r.protocol, r.n, '', '', '', '', '', '', '', '', '', `not run: ${r.notRun}`]);
  }
  for (const r of report.faulty) lines.push(['sim-faulty', `${r.job.behaviour} f=${r.faulty}`, r.job.protocol, r.job.n, ...fig(r), `faulty nodes ${r.faultyNodes.join(' ')}`]);
  for (const r of report.membership) {
    for (const c of r.changes) {
      for (const phase of ['before', 'during', 'after'] as const) {
        const w = c[phase];
        lines.push(['sim-membership', `${c.change} ${phase}`, r.job.protocol, r.job.n, w.throughput, w.messagesPerBatch, '', '', w.p50, w.p99, '', '', r.safetyViolations, `node ${c.node}; submitted ${c.submittedAtMs} ms; committed ${c.committedAtMs ?? 'never'}`]);
      }
    }
  }
  for (const r of report.real) {
    if ('error' in r) lines.push(['real', 'ed25519', r.protocol, r.n, '', '', '', '', '', '', '', '', '', `failed: ${r.error}`]);
    else lines.push(['real', 'ed25519', r.protocol, r.n, r.result.throughput, '', '', '', r.result.latencyMs.p50, r.result.latencyMs.p99, '', '', r.result.conflicts.length, `${r.result.messagesPerRequest} messages and ${r.result.bytesPerRequest} bytes per request`]);
  }
  return lines.map((cells) => cells.map(csvCell).join(',')).join('\n') + '\n';
}

function csvCell(value: string | number): string {
  const text = typeof value === 'number' ? (Number.isFinite(value) ? String(Number(value.toPrecision(6))) : '') : value;
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

// ---------------------------------------------------------------- charts

/** File name (under docs/charts/) → SVG. */
export function charts(report: BenchReport): Record<string, string> {
  const sizes = [...new Set(report.steady.map((r) => r.n))].sort((a, b) => a - b);
  const perProtocol = (pick: (r: SteadyRow) => number | undefined, dashed = false, suffix = ''): Series[] =>
    (['drkpbft', 'pbft', 'raft'] as const).map((protocol) => ({
      name: PROTOCOL_LABEL[protocol] + suffix,
      color: COLOR[protocol],
      dashed,
      points: report.steady.filter((r) => r.protocol === protocol).map((r): [number, number] => [r.n, pick(r) ?? NaN]),
    }));
  const common = { xLabel: 'nodes n', logX: true, logY: true, xTicks: sizes };
  const out: Record<string, string> = {
    'consensus-messages.svg': lineChart({ ...common, title: 'Messages per committed batch (simulator)', yLabel: 'messages / batch', series: perProtocol((r) => r.saturating?.messagesPerBatch) }),
    'consensus-throughput.svg': lineChart({
      ...common,
      title: 'Throughput (simulator)',
      yLabel: 'committed requests / s',
      series: [...perProtocol((r) => r.peak?.throughput, false, ', peak'), ...perProtocol((r) => r.saturating?.throughput, true, ', 8192 outstanding')],
    }),
    'consensus-latency.svg': lineChart({
      ...common,
      title: 'Commit latency p50 (simulator)',
      yLabel: 'p50 latency (ms)',
      series: [...perProtocol((r) => r.light?.p50, false, ', light load'), ...perProtocol((r) => r.saturating?.p50, true, ', saturated')],
    }),
  };
  if (report.membership.length > 0) {
    const first = report.membership[0];
    const bucketSec = first.job.bucketMs / 1000;
    out['consensus-join-leave.svg'] = lineChart({
      title: `Throughput while a member leaves and rejoins (n = ${first.job.n}, simulator)`,
      xLabel: 'simulated time (s)',
      yLabel: `committed requests / s (${first.job.bucketMs} ms buckets)`,
      yMin: 0,
      series: report.membership.map((m) => ({
        name: PROTOCOL_LABEL[m.job.protocol],
        color: COLOR[m.job.protocol],
        points: m.timeline.map((b): [number, number] => [b.startMs / 1000 + bucketSec / 2, b.throughput]),
      })),
      markers: first.changes.map((c) => ({ x: c.submittedAtMs / 1000, label: `${c.change} ${c.node}` })),
    });
  }
  return out;
}
