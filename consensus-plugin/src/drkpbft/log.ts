/** The global log's entries as a node checks and tracks them. */
import { regionDigest, topDigest, type RegionBatch, type TopEntry } from './batches';
import type { LogEntry, LogPayload } from './messages';

/** The batches of one region the log executed: every one up to `upTo`, and those in `above`. */
export interface BatchProgress {
  upTo: number;
  above: number[];
}

export const hasExecuted = (p: BatchProgress, regionSeq: number): boolean => regionSeq <= p.upTo || p.above.includes(regionSeq);

/** `p` with `regionSeq` executed too. */
export function withExecuted(p: BatchProgress, regionSeq: number): BatchProgress {
  const above = new Set([...p.above, regionSeq]);
  let upTo = p.upTo;
  while (above.delete(upTo + 1)) upTo++;
  return { upTo, above: [...above].sort((a, b) => a - b) };
}

const GROUP_EPOCH = /@e(\d+)(?:\.t(\d+))?/;

/** The epoch and term in a group's name (term 0 for region and single-region groups). */
export function groupPosition(group: string): { epoch: number; term: number } | undefined {
  const match = GROUP_EPOCH.exec(group);
  return match ? { epoch: Number(match[1]), term: Number(match[2] ?? 0) } : undefined;
}

/** A top entry (rather than a single region's batch). */
export const isTopEntry = (p: LogPayload): p is TopEntry => 'skip' in p;

/** Enough shape to look at an entry from the network; its certificate and digest are checked before it is executed. */
export function wellFormed(log: LogEntry): boolean {
  const e = log?.entry;
  if (typeof log.group !== 'string' || typeof e !== 'object' || e === null || !Number.isInteger(e.seq) || !Array.isArray(e.certificate)) return false;
  const p: unknown = e.payload;
  if (p === null) return true;
  if (typeof p !== 'object' || p === undefined) return false;
  if ('skip' in p) {
    const t = p as TopEntry;
    return Array.isArray(t.skip) && Array.isArray(t.signers) && typeof t.batch === 'object' && t.batch !== null && typeof t.batch.batch === 'object' && Array.isArray(t.batch.batch?.requests) && Array.isArray(t.batch.certificate);
  }
  return Array.isArray((p as RegionBatch).requests);
}

/** The digest the deciding group gave a log payload. */
export const logDigest = (p: LogPayload): string => (isTopEntry(p) ? topDigest(p) : regionDigest(p));

