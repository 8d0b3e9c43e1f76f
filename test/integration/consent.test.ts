/**
 * Patient registrations, consents, access requests and the access log through the SDK on
 * the live network, from the right and the wrong identities of every org.
 */
import { readUntil } from '../support/eventually';
import { randomUUID } from 'node:crypto';
import { AccessDeniedError, ConflictError, InvalidArgumentError, MvccConflictError, NotFoundError, UnauthorizedError, type ConsentInput, type ConsentLedger } from '../../client/src';
import { loadProfile } from '../../client/src';
import { stateDir } from '../../network/src/paths';
import { consentInput, pseudonym, recordInput } from '../support/fixtures';
import { grantRegistration } from '../support/grants';
import { Connections, newPatient } from '../support/network';

jest.setTimeout(90_000);
const net = new Connections();
afterAll(() => net.closeAll());

const adminA = net.consents('HospitalA', 'admin');
const adminB = net.consents('HospitalB', 'admin');
let patientA: ConsentLedger;
let patientUser: string;
const patientB = net.consents('HospitalB', 'patient1'); // same enrollment id, another hospital: another person
const doctorA = net.consents('HospitalA', 'doctor1');
const doctorB = net.consents('HospitalB', 'doctor1');
const researcher = net.consents('ResearchInstitute', 'researcher1');

// A fresh patient per run (the network may be reused between runs).
let p: string;
const hour = 3_600_000;
const window = () => ({ validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString() });
const consentFor = (overrides: Partial<ConsentInput> = {}) => consentInput({ patientPseudonym: p, ...window(), ...overrides });
let recordId: string;

const elect = (grantId: string, consentId: string, n: number) => net.proxies('HospitalA', 'doctor1').elect(grantId, consentId, n);
const registration = async (consentId: string, o: Omit<Parameters<typeof grantRegistration>[0], 'elect' | 'consentId'>) => (await grantRegistration({ consentId, elect, ...o })).input;

beforeAll(async () => {
  ({ user: patientUser, pseudonym: p } = await newPatient('HospitalA'));
  patientA = net.consents('HospitalA', patientUser);
  recordId = (await net.as('HospitalA', 'doctor1').createRecord(recordInput({ patientPseudonym: p, category: 'cardiology/ecg' }))).recordId;
});

describe('consent, request, revoke, log', () => {
  it('the grantee reads under the consent, others are denied and logged, revocation stops the next request', async () => {
    const consent = await patientA.grantConsent(consentFor());
    expect(consent).toMatchObject({ status: 'active', accessCount: 0, createdBy: net.connection('HospitalA', patientUser).enrollmentId }); // his opaque enrollment id
    // The researcher endorses on his own org's peer, which may not have the consent's block yet.
    await readUntil(() => researcher.readConsent(consent.consentId).catch(() => undefined), (c) => c !== undefined);

    const granted = await researcher.requestAccess(recordId, consent.consentId, 'research');
    expect(granted).toMatchObject({ outcome: 'success', agent: { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' } });

    const notGrantee = await doctorB.requestAccess(recordId, consent.consentId, 'research').catch((e: unknown) => e);
    expect(notGrantee).toBeInstanceOf(AccessDeniedError);
    expect((notGrantee as AccessDeniedError).reason).toBe('not-grantee');

    await patientA.revokeConsent(consent.consentId);
    await readUntil(() => researcher.readConsent(consent.consentId), (c) => c.status === 'revoked');
    const revoked = await researcher.requestAccess(recordId, consent.consentId, 'research').catch((e: unknown) => e);
    expect((revoked as AccessDeniedError).reason).toBe('revoked');

    // Read through HospitalA's peer what the researcher's committed through ResearchInstitute's.
    const expected = ['access-request:denied', 'consent-revoke:success', 'access-request:denied', 'access-request:success', 'consent-grant:success'];
    const head = async () => (await patientA.patientLog(p, { pageSize: 10 })).entries.map((e) => `${e.action}:${e.outcome}`).slice(0, 5);
    expect(await readUntil(head, (h) => h.join() === expected.join())).toEqual(expected);
    expect((await adminA.recordLog(recordId)).entries.filter((e) => e.action === 'access-request')).toHaveLength(3);
  });

  it('refuses the wrong callers of every transaction', async () => {
    const consent = await patientA.grantConsent(consentFor());
    await expect(doctorA.grantConsent(consentFor())).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(patientB.grantConsent(consentFor())).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(patientB.revokeConsent(consent.consentId)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(patientA.requestAccess(recordId, consent.consentId, 'research')).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(researcher.patientLog(p)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(adminB.patientLog(p)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(adminB.listConsents(p)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(doctorB.readConsent(consent.consentId)).rejects.toBeInstanceOf(UnauthorizedError);
    await expect(researcher.readConsent(consent.consentId)).resolves.toMatchObject({ consentId: consent.consentId });
  });

  it('bad input names the field; unknown references are not found', async () => {
    const err = await patientA.grantConsent({ ...consentFor(), purpose: 'marketing' as never }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InvalidArgumentError);
    expect((err as InvalidArgumentError).field).toBe('purpose');
    await expect(researcher.requestAccess(recordId, 'no-such-consent', 'research')).rejects.toBeInstanceOf(NotFoundError);
    await expect(patientA.grantConsent(consentFor({ patientPseudonym: pseudonym(randomUUID()) }))).rejects.toBeInstanceOf(NotFoundError);
  });

  it('two concurrent revocations of one consent: one commits, the other surfaces as a conflict', async () => {
    const consent = await patientA.grantConsent(consentFor());
    const results = await Promise.allSettled([patientA.revokeConsent(consent.consentId), net.consents('HospitalA', patientUser).revokeConsent(consent.consentId)]);
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    const failure = (results.find((r) => r.status === 'rejected') as PromiseRejectedResult).reason;
    expect(failure instanceof ConflictError || failure instanceof MvccConflictError).toBe(true);
    expect(await patientA.readConsent(consent.consentId)).toMatchObject({ status: 'revoked' });
  });

  it('re-encryption key registrations: patient to grantee, grantee re-delegates within the hop limit, revocation deactivates', async () => {
    const consent = await patientA.grantConsent(consentFor({ hopLimit: 2 }));
    const expiresAt = new Date(Date.now() + 2 * hour).toISOString();
    const g1 = await registration(consent.consentId, { expiresAt, n: 2 });
    await expect(researcher.registerGrant(g1)).rejects.toBeInstanceOf(UnauthorizedError); // hop 1 is the patient's
    await patientA.registerGrant(g1);
    const g2 = await registration(consent.consentId, { expiresAt, n: 2, hop: 2, parentGrantId: g1.grantId, delegatee: { mspId: 'HospitalBMSP', enrollmentId: 'doctor1' } });
    await expect(doctorB.registerGrant(g2)).rejects.toBeInstanceOf(UnauthorizedError); // only g1's delegatee re-delegates
    await researcher.registerGrant(g2);
    const g3 = await registration(consent.consentId, { expiresAt, n: 2, hop: 3, parentGrantId: g2.grantId, delegatee: { mspId: 'HospitalAMSP', enrollmentId: 'doctor2' } });
    await expect(doctorB.registerGrant(g3)).rejects.toBeInstanceOf(InvalidArgumentError); // beyond the hop limit
    expect(await doctorB.readGrant(g2.grantId)).toMatchObject({ active: true, registration: { delegator: { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' }, hop: 2 } });
    await patientA.revokeConsent(consent.consentId);
    expect((await net.consents('HospitalA', 'proxy').readGrant(g2.grantId)).active).toBe(false);
  });

  it('announces grants and revocations as chaincode events carrying ids only', async () => {
    const connection = net.connection('HospitalA', 'proxy');
    const profile = loadProfile(stateDir);
    const consent = await patientA.grantConsent(consentFor());
    const events = await connection.gateway.getNetwork(profile.channel).getChaincodeEvents(profile.chaincode, { startBlock: 0n });
    try {
      for await (const event of events) {
        const payload = JSON.parse(new TextDecoder().decode(event.payload));
        if (event.eventName === 'consent.granted' && payload.consentId === consent.consentId) {
          expect(payload).toEqual({ consentId: consent.consentId, status: 'active' });
          break;
        }
      }
    } finally {
      events.close();
    }
  });
});
