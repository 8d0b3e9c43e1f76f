/**
 * Issue 20, one consent for a category subtree on the live network: a researcher granted
 * `cardiology` reads a `cardiology/echo` record uploaded after the grant, with no action by
 * the patient; the grant was made from the consent alone (one grant, no list of records).
 * Outside the subtree he is refused by the chain, and also cryptographically: proxies that
 * ignore the chain, holding the real key shares of his grant (read from the proxies' state on
 * disk), re-encrypt the other records' capsules relabelled as his grant's slot, and what he
 * gets does not open.
 */
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { CryptoError, G2, combineFragments, decodeGrant, decryptReEncrypted, fromBase64url, reEncrypt, type Capsule, type GrantPublic } from '@emr/crypto';
import type { EmrRecord, Registration } from '@emr/protocol';
import { AccessDeniedError, capsuleForSlot, recordCapsules } from '../../client/src';
import { hexScalar, readPrivate } from '../../client/src/services/state-files';
import { state } from '../../network/src/paths';
import { topology } from '../../network/src/topology';
import { emrClients, newPatient } from '../support/network';

jest.setTimeout(240_000);
const as = emrClients();
const doctor = as('HospitalA', 'doctor1');
const researcher = as('ResearchInstitute', 'researcher1');
const hour = 3_600_000;

/** researcher1's research consent on a category of the patient's, for a day. */
const researchOn = (patientPseudonym: string, category: string) => ({
  patientPseudonym,
  grantee: { kind: 'identity' as const, mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
  scope: { category },
  purpose: 'research' as const,
  validFrom: new Date(Date.now() - hour).toISOString(),
  validUntil: new Date(Date.now() + 24 * hour).toISOString(),
  maxAccesses: 10,
  hopLimit: 1,
});

/** The key share a proxy service holds for a grant, read from its state directory as a compromised proxy host would. */
function shareOf(proxyMsp: string, grantId: string): bigint {
  const org = topology.members.find((m) => m.mspId === proxyMsp)!.name;
  const stored = readPrivate<{ share: string }>(path.join(state.services, `proxy-${org}`, 'shares', `${grantId}.json`));
  return hexScalar(stored.share, `the share of ${proxyMsp} for ${grantId}`);
}

/** t proxies of the grant that ignore the chain and the labels: the capsule is relabelled as the grant's slot and re-encrypted. */
async function throughRogueProxies(capsule: Capsule, registration: Registration, grant: GrantPublic): Promise<Uint8Array> {
  const relabelled = { ...capsule, slot: grant.slot };
  const fragments = registration.proxies.slice(0, grant.threshold).map((p, i) => reEncrypt(relabelled, grant, BigInt(i + 1), shareOf(p.mspId, grant.grantId)));
  const grantKey = G2.fromBytes(await researcher.grantKeyBytes(grant.grantId));
  return decryptReEncrypted(combineFragments(relabelled, grant, fragments).capsule, grantKey);
}

it('a grant on cardiology opens a cardiology/echo record uploaded after it, and nothing outside cardiology, cryptographically', async () => {
  const { user, pseudonym } = await newPatient('HospitalA', 'subtree-patient');
  const patient = as('HospitalA', user);
  await researcher.registerIdentity();
  const upload = async (category: string) => {
    const content = `${category} report ${randomUUID()}`;
    const { record } = await doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from(content) });
    return { record, content };
  };

  // Granted before the patient has any record: one grant, for the category, from the consent alone.
  const { consent, grants } = await patient.grantConsent(researchOn(pseudonym, 'cardiology'));
  expect(grants).toHaveLength(1);
  const registration = grants[0]!;
  const grant = decodeGrant(fromBase64url(registration.grant, 'grant'));
  expect(grant.slot.condition).toBe('cardiology');

  // Uploaded after the grant, in a leaf nobody named before; the patient does nothing more.
  const echo = await upload('cardiology/echo');
  const deep = await upload('cardiology/echo/stress');
  for (const { record, content } of [echo, deep]) {
    const read = await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' });
    expect(read.data!.toString()).toBe(content);
    await read.receiptCommitted;
  }
  expect(await patient.consents.allGrants(consent.consentId)).toHaveLength(1);

  // The rogue proxies' shares are the real ones: through them the echo record opens.
  const echoKey = await throughRogueProxies(capsuleForSlot(echo.record, grant.slot)!, registration, grant);
  expect(echoKey).toHaveLength(32);

  // Outside the subtree: oncology, a sibling of cardiology, and the root-level record of another department.
  const outside: EmrRecord[] = [(await upload('oncology/biopsy')).record, (await upload('neurology')).record, (await upload('cardiologyx/echo')).record];
  for (const record of outside) {
    const refused = await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(AccessDeniedError); // the chain: out of scope
    expect((refused as AccessDeniedError).reason).toBe('out-of-scope');
    expect(capsuleForSlot(record, grant.slot)).toBeUndefined();
    for (const capsule of recordCapsules(record)) await expect(throughRogueProxies(capsule, registration, grant)).rejects.toThrow(CryptoError);
  }
});

it('a grant on cardiology/echo opens nothing above it (cardiology) or beside it (cardiology/ecg), cryptographically', async () => {
  const { user, pseudonym } = await newPatient('HospitalA', 'subtree-patient');
  const patient = as('HospitalA', user);
  await researcher.registerIdentity();
  const { grants } = await patient.grantConsent(researchOn(pseudonym, 'cardiology/echo'));
  const registration = grants[0]!;
  const grant = decodeGrant(fromBase64url(registration.grant, 'grant'));
  for (const category of ['cardiology', 'cardiology/ecg']) {
    const { record } = await doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from(category) });
    expect(capsuleForSlot(record, grant.slot)).toBeUndefined();
    for (const capsule of recordCapsules(record)) await expect(throughRogueProxies(capsule, registration, grant)).rejects.toThrow(CryptoError);
  }
});
