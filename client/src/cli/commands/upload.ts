/** `emr upload`: one file, encrypted as it streams, stored on IPFS and indexed on chain. */
import { statSync } from 'node:fs';
import type { Command } from 'commander';
import type { UploadResult } from '../../sharing/emr-client';
import { formatTimings, roundTimings, table } from '../format';
import { UsageError, parseCategory, parsePseudonym, parseRecordId, parseRecordType, parseSuite } from '../options';
import { formatBytes } from '../progress';
import type { Sessions } from '../session';

/** The size of a regular file, or a UsageError naming the argument. */
export function regularFileSize(file: string, what: string): number {
  let stat;
  try {
    stat = statSync(file);
  } catch {
    throw new UsageError(`${what} ${JSON.stringify(file)}: no such file`, what);
  }
  if (!stat.isFile()) throw new UsageError(`${what} ${JSON.stringify(file)} is not a regular file`, what);
  return stat.size;
}

/** The CLI reports an upload once its replica is pinned too (or says why there is none). */
export async function withReplica(r: UploadResult): Promise<UploadResult> {
  const replication = await r.replicated;
  if (replication.error) process.stderr.write(`emr: warning: ${replication.error.message}\n`);
  return { ...r, pinnedOn: replication.pinnedOn };
}

export function uploadSummary(r: UploadResult) {
  return { recordId: r.record.recordId, version: r.record.version, cid: r.record.cid, pinnedOn: r.pinnedOn, sha256: r.record.ciphertextSha256, size: r.record.size, suite: r.record.cipherSuite, timings: roundTimings(r.timings) };
}

function uploadText(r: UploadResult): string {
  return table([
    ['record', r.record.recordId],
    ['version', r.record.version],
    ['supersedes', r.record.supersedes],
    ['type', r.record.type],
    ['category', r.record.category],
    ['cid', r.record.cid],
    ['pinned on', r.pinnedOn.join(', ')],
    ['sha256', `${r.record.ciphertextSha256} (ciphertext)`],
    ['size', `${formatBytes(r.record.size)} (${r.record.size} bytes)`],
    ['suite', r.record.cipherSuite],
    ['timings', formatTimings(r.timings)],
  ]);
}

export function addUpload(program: Command, session: Sessions): void {
  program
    .command('upload')
    .description('encrypt a file as it streams, store it on IPFS and index it on chain')
    .argument('<file>', 'the record file (e.g. a FHIR bundle)')
    .requiredOption('--patient <pseudonym>', "the patient's pseudonym (64 hex characters)")
    .requiredOption('--category <category>', 'department path, e.g. cardiology/ecg')
    .option('--type <type>', 'sharable or non-sharable (default sharable)')
    .option('--record-id <id>', 'the record id (default a fresh rec-<uuid>)')
    .option('--supersedes <id>', 'the record this one is a new version of')
    .option('--suite <suite>', "the content cipher: aes (AES-256-GCM) or sm (SM4-CTR with HMAC-SM3, the patient signs with SM2); default: the consortium's (emr consortium show)")
    .option('--blind', "file it under its category blinded for the patient: the chain sees no department name (docs/privacy.md)")
    .option('--unlinked', "file it under a record pseudonym of its own, so no member ties it to the patient's other records (staff only; docs/privacy.md)")
    .option('--no-pad', 'do not pad the content to its size class (by default the ciphertext and the index show a class of at least 4 KiB, not the size)')
    .action(async (file: string, o: { patient: string; category: string; type?: string; recordId?: string; supersedes?: string; suite?: string; blind?: boolean; unlinked?: boolean; pad: boolean }) => {
      const s = session();
      const input = {
        patientPseudonym: parsePseudonym(o.patient),
        category: parseCategory(o.category),
        ...(o.type !== undefined ? { type: parseRecordType(o.type) } : {}),
        ...(o.recordId !== undefined ? { recordId: parseRecordId(o.recordId, '--record-id') } : {}),
        ...(o.supersedes !== undefined ? { supersedes: parseRecordId(o.supersedes, '--supersedes') } : {}),
        ...(o.suite !== undefined ? { cipherSuite: parseSuite(o.suite) } : {}),
        ...(o.blind ? { blindCategory: true } : {}),
        ...(o.unlinked ? { unlinked: true } : {}),
        padSize: o.pad,
      };
      const size = regularFileSize(file, '<file>');
      const result = await s.connect(async (c) => {
        const bar = s.bar();
        try {
          const r = await withReplica(await c.uploadRecord({ ...input, source: file, onProgress: (p) => bar.update(p.bytes, p.total ?? size) }));
          bar.finish();
          return r;
        } catch (err) {
          bar.clear();
          throw err;
        }
      });
      s.emit({ ...uploadSummary(result), record: result.record }, () => uploadText(result));
    });
}
