import type { ClientRequest } from '../core/types';

/**
 * Per client: every timestamp 1 … `upTo` executed, and the other executed timestamps; with a
 * dedup window, `at` is the position of its last execution for a record that may expire.
 */
export type ExecutedRecord = Readonly<Record<string, { upTo: number; above: number[]; at?: number }>>;

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
  private cached: ExecutedRecord | undefined;

  /** `window`: positions a record that may expire is kept after its last execution; 0 keeps every record. */
  constructor(
    record: ExecutedRecord = {},
    private readonly window = 0,
  ) {
    const expiring: [string, number][] = [];
    for (const [client, { upTo, above, at }] of Object.entries(record)) {
      this.clients.set(client, { upTo, above: new Set(above) });
      if (at !== undefined) expiring.push([client, at]);
    }
    for (const [client, at] of expiring.sort((a, b) => a[1] - b[1])) this.expiring.set(client, at);
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
    if (this.window <= 0) return;
    // Re-inserted, so the map stays in order of last execution (positions only grow).
    this.expiring.delete(r.client);
    if (c.upTo < 2) this.expiring.set(r.client, seq);
  }

  /** Forgets the records whose last execution is `window` or more positions before `seq`; returns how many. */
  expire(seq: number): number {
    let forgotten = 0;
    for (const [client, at] of this.expiring) {
      if (seq - at < this.window) break;
      this.expiring.delete(client);
      this.clients.delete(client);
      forgotten++;
    }
    if (forgotten > 0) this.cached = undefined;
    return forgotten;
  }

  /** A plain copy to persist; the same object until the next change, never mutated afterwards. */
  record(): ExecutedRecord {
    if (this.cached === undefined) {
      const out: Record<string, { upTo: number; above: number[]; at?: number }> = {};
      for (const [client, { upTo, above }] of this.clients) {
        const at = this.expiring.get(client);
        out[client] = at === undefined ? { upTo, above: [...above] } : { upTo, above: [...above], at };
      }
      this.cached = out;
    }
    return this.cached;
  }
}

const inPrefix = (timestamp: number, upTo: number): boolean => Number.isInteger(timestamp) && timestamp >= 1 && timestamp <= upTo;
