/**
 * Who owns a pseudonym, who may be granted, and what the patient sees: the attacks of
 * issue 15 run against the live network. Each attempt must be refused with a named error
 * and write nothing.
 */
import { randomUUID } from 'node:crypto';
import {
  AccessDeniedError,
  ConflictError,
  EmrClient,
  InvalidArgumentError,
  KeyExtractionError,
  NotFoundError,
  UnauthorizedError,
  pseudonymOf,
  type ConsentInput,
} from '../../client/src';
import { enroll } from '../../network/src/network';
import { topology } from '../../network/src/topology';
import { emrClients, newPatient } from '../support/network';

jest.setTimeout(180_000);
const hour = 3_600_000;
const as = emrClients();

const window = () => ({ validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString() });
const ecg = (text: string) => Buffer.from(JSON.stringify({ resourceType: 'Observation', valueString: text }));
/** Recursive pins on every member's Kubo node. */
const pins = async () => {
  const counts = await Promise.all(
    topology.members.map(async (m) => {
      const res = await fetch(`http://127.0.0.1:${m.ipfs.apiPort}/api/v0/pin/ls?type=recursive`, { method: 'POST' });
      return Object.keys(((await res.json()) as { Keys?: Record<string, unknown> }).Keys ?? {}).length;
    }),
  );
  return counts.reduce((a, b) => a + b, 0);
};

describe('record takeover through an unregistered pseudonym (issue 15, section 1)', () => {
  it('the exact steps: upload under an unclaimed pseudonym, then claims by another org are refused; nothing is written', async () => {
    const doctorA = as('HospitalA', 'doctor1');
    // A HospitalB patient enrolled at his CA who has not registered yet: his pseudonym is unclaimed.
    const victim = `it-victim-${randomUUID().slice(0, 8)}`;
    await enroll('HospitalB', victim, 'patient');
    const victimClient = as('HospitalB', victim);
    const P = victimClient.ownPseudonym();

    // 1. HospitalA's doctor uploads under it: refused, and the ciphertext is unpinned again.
    const before = await pins();
    const recordId = `rec-${randomUUID()}`;
    const upload = await doctorA.uploadRecord({ patientPseudonym: P, category: 'cardiology/ecg', source: ecg('Sinus rhythm'), recordId }).catch((e: unknown) => e);
    expect(upload).toBeInstanceOf(NotFoundError);
    expect(upload).toMatchObject({ field: 'patientPseudonym' });
    expect((upload as Error).message).toMatch(/no patient is registered under pseudonym/);
    await expect(doctorA.index.readRecord(recordId)).rejects.toBeInstanceOf(NotFoundError);
    expect(await pins()).toBe(before);

    // 3. HospitalB's admin (or any admin, or another patient) cannot register it.
    for (const org of ['HospitalA', 'HospitalB', 'ResearchInstitute']) {
      await expect(as(org, 'admin').consents.registerPatient(P)).rejects.toBeInstanceOf(UnauthorizedError);
    }
    const squat = await as('HospitalB', 'patient1').consents.registerPatient(P).catch((e: unknown) => e);
    expect(squat).toBeInstanceOf(UnauthorizedError);
    expect(squat).toMatchObject({ field: 'patientPseudonym' });
    await expect(as('HospitalA', 'doctor1').consents.readPatient(P)).rejects.toBeInstanceOf(NotFoundError);

    // The patient himself registers it, once; re-registration is a conflict.
    expect(await victimClient.registerPatient()).toMatchObject({ patientPseudonym: P, homeMsp: 'HospitalBMSP' });
    await expect(victimClient.registerPatient()).rejects.toBeInstanceOf(ConflictError);
    // No other identity's own key derives it.
    expect(pseudonymOf('HospitalBMSP', as('HospitalB', 'patient1').connection.certificate)).not.toBe(P);
  });

  it("a record another hospital files for a registered patient stays his: another org's patient cannot read it as owner", async () => {
    const owner = await newPatient('HospitalB', 'it-owner');
    const ownerClient = as('HospitalB', owner.user);
    const { record } = await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: owner.pseudonym, category: 'cardiology/ecg', source: ecg('QTc 410 ms') });
    expect(record).toMatchObject({ patientPseudonym: owner.pseudonym, ownerMsp: 'HospitalAMSP' });

    // The owner reads his record without any consent; nobody else can act as its owner.
    expect((await ownerClient.fetchRecord(record.recordId, undefined, { purpose: 'treatment' })).data!.toString()).toContain('QTc 410 ms');
    for (const [org, user] of [['HospitalB', 'patient1'], ['HospitalA', 'patient1']] as const) {
      const other = as(org, user);
      await expect(other.fetchRecord(record.recordId, undefined, { purpose: 'treatment' })).rejects.toBeInstanceOf(KeyExtractionError);
      await expect(other.eraseRecord(record.recordId)).rejects.toBeInstanceOf(UnauthorizedError);
      await expect(other.auditTrail(owner.pseudonym)).rejects.toBeInstanceOf(UnauthorizedError);
    }
    // The upload by another hospital is on the patient's audit trail: who, which org, when.
    const trail = await ownerClient.auditTrail(owner.pseudonym);
    expect(trail.find((e) => e.recordId === record.recordId)).toMatchObject({ action: 'record-upload', agent: { mspId: 'HospitalAMSP', enrollmentId: 'doctor1', role: 'doctor' }, recorded: expect.any(String) });
  });
});

describe('grantees that do not exist (issue 15, section 3)', () => {
  let patient: EmrClient;
  let p: string;
  beforeAll(async () => {
    const fresh = await newPatient('HospitalA', 'it-grantor');
    p = fresh.pseudonym;
    patient = as('HospitalA', fresh.user);
    await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: p, category: 'cardiology/ecg', source: ecg('x') });
  });
  const consent = (grantee: ConsentInput['grantee']) => ({ patientPseudonym: p, grantee, scope: { category: 'cardiology' }, purpose: 'research' as const, ...window(), maxAccesses: 3, hopLimit: 1 });

  it.each([
    ['ghost@ResearchInstituteMSP', { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'ghost' }, NotFoundError, /ghost@ResearchInstituteMSP/],
    ['researcher1@HospitalAMSP', { kind: 'identity', mspId: 'HospitalAMSP', enrollmentId: 'researcher1' }, NotFoundError, /researcher1@HospitalAMSP/],
    ['researcher1@NoSuchMSP', { kind: 'identity', mspId: 'NoSuchMSP', enrollmentId: 'researcher1' }, NotFoundError, /NoSuchMSP/],
    ['the org NoSuchMSP', { kind: 'org', mspId: 'NoSuchMSP' }, NotFoundError, /'NoSuchMSP' is not an org of this channel/],
    ['the patients of HospitalB', { kind: 'role', mspId: 'HospitalBMSP', role: 'patient' }, InvalidArgumentError, /only doctor and researchers request access/],
  ] as const)('a grant to %s is refused, naming it; no consent is made', async (_what, grantee, errorClass, message) => {
    const before = (await patient.consents.listConsents(p)).consents.length;
    const err = await patient.grantConsent(consent(grantee as ConsentInput['grantee'])).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(errorClass);
    expect((err as Error).message).toMatch(message);
    expect((await patient.consents.listConsents(p)).consents).toHaveLength(before);
  });

  it('a registered identity can be granted; so can a re-delegation only to a registered identity', async () => {
    const { grants } = await patient.grantConsent({ ...consent({ kind: 'identity', mspId: 'HospitalBMSP', enrollmentId: 'doctor1' }), purpose: 'treatment', hopLimit: 2 });
    await expect(as('HospitalB', 'doctor1').delegate(grants[0]!.grantId, { mspId: 'HospitalBMSP', enrollmentId: 'specialist9' })).rejects.toBeInstanceOf(NotFoundError);
    // A new staff member onboarded with `network enroll` is listed and can then be named.
    const nurse = `it-doctor-${randomUUID().slice(0, 8)}`;
    expect(await enroll('HospitalB', nurse, 'doctor')).toMatchObject({ listed: true });
    expect(await as('HospitalB', 'doctor1').delegate(grants[0]!.grantId, { mspId: 'HospitalBMSP', enrollmentId: nurse })).toMatchObject({ hop: 2 });
  });
});

describe('denial reasons and the audit trail (issue 15, section 4)', () => {
  it('an oncology record asked under a used-up cardiology consent is out of scope; uploads, versions and type switches are on the trail', async () => {
    const fresh = await newPatient('HospitalA', 'it-audit');
    const patient = as('HospitalA', fresh.user);
    const doctorB = as('HospitalB', 'doctor1');
    const cardio = await doctorB.uploadRecord({ patientPseudonym: fresh.pseudonym, category: 'cardiology/ecg', source: ecg('v1') });
    const v2 = await doctorB.uploadRecord({ patientPseudonym: fresh.pseudonym, category: 'cardiology/ecg', source: ecg('v2'), supersedes: cardio.record.recordId });
    const onco = await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: fresh.pseudonym, category: 'oncology/ct', source: ecg('ct') });
    const { consent } = await patient.grantConsent({ patientPseudonym: fresh.pseudonym, grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' }, scope: { category: 'cardiology' }, purpose: 'research', ...window(), maxAccesses: 1, hopLimit: 1 });
    const researcher = as('ResearchInstitute', 'researcher1');
    await researcher.requestAccess(v2.record.recordId, { consentId: consent.consentId }, 'research');
    const denied = await researcher.requestAccess(onco.record.recordId, { consentId: consent.consentId }, 'research').catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect((denied as AccessDeniedError).reason).toBe('out-of-scope');
    const exhausted = await researcher.requestAccess(v2.record.recordId, { consentId: consent.consentId }, 'research').catch((e: unknown) => e);
    expect((exhausted as AccessDeniedError).reason).toBe('exhausted');

    await patient.switchType(onco.record.recordId, 'non-sharable');
    const trail = await patient.auditTrail(fresh.pseudonym);
    // (the proxies' re-encryptions made ahead of the allowed request are logged too, as they commit)
    const about = (recordId: string) => trail.filter((e) => e.recordId === recordId && e.action !== 're-encryption').map((e) => `${e.action}:${e.agent.enrollmentId}@${e.agent.mspId}`);
    expect(about(cardio.record.recordId)).toEqual(['record-upload:doctor1@HospitalBMSP']);
    expect(about(v2.record.recordId)).toEqual(['access-request:researcher1@ResearchInstituteMSP', 'access-request:researcher1@ResearchInstituteMSP', 'record-version:doctor1@HospitalBMSP']);
    expect(about(onco.record.recordId)).toEqual([`type-switch:${patient.identity}`, 'access-request:researcher1@ResearchInstituteMSP', 'record-upload:doctor1@HospitalAMSP']);
  });
});
