/** `emr records`: a patient's records as indexed on chain. */
import type { Command } from 'commander';
import type { EmrRecord } from '@emr/protocol';
import { categoryText, columns } from '../format';
import { parsePseudonym } from '../options';
import { formatBytes } from '../progress';
import type { Sessions } from '../session';

/**
 * A record as `emr records` lists it: the index entry, which later version replaced it, and
 * for the patient himself the clear name of a blinded category.
 */
export type ListedRecord = EmrRecord & { supersededBy: string | null; clearCategory?: string };

/** A patient's records, oldest first, each marked with the record superseding it (if listed). */
export function listedRecords(records: EmrRecord[], clear: ReadonlyMap<string, string> = new Map()): ListedRecord[] {
  const successor = new Map(records.filter((r) => r.supersedes).map((r) => [r.supersedes!, r.recordId]));
  return [...records]
    .sort((a, b) => a.createdAt.localeCompare(b.createdAt) || a.recordId.localeCompare(b.recordId))
    .map((r) => ({ ...r, supersededBy: successor.get(r.recordId) ?? null, ...(clear.has(r.category) ? { clearCategory: clear.get(r.category)! } : {}) }));
}

/** `emr records`: a header row, then one line per record. */
export function recordLines(records: ListedRecord[]): string[] {
  if (records.length === 0) return [];
  return columns(
    ['RECORD', 'VERSION', 'CATEGORY', 'TYPE', 'OWNER', 'SIZE', 'CREATED', 'MARKS'],
    records.map((r) => [
      r.recordId,
      String(r.version),
      categoryText(r.category, r.clearCategory),
      r.type,
      r.ownerMsp,
      formatBytes(r.size),
      r.createdAt,
      [r.erased ? `erased ${r.erased.erasedAt}` : '', r.supersededBy ? `superseded by ${r.supersededBy}` : ''].filter(Boolean).join(', ') || '-',
    ]),
  );
}

export function addRecords(program: Command, session: Sessions): void {
  program
    .command('records')
    .description("a patient's records as indexed on chain (any enrolled identity may list them; reading one needs a consent)")
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .addHelpText(
      'after',
      '\nColumns: RECORD, VERSION, CATEGORY (to the patient himself, a blinded one by its name, marked "(blinded)"), TYPE, OWNER (the hospital that uploaded it), SIZE (ciphertext), CREATED, MARKS (erased, superseded by a later version).\n--json: the records as an array, each with supersededBy (null when it is the latest version) and, to the patient, clearCategory for a blinded one.',
    )
    .action(async (o: { patient: string }) => {
      const s = session();
      const p = parsePseudonym(o.patient);
      const records = await s.connect(async (c) => {
        const all = await c.patientRecords(p);
        return listedRecords(all, await c.clearCategories(p, all.map((r) => r.category), all));
      });
      s.emit(records, () => recordLines(records).join('\n'));
      if (records.length === 0) s.note('emr: no records are indexed for this pseudonym');
    });
}
