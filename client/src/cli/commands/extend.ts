/** `emr extend`: the grants a consent lacks for records indexed since it was granted. */
import type { Command } from 'commander';
import { grantText } from '../format';
import { parseRecordId } from '../options';
import type { Sessions } from '../session';

export function addExtend(program: Command, session: Sessions): void {
  program
    .command('extend')
    .description("the patient makes the grants a consent lacks for records indexed since it was granted")
    .argument('<consentId>', 'the consent')
    .action(async (consentId: string) => {
      const s = session();
      const id = parseRecordId(consentId, '<consentId>');
      const grants = await s.connect((c) => c.extendGrants(id));
      s.emit(grants, () => (grants.length > 0 ? grants.map(grantText).join('\n') : 'no grants were missing'));
    });
}
