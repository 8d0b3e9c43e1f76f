/** `emr audit`: a patient's whole access log. */
import type { Command } from 'commander';
import { encodeParty, type LogEntry } from '@emr/protocol';
import { columns } from '../format';
import { parsePseudonym } from '../options';
import type { Sessions } from '../session';

/** The audit trail: a header row, then one line per log entry (time, action, outcome, agent, purpose, record, consent, reason). */
export function auditLines(entries: LogEntry[]): string[] {
  if (entries.length === 0) return [];
  return columns(
    ['TIME', 'ACTION', 'OUTCOME', 'AGENT', 'PURPOSE', 'RECORD', 'CONSENT', 'REASON'],
    entries.map((e) => [e.recorded, e.action, e.outcome, encodeParty(e.agent), e.purpose ?? '-', e.recordId ?? '-', e.consentId ?? e.emergencyId ?? (e.areaRule ? `area ${e.areaRule}` : '-'), e.reason ?? '-']),
  );
}

export function addAudit(program: Command, session: Sessions): void {
  program
    .command('audit')
    .description("a patient's whole access log (emergency overrides first, then newest first): the patient or an admin of his home hospital")
    .argument('<pseudonym>', "the patient's pseudonym")
    .addHelpText('after', '\nColumns: TIME, ACTION, OUTCOME, AGENT, PURPOSE, RECORD, CONSENT (or emergency, or the area rule that decided), REASON (of a denial). --json: the log entries as an array.')
    .action(async (pseudonym: string) => {
      const s = session();
      const p = parsePseudonym(pseudonym, '<pseudonym>');
      const entries = await s.connect((c) => c.auditTrail(p));
      s.emit(entries, () => auditLines(entries).join('\n'));
      if (entries.length === 0) s.note('emr: the log has no entries');
    });
}
