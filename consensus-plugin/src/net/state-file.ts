/**
 * A replica's persisted state on disk. The state machine hands out its whole state after
 * every change, and most of it is unchanged: above all the requests' operations, which under
 * Fabric are envelopes of kilobytes, held in every slot of the PBFT window. Rewriting them on
 * every flush made the cost of a write grow with the window. So long strings are kept apart,
 * content-addressed, each written once; the state refers to them as `{"$blob": "<sha256>"}`
 * and stays small. Frozen objects (`core/freeze.ts`: slot records and the signed messages in
 * them, which never change once made) go the same way: each is serialised once, its text kept
 * by identity, and stored as a blob the state refers to as `{"$obj": "<sha256 of the text>"}`.
 * So a flush serialises only what changed since the last one, not the whole PBFT window.
 *
 * Everything goes to one append-only log, `state.log` (append-file.ts: one open handle, so a
 * durable write is one write and one datasync): a flush appends its new blobs, then the
 * state, in one write. Lines are `b <sha256> <JSON>` and `s <checksum> <JSON state>`;
 * the last intact state line is the state, so a crash leaves the previous one. The log is
 * rewritten with only the live blobs and the state once the dead records outweigh them.
 * A data directory from before the log (`state.json` and `blobs.log`) is read, and replaced
 * by the log on the first write.
 */
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { deepFreeze } from '../core/freeze';
import { AppendFile, completeLines } from './append-file';

/** Strings at least this long are stored as blobs. */
export const BLOB_MIN = 512;
export const STATE_LOG = 'state.log';
/** The two files of the layout before `state.log`. */
const LEGACY_STATE = 'state.json';
const LEGACY_BLOBS = 'blobs.log';

type BlobRef = { $blob: string };
type ObjectRef = { $obj: string };
const isRef = <K extends string>(value: unknown, key: K): value is Record<K, string> =>
  typeof value === 'object' && value !== null && typeof (value as Record<K, unknown>)[key] === 'string' && Object.keys(value).length === 1;
/** A frozen object's text, the SHA-256 of the text, and every blob the text refers to (transitively). */
interface Serialised {
  text: string;
  hash: string;
  refs: readonly string[];
}
/** Tells an intact state line from a damaged one. */
const checksum = (text: string): string => sha256(text).slice(0, 16);

export class StateFile {
  private readonly log: AppendFile;
  /** Every blob in the log, by hash: long strings here, frozen objects' JSON text in `objects`. */
  private readonly blobs = new Map<string, string>();
  private readonly objects = new Map<string, string>();
  /** Frozen objects serialised so far, by identity. */
  private readonly serialised = new WeakMap<object, Serialised>();
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
    // One object per hash: a message two records share is one object again, frozen and
    // known by identity, so the next write reuses its text.
    const revived = new Map<string, object>();
    const reviver = (_key: string, value: unknown): unknown => {
      if (isRef(value, '$blob')) {
        const blob = this.blobs.get(value.$blob);
        if (blob === undefined) throw new Error(`the state in ${this.dir} refers to blob ${value.$blob}, which its log does not hold`);
        return blob;
      }
      if (!isRef(value, '$obj')) return value;
      const hash = value.$obj;
      let object = revived.get(hash);
      if (object === undefined) {
        const text = this.objects.get(hash);
        if (text === undefined) throw new Error(`the state in ${this.dir} refers to object ${hash}, which its log does not hold`);
        object = deepFreeze(JSON.parse(text, reviver) as object);
        revived.set(hash, object);
      }
      return object;
    };
    return JSON.parse(this.stored, reviver);
  }

  /**
   * Takes a snapshot of `state` now (synchronously: the caller may go on changing its
   * objects) and returns the write to await. Writes must not overlap.
   */
  write(state: unknown): () => Promise<void> {
    const records: string[] = [];
    const live = new Set<string>();
    const text = JSON.stringify(state, (_key, value: unknown) => this.reference(value, live, records));
    const stateLine = `s ${checksum(text)} ${text}\n`;
    return async () => {
      const lines = records.join('') + stateLine;
      this.logBytes += Buffer.byteLength(lines);
      if (this.legacy.length > 0 || this.mostlyDead(live)) await this.compact(live, stateLine);
      else await this.log.append(lines);
    };
  }

  /**
   * A long string or a frozen object becomes a reference to its blob (new blobs go to
   * `records`, their hashes and those they refer to into `live`); anything else stays, and
   * JSON.stringify goes on into it.
   */
  private reference(value: unknown, live: Set<string>, records: string[]): unknown {
    if (typeof value === 'string') {
      if (value.length < BLOB_MIN) return value;
      const hash = this.stringBlob(value, records);
      live.add(hash);
      return { $blob: hash } satisfies BlobRef;
    }
    if (typeof value !== 'object' || value === null || !Object.isFrozen(value)) return value;
    const { text, hash, refs } = this.serialise(value, records);
    if (!this.objects.has(hash)) {
      this.objects.set(hash, text);
      records.push(blobLine(hash, text));
    }
    live.add(hash);
    for (const ref of refs) live.add(ref);
    return { $obj: hash } satisfies ObjectRef;
  }

  private stringBlob(value: string, records: string[]): string {
    let hash = this.hashOf.get(value);
    if (hash === undefined) {
      hash = sha256(value);
      this.hashOf.set(value, hash);
    }
    if (!this.blobs.has(hash)) {
      this.blobs.set(hash, value);
      records.push(blobLine(hash, JSON.stringify(value)));
    }
    return hash;
  }

  /** A frozen object's text, its frozen parts as references: made once per object (and again if a compaction dropped a blob it refers to meanwhile). */
  private serialise(object: object, records: string[]): Serialised {
    const known = this.serialised.get(object);
    if (known !== undefined && known.refs.every((r) => this.blobs.has(r) || this.objects.has(r))) return known;
    const refs = new Set<string>();
    const text = JSON.stringify(object, (_key, value: unknown) => (value === object ? value : this.reference(value, refs, records)));
    const made: Serialised = { text, hash: sha256(text), refs: [...refs] };
    this.serialised.set(object, made);
    return made;
  }

  async close(): Promise<void> {
    await this.log.close();
  }

  /** A blob line read back: a long string (hashed as the string) or an object's text (hashed as the text). */
  private takeBlob(hash: string, json: string): void {
    try {
      const value = JSON.parse(json) as unknown;
      if (typeof value === 'string') {
        if (sha256(value) === hash) this.blobs.set(hash, value);
      } else if (sha256(json) === hash) this.objects.set(hash, json);
    } catch {
      // a damaged line: the state that needs it says so on load
    }
  }

  private mostlyDead(live: Set<string>): boolean {
    let liveBytes = 0;
    for (const hash of live) liveBytes += (this.blobs.get(hash) ?? this.objects.get(hash))!.length + 70;
    return this.logBytes >= 2 * liveBytes + this.compactAtBytes;
  }

  /** Rewrites the log with the live blobs (the new ones included) and `stateLine`. */
  private async compact(live: Set<string>, stateLine: string): Promise<void> {
    for (const hash of [...this.blobs.keys()]) if (!live.has(hash)) this.blobs.delete(hash);
    for (const hash of [...this.objects.keys()]) if (!live.has(hash)) this.objects.delete(hash);
    for (const [value, hash] of this.hashOf) if (!live.has(hash)) this.hashOf.delete(value);
    // Strings first: an object's text may refer to them (a reader takes blobs in any order, though).
    const text = [...[...this.blobs].map(([hash, value]) => blobLine(hash, JSON.stringify(value))), ...[...this.objects].map(([hash, json]) => blobLine(hash, json))].join('') + stateLine;
    await this.log.replace(text);
    this.logBytes = Buffer.byteLength(text);
    for (const file of this.legacy) await rm(file, { force: true });
    this.legacy = [];
  }
}

const blobLine = (hash: string, json: string): string => `b ${hash} ${json}\n`;
const sha256 = (value: string): string => createHash('sha256').update(value).digest('hex');
