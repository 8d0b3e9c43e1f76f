/** `emr whoami`: the caller as the chaincode reads him. */
import type { Command } from 'commander';
import { encodeParty } from '@emr/protocol';
import type { Sessions } from '../session';

export function addWhoami(program: Command, session: Sessions): void {
  program
    .command('whoami')
    .description('the caller as the chaincode reads it from the certificate')
    .action(async () => {
      const s = session();
      const me = await s.connect((c) => c.index.whoAmI());
      s.emit(me, `${encodeParty(me)} (${me.role})`);
    });
}
