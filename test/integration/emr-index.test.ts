/**
 * The chaincode through the Fabric Gateway on the live network: real peers, orderers,
 * CAs and chaincode services. Identities come from the CA-issued wallet.
 */
import {
  ConflictError,
  InvalidArgumentError,
  MvccConflictError,
  NotFoundError,
  TimeoutError,
  UnauthorizedError,
  UnavailableError,
  connectGateway,
  EmrIndex,
  loadProfile,
  mapGatewayError,
} from '../../client/src';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CommitError } from '@hyperledger/fabric-gateway';
import { stateDir } from '../../network/src/paths';
import { recordInput } from '../support/fixtures';
import { Connections, newPatient } from '../support/network';

jest.setTimeout(60_000);
const net = new Connections();
afterAll(() => net.closeAll());

// Records need a registered patient: this file's own, enrolled for the run.
let patient: { user: string; pseudonym: string };
beforeAll(async () => {
  patient = await newPatient('HospitalA');
});
const rec = (overrides: Parameters<typeof recordInput>[0] = {}) => recordInput({ patientPseudonym: patient.pseudonym, ...overrides });

describe('identities issued by the Fabric CAs', () => {
  it.each([
    ['HospitalA', 'doctor1', 'HospitalAMSP', 'doctor'],
    ['HospitalA', 'patient1', 'HospitalAMSP', 'patient'],
    ['HospitalB', 'doctor1', 'HospitalBMSP', 'doctor'],
    ['ResearchInstitute', 'researcher1', 'ResearchInstituteMSP', 'researcher'],
    ['ResearchInstitute', 'proxy', 'ResearchInstituteMSP', 'proxy'],
    ['HospitalB', 'kgc', 'HospitalBMSP', 'kgc'],
  ])('%s/%s is seen by the chaincode as %s with role %s', async (org, user, mspId, role) => {
    // A patient is enrolled under an opaque id (docs/privacy.md); everyone else under his wallet name.
    await expect(net.as(org, user).whoAmI()).resolves.toEqual({ mspId, enrollmentId: role === 'patient' ? expect.stringMatching(/^pt-[0-9a-f]{24}$/) : user, role });
  });
});

describe('EMR index records across organisations', () => {
  it('a record written through HospitalA\'s peer is read through HospitalB\'s and ResearchInstitute\'s', async () => {
    const input = rec();
    const created = await net.as('HospitalA', 'doctor1').createRecord(input);
    expect(created).toMatchObject({ ...input, ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', version: 1, supersedes: null });
    expect(created.txId).toMatch(/^[0-9a-f]{64}$/);
    await expect(net.as('HospitalB', 'doctor1').readRecord(input.recordId)).resolves.toEqual(created);
    await expect(net.as('ResearchInstitute', 'researcher1').readRecord(input.recordId)).resolves.toEqual(created);
  });

  it('HospitalB creates a record that HospitalA reads, owned by HospitalB', async () => {
    const input = rec({ category: 'radiology/ct' });
    await net.as('HospitalB', 'doctor1').createRecord(input);
    await expect(net.as('HospitalA', 'doctor2').readRecord(input.recordId)).resolves.toMatchObject({ ownerMsp: 'HospitalBMSP', category: 'radiology/ct' });
  });

  it('lists a patient\'s records with pagination through another org\'s peer', async () => {
    const { pseudonym: paged } = await newPatient('HospitalA'); // a patient with these five records only
    const a = net.as('HospitalA', 'doctor1');
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) ids.push((await a.createRecord(recordInput({ patientPseudonym: paged }))).recordId);
    const b = net.as('HospitalB', 'doctor1');
    const seen: string[] = [];
    let bookmark = '';
    do {
      const page = await b.listRecordsByPatient(paged, { pageSize: 2, bookmark });
      expect(page.records.length).toBeLessThanOrEqual(2);
      seen.push(...page.records.map((r) => r.recordId));
      bookmark = page.bookmark;
    } while (bookmark);
    expect(seen).toEqual([...ids].sort());
  });

  it('adds a new version without overwriting the old one', async () => {
    const a = net.as('HospitalA', 'doctor1');
    const v1 = await a.createRecord(rec());
    const v2 = await a.createRecord(rec({ supersedes: v1.recordId }));
    expect(v2).toMatchObject({ version: 2, supersedes: v1.recordId });
    await expect(net.as('HospitalB', 'doctor1').readRecord(v1.recordId)).resolves.toEqual(v1);
  });
});

describe('rejections carry the chaincode\'s stable error code', () => {
  it('a researcher may not create a record: UnauthorizedError with code UNAUTHORIZED', async () => {
    const input = rec();
    const err = await net.as('ResearchInstitute', 'researcher1').createRecord(input).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UnauthorizedError);
    expect(err).toMatchObject({ code: 'UNAUTHORIZED' });
    expect((err as Error).message).toMatch(/role 'researcher'.*may not call CreateRecord/);
    await expect(net.as('HospitalA', 'doctor1').readRecord(input.recordId)).rejects.toBeInstanceOf(NotFoundError);
  });

  it('a certificate without a role attribute (a node\'s own identity) is refused', async () => {
    const profile = loadProfile(stateDir);
    const dir = mkdtempSync(path.join(tmpdir(), 'emr-node-id-'));
    const msp = path.join(stateDir, 'crypto', 'HospitalA', 'identities', 'chaincode', 'msp');
    copyFileSync(path.join(msp, 'signcerts', 'cert.pem'), path.join(dir, 'cert.pem'));
    copyFileSync(path.join(msp, 'keystore', 'key.pem'), path.join(dir, 'key.pem'));
    const a = profile.orgs.HospitalA!;
    const withNode = { ...profile, orgs: { ...profile.orgs, HospitalA: { ...a, users: { ...a.users, node: { role: 'admin' as const, dir } } } } };
    const connection = connectGateway({ org: 'HospitalA', user: 'node', profile: withNode });
    try {
      const err = await new EmrIndex(connection).whoAmI().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(UnauthorizedError);
      expect((err as Error).message).toMatch(/has no valid role attribute/);
    } finally {
      connection.close();
      rmSync(dir, { recursive: true });
    }
  });

  it("a patient indexes only his own records: another hospital's patient of the same name is refused", async () => {
    await expect(net.as('HospitalB', 'patient1').createRecordAsPatient(rec())).rejects.toMatchObject({ code: 'UNAUTHORIZED', field: 'patientPseudonym' });
    await expect(net.as('HospitalA', patient.user).createRecordAsPatient(rec())).resolves.toMatchObject({ createdBy: net.connection('HospitalA', patient.user).enrollmentId });
  });

  it('invalid input names the field', async () => {
    const err = await net.as('HospitalA', 'doctor1').createRecord(rec({ ciphertextSha256: 'not-a-hash' })).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect(err).toMatchObject({ code: 'INVALID_ARGUMENT', field: 'ciphertextSha256' });
  });

  it('a duplicate record id is a ConflictError and the original is unchanged', async () => {
    const a = net.as('HospitalA', 'doctor1');
    const input = rec();
    const original = await a.createRecord(input);
    await expect(a.createRecord({ ...input, size: 1 })).rejects.toBeInstanceOf(ConflictError);
    await expect(a.readRecord(input.recordId)).resolves.toEqual(original);
  });

  it('an unknown record is a NotFoundError naming the field', async () => {
    await expect(net.as('HospitalB', 'doctor1').readRecord('no-such-record')).rejects.toMatchObject({ code: 'NOT_FOUND', field: 'recordId' });
  });
});

describe('transport and validation failures map to SDK errors', () => {
  it('two versions endorsed against the same state: one commits, the other is an MVCC conflict', async () => {
    const a = net.connection('HospitalA', 'doctor1');
    const base = await net.as('HospitalA', 'doctor1').createRecord(rec());
    // Endorse both before submitting either, so both read the same (empty) successor key.
    const endorsed = await Promise.all(
      [1, 2].map(() => a.contract.newProposal('emr:CreateRecord', { arguments: [JSON.stringify(rec({ supersedes: base.recordId }))] }).endorse()),
    );
    const outcomes = [];
    for (const tx of endorsed) {
      const status = await (await tx.submit()).getStatus();
      outcomes.push(status.successful ? 'committed' : mapGatewayError(new CommitError({ code: status.code, transactionId: status.transactionId })));
    }
    expect(outcomes[0]).toBe('committed');
    expect(outcomes[1]).toBeInstanceOf(MvccConflictError);
  });

  it('an impossible deadline is a TimeoutError', async () => {
    await expect(net.as('HospitalA', 'doctor1', { evaluate: 1 }).readRecord('anything')).rejects.toBeInstanceOf(TimeoutError);
  });

  it('an unreachable peer is an UnavailableError', async () => {
    const profile = loadProfile(stateDir);
    const broken = { ...profile, orgs: { ...profile.orgs, HospitalA: { ...profile.orgs.HospitalA!, peerEndpoint: '127.0.0.1:1' } } };
    const connection = connectGateway({ org: 'HospitalA', user: 'doctor1', profile: broken });
    try {
      const err = await connection.contract.evaluateTransaction('emr:WhoAmI').catch((e: unknown) => mapGatewayError(e));
      expect(err).toBeInstanceOf(UnavailableError);
    } finally {
      connection.close();
    }
  });

  it('an unknown org or user names what is wrong', () => {
    expect(() => connectGateway({ org: 'HospitalZ', user: 'doctor1', profile: stateDir })).toThrow(/unknown org 'HospitalZ'/);
    expect(() => connectGateway({ org: 'HospitalA', user: 'nobody', profile: stateDir })).toThrow(/unknown user 'nobody' of HospitalA/);
  });
});
