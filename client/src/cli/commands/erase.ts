/** `emr erase`: crypto-shred a record (the chain drops its key, IPFS nodes the ciphertext). */
import type { Command } from 'commander';
import { table } from '../format';
import { parseRecordId } from '../options';
import type { Sessions } from '../session';

export function addErase(program: Command, session: Sessions): void {
  program
    .command('erase')
    .description('crypto-shred a record: the chain drops its key, IPFS nodes drop the ciphertext')
    .argument('<recordId>', 'the record')
    .action(async (recordId: string) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const r = await s.connect((c) => c.eraseRecord(id));
      s.emit({ recordId: r.record.recordId, erasedAt: r.record.erased?.erasedAt ?? null, erasedOn: r.erasedOn, unreachable: r.unreachable, record: r.record }, () =>
        table([
          ['record', r.record.recordId],
          ['erased at', r.record.erased?.erasedAt],
          ['erased on', r.erasedOn.join(', ') || '-'],
          ['unreachable', r.unreachable.length > 0 ? `${r.unreachable.join(', ')} (run erase again when they are back)` : undefined],
        ]),
      );
    });
}
