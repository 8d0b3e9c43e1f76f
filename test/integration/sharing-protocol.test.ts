/**
 * The rest of the on-chain sharing protocol through the SDK on the live network, from the
 * right and the wrong identities of several orgs: patient-signed records and the type
 * switch, hospital-internal metadata in implicit collections, multi-party approval,
 * break-glass, the proxy registry and election, proven bad fragments, re-encryption and
 * receipt log entries.
 */
import { randomUUID } from 'node:crypto';
import { G1, encodeCapsule, encodeFragment, encrypt, openShare, reEncrypt } from '@emr/crypto';
import { AccessDeniedError, ConflictError, InvalidArgumentError, UnauthorizedError, type ConsentInput } from '../../client/src';
import { consentInput, recordInput } from '../support/fixtures';
import { centresForTests, grantRegistration, identityOf } from '../support/grants';
import { Connections, newPatient } from '../support/network';

jest.setTimeout(120_000);
const net = new Connections();
afterAll(() => net.closeAll());

const A = 'HospitalA';
const hour = 3_600_000;
let p: string;
let patient: string; // this file's own patient of HospitalA, enrolled for the run
const window = () => ({ validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString() });
const consentFor = (overrides: Partial<ConsentInput> = {}) => consentInput({ patientPseudonym: p, ...window(), ...overrides });
const elect = (grantId: string, consentId: string, n: number) => net.proxies(A, 'doctor1').elect(grantId, consentId, n);
let recordId: string;

beforeAll(async () => {
  ({ user: patient, pseudonym: p } = await newPatient(A));
  recordId = (await net.as(A, 'doctor1').createRecord(recordInput({ patientPseudonym: p }))).recordId;
});

describe('patient-signed records', () => {
  it('the patient indexes his own record signed; approves a doctor\'s record; switches a type; others cannot', async () => {
    const own = await net.as(A, patient).createRecordAsPatient(recordInput({ patientPseudonym: p }));
    expect(own).toMatchObject({ createdBy: net.connection(A, patient).enrollmentId, ownerMsp: 'HospitalAMSP', patientApproval: { signature: expect.any(String) } }); // his opaque enrollment id
    await expect(net.as('HospitalB', 'patient1').approveRecord(recordId)).rejects.toBeInstanceOf(UnauthorizedError); // same name, another person
    await expect(net.as(A, 'doctor2').approveRecord(recordId)).rejects.toBeInstanceOf(UnauthorizedError);
    expect((await net.as(A, patient).approveRecord(recordId)).patientApproval).not.toBeNull();
    const ancestors = ['YW5j', 'cm9vdA']; // cardiology, then the root
    await expect(net.as(A, 'doctor1').switchType(own.recordId, 'non-sharable', 'bmV3', ancestors)).rejects.toBeInstanceOf(UnauthorizedError);
    expect(await net.as(A, patient).switchType(own.recordId, 'non-sharable', 'bmV3', ancestors)).toMatchObject({ type: 'non-sharable', encapsulatedKey: 'bmV3', ancestorKeys: ancestors });
    const again = await net.as(A, patient).switchType(own.recordId, 'non-sharable', 'bmV3', ancestors).catch((e: unknown) => e);
    expect(again).toBeInstanceOf(ConflictError);
  });

  it("internal metadata stays in the owner's implicit collection: written and read by HospitalA, refused to HospitalB", async () => {
    const written = await net.as(A, 'doctor1').putInternalMetadata(recordId, { ward: '3B' });
    expect(written.sha256).toMatch(/^[0-9a-f]{64}$/);
    expect((await net.as(A, 'admin').readInternalMetadata(recordId)).metadata).toEqual({ ward: '3B' });
    await expect(net.as('HospitalB', 'doctor1').readInternalMetadata(recordId)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(net.as('HospitalB', 'doctor1').putInternalMetadata(recordId, { ward: 'x' })).rejects.toBeInstanceOf(UnauthorizedError);
  });
});

describe('multi-party approval', () => {
  it('a consent under a category policy stays pending until the hospital\'s doctor approves; another hospital cannot approve', async () => {
    const category = `psy${randomUUID().slice(0, 8)}`;
    await net.consents(A, 'admin').setApprovalPolicy({ category, approvals: [{ role: 'doctor', count: 1 }] });
    await expect(net.consents('HospitalB', 'admin').readApprovalPolicies('HospitalAMSP')).resolves.toMatchObject({ policies: expect.arrayContaining([{ category, approvals: [{ role: 'doctor', count: 1 }] }]) });
    await expect(net.consents(A, 'doctor1').setApprovalPolicy({ category, approvals: [] })).rejects.toBeInstanceOf(UnauthorizedError);
    const psychRecord = (await net.as(A, 'doctor1').createRecord(recordInput({ patientPseudonym: p, category: `${category}/notes` }))).recordId;
    const consent = await net.consents(A, patient).grantConsent(consentFor({ scope: { category } }));
    expect(consent.status).toBe('pending');
    const denied = await net.consents('ResearchInstitute', 'researcher1').requestAccess(psychRecord, consent.consentId, 'research').catch((e: unknown) => e);
    expect((denied as AccessDeniedError).reason).toBe('pending-approval');
    await expect(net.consents('HospitalB', 'doctor1').approveConsent(consent.consentId)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(net.consents(A, patient).approveConsent(consent.consentId)).rejects.toBeInstanceOf(UnauthorizedError);
    expect((await net.consents(A, 'doctor2').approveConsent(consent.consentId)).status).toBe('active');
    await expect(net.consents('ResearchInstitute', 'researcher1').requestAccess(psychRecord, consent.consentId, 'research')).resolves.toMatchObject({ outcome: 'success' });
  });
});

describe('break-glass', () => {
  it('justification, second-doctor approval, emergency read shown first to the patient; wrong approvers refused', async () => {
    const emergencyId = `eg-${randomUUID()}`;
    const justification = 'Patient unconscious in the emergency room; medication history needed now.';
    await expect(net.emergency('ResearchInstitute', 'researcher1').breakGlass({ emergencyId, patientPseudonym: p, durationMinutes: 30, justification })).rejects.toBeInstanceOf(UnauthorizedError);
    const requested = await net.emergency(A, 'doctor1').breakGlass({ emergencyId, patientPseudonym: p, durationMinutes: 30, justification });
    expect(requested.justificationHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(requested)).not.toContain('unconscious');
    const early = await net.emergency(A, 'doctor1').requestAccess(recordId, emergencyId).catch((e: unknown) => e);
    expect((early as AccessDeniedError).reason).toBe('pending-approval');
    await expect(net.emergency(A, 'doctor1').approve(emergencyId)).rejects.toBeInstanceOf(UnauthorizedError); // not his own
    await expect(net.emergency('HospitalB', 'doctor1').approve(emergencyId)).rejects.toBeInstanceOf(UnauthorizedError); // same hospital only
    const approved = await net.emergency(A, 'doctor2').approve(emergencyId);
    expect(Date.parse(approved.expiresAt!) - Date.parse(approved.approvedAt!)).toBe(30 * 60_000);
    await expect(net.emergency(A, 'doctor1').requestAccess(recordId, emergencyId)).resolves.toMatchObject({ outcome: 'success', emergencyId });
    const otherDoctor = await net.emergency(A, 'doctor2').requestAccess(recordId, emergencyId).catch((e: unknown) => e);
    expect((otherDoctor as AccessDeniedError).reason).toBe('not-grantee');
    const log = await net.consents(A, patient).patientLog(p, { pageSize: 5 });
    expect(log.entries.map((e) => [e.action, e.emergencyId])).toEqual([
      ['access-request', emergencyId], // doctor2's denied attempt
      ['access-request', emergencyId],
      ['break-glass-approval', emergencyId],
      ['access-request', emergencyId], // the early, unapproved attempt
      ['break-glass-request', emergencyId],
    ]);
    expect((await net.emergency(A, 'admin').justification(emergencyId)).justification).toBe(justification);
    await expect(net.emergency('HospitalB', 'admin').justification(emergencyId)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(net.emergency('HospitalB', 'doctor1').read(emergencyId)).rejects.toBeInstanceOf(UnauthorizedError);
    expect((await net.emergency(A, patient).read(emergencyId)).status).toBe('active');
  });
});

describe('proxy registry, election and faults', () => {
  it('every member org\'s proxy is registered with stake; proxies cannot vote; admins cannot register as proxies', async () => {
    const proxies = await net.proxies('HospitalB', 'doctor1').list();
    expect(proxies.map((x) => x.mspId).sort()).toEqual(['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP']);
    await expect(net.proxies(A, 'proxy').voteStake({ mspId: 'HospitalBMSP', enrollmentId: 'proxy' }, 1)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(net.proxies(A, 'admin').register('https://127.0.0.1:7399')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(net.proxies(A, 'admin').voteStake({ mspId: 'HospitalBMSP', enrollmentId: 'proxy' }, 500)).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('a grant takes the elected proxies only; its proxies log re-encryptions; the requester confirms receipt; a proven bad fragment costs reputation', async () => {
    const consent = await net.consents(A, patient).grantConsent(consentFor({ scope: { category: 'cardiology', type: 'sharable' } }));
    const { input, grant, shares } = await grantRegistration({ consentId: consent.consentId, elect, n: 2, expiresAt: new Date(Date.now() + 2 * hour).toISOString() });
    await expect(net.consents(A, patient).registerGrant({ ...input, proxies: [...input.proxies].reverse() })).rejects.toBeInstanceOf(ConflictError);
    await net.consents(A, patient).registerGrant(input);

    const access = await net.consents('ResearchInstitute', 'researcher1').requestAccess(recordId, consent.consentId, 'research');
    const [first] = input.proxies;
    const orgOf = (mspId: string) => mspId.replace(/MSP$/, '');
    const outsider = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'].find((m) => !input.proxies.some((x) => x.mspId === m))!;
    await expect(net.proxies(orgOf(outsider), 'proxy').logReEncryption(access.entryId, input.grantId)).rejects.toBeInstanceOf(UnauthorizedError);
    const logged = await net.proxies(orgOf(first!.mspId), 'proxy').logReEncryption(access.entryId, input.grantId);
    expect(logged).toMatchObject({ action: 're-encryption', consentId: consent.consentId, recordId, accessEntryId: access.entryId });
    expect(await net.proxies(orgOf(first!.mspId), 'proxy').logReEncryption(access.entryId, input.grantId)).toEqual(logged); // once
    expect(await net.consents('ResearchInstitute', 'researcher1').confirmReceipt(access.entryId)).toMatchObject({ action: 'receipt' });
    await expect(net.consents('HospitalB', 'doctor1').confirmReceipt(access.entryId)).rejects.toBeInstanceOf(UnauthorizedError);

    // The first proxy signs a fragment whose point is off by G1: provably bad.
    const { params, keyOf } = centresForTests();
    const capsule = encrypt(params, grant.slot, new Uint8Array(32).fill(1));
    const honest = reEncrypt(capsule, grant, shares[0]!.index, openShare(shares[0]!, grant, keyOf(identityOf(first!))));
    const registry = net.proxies(orgOf(first!.mspId), 'proxy');
    const before = await registry.read(first!);
    await expect(net.proxies('ResearchInstitute', 'researcher1').reportBadFragment(registry.signFragment(grant.grantId, encodeCapsule(capsule), encodeFragment(honest)))).rejects.toBeInstanceOf(InvalidArgumentError);
    const bad = registry.signFragment(grant.grantId, encodeCapsule(capsule), encodeFragment({ ...honest, u: honest.u.add(G1.BASE) }));
    const { proxy: after, fault } = await net.proxies('ResearchInstitute', 'researcher1').reportBadFragment(bad);
    expect(fault).toMatch(/proof fails/);
    expect([after.faults, after.reputation]).toEqual([before.faults + 1, before.reputation - 200]);
    await expect(net.proxies('ResearchInstitute', 'researcher1').reportBadFragment(bad)).rejects.toBeInstanceOf(ConflictError);

    await net.consents(A, patient).revokeConsent(consent.consentId);
    await expect(net.proxies(orgOf(first!.mspId), 'proxy').logReEncryption(access.entryId, input.grantId)).rejects.toBeInstanceOf(ConflictError);
  });
});
