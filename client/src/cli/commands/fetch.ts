/** `emr fetch`: read a record end to end (access, fragments, IPFS, checks, decryption, receipt). */
import path from 'node:path';
import type { Command } from 'commander';
import { formatTimings, roundTimings, table } from '../format';
import { parsePurpose, parseRecordId, parseVia, requireViaUnlessPatient } from '../options';
import { formatBytes } from '../progress';
import type { Sessions } from '../session';

export function addFetch(program: Command, session: Sessions): void {
  program
    .command('fetch')
    .description('read a record: access on chain, verified proxy fragments, IPFS, SHA-256 check, decryption, receipt')
    .argument('<recordId>', 'the record')
    .option('--consent <consentId>', 'the consent naming you (a doctor or researcher needs this or --grant)')
    .option('--grant <grantId>', 'the grant delegated to you')
    .option('--area', "without a consent: by the rules of the areas you are in (the patient's standing grants carry the keys)")
    .option('--patient <pseudonym>', "with --area: the record's patient, when the record is unlinked (his hospital gives its link)")
    .option('--purpose <purpose>', 'treatment, research, emergency, payment or audit (required with --consent, --grant or --area)')
    .option('--out <file>', 'write the plaintext to this file (default: stdout; with --json only its size is reported)')
    .action(async (recordId: string, o: { consent?: string; grant?: string; area?: boolean; patient?: string; purpose?: string; out?: string }) => {
      const s = session();
      const id = parseRecordId(recordId, '<recordId>');
      const via = parseVia(o, false);
      if (!via) requireViaUnlessPatient(via, s.role()); // before connecting: who may read without a consent
      // A patient reading his own record (no consent or grant) makes no request, so no purpose.
      const purpose = via || o.purpose !== undefined ? parsePurpose(o.purpose) : 'treatment';
      const out = o.out !== undefined && o.out !== '' ? path.resolve(o.out) : undefined;
      const result = await s.connect(async (c) => {
        const bar = s.bar();
        try {
          const r = await c.fetchRecord(id, via, { purpose, ...(out ? { to: out } : {}), onProgress: (p) => bar.update(p.bytes, p.total) });
          bar.finish();
          return r;
        } catch (err) {
          bar.clear();
          throw err;
        }
      });
      const doc = {
        recordId: result.record.recordId,
        version: result.record.version,
        bytes: result.bytes,
        ...(out ? { out } : {}),
        sha256: result.record.ciphertextSha256,
        entryId: result.entry?.entryId ?? null,
        receiptId: result.receipt?.entryId ?? null,
        timings: roundTimings(result.timings),
        record: result.record,
        entry: result.entry ?? null,
        receipt: result.receipt ?? null,
      };
      const summary = table([
        ['record', `${doc.recordId} (version ${doc.version}, ${result.record.type}, ${result.record.category})`],
        ['bytes', `${formatBytes(doc.bytes)} (${doc.bytes} bytes)`],
        ['written to', out],
        ['sha256', `${doc.sha256} (ciphertext, verified)`],
        ['access', doc.entryId],
        ['receipt', doc.receiptId],
        ['timings', formatTimings(result.timings)],
      ]);
      if (s.options.json || out) s.emit(doc, summary);
      else {
        // The plaintext is the output; the summary goes to stderr.
        await new Promise<void>((resolve, reject) => s.io.stdout.write(result.data ?? Buffer.alloc(0), (err) => (err ? reject(err) : resolve())));
        s.note(summary);
      }
    });
}
