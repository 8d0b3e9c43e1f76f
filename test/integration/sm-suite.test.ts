/**
 * Issue 20, the SM suite's content cipher on the live network: a record uploaded with
 * SM4-CTR + HMAC-SM3 (`emr upload --suite sm`, the SDK's `cipherSuite`) is indexed under its
 * suite, its ciphertext on IPFS carries the SM version byte, and a grantee reads it back
 * through the proxies like any record.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emrJson, requireBuiltClis } from '../support/cli';
import { emrClients, patientAndResearcher, researchConsent } from '../support/network';

jest.setTimeout(240_000);
const as = emrClients();
const doctor = as('HospitalA', 'doctor1');
const patient = as('HospitalA', 'patient1');
const researcher = as('ResearchInstitute', 'researcher1');
const work = mkdtempSync(path.join(tmpdir(), 'emr-sm-suite-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

it('a record under the SM suite is stored with its suite and read back by a grantee through the proxies', async () => {
  requireBuiltClis();
  const pseudonym = await patientAndResearcher(patient, researcher);
  const category = `sm${randomUUID().slice(0, 8)}/notes`;
  const content = JSON.stringify({ resourceType: 'Bundle', id: randomUUID(), note: 'x'.repeat(3000) });
  const file = path.join(work, 'record.json');
  writeFileSync(file, content);

  const { doc } = await emrJson('HospitalA', 'doctor1', ['upload', file, '--patient', pseudonym, '--category', category, '--suite', 'sm']);
  expect(doc.suite).toBe('sm4-ctr-hmac-sm3-stream.v1');
  const record = await doctor.index.readRecord(doc.recordId);
  expect(record.cipherSuite).toBe('sm4-ctr-hmac-sm3-stream.v1');
  const chunks: Uint8Array[] = [];
  for await (const c of await doctor.ipfs.cat(record.cid)) chunks.push(c);
  const stored = Buffer.concat(chunks);
  expect([stored.subarray(0, 4).toString(), stored[4]]).toEqual(['EMRC', 2]); // the SM suite's version byte
  expect(stored.length).toBe(13 + 32 + content.length); // one segment, a 32-byte HMAC-SM3 tag

  const { consentId } = await researchConsent(patient, category, 2);
  const read = await researcher.fetchRecord(doc.recordId, { consentId }, { purpose: 'research' });
  expect(read.data!.toString()).toBe(content);
  await read.receiptCommitted;

  const refused = await emrJson('HospitalA', 'doctor1', ['upload', file, '--patient', pseudonym, '--category', category, '--suite', 'sm3'], false);
  expect([refused.code, refused.doc.error.message]).toEqual([1, '--suite: must be aes or sm, got "sm3"']);
});
