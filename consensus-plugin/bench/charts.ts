/**
 * Line charts as standalone SVG text, written by hand so the benchmark needs no plotting
 * dependency: linear or logarithmic axes, one line per series, optional vertical markers.
 */

export interface Series {
  name: string;
  color: string;
  /** [x, y] pairs in increasing x; non-finite or (on a log axis) non-positive values are left out. */
  points: [number, number][];
  dashed?: boolean;
}

export interface ChartOptions {
  title: string;
  xLabel: string;
  yLabel: string;
  series: Series[];
  logX?: boolean;
  logY?: boolean;
  /** Where to put x ticks (default: chosen from the data). */
  xTicks?: number[];
  /** Vertical lines at these x values, labelled. */
  markers?: { x: number; label: string }[];
  /** Lower bound of the y axis (linear axes; default from the data). */
  yMin?: number;
}

const WIDTH = 800;
const HEIGHT = 400;
const PLOT = { left: 72, right: 560, top: 42, bottom: 340 };

/** One chart as a complete SVG document. */
export function lineChart(options: ChartOptions): string {
  const { logX = false, logY = false } = options;
  const usable = (x: number, y: number): boolean => Number.isFinite(x) && Number.isFinite(y) && (!logX || x > 0) && (!logY || y > 0);
  const series = options.series.map((s) => ({ ...s, points: s.points.filter(([x, y]) => usable(x, y)) }));
  const xs = series.flatMap((s) => s.points.map(([x]) => x)).concat(options.markers?.map((m) => m.x) ?? []);
  const ys = series.flatMap((s) => s.points.map(([, y]) => y));
  if (xs.length === 0 || ys.length === 0) return emptyChart(options.title);
  const x = axis(Math.min(...xs), Math.max(...xs), logX, PLOT.left, PLOT.right, options.xTicks);
  const y = axis(options.yMin ?? Math.min(...ys), Math.max(...ys), logY, PLOT.bottom, PLOT.top);

  const parts: string[] = [];
  parts.push(`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="white"/>`);
  parts.push(text((PLOT.left + PLOT.right) / 2, 24, options.title, 'middle', 15, 'bold'));
  for (const t of y.ticks) {
    const py = y.map(t);
    parts.push(`<line x1="${PLOT.left}" x2="${PLOT.right}" y1="${py}" y2="${py}" stroke="#e4e4e4"/>`);
    parts.push(text(PLOT.left - 6, py + 4, formatNumber(t), 'end', 11));
  }
  for (const t of x.ticks) {
    const px = x.map(t);
    parts.push(`<line x1="${px}" x2="${px}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#f0f0f0"/>`);
    parts.push(text(px, PLOT.bottom + 16, formatNumber(t), 'middle', 11));
  }
  parts.push(`<rect x="${PLOT.left}" y="${PLOT.top}" width="${PLOT.right - PLOT.left}" height="${PLOT.bottom - PLOT.top}" fill="none" stroke="#888"/>`);
  parts.push(text((PLOT.left + PLOT.right) / 2, PLOT.bottom + 38, options.xLabel + (logX ? ' (log scale)' : ''), 'middle', 12));
  const yTitle = options.yLabel + (logY ? ' (log scale)' : '');
  parts.push(`<text x="16" y="${(PLOT.top + PLOT.bottom) / 2}" font-size="12" text-anchor="middle" transform="rotate(-90 16 ${(PLOT.top + PLOT.bottom) / 2})">${escape(yTitle)}</text>`);
  for (const marker of options.markers ?? []) {
    const px = x.map(marker.x);
    parts.push(`<line x1="${px}" x2="${px}" y1="${PLOT.top}" y2="${PLOT.bottom}" stroke="#555" stroke-dasharray="3 3"/>`);
    parts.push(text(px + 4, PLOT.top + 12, marker.label, 'start', 11));
  }
  series.forEach((s, i) => {
    if (s.points.length > 0) {
      const d = s.points.map(([px, py], j) => `${j === 0 ? 'M' : 'L'}${x.map(px).toFixed(1)},${y.map(py).toFixed(1)}`).join(' ');
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
      for (const [px, py] of s.points) parts.push(`<circle cx="${x.map(px).toFixed(1)}" cy="${y.map(py).toFixed(1)}" r="3" fill="${s.color}"/>`);
    }
    const ly = PLOT.top + 10 + i * 20;
    parts.push(`<line x1="${PLOT.right + 14}" x2="${PLOT.right + 40}" y1="${ly}" y2="${ly}" stroke="${s.color}" stroke-width="2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`);
    parts.push(text(PLOT.right + 46, ly + 4, s.name, 'start', 12));
  });
  return svg(parts);
}

interface Axis {
  map(value: number): number;
  ticks: number[];
}

/** A linear or log axis from data range [min, max] onto pixels [from, to]. */
function axis(min: number, max: number, log: boolean, from: number, to: number, fixedTicks?: number[]): Axis {
  if (log) {
    const span = Math.max(0.3, Math.log10(max) - Math.log10(min));
    const lo = Math.log10(min) - 0.06 * span;
    const hi = Math.log10(max) + 0.06 * span;
    const map = (v: number): number => from + ((Math.log10(v) - lo) / (hi - lo)) * (to - from);
    return { map, ticks: fixedTicks ?? logTicks(lo, hi) };
  }
  const step = niceStep((max - min) / 5 || Math.abs(max) || 1);
  const lo = Math.floor(min / step) * step;
  const hi = Math.max(lo + step, Math.ceil(max / step) * step);
  const map = (v: number): number => from + ((v - lo) / (hi - lo)) * (to - from);
  const ticks: number[] = [];
  for (let t = lo; t <= hi + step / 2; t += step) ticks.push(Number(t.toPrecision(12)));
  return { map, ticks: fixedTicks ?? ticks };
}

/** Powers of ten inside [10^lo, 10^hi], with 2 and 5 times them when the axis spans under three decades. */
function logTicks(lo: number, hi: number): number[] {
  const ticks: number[] = [];
  const mantissas = hi - lo < 3 ? [1, 2, 5] : [1];
  for (let e = Math.floor(lo); e <= Math.ceil(hi); e++) {
    for (const m of mantissas) if (Math.log10(m * 10 ** e) >= lo && Math.log10(m * 10 ** e) <= hi) ticks.push(m * 10 ** e);
  }
  return ticks;
}

function niceStep(rough: number): number {
  const power = 10 ** Math.floor(Math.log10(rough));
  const unit = rough / power;
  return (unit <= 1 ? 1 : unit <= 2 ? 2 : unit <= 5 ? 5 : 10) * power;
}

/** 1500 → "1.5k", 2000000 → "2M", 0.5 → "0.5". */
export function formatNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${trim(value / 1e6)}M`;
  if (abs >= 1e3) return `${trim(value / 1e3)}k`;
  return trim(value);
}

const trim = (value: number): string => String(Number(value.toPrecision(3)));

function emptyChart(title: string): string {
  return svg([`<rect x="0" y="0" width="${WIDTH}" height="${HEIGHT}" fill="white"/>`, text(WIDTH / 2, HEIGHT / 2, `${title}: no data`, 'middle', 14)]);
}

function text(x: number, y: number, content: string, anchor: 'start' | 'middle' | 'end', size: number, weight = 'normal'): string {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" font-weight="${weight}" text-anchor="${anchor}">${escape(content)}</text>`;
}

const escape = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function svg(parts: string[]): string {
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${HEIGHT}" viewBox="0 0 ${WIDTH} ${HEIGHT}" font-family="sans-serif">\n${parts.join('\n')}\n</svg>\n`;
}
