import type { ClientRequest } from '../core/types';

/** Per client: every timestamp 1 … `upTo` executed, and the other executed timestamps. */
export type ExecutedRecord = Readonly<Record<string, { upTo: number; above: number[] }>>;

/**
 * The requests a replica executed, for duplicate suppression by (client, timestamp). Clients
 * number their requests 1, 2, 3, …, so per client a contiguous prefix plus the few executed
 * beyond it stays small however long the log grows. A timestamp that is not a positive
 * integer is kept one by one, so the answer is the same as a set of request keys.
 */
export class ExecutedRequests {
  private readonly clients = new Map<string, { upTo: number; above: Set<number> }>();
  private cached: ExecutedRecord | undefined;

  constructor(record: ExecutedRecord = {}) {
    for (const [client, { upTo, above }] of Object.entries(record)) this.clients.set(client, { upTo, above: new Set(above) });
  }

  has(r: ClientRequest): boolean {
    const c = this.clients.get(r.client);
    return c !== undefined && (inPrefix(r.timestamp, c.upTo) || c.above.has(r.timestamp));
  }

  add(r: ClientRequest): void {
    let c = this.clients.get(r.client);
    if (c === undefined) this.clients.set(r.client, (c = { upTo: 0, above: new Set() }));
    if (inPrefix(r.timestamp, c.upTo) || c.above.has(r.timestamp)) return;
    this.cached = undefined;
    c.above.add(r.timestamp);
    while (c.above.delete(c.upTo + 1)) c.upTo++;
  }

  /** A plain copy to persist; the same object until the next `add`, never mutated afterwards. */
  record(): ExecutedRecord {
    if (this.cached === undefined) {
      const out: Record<string, { upTo: number; above: number[] }> = {};
      for (const [client, { upTo, above }] of this.clients) out[client] = { upTo, above: [...above] };
      this.cached = out;
    }
    return this.cached;
  }
}

const inPrefix = (timestamp: number, upTo: number): boolean => Number.isInteger(timestamp) && timestamp >= 1 && timestamp <= upTo;
