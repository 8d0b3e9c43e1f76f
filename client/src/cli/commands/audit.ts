/** `emr audit`: a patient's whole access log. */
import type { Command } from 'commander';
import { encodeParty, sameParty, type LogEntry, type Party } from '@emr/protocol';
import { columns } from '../format';
import { parsePseudonym } from '../options';
import type { Sessions } from '../session';

/**
 * The audit trail: a header row, then one line per log entry (time, action, outcome, agent,
 * purpose, record, consent, reason). The reader's own entries name him by his wallet name
 * (`me`): a patient's enrollment id on chain is opaque (docs/privacy.md).
 */
export function auditLines(entries: LogEntry[], me?: { party: Party; name: string }): string[] {
  if (entries.length === 0) return [];
  const agent = (p: Party) => (me && sameParty(p, me.party) ? `${me.name}@${p.mspId}` : encodeParty(p));
  return columns(
    ['TIME', 'ACTION', 'OUTCOME', 'AGENT', 'PURPOSE', 'RECORD', 'CONSENT', 'REASON'],
    entries.map((e) => [e.recorded, e.action, e.outcome, agent(e.agent), e.purpose ?? '-', e.recordId ?? '-', e.consentId ?? e.emergencyId ?? (e.areaRule ? `area ${e.areaRule}` : '-'), e.reason ?? '-']),
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
      let me: { party: Party; name: string } | undefined;
      const entries = await s.connect((c) => {
        me = { party: { mspId: c.connection.mspId, enrollmentId: c.connection.enrollmentId }, name: c.connection.user };
        return c.auditTrail(p);
      });
      s.emit(entries, () => auditLines(entries, me).join('\n'));
      if (entries.length === 0) s.note('emr: the log has no entries');
    });
}
