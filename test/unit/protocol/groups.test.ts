/**
 * Grants to groups (groups.ts) and which grants an access entry goes through (access.ts):
 * a group's party round-trips and never collides with an enrolled identity; a request under
 * a consent goes through that consent's hop-1 grants only (to the requester, or to a group);
 * a request by area only through the patient's standing grant to the area whose rule allowed it.
 */
import fc from 'fast-check';
import { AREA_NAME, accessGoesThrough, areaKeysId, areaOfRule, checkEnrollmentId, groupOf, groupPartyOf, inGroup, isReservedConsentId, parseAreaKeysId, type Grantee, type Party } from '@emr/protocol';

const A = 'HospitalAMSP';
const p1 = 'a1'.repeat(32);
const p2 = 'b2'.repeat(32);
const areaName = fc.stringMatching(AREA_NAME);
const grantee: fc.Arbitrary<Grantee> = fc.oneof(
  areaName.map((area): Grantee => ({ kind: 'area', area })),
  fc.constantFrom('doctor', 'researcher', 'admin').map((role): Grantee => ({ kind: 'role', mspId: 'HospitalBMSP', role: role as 'doctor' })),
  fc.constant<Grantee>({ kind: 'org', mspId: 'ResearchInstituteMSP' }),
);

describe('group parties', () => {
  it('round-trip through groupOf, and no enrolled identity takes their form', () => {
    fc.assert(
      fc.property(grantee, (g) => {
        const party = groupPartyOf(g, A)!;
        const group = groupOf(party)!;
        expect(group.kind).toBe(g.kind);
        if (g.kind === 'area') expect(group).toEqual({ kind: 'area', area: g.area, homeMsp: A });
        else expect(group).toMatchObject({ mspId: g.mspId });
        expect(() => checkEnrollmentId(party.enrollmentId)).toThrow(/must be an enrollment id/);
      }),
    );
    expect(groupPartyOf({ kind: 'identity', mspId: A, enrollmentId: 'doctor1' }, A)).toBeUndefined();
    for (const enrollmentId of ['doctor1', 'area:Bad', 'role:kgcx', 'org:all', ':', 'area:']) expect(groupOf({ mspId: A, enrollmentId })).toBeUndefined();
  });

  it("an org's group holds its requesters, never its services or patients", () => {
    const settings = { areas: [], members: [A] };
    const org = groupOf({ mspId: A, enrollmentId: 'org:members' })!;
    expect(['doctor', 'researcher', 'admin'].map((role) => inGroup(org, { mspId: A, enrollmentId: 'x', role: role as 'doctor' }, settings))).toEqual([true, true, true]);
    expect(['patient', 'proxy', 'kgc'].map((role) => inGroup(org, { mspId: A, enrollmentId: 'x', role: role as 'doctor' }, settings))).toEqual([false, false, false]);
  });

  it('standing grant ids are reserved and parse back', () => {
    fc.assert(fc.property(areaName, (area) => expect(parseAreaKeysId(areaKeysId(area, p1))).toEqual({ area, patientPseudonym: p1 })));
    expect(isReservedConsentId(areaKeysId('research', p1))).toBe(true);
    for (const id of ['consent-1', 'area-keys.research', `area-keys.Research.${p1}`, `area-keys.research.${p1}.x`, `area-keys.research.${p1.toUpperCase()}`]) expect(parseAreaKeysId(id)).toBeUndefined();
    expect(areaOfRule('research:default')).toBe('research');
    expect(areaOfRule(undefined)).toBeUndefined();
  });
});

describe('accessGoesThrough', () => {
  const doctor = { mspId: 'HospitalBMSP', enrollmentId: 'doctor1' };
  const entry = (o: Partial<{ consentId: string | null; grantId: string; agent: Party; areaRule: string; patientPseudonym: string }> = {}) => ({ consentId: 'c1', agent: doctor, patientPseudonym: p1, ...o });
  const grant = (o: Partial<{ grantId: string; consentId: string; hop: number; delegatee: Party }> = {}) => ({ grantId: 'g1', consentId: 'c1', hop: 1, delegatee: doctor, ...o });
  const noParents = async () => null;

  it("under a consent: its hop-1 grant to the requester or to a group (the chain registers only the consent's grantee)", async () => {
    expect(await accessGoesThrough(entry(), grant(), noParents)).toBe(true);
    expect(await accessGoesThrough(entry(), grant({ delegatee: { mspId: A, enrollmentId: 'area:other-hospitals' } }), noParents)).toBe(true);
    expect(await accessGoesThrough(entry(), grant({ delegatee: { mspId: 'HospitalBMSP', enrollmentId: 'doctor2' } }), noParents)).toBe(false);
    expect(await accessGoesThrough(entry({ consentId: 'c2' }), grant({ delegatee: { mspId: A, enrollmentId: 'area:other-hospitals' } }), noParents)).toBe(false);
    expect(await accessGoesThrough(entry(), grant({ hop: 2 }), noParents)).toBe(false);
  });

  it("by area: only the patient's standing grant to the area whose rule allowed the request", async () => {
    const byArea = entry({ consentId: null, areaRule: 'research:default' });
    const standing = (area: string, patient = p1) => grant({ consentId: areaKeysId(area, patient), delegatee: { mspId: A, enrollmentId: `area:${area}` } });
    expect(await accessGoesThrough(byArea, standing('research'), noParents)).toBe(true);
    expect(await accessGoesThrough(entry({ consentId: null, areaRule: 'research:patient' }), standing('research'), noParents)).toBe(true);
    expect(await accessGoesThrough(byArea, standing('own-hospital'), noParents)).toBe(false);
    expect(await accessGoesThrough(byArea, standing('research', p2), noParents)).toBe(false);
    expect(await accessGoesThrough(entry({ areaRule: 'research:consent' }), standing('research'), noParents)).toBe(false); // under a consent, not by area
    expect(await accessGoesThrough(entry({ consentId: null }), standing('research'), noParents)).toBe(false); // break-glass: no area rule
    expect(await accessGoesThrough({ ...byArea, consentId: areaKeysId('research', p1) }, grant({ consentId: 'c1' }), noParents)).toBe(false);
  });
});
