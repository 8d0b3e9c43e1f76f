/** `emr trace`: name who a leaked key came from, and log the finding for the patient. */
import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { encodeParty } from '@emr/protocol';
import type { DataKeyTrace, GrantKeyTrace } from '../../sharing/emr-client';
import { columns, table } from '../format';
import { UsageError, parsePseudonym, parseRecordId } from '../options';
import type { Sessions } from '../session';
import { regularFileSize } from './upload';

const MAX_KEY_FILE = 4096;

/** A data key as found: 32 raw bytes, or 64 hex or 43 base64url characters. */
export function parseDataKeyFile(file: Uint8Array, what: string): Uint8Array {
  if (file.length === 32) return file;
  const text = Buffer.from(file).toString('utf8').trim();
  if (/^[0-9a-fA-F]{64}$/.test(text)) return Uint8Array.from(Buffer.from(text, 'hex'));
  if (/^[A-Za-z0-9_-]{43}$/.test(text)) return Uint8Array.from(Buffer.from(text, 'base64url'));
  throw new UsageError(`${what}: a data key is 32 bytes, or 64 hex or 43 base64url characters; got ${file.length} bytes`, what);
}

function grantKeyText(t: GrantKeyTrace): string {
  const r = t.registration;
  return table([
    ['grant', r.grantId],
    ['delegatee', `${encodeParty(r.delegatee)} (holds the key)`],
    ['delegator', `${encodeParty(r.delegator)} (made it)`],
    ['hop', r.hop],
    ['consent', r.consentId],
    ['logged', t.entry ? `${t.entry.entryId} in the patient's log` : `before: ${t.reportedBefore}`],
    ['searched', `${t.searched} grants in ${t.searchMs.toFixed(0)} ms`],
  ]);
}

function dataKeyText(t: DataKeyTrace): string {
  const head = table([
    ['record', `${t.record.recordId} (the key opens it)`],
    ['held by', `${t.holders.map(encodeParty).join(', ') || '-'}, and the record's patient`],
    ['logged', t.entry ? `${t.entry.entryId} in the patient's log (a report: the chain cannot check a data key)` : `before: ${t.reportedBefore}`],
  ]);
  const reads = columns(['TIME', 'ACTION', 'AGENT', 'PURPOSE', 'CONSENT'], t.reads.map((e) => [e.recorded, e.action, encodeParty(e.agent), e.purpose ?? '-', e.consentId ?? e.emergencyId ?? '-']));
  return [head, '', ...reads].join('\n');
}

export function addTrace(program: Command, session: Sessions): void {
  program
    .command('trace')
    .description("name who a leaked key came from and log it in the patient's log: a grant key (proven on chain) or, with --record, a record's data key (evidence only)")
    .argument('<keyFile>', 'the leaked key: a grant key as 96 raw bytes, 192 hex or 128 base64url characters; a data key as 32 bytes, 64 hex or 43 base64url')
    .option('--patient <pseudonym>', "search only this patient's grants (the patient, or an admin of his hospital); default: every registered grant (an admin)")
    .option('--record <recordId>', "the key is this record's data key (the record's patient, or an admin of its hospital)")
    .action(async (keyFile: string, o: { patient?: string; record?: string }) => {
      const s = session();
      if (regularFileSize(keyFile, '<keyFile>') > MAX_KEY_FILE) throw new UsageError(`<keyFile> ${JSON.stringify(keyFile)} is larger than ${MAX_KEY_FILE} bytes: not a key`, '<keyFile>');
      const bytes = new Uint8Array(readFileSync(keyFile));
      if (o.record !== undefined) {
        if (o.patient !== undefined) throw new UsageError('--patient and --record exclude each other: a data key belongs to one record', '--patient');
        const recordId = parseRecordId(o.record, '--record');
        const key = parseDataKeyFile(bytes, '<keyFile>');
        const t = await s.connect((c) => c.traceLeakedDataKey(recordId, key));
        s.emit({ kind: 'data-key', recordId, holders: t.holders, reads: t.reads, entry: t.entry ?? null, reportedBefore: t.reportedBefore ?? null }, () => dataKeyText(t));
        return;
      }
      const patientPseudonym = o.patient === undefined ? undefined : parsePseudonym(o.patient, '--patient');
      const t = await s.connect((c) => c.traceLeakedGrantKey(bytes, patientPseudonym ? { patientPseudonym } : {}));
      const r = t.registration;
      s.emit(
        { kind: 'grant-key', grantId: r.grantId, delegatee: r.delegatee, delegator: r.delegator, hop: r.hop, consentId: r.consentId, entry: t.entry ?? null, reportedBefore: t.reportedBefore ?? null, searched: t.searched, searchMs: Math.round(t.searchMs) },
        () => grantKeyText(t),
      );
    });
}
