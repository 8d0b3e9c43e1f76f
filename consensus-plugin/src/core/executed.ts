import type { ClientRequest } from '../core/types';

type Entry = { upTo: number; above: number[] };
/** A record that may expire: client, prefix, timestamps above it, position of its last execution. */
type ExpiringTuple = [client: string, upTo: number, above: number[], at: number];

/**
 * The persisted form. `kept`: clients kept for good. `expiring`: the records that may expire,
 * oldest last execution first, in chunks of CHUNK, each a JSON text of `ExpiringTuple`s. A
 * full chunk's text stays the same string until one of its records expires or moves, so the
 * replica's state file (net/state-file.ts), which stores long strings once, writes each chunk
 * once instead of the whole record on every flush.
 */
export interface ExecutedRecord {
  kept: Readonly<Record<string, Entry>>;
  expiring: readonly string[];
}
/** The form written before chunks: one object, `at` on the records that may expire (still read). */
type LegacyRecord = Readonly<Record<string, Entry & { at?: number }>>;

/** Expiring records per chunk: at 100 one-shot clients a position, a chunk covers ~2.5 positions and is ~25 KB of JSON. */
const CHUNK = 256;

/**
 * The requests a replica executed, for duplicate suppression by (client, timestamp). Clients
 * number their requests 1, 2, 3, …, so per client a contiguous prefix plus the few executed
 * beyond it stays small however long the log grows. A timestamp that is not a positive
 * integer is kept one by one, so the answer is the same as a set of request keys.
 *
 * One-shot clients (a Fabric transaction is the client `fabric:<tx id>` with timestamp 1)
 * would still cost a record each, forever. With a `window` of W positions, a record whose
 * prefix has not reached 2 is forgotten once W positions executed after its last request:
 * a function of the log alone, so every replica forgets at the same position. A client
 * that numbers its requests (1 and 2 executed) is kept for good: it costs O(1), and
 * forgetting it would restart its record without a prefix, which then grows per request.
 */
export class ExecutedRequests {
  private readonly clients = new Map<string, { upTo: number; above: Set<number> }>();
  /** With a window: the records that may expire, by the position of their last execution (oldest first). */
  private readonly expiring = new Map<string, number>();
  /** The chunk of each expiring record, the members of each chunk (in order), and each chunk's text once written. */
  private readonly chunkOf = new Map<string, number>();
  private readonly chunks = new Map<number, Set<string>>();
  private readonly chunkText = new Map<number, string>();
  private nextChunk = 0;
  private keptCache: Record<string, Entry> | undefined;
  private cached: ExecutedRecord | undefined;

  /** `window`: positions a record that may expire is kept after its last execution; 0 keeps every record. */
  constructor(
    record: ExecutedRecord | LegacyRecord = { kept: {}, expiring: [] },
    private readonly window = 0,
  ) {
    const expiring: ExpiringTuple[] = [];
    let kept: Record<string, Entry & { at?: number }>;
    if (isChunked(record)) {
      kept = { ...record.kept };
      for (const text of record.expiring) expiring.push(...(JSON.parse(text) as ExpiringTuple[]));
    } else {
      kept = { ...record };
      for (const [client, e] of Object.entries(record)) {
        if (e.at === undefined) continue;
        expiring.push([client, e.upTo, e.above, e.at]);
        delete kept[client];
      }
    }
    for (const [client, { upTo, above }] of Object.entries(kept)) this.clients.set(client, { upTo, above: new Set(above) });
    for (const [client, upTo, above, at] of expiring.sort((a, b) => a[3] - b[3])) {
      this.clients.set(client, { upTo, above: new Set(above) });
      this.track(client, at);
    }
  }

  has(r: ClientRequest): boolean {
    const c = this.clients.get(r.client);
    return c !== undefined && (inPrefix(r.timestamp, c.upTo) || c.above.has(r.timestamp));
  }

  /** Records `r` as executed at position `seq`. */
  add(r: ClientRequest, seq: number): void {
    let c = this.clients.get(r.client);
    if (c === undefined) this.clients.set(r.client, (c = { upTo: 0, above: new Set() }));
    if (inPrefix(r.timestamp, c.upTo) || c.above.has(r.timestamp)) return;
    this.cached = undefined;
    c.above.add(r.timestamp);
    while (c.above.delete(c.upTo + 1)) c.upTo++;
    this.untrack(r.client);
    if (this.window > 0 && c.upTo < 2) this.track(r.client, seq); // re-inserted: the map stays in order of last execution
    else this.keptCache = undefined;
  }

  /** Forgets the records whose last execution is `window` or more positions before `seq`; returns how many. */
  expire(seq: number): number {
    let forgotten = 0;
    for (const [client, at] of this.expiring) {
      if (seq - at < this.window) break;
      this.untrack(client);
      this.clients.delete(client);
      forgotten++;
    }
    if (forgotten > 0) this.cached = undefined;
    return forgotten;
  }

  /** A plain copy to persist; the same object until the next change, never mutated afterwards. */
  record(): ExecutedRecord {
    if (this.cached === undefined) {
      if (this.keptCache === undefined) {
        this.keptCache = {};
        for (const [client, { upTo, above }] of this.clients) if (!this.expiring.has(client)) this.keptCache[client] = { upTo, above: [...above] };
      }
      const expiring: string[] = [];
      for (const [id, members] of this.chunks) {
        let text = this.chunkText.get(id);
        if (text === undefined) {
          text = JSON.stringify([...members].map((client): ExpiringTuple => {
            const { upTo, above } = this.clients.get(client)!;
            return [client, upTo, [...above], this.expiring.get(client)!];
          }));
          this.chunkText.set(id, text);
        }
        expiring.push(text);
      }
      this.cached = { kept: this.keptCache, expiring };
    }
    return this.cached;
  }

  private track(client: string, at: number): void {
    this.expiring.set(client, at);
    let members = this.chunks.get(this.nextChunk);
    if (members === undefined || members.size >= CHUNK) {
      if (members !== undefined) this.nextChunk++;
      this.chunks.set(this.nextChunk, (members = new Set()));
    }
    members.add(client);
    this.chunkOf.set(client, this.nextChunk);
    this.chunkText.delete(this.nextChunk);
  }

  /** Takes an expiring record out of its chunk (nothing for a kept one). */
  private untrack(client: string): void {
    if (!this.expiring.delete(client)) return;
    const id = this.chunkOf.get(client)!;
    this.chunkOf.delete(client);
    const members = this.chunks.get(id)!;
    members.delete(client);
    this.chunkText.delete(id);
    if (members.size === 0) this.chunks.delete(id);
  }
}

/** Every client a persisted record holds (kept, then expiring, oldest first). */
export const recordClients = (record: ExecutedRecord): string[] => [
  ...Object.keys(record.kept),
  ...record.expiring.flatMap((text) => (JSON.parse(text) as ExpiringTuple[]).map(([client]) => client)),
];

const isChunked = (record: ExecutedRecord | LegacyRecord): record is ExecutedRecord =>
  Array.isArray((record as ExecutedRecord).expiring) && typeof (record as ExecutedRecord).kept === 'object' && Object.keys(record).length === 2;

const inPrefix = (timestamp: number, upTo: number): boolean => Number.isInteger(timestamp) && timestamp >= 1 && timestamp <= upTo;
