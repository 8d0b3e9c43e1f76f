/**
 * A replica's persisted state on disk. The state machine hands out its whole state after
 * every change, and most of it is unchanged: above all the requests' operations, which under
 * Fabric are envelopes of kilobytes, held in every slot of the PBFT window. Rewriting them on
 * every flush made the cost of a write grow with the window. So long strings are kept apart,
 * content-addressed, in an append-only `blobs.log`, each written once; `state.json` holds
 * `{"$blob": "<sha256>"}` in their place and stays small.
 *
 * Order of writes: new blobs are appended (and synced) before the state that refers to them
 * is renamed into place, so a crash leaves at worst blobs nobody refers to. The log is
 * rewritten with only the live blobs once the dead ones outweigh them.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { open, rename } from 'node:fs/promises';
import path from 'node:path';

/** Strings at least this long are stored as blobs. */
export const BLOB_MIN = 512;
const STATE_FILE = 'state.json';
const BLOB_LOG = 'blobs.log';

type BlobRef = { $blob: string };
const isBlobRef = (value: unknown): value is BlobRef => typeof value === 'object' && value !== null && typeof (value as BlobRef).$blob === 'string' && Object.keys(value).length === 1;

/** Writes `text` to `file` atomically: a crash leaves the old or the new content, never a mix. With `fsync`, also durably. */
async function writeAtomically(file: string, text: string, fsync: boolean): Promise<void> {
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

/** The rename itself is durable only once the directory is synced. */
async function syncDir(dir: string): Promise<void> {
  const handle = await open(dir, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

export class StateFile {
  private readonly statePath: string;
  private readonly logPath: string;
  /** Every blob in the log, by hash. */
  private readonly blobs = new Map<string, string>();
  /** The hash of each long string seen (V8 caches a string's own hash, so repeated lookups of the same string are cheap). */
  private readonly hashOf = new Map<string, string>();
  private logBytes = 0;

  constructor(
    dir: string,
    private readonly fsync: boolean,
    /** The log is compacted only once it is at least this big. */
    private readonly compactAtBytes = 16 * 1024 * 1024,
  ) {
    this.statePath = path.join(dir, STATE_FILE);
    this.logPath = path.join(dir, BLOB_LOG);
    if (existsSync(this.logPath)) {
      const text = readFileSync(this.logPath, 'utf8');
      this.logBytes = Buffer.byteLength(text);
      // One blob per line, `<hash> <JSON string>`; a torn last line (a crash mid-append) is ignored.
      for (const line of text.split('\n')) {
        const space = line.indexOf(' ');
        if (space < 0) continue;
        try {
          const value = JSON.parse(line.slice(space + 1)) as string;
          if (sha256(value) === line.slice(0, space)) this.blobs.set(line.slice(0, space), value);
        } catch {
          // torn line
        }
      }
    }
  }

  /** The last state written, or undefined for a fresh replica. */
  load(): unknown {
    if (!existsSync(this.statePath)) return undefined;
    return JSON.parse(readFileSync(this.statePath, 'utf8'), (_key, value: unknown) => {
      if (!isBlobRef(value)) return value;
      const blob = this.blobs.get(value.$blob);
      if (blob === undefined) throw new Error(`${this.statePath} refers to blob ${value.$blob}, which ${this.logPath} does not hold`);
      return blob;
    });
  }

  /**
   * Takes a snapshot of `state` now (synchronously: the caller may go on changing its
   * objects) and returns the write to await.
   */
  write(state: unknown): () => Promise<void> {
    const fresh: [string, string][] = [];
    const live = new Set<string>();
    const text = JSON.stringify(state, (_key, value: unknown) => {
      if (typeof value !== 'string' || value.length < BLOB_MIN) return value;
      let hash = this.hashOf.get(value);
      if (hash === undefined) {
        hash = sha256(value);
        this.hashOf.set(value, hash);
      }
      if (!this.blobs.has(hash)) {
        this.blobs.set(hash, value);
        fresh.push([hash, value]);
      }
      live.add(hash);
      return { $blob: hash };
    });
    return async () => {
      if (fresh.length > 0) await this.append(fresh);
      await writeAtomically(this.statePath, text, this.fsync);
      await this.compactIfMostlyDead(live);
    };
  }

  private async append(blobs: [string, string][]): Promise<void> {
    const text = blobs.map(([hash, value]) => `${hash} ${JSON.stringify(value)}\n`).join('');
    const handle = await open(this.logPath, 'a');
    try {
      await handle.writeFile(text);
      if (this.fsync) await handle.sync();
    } finally {
      await handle.close();
    }
    this.logBytes += Buffer.byteLength(text);
  }

  /** Keeps only the blobs the state just written refers to, once the dead ones outweigh them by `compactAtBytes`. */
  private async compactIfMostlyDead(live: Set<string>): Promise<void> {
    let liveBytes = 0;
    for (const hash of live) liveBytes += this.blobs.get(hash)!.length + 70;
    if (this.logBytes < 2 * liveBytes + this.compactAtBytes) return;
    for (const hash of [...this.blobs.keys()]) if (!live.has(hash)) this.blobs.delete(hash);
    for (const [value, hash] of this.hashOf) if (!live.has(hash)) this.hashOf.delete(value);
    const text = [...this.blobs].map(([hash, value]) => `${hash} ${JSON.stringify(value)}\n`).join('');
    await writeAtomically(this.logPath, text, this.fsync);
    this.logBytes = Buffer.byteLength(text);
  }
}

const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
