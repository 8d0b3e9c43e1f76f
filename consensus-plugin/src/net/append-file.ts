/**
 * A log file appended to through one open handle. A replica appends on every flush, and an
 * open, a close and a rename per write cost more CPU than the write itself on a busy host
 * (each is a thread-pool round trip): so the handle stays open, and a durable append is one
 * write and one `datasync`.
 *
 * A crash mid-append leaves a torn last line. Readers skip it (`completeLines`), and the
 * next append starts on a fresh line, so the torn bytes never swallow a good record.
 */
import { closeSync, existsSync, openSync, readFileSync, readSync, fstatSync } from 'node:fs';
import { open, rename, type FileHandle } from 'node:fs/promises';
import path from 'node:path';

export class AppendFile {
  private handle?: Promise<FileHandle>;

  constructor(
    readonly path: string,
    private readonly fsync: boolean,
  ) {}

  /** Appends `text` (whole lines), durably when the file was made with `fsync`. */
  async append(text: string): Promise<void> {
    const handle = await (this.handle ??= this.open());
    await handle.appendFile(text);
    if (this.fsync) await handle.datasync();
  }

  /** Replaces the whole content atomically (a crash leaves the old or the new file); appends go on in the new file. */
  async replace(text: string): Promise<void> {
    await this.close();
    await writeAtomically(this.path, text, this.fsync);
  }

  async close(): Promise<void> {
    const handle = this.handle;
    this.handle = undefined;
    if (handle !== undefined) await (await handle).close();
  }

  private async open(): Promise<FileHandle> {
    const existed = existsSync(this.path);
    const torn = existed && !endsWithNewline(this.path);
    const handle = await open(this.path, 'a');
    if (torn) await handle.appendFile('\n');
    // A new file's name is durable only once its directory is synced.
    if (!existed && this.fsync) await syncDir(path.dirname(this.path));
    return handle;
  }
}

/** The complete lines of a log file (none if it is missing); a torn last line is left out. */
export function completeLines(file: string): string[] {
  if (!existsSync(file)) return [];
  const lines = readFileSync(file, 'utf8').split('\n');
  lines.pop(); // after the last newline: empty, or a torn line
  return lines.filter((line) => line !== '');
}

function endsWithNewline(file: string): boolean {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    if (size === 0) return true;
    const last = Buffer.alloc(1);
    readSync(fd, last, 0, 1, size - 1);
    return last[0] === 0x0a;
  } finally {
    closeSync(fd);
  }
}

/** Writes `text` to `file` atomically: a crash leaves the old or the new content, never a mix. With `fsync`, also durably. */
export async function writeAtomically(file: string, text: string, fsync: boolean): Promise<void> {
  const tmp = `${file}.tmp`;
  const handle = await open(tmp, 'w');
  try {
    await handle.writeFile(text);
    if (fsync) await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(tmp, file);
  if (fsync) await syncDir(path.dirname(file));
}

/** A rename or a new name is durable only once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}
