/**
 * A patient's unlinked records, for a holder of his blinding key (the patient, his home
 * hospital's key centre): the record pseudonyms are walked up from index 0, LINK_GAP at a
 * time, until a whole batch names no record (docs/privacy.md, "Linkability").
 */
import { LINK_GAP, MAX_LINK_INDEX, linkKey, recordPseudonym, type EmrRecord, type RecordLink } from '@emr/protocol';

export interface UnlinkedRecord {
  record: EmrRecord;
  link: RecordLink;
}

/**
 * Every record filed under the patient's record pseudonyms (versions included), and the next
 * unused index. `from`: start there, every index below it known used (a key centre's hint).
 */
export async function walkUnlinked(find: (recordPseudonyms: string[]) => Promise<EmrRecord[]>, blindingKey: Uint8Array, patientPseudonym: string, from = 0): Promise<{ found: UnlinkedRecord[]; next: number }> {
  const found: UnlinkedRecord[] = [];
  let next = from;
  for (let base = from; base < MAX_LINK_INDEX; base += LINK_GAP) {
    const links = Array.from({ length: Math.min(LINK_GAP, MAX_LINK_INDEX - base) }, (_, i) => ({ patientPseudonym, linkKey: linkKey(blindingKey, base + i) }));
    const byPseudonym = new Map(links.map((link, i) => [recordPseudonym(patientPseudonym, link.linkKey), { link, index: base + i }]));
    const records = await find([...byPseudonym.keys()]);
    for (const record of records) {
      const hit = byPseudonym.get(record.patientPseudonym);
      if (!hit) continue; // not asked for: a peer answering more than it was asked proves nothing
      found.push({ record, link: hit.link });
      next = Math.max(next, hit.index + 1);
    }
    if (next <= base) break; // LINK_GAP unused pseudonyms in a row: the walk is over
  }
  return { found, next };
}
