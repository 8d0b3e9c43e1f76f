/** What bench:e2e measures with: sizes, timing with CPU and peak RSS, random files, and formatting. */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

export const KiB = 1024;
export const MiB = 1024 * KiB;
const UNITS: Record<string, number> = { b: 1, kib: KiB, kb: 1000, mib: MiB, mb: 1e6, gib: 1024 * MiB, gb: 1e9 };
export function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size '${s}' (e.g. 1KiB, 1MiB, 100MiB)`);
  const bytes = Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  if (bytes < 1) throw new Error(`size '${s}' is empty`);
  return bytes;
}
export function sizeLabel(bytes: number): string {
  for (const [unit, n] of [['GiB', 1024 * MiB], ['MiB', MiB], ['KiB', KiB]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  return `${bytes} B`;
}

export function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The highest resident set size seen since the last reset (sampled every 25 ms while idle). */
const rss = {
  peak: 0,
  timer: undefined as NodeJS.Timeout | undefined,
  sample() {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  },
  reset() {
    this.peak = 0;
    this.sample();
    this.timer ??= setInterval(() => this.sample(), 25).unref();
  },
};

export interface Measured<T> {
  ms: number;
  /** CPU time of this process (user + system) meanwhile: the client's share of the work. */
  cpuMs: number;
  peakRssMiB: number;
  value: T;
}
export async function timed<T>(f: () => Promise<T>): Promise<Measured<T>> {
  rss.reset();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  rss.sample();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMiB: rss.peak / MiB, value };
}

/** Writes `size` random bytes to `file` in 1 MiB pieces; returns their SHA-256 (hex). */
export async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  let left = size;
  await pipeline(
    new Readable({
      read() {
        if (left === 0) return void this.push(null);
        const piece = randomBytes(Math.min(left, MiB));
        left -= piece.length;
        hash.update(piece);
        this.push(piece);
      },
    }),
    createWriteStream(file),
  );
  return hash.digest('hex');
}

export async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
export const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

export const mibPerS = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
export const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
export const fmtMs = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
export const fmtRate = (x: number) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) : '—');
/** A markdown table (the docs paste them as they are). */
export function table(head: string[], rows: (string | number)[][], right = head.map((_, i) => i > 0)): string {
  const cells = rows.map((r) => r.map(String));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join(' | ')} |`;
  return [line(head), `| ${width.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`, ...cells.map(line)].join('\n');
}
