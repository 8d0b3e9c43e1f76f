/**
 * Issue 20, the SM suite on the live network: a record uploaded with SM4-CTR + HMAC-SM3
 * (`emr upload --suite sm`, the SDK's `cipherSuite`) is indexed under its suite, its
 * ciphertext on IPFS carries the SM version byte, and a grantee reads it back through the
 * proxies like any record. End to end as the patient: his upload registers his SM2 key and
 * carries his SM2 signature, which the chaincode checks (an ECDSA one is refused as the wrong
 * suite); then grant, read and the audit trail. The consortium's default suite is a setting
 * on chain that the member orgs' admins change together (`emr consortium propose|approve`);
 * an upload names another suite to override it.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { paddedLength, sm2Verify } from '@emr/crypto';
import { fragmentSigningPayload, recordSigningPayload } from '@emr/protocol';
import { state } from '../../network/src/paths';
import { topology } from '../../network/src/topology';
import { emrJson, requireBuiltClis } from '../support/cli';
import { emrClients, newPatient, patientAndResearcher, researchConsent } from '../support/network';

jest.setTimeout(240_000);
const sha256 = (base64url: string) => createHash('sha256').update(Buffer.from(base64url, 'base64url')).digest('hex');
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
  expect(stored.length).toBe(13 + 32 + paddedLength(content.length)); // one segment padded to its size class, a 32-byte HMAC-SM3 tag
  expect(record.size).toBe(paddedLength(content.length));

  const { consentId, grant } = await researchConsent(patient, category, 2);
  const read = await researcher.fetchRecord(doc.recordId, { consentId }, { purpose: 'research' });
  expect(read.data!.toString()).toBe(content);
  await read.receiptCommitted;

  // The proxies signed their fragments of this SM-suite record with SM2, under the keys they registered.
  for (const p of grant.proxies) {
    const { sm2PublicKey } = await doctor.proxies.read(p);
    const org = topology.members.find((m) => m.mspId === p.mspId)!.name;
    const served = JSON.parse(readFileSync(path.join(state.services, `proxy-${org}`, 'served', `${read.entry!.entryId}__${grant.grantId}.json`), 'utf8'));
    const payload = fragmentSigningPayload({ grantId: grant.grantId, capsuleSha256: sha256(served.capsule), fragmentSha256: sha256(served.fragment) });
    expect(sm2Verify(Buffer.from(payload, 'utf8'), Buffer.from(served.signature, 'base64url'), Buffer.from(sm2PublicKey!, 'hex'))).toBe(true);
  }

  const refused = await emrJson('HospitalA', 'doctor1', ['upload', file, '--patient', pseudonym, '--category', category, '--suite', 'sm3'], false);
  expect([refused.code, refused.doc.error.message]).toEqual([1, '--suite: must be aes or sm, got "sm3"']);
});

it('end to end as the patient: upload under SM with his SM2 signature checked on chain, grant, read, audit', async () => {
  requireBuiltClis();
  const { user, pseudonym } = await newPatient('HospitalA', 'sm-patient');
  const patient = as('HospitalA', user);
  await researcher.registerIdentity();
  const category = `sm${randomUUID().slice(0, 8)}/ecg`;
  const content = `an ECG report under the SM suite ${randomUUID()}`;
  const file = path.join(work, 'patient-record.txt');
  writeFileSync(file, content);

  const { doc } = await emrJson('HospitalA', user, ['upload', file, '--patient', pseudonym, '--category', category, '--suite', 'sm']);
  const registration = await patient.consents.readPatient(pseudonym);
  expect(registration.sm2PublicKey).toBe(patient.connection.sm2PublicKey());
  const record = await patient.index.readRecord(doc.recordId);
  expect(record).toMatchObject({ cipherSuite: 'sm4-ctr-hmac-sm3-stream.v1', createdBy: patient.connection.enrollmentId });
  expect(sm2Verify(Buffer.from(recordSigningPayload(record), 'utf8'), Buffer.from(record.patientApproval!.signature, 'base64url'), Buffer.from(registration.sm2PublicKey!, 'hex'))).toBe(true);

  // The chain refuses his ECDSA signature on a record of the SM suite, naming the suite.
  const fields = { ...record, recordId: `rec-${randomUUID()}`, supersedes: null, version: 1 };
  const { recordId, patientPseudonym, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys } = fields;
  const ecdsa = patient.connection.sign(recordSigningPayload(fields));
  await expect(patient.index.createRecord({ recordId, patientPseudonym, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys, patientSignature: ecdsa })).rejects.toThrow(
    /patientSignature.*is an ECDSA P-256 \(SHA-256\) signature, of the wrong suite: records of suite sm4-ctr-hmac-sm3-stream.v1 take the patient's SM2/,
  );

  const { consentId } = await researchConsent(patient, category, 1);
  const read = await researcher.fetchRecord(doc.recordId, { consentId }, { purpose: 'research' });
  expect(read.data!.toString()).toBe(content);
  await read.receiptCommitted;

  const audit = await emrJson('HospitalA', user, ['audit', pseudonym]);
  const actions = (audit.doc as { action: string; outcome: string; recordId: string | null }[]).map((e) => `${e.action}:${e.outcome}`);
  expect(actions).toEqual(expect.arrayContaining(['patient-registration:success', 'sm2-key-registration:success', 'record-upload:success', 'consent-grant:success', 'access-request:success', 're-encryption:success', 'receipt:success']));
  expect(actions.filter((a) => a === 'sm2-key-registration:success')).toHaveLength(1);
});

it("the consortium's default suite is on chain, changed by a majority of the members' admins, and an upload can override it", async () => {
  requireBuiltClis();
  const pseudonym = await patientAndResearcher(patient, researcher);
  const file = path.join(work, 'default-suite.txt');
  writeFileSync(file, 'which suite?');
  const upload = async (...extra: string[]) => (await emrJson('HospitalA', 'doctor1', ['upload', file, '--patient', pseudonym, '--category', 'suite-test/notes', ...extra])).doc.suite as string;

  const first = (await emrJson('HospitalB', 'doctor1', ['consortium', 'show'])).doc;
  expect(first).toMatchObject({ members: ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'], defaultCipherSuite: 'aes-256-gcm-stream.v1' });
  expect(first.version).toBeGreaterThanOrEqual(1);

  const refused = await emrJson('HospitalA', 'doctor1', ['consortium', 'propose', '--suite', 'sm'], false);
  expect(refused.code).not.toBe(0);
  expect(refused.doc.error.message).toMatch(/^UNAUTHORIZED: role 'doctor' of 'doctor1' \(HospitalAMSP\) may not call ProposeSettings; allowed: admin/);
  const proposed = (await emrJson('HospitalA', 'admin', ['consortium', 'propose', '--suite', 'sm'])).doc;
  try {
    expect(proposed).toMatchObject({ status: 'open', approvals: [{ mspId: 'HospitalAMSP' }], missing: { orgs: [], moreMembers: 1 } });
    expect(await upload()).toBe('aes-256-gcm-stream.v1'); // one org of three changes nothing
    const adopted = (await emrJson('HospitalB', 'admin', ['consortium', 'approve', proposed.proposalId])).doc;
    expect(adopted.status).toBe('adopted');
    expect((await emrJson('ResearchInstitute', 'researcher1', ['consortium', 'show'])).doc).toMatchObject({ version: first.version + 1, defaultCipherSuite: 'sm4-ctr-hmac-sm3-stream.v1' });
    expect(await upload()).toBe('sm4-ctr-hmac-sm3-stream.v1');
    expect(await upload('--suite', 'aes')).toBe('aes-256-gcm-stream.v1');

    // A department tree: a consent on a category outside it is refused, naming the tree.
    const tree = (await emrJson('HospitalB', 'admin', ['consortium', 'propose', '--categories', 'suite-test/notes,cardiology/ecg'])).doc;
    await emrJson('ResearchInstitute', 'admin', ['consortium', 'approve', tree.proposalId]);
    const grant = await emrJson('HospitalA', 'patient1', ['grant', '--patient', pseudonym, '--grantee', 'researcher1@ResearchInstituteMSP', '--category', 'cardiolgy', '--purpose', 'research'], false);
    expect(grant.code).not.toBe(0);
    expect(grant.doc.error.message).toMatch(/'cardiolgy' is not a category of the consortium \(emr consortium show\); its categories: cardiology\/ecg, suite-test\/notes/);
    expect(await upload()).toBe('sm4-ctr-hmac-sm3-stream.v1'); // suite-test/notes is in the tree
  } finally {
    // Back to AES and any path for the other suites, by the same rule.
    const back = (await emrJson('HospitalB', 'admin', ['consortium', 'propose', '--suite', 'aes', '--categories', 'any'])).doc;
    if (back.status !== 'adopted') await emrJson('ResearchInstitute', 'admin', ['consortium', 'approve', back.proposalId]);
  }
  expect((await emrJson('HospitalA', 'doctor1', ['consortium', 'show'])).doc).toMatchObject({ defaultCipherSuite: 'aes-256-gcm-stream.v1', categories: [] });
});
