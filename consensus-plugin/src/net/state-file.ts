/**
 * A replica's persisted state on disk. The state machine hands out its whole state after
 * every change, and most of it is unchanged: above all the requests' operations, which under
 * Fabric are envelopes of kilobytes, held in every slot of the PBFT window. Rewriting them on
 * every flush made the cost of a write grow with the window. So long strings are kept apart,
 * content-addressed, each written once; the state refers to them as `{"$blob": "<sha256>"}`
 * and stays small.
 *
 * Everything goes to one append-only log, `state.log` (append-file.ts: one open handle, so a
 * durable write is one write and one datasync): a flush appends its new blobs, then the
 * state, in one write. Lines are `b <sha256> <JSON string>` and `s <checksum> <JSON state>`;
 * the last intact state line is the state, so a crash leaves the previous one. The log is
 * rewritten with only the live blobs and the state once the dead records outweigh them.
 * A data directory from before the log (`state.json` and `blobs.log`) is read, and replaced
 * by the log on the first write.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { AppendFile, completeLines } from './append-file';

/** Strings at least this long are stored as blobs. */
export const BLOB_MIN = 512;
export const STATE_LOG = 'state.log';
/** The two files of the layout before `state.log`. */
const LEGACY_STATE = 'state.json';
const LEGACY_BLOBS = 'blobs.log';

type BlobRef = { $blob: string };
const isBlobRef = (value: unknown): value is BlobRef => typeof value === 'object' && value !== null && typeof (value as BlobRef).$blob === 'string' && Object.keys(value).length === 1;
/** Tells an intact state line from a damaged one. */
const checksum = (text: string): string => sha256(text).slice(0, 16);

export class StateFile {
  private readonly log: AppendFile;
  /** Every blob in the log, by hash. */
  private readonly blobs = new Map<string, string>();
  /** The hash of each long string seen (V8 caches a string's own hash, so repeated lookups of the same string are cheap). */
  private readonly hashOf = new Map<string, string>();
  private logBytes = 0;
  /** The last state line's JSON, as read at start. */
  private readonly stored?: string;
  /** Legacy files to remove once the log holds their content. */
  private legacy: string[] = [];

  constructor(
    private readonly dir: string,
    fsync: boolean,
    /** The log is compacted only once it is at least this big. */
    private readonly compactAtBytes = 16 * 1024 * 1024,
  ) {
    this.log = new AppendFile(path.join(dir, STATE_LOG), fsync);
    if (existsSync(this.log.path)) {
      for (const line of completeLines(this.log.path)) {
        this.logBytes += Buffer.byteLength(line) + 1;
        const [kind, check] = line.split(' ', 2);
        const body = line.slice(kind!.length + check!.length + 2);
        if (kind === 'b') this.takeBlob(check!, body);
        else if (kind === 's' && checksum(body) === check) this.stored = body;
      }
    } else if (existsSync(path.join(dir, LEGACY_STATE))) {
      this.legacy = [LEGACY_STATE, LEGACY_BLOBS].map((f) => path.join(dir, f));
      for (const line of completeLines(this.legacy[1]!)) {
        const space = line.indexOf(' ');
        if (space > 0) this.takeBlob(line.slice(0, space), line.slice(space + 1));
      }
      this.stored = readFileSync(this.legacy[0]!, 'utf8');
    }
  }

  /** The last state written, or undefined for a fresh replica. */
  load(): unknown {
    if (this.stored === undefined) return undefined;
    return JSON.parse(this.stored, (_key, value: unknown) => {
      if (!isBlobRef(value)) return value;
      const blob = this.blobs.get(value.$blob);
      if (blob === undefined) throw new Error(`the state in ${this.dir} refers to blob ${value.$blob}, which its log does not hold`);
      return blob;
    });
  }

  /**
   * Takes a snapshot of `state` now (synchronously: the caller may go on changing its
   * objects) and returns the write to await. Writes must not overlap.
   */
  write(state: unknown): () => Promise<void> {
    let blobRecords = '';
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
        blobRecords += blobLine(hash, value);
      }
      live.add(hash);
      return { $blob: hash };
    });
    const stateLine = `s ${checksum(text)} ${text}\n`;
    return async () => {
      const records = blobRecords + stateLine;
      this.logBytes += Buffer.byteLength(records);
      if (this.legacy.length > 0 || this.mostlyDead(live)) await this.compact(live, stateLine);
      else await this.log.append(records);
    };
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  private takeBlob(hash: string, json: string): void {
    try {
      const value = JSON.parse(json) as string;
      if (sha256(value) === hash) this.blobs.set(hash, value);
    } catch {
      // a damaged line: the state that needs it says so on load
    }
  }

  private mostlyDead(live: Set<string>): boolean {
    let liveBytes = 0;
    for (const hash of live) liveBytes += this.blobs.get(hash)!.length + 70;
    return this.logBytes >= 2 * liveBytes + this.compactAtBytes;
  }

  /** Rewrites the log with the live blobs (the new ones included) and `stateLine`. */
  private async compact(live: Set<string>, stateLine: string): Promise<void> {
    for (const hash of [...this.blobs.keys()]) if (!live.has(hash)) this.blobs.delete(hash);
    for (const [value, hash] of this.hashOf) if (!live.has(hash)) this.hashOf.delete(value);
    const text = [...this.blobs].map(([hash, value]) => blobLine(hash, value)).join('') + stateLine;
    await this.log.replace(text);
    this.logBytes = Buffer.byteLength(text);
    for (const file of this.legacy) await rm(file, { force: true });
    this.legacy = [];
  }
}

const blobLine = (hash: string, value: string): string => `b ${hash} ${JSON.stringify(value)}\n`;
const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
