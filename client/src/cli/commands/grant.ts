/** `emr grant`: the patient's consent to one identity, with the re-encryption grants for his records in scope. */
import type { Command } from 'commander';
import { consentText, grantText } from '../format';
import { grantInput, type GrantOptions } from '../options';
import type { Sessions } from '../session';

export function addGrant(program: Command, session: Sessions): void {
  program
    .command('grant')
    .description('the patient grants a consent to one identity (with re-encryption grants for his records in scope)')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym")
    .requiredOption('--grantee <grantee>', "<enrollmentId>@<MSPID>, e.g. researcher1@ResearchInstituteMSP, or area:<name> for an area of the consortium (authorized on chain; keys for an area come later)")
    .requiredOption('--purpose <purpose>', 'treatment, research, emergency, payment or audit')
    .option('--category <category>', 'scope: a department subtree')
    .option('--type <type>', 'scope: sharable or non-sharable')
    .option('--records <ids>', 'scope: record ids, comma-separated')
    .option('--valid-from <iso>', 'start (default: a minute ago)')
    .option('--valid-until <iso>', 'end (default: 24 hours from now)')
    .option('--max-accesses <n>', 'how many accesses it allows (default 10)')
    .option('--hop-limit <n>', 'how far it may be re-delegated; 1 = the grantee only (default 1)')
    .action(async (o: GrantOptions) => {
      const s = session();
      const input = grantInput(o);
      const { consent, grants } = await s.connect((c) => c.grantConsent(input));
      s.emit({ consentId: consent.consentId, status: consent.status, grantIds: grants.map((g) => g.grantId), consent, grants }, () =>
        [
          consentText(consent),
          ...(grants.length > 0
            ? grants.map((g) => `grant      ${grantText(g)}`)
            : ['grants     none yet: no sharable record of the patient is in scope; after uploading one, run `emr extend ' + consent.consentId + '`']),
        ].join('\n'),
      );
    });
}
