/** `emr revoke`: the patient ends a consent and every grant under it. */
import type { Command } from 'commander';
import { consentText } from '../format';
import { parseRecordId } from '../options';
import type { Sessions } from '../session';

export function addRevoke(program: Command, session: Sessions): void {
  program
    .command('revoke')
    .description('the patient revokes a consent: every grant under it stops at once')
    .argument('<consentId>', 'the consent')
    .action(async (consentId: string) => {
      const s = session();
      const id = parseRecordId(consentId, '<consentId>');
      const consent = await s.connect((c) => c.revokeConsent(id));
      s.emit({ consentId: consent.consentId, status: consent.status, revokedAt: consent.revokedAt, consent }, () => consentText(consent));
    });
}
