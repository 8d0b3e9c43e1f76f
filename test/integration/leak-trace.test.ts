/**
 * Issue 19, accountability, on the live network: a researcher's grant key and a record's data
 * key "leak"; an admin of another hospital traces the grant key with the real `emr trace`
 * (every registered grant searched, the finding proven on chain and logged for the patient),
 * the patient traces the data key to the reads of his record. Keys that match nothing, or do
 * not open the record, are refused by name and log nothing.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { hashToG2 } from '@emr/crypto';
import { encodeParty } from '@emr/protocol';
import { InvalidArgumentError, NotFoundError } from '../../client/src';
import { emrJson, requireBuiltClis } from '../support/cli';
import { emrClients, patientAndResearcher, researchConsent } from '../support/network';

jest.setTimeout(240_000);
const as = emrClients();
const doctor = as('HospitalA', 'doctor1');
const patient = as('HospitalA', 'patient1');
const researcher = as('ResearchInstitute', 'researcher1');
const researcherParty = { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' };
const work = mkdtempSync(path.join(tmpdir(), 'emr-leak-trace-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

let pseudonym: string;
let recordId: string;
let consentId: string;
let grantId: string;
let grantKey: Uint8Array;
let dataKey: Uint8Array;
const content = JSON.stringify({ resourceType: 'Bundle', id: randomUUID() });

beforeAll(async () => {
  requireBuiltClis();
  pseudonym = await patientAndResearcher(patient, researcher);
  const category = `leak${randomUUID().slice(0, 8)}/notes`;
  recordId = (await doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from(content) })).record.recordId;
  let grant;
  ({ consentId, grant } = await researchConsent(patient, category, 5));
  grantId = grant.grantId;
  const read = await researcher.fetchRecord(recordId, { consentId }, { purpose: 'research', keepDataKey: true });
  expect(read.data!.toString()).toBe(content);
  await read.receiptCommitted;
  dataKey = read.dataKey!;
  grantKey = await researcher.grantKeyBytes(grantId);
});

describe('a leaked grant key', () => {
  it('`emr trace` by another hospital\'s admin names the grant, delegatee, delegator, hop and consent; the patient sees it in his log', async () => {
    const file = path.join(work, 'grant-key.hex');
    writeFileSync(file, `${Buffer.from(grantKey).toString('hex')}\n`);
    const { doc } = await emrJson('HospitalB', 'admin', ['trace', file]);
    expect(doc).toMatchObject({ kind: 'grant-key', grantId, consentId, hop: 1, delegatee: researcherParty, reportedBefore: null });
    expect(encodeParty(doc.delegator)).toBe(patient.identity); // his opaque enrollment id
    expect(doc.searched).toBeGreaterThanOrEqual(1);
    expect(doc.entry).toMatchObject({ action: 'key-leak', grantId, consentId, agent: { mspId: 'HospitalBMSP', enrollmentId: 'admin' }, leak: { kind: 'grant-key', proven: true, hop: 1 } });
    const log = await patient.auditTrail(pseudonym);
    expect(log.find((e) => e.entryId === doc.entry.entryId)).toMatchObject({ action: 'key-leak', leak: { delegatee: researcherParty } });

    // Traced again, by the patient among his own grants: the same grant, and the chain names the first report.
    const again = await patient.traceLeakedGrantKey(grantKey, { patientPseudonym: pseudonym });
    expect(again.registration.grantId).toBe(grantId);
    expect(again.entry).toBeUndefined();
    expect(again.reportedBefore).toMatch(new RegExp(`reported leaked already, in transaction ${doc.entry.txId}`));
  });

  it('a key of no grant is NOT_FOUND and logs nothing; a file that is no key is refused by name', async () => {
    const before = (await patient.auditTrail(pseudonym)).length;
    await expect(patient.traceLeakedGrantKey(hashToG2(`never-issued-${randomUUID()}`).toBytes(), { patientPseudonym: pseudonym })).rejects.toThrow(NotFoundError);
    const junk = path.join(work, 'junk.bin');
    writeFileSync(junk, randomBytes(40));
    const refused = await emrJson('HospitalB', 'admin', ['trace', junk], false);
    expect(refused.code).toBe(1);
    expect(refused.doc.error.message).toMatch(/96 bytes, or 192 hex or 128 base64url characters; got 40 bytes/);
    expect((await patient.auditTrail(pseudonym)).length).toBe(before);
  });
});

describe('a leaked data key', () => {
  it('traced by the patient: it opens the record, and the record\'s log names who held it (the uploader and the researcher)', async () => {
    const file = path.join(work, 'data-key.b64');
    writeFileSync(file, Buffer.from(dataKey).toString('base64url'));
    const { doc } = await emrJson('HospitalA', 'patient1', ['trace', file, '--record', recordId]);
    expect(doc.kind).toBe('data-key');
    expect(doc.holders.map(encodeParty).sort()).toEqual(['doctor1@HospitalAMSP', 'researcher1@ResearchInstituteMSP']);
    expect(doc.reads.map((e: { action: string }) => e.action).sort()).toEqual(['access-request', 'record-upload']);
    expect(doc.entry).toMatchObject({ action: 'key-leak', recordId, leak: { kind: 'data-key', proven: false } });
  });

  it('a key that does not open the record is refused by name and logs nothing', async () => {
    const before = (await patient.auditTrail(pseudonym)).length;
    await expect(patient.traceLeakedDataKey(recordId, new Uint8Array(randomBytes(32)))).rejects.toThrow(InvalidArgumentError);
    await expect(patient.traceLeakedDataKey(recordId, new Uint8Array(randomBytes(32)))).rejects.toThrow(/the key does not open record/);
    expect((await patient.auditTrail(pseudonym)).length).toBe(before);
  });
});
