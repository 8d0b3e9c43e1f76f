/** `emr delegate`: re-delegate a grant within the consent's hop limit. */
import type { Command } from 'commander';
import { grantText } from '../format';
import { parseParty, parseRecordId, parseTime } from '../options';
import type { Sessions } from '../session';

export function addDelegate(program: Command, session: Sessions): void {
  program
    .command('delegate')
    .description('re-delegate a grant you hold (within the consent\'s hop limit)')
    .argument('<grantId>', 'the grant you hold')
    .requiredOption('--to <identity>', '<enrollmentId>@<MSPID> of the delegatee, e.g. specialist1@HospitalBMSP')
    .option('--expires <iso>', 'expiry (default: the parent grant\'s)')
    .action(async (grantId: string, o: { to: string; expires?: string }) => {
      const s = session();
      const id = parseRecordId(grantId, '<grantId>');
      const to = parseParty(o.to, '--to');
      const expires = o.expires !== undefined ? parseTime(o.expires, '--expires') : undefined;
      const g = await s.connect((c) => c.delegate(id, to, expires));
      s.emit({ grantId: g.grantId, hop: g.hop, parentGrantId: g.parentGrantId, expiresAt: g.expiresAt, registration: g }, () => `grant  ${grantText(g)}`);
    });
}
