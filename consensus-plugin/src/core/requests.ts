/** Checks on client requests that arrive from the network, shared by flat PBFT and DRKPBFT. */
import { requestKey } from './digest';
import type { ClientRequest } from './types';

/** A well-formed batch: at most `batchSize` well-formed requests, no key twice. */
export function validBatch(batch: unknown, batchSize: number): batch is ClientRequest[] {
  if (!Array.isArray(batch) || batch.length > batchSize) return false;
  const keys = new Set<string>();
  for (const r of batch as unknown[]) {
    if (typeof r !== 'object' || r === null) return false;
    const { client, timestamp, operation } = r as Partial<ClientRequest>;
    if (typeof client !== 'string' || typeof timestamp !== 'number' || typeof operation !== 'string') return false;
    const key = requestKey(r as ClientRequest);
    if (keys.has(key)) return false;
    keys.add(key);
  }
  return true;
}
