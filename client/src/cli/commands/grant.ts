/** `emr grant`: the patient's consent to one identity, with the re-encryption grants for his records in scope. */
import type { Command } from 'commander';
import type { Consent } from '@emr/protocol';
import { consentText, grantText } from '../format';
import { grantInput, type GrantOptions } from '../options';
import type { Sessions } from '../session';

export function addGrant(program: Command, session: Sessions): void {
  program
    .command('grant')
    .description('the patient grants a consent to an identity or an area, with its re-encryption grant (one for the category: later records below it are covered)')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym")
    .requiredOption('--grantee <grantee>', "<enrollmentId>@<MSPID>, e.g. researcher1@ResearchInstituteMSP, or area:<name> for an area of the consortium (its members get the area's key from the key centres)")
    .requiredOption('--purpose <purpose>', 'treatment, research, emergency, payment or audit')
    .option('--category <category>', 'scope: a department subtree')
    .option('--type <type>', 'scope: sharable or non-sharable')
    .option('--records <ids>', 'scope: record ids, comma-separated')
    .option('--valid-from <iso>', 'start (default: a minute ago)')
    .option('--valid-until <iso>', 'end (default: 24 hours from now)')
    .option('--max-accesses <n>', 'how many accesses it allows (default 10)')
    .option('--hop-limit <n>', 'how far it may be re-delegated; 1 = the grantee only (default 1)')
    .option('--blind', 'the --category blinded with your key, for records filed with upload --blind (docs/privacy.md)')
    .action(async (o: GrantOptions & { blind?: boolean }) => {
      const s = session();
      const input = { ...grantInput(o), ...(o.blind ? { blindCategory: true } : {}) };
      const { consent, grants } = await s.connect((c) => c.grantConsent(input));
      s.emit({ consentId: consent.consentId, status: consent.status, grantIds: grants.map((g) => g.grantId), consent, grants }, () =>
        [
          consentText(consent),
          ...(grants.length > 0 ? grants.map((g) => `grant      ${grantText(g)}`) : [`grants     none yet: ${noGrantsYet(consent)}`]),
        ].join('\n'),
      );
    });
}

/** Why a new consent has no grant yet, and what makes them. */
export function noGrantsYet(consent: Consent): string {
  return consent.status === 'pending'
    ? `the consent waits for its hospital's approvals (${consent.requiredApprovals.map((r) => `${r.count} ${r.role}`).join(', ')}); once they are given, run \`emr extend ${consent.consentId}\``
    : `no sharable record of the patient is in scope; after uploading one, run \`emr extend ${consent.consentId}\``;
}
