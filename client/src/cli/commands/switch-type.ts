/** `emr switch-type`: the patient makes a record sharable or non-sharable. */
import type { Command } from 'commander';
import type { EmrRecord } from '@emr/protocol';
import { table } from '../format';
import { parseRecordId, parseRecordType } from '../options';
import type { Sessions } from '../session';

function recordText(r: EmrRecord): string {
  return table([
    ['record', r.recordId],
    ['version', r.version],
    ['type', r.type],
    ['category', r.category],
    ['cid', r.cid],
    ['erased at', r.erased?.erasedAt],
  ]);
}

export function addSwitchType(program: Command, session: Sessions): void {
  program
    .command('switch-type')
    .description('the patient switches a record between sharable and non-sharable')
    .argument('<recordId>', 'the record')
    .argument('<type>', 'sharable or non-sharable')
    .action(async (recordId: string, type: string) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const t = parseRecordType(type, '<type>');
      const record = await s.connect((c) => c.switchType(id, t));
      s.emit({ recordId: record.recordId, type: record.type, record }, () => recordText(record));
    });
}
