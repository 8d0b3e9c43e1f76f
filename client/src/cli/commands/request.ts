/** `emr request`: an access request on chain, under a consent or through a grant. */
import type { Command } from 'commander';
import { encodeParty, type LogEntry } from '@emr/protocol';
import { table } from '../format';
import { parsePurpose, parseRecordId, parseVia } from '../options';
import type { Sessions } from '../session';

function entryText(e: LogEntry): string {
  return table([
    ['entry', e.entryId],
    ['action', e.action],
    ['outcome', e.outcome],
    ['reason', e.reason],
    ['agent', encodeParty(e.agent)],
    ['record', e.recordId],
    ['consent', e.consentId],
    ['grant', e.grantId],
    ['area rule', e.areaRule],
    ['purpose', e.purpose],
    ['recorded', e.recorded],
    ['tx', e.txId],
  ]);
}

export function addRequest(program: Command, session: Sessions): void {
  program
    .command('request')
    .description('ask on chain to use a record, under a consent (its grantee), through a grant (a delegatee), or by the rules of your areas (--area)')
    .argument('<recordId>', 'the record')
    .option('--consent <consentId>', 'the consent naming you')
    .option('--grant <grantId>', 'the grant delegated to you')
    .option('--area', "without a consent: the consortium's default rules of the areas you are in, or the patient's own (emr consortium show)")
    .option('--patient <pseudonym>', "with --area: the record's patient, when the record is unlinked (his hospital gives its link)")
    .requiredOption('--purpose <purpose>', 'treatment, research, emergency, payment or audit')
    .action(async (recordId: string, o: { consent?: string; grant?: string; area?: boolean; patient?: string; purpose: string }) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const via = parseVia(o, true)!;
      const purpose = parsePurpose(o.purpose);
      const entry = await s.connect((c) => c.requestAccess(id, via, purpose));
      s.emit({ entryId: entry.entryId, outcome: entry.outcome, entry }, () => entryText(entry));
    });
}
