/**
 * A one-line progress bar for the terminal, e.g. `[=====     ] 52% 5.2/10.0 MiB 48.1 MiB/s`,
 * redrawn in place with a carriage return. It draws only to a TTY; given no stream it does
 * nothing, so callers need not check whether progress is wanted.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'] as const;

/** The binary unit a byte count reads best in (at least 1 of it, at most 1024). */
export function unitFor(bytes: number): { name: (typeof UNITS)[number]; size: number } {
  let i = 0;
  while (i < UNITS.length - 1 && Math.abs(bytes) >= 1024 ** (i + 1)) i++;
  return { name: UNITS[i]!, size: 1024 ** i };
}

const scaled = (bytes: number, unit: { name: string; size: number }) => (unit.size === 1 ? String(Math.round(bytes)) : (bytes / unit.size).toFixed(1));

/** `5.2 MiB`, `512 B`. */
export function formatBytes(bytes: number): string {
  const unit = unitFor(bytes);
  return `${scaled(bytes, unit)} ${unit.name}`;
}

export interface ProgressState {
  /** Bytes done so far. */
  bytes: number;
  /** Bytes in all, when known. */
  total?: number;
  /** Time since the start, in milliseconds (for the rate). */
  elapsedMs: number;
  /** Characters between the brackets; default 10. */
  width?: number;
  /** Text before the bar, e.g. `3/10 files`. */
  label?: string;
}

/**
 * Formats one progress line: the bar, percentage and done/total in the total's unit when the
 * total is known, else the bytes done alone; then the rate.
 */
export function formatProgress(s: ProgressState): string {
  const width = s.width ?? 10;
  const seconds = s.elapsedMs / 1000;
  const rate = `${formatBytes(seconds > 0 ? s.bytes / seconds : 0)}/s`;
  const parts: string[] = s.label ? [s.label] : [];
  if (s.total !== undefined) {
    const fraction = s.total > 0 ? Math.min(1, Math.max(0, s.bytes / s.total)) : 1;
    const filled = Math.floor(fraction * width);
    const unit = unitFor(Math.max(s.total, s.bytes));
    parts.push(`[${'='.repeat(filled)}${' '.repeat(width - filled)}]`, `${Math.floor(fraction * 100)}%`, `${scaled(s.bytes, unit)}/${scaled(s.total, unit)} ${unit.name}`);
  } else {
    parts.push(formatBytes(s.bytes));
  }
  parts.push(rate);
  return parts.join(' ');
}

/** Where a bar draws: something written to that may be a terminal. */
export type ProgressOutput = Pick<NodeJS.WritableStream, 'write'> & { isTTY?: boolean };

/** The stream progress goes to: stderr when it is a terminal and output is human, else none. */
export function progressStream(json: boolean, stream: ProgressOutput = process.stderr): ProgressOutput | undefined {
  return !json && stream.isTTY ? stream : undefined;
}

export class ProgressBar {
  /** When the first bytes were reported: the rate leaves out the time before data flowed. */
  private start?: number;
  private lastDraw = -Infinity;
  private drawnLength = 0;
  private state: { bytes: number; total?: number; label?: string } = { bytes: 0 };

  constructor(
    private readonly stream: ProgressOutput | undefined,
    private readonly options: { width?: number; intervalMs?: number; now?: () => number } = {},
  ) {}

  private now(): number {
    return (this.options.now ?? performance.now.bind(performance))();
  }

  /** Records progress; redraws at most once per interval (default 100 ms) unless `force`. */
  update(bytes: number, total?: number, label?: string, force = false): void {
    this.state = { bytes, ...(total !== undefined ? { total } : {}), ...(label !== undefined ? { label } : {}) };
    if (!this.stream) return;
    const now = this.now();
    this.start ??= now;
    if (!force && now - this.lastDraw < (this.options.intervalMs ?? 100)) return;
    this.lastDraw = now;
    const line = formatProgress({ ...this.state, elapsedMs: now - this.start, ...(this.options.width !== undefined ? { width: this.options.width } : {}) });
    // Pad over what a longer previous line left behind.
    this.stream.write(`\r${line}${' '.repeat(Math.max(0, this.drawnLength - line.length))}`);
    this.drawnLength = line.length;
  }

  /** Draws the final state and ends the line. */
  finish(): void {
    if (!this.stream || this.drawnLength === 0) return;
    this.update(this.state.bytes, this.state.total, this.state.label, true);
    this.stream.write('\n');
    this.drawnLength = 0;
  }

  /** Removes the bar from the line (e.g. before an error message). */
  clear(): void {
    if (!this.stream || this.drawnLength === 0) return;
    this.stream.write(`\r${' '.repeat(this.drawnLength)}\r`);
    this.drawnLength = 0;
  }
}
