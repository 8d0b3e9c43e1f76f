/** The global log's entries as a node checks and tracks them. */
import { isRegionBatch, isTopEntry, isTopGroup, regionBatchOf, regionDigest, topDigest, type RegionBatch, type TopEntry } from './batches';
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

/**
 * An entry from the network as the log reads it: the payload is what the group named by
 * `group` decided, a top entry for a top group and a region batch otherwise (with a single
 * region, its decisions are the log) — never read from the payload's fields. A region
 * batch keeps exactly its requests (its digest covers nothing else); a top entry must be
 * exactly one. Undefined when the envelope or payload is malformed (its certificate and
 * digest are checked before it is executed).
 */
export function logEntryOf(log: LogEntry): LogEntry | undefined {
  if (typeof log !== 'object' || log === null) return undefined;
  const e = log.entry;
  if (typeof log.group !== 'string' || typeof e !== 'object' || e === null || !Number.isInteger(e.seq) || !Array.isArray(e.certificate)) return undefined;
  const p: unknown = e.payload;
  if (p === null) return log;
  if (isTopGroup(log.group)) return isTopEntry(p) ? log : undefined;
  if (typeof p !== 'object' || p === undefined || !Array.isArray((p as RegionBatch).requests)) return undefined;
  const batch = regionBatchOf(p as RegionBatch);
  return batch === p ? log : { group: log.group, entry: { ...e, payload: batch } };
}

/** How the log group `group` digests and shapes its payloads (for its `Verifier`). */
export function logRules(group: string): { digest(p: LogPayload): string; wellFormed(p: LogPayload): boolean } {
  return isTopGroup(group)
    ? { digest: (p) => topDigest(p as TopEntry), wellFormed: isTopEntry }
    : { digest: (p) => regionDigest(p as RegionBatch), wellFormed: isRegionBatch };
}
