/** `emr extend`: the grants a consent lacks for records no grant of it opens (records indexed before ancestor capsules). */
import type { Command } from 'commander';
import { grantText } from '../format';
import { parseRecordId } from '../options';
import type { Sessions } from '../session';

export function addExtend(program: Command, session: Sessions): void {
  program
    .command('extend')
    .description("the patient makes the grants a consent lacks for records in its scope that none of its grants opens (records indexed before ancestor capsules existed); a category consent needs nothing for records indexed later")
    .argument('<consentId>', 'the consent')
    .action(async (consentId: string) => {
      const s = session();
      const id = parseRecordId(consentId, '<consentId>');
      const grants = await s.connect((c) => c.extendGrants(id));
      s.emit(grants, () => (grants.length > 0 ? grants.map(grantText).join('\n') : 'no grants were missing'));
    });
}
