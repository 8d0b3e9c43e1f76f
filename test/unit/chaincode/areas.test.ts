/**
 * Access by area on the chaincode: areas and their defaults are consortium settings; a
 * requester without a consent is decided by the areas he is in (RequestAreaAccess), under
 * the patient's own rule for an area when he set one; a consent can name an area as its
 * grantee; every decision's log entry names the area rule; an unknown area is named.
 */
import { ConsortiumContract } from '../../../chaincode/src/consortium-contract';
import { areaKeysId, blindCategory, type Grantee, type Party } from '@emr/protocol';
import { consentInput, recordInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, proxyId, researcher1, unitLedger } from '../../support/unit-ledger';

const consortium = new ConsortiumContract();
const { consent, emr, proxy } = contracts;
const AREAS = [
  { name: 'own-hospital', members: [{ org: '$home', roles: ['doctor'] }] },
  { name: 'other-hospitals', members: [{ org: '$others', roles: ['doctor'] }] },
  { name: 'research', members: [{ org: RI, roles: ['researcher'] }] },
];

async function withAreas(areaDefaults: unknown[] = [{ area: 'own-hospital', purposes: ['treatment'] }]) {
  const l = await unitLedger();
  const settings = { members: [A, B, RI], defaultCipherSuite: 'aes-256-gcm-stream.v1', categories: [], areas: AREAS, areaDefaults };
  await consortium.ProposeSettings(l.as(A, admin), JSON.stringify({ proposalId: 'areas', settings }));
  await consortium.ApproveSettings(l.as(B, admin), 'areas');
  await consortium.ApproveSettings(l.as(RI, admin), 'areas');
  const request = async (msp: string, who: Record<string, string>, purpose = 'treatment', recordId = l.record.recordId) => JSON.parse(await consent.RequestAreaAccess(l.as(msp, who), recordId, purpose));
  const setPolicy = (body: object) => consent.SetAreaPolicy(l.as(A, patient1), JSON.stringify({ patientPseudonym: p1, ...body }));
  return { ...l, request, setPolicy };
}

describe('areas in the consortium settings', () => {
  it('are validated by field: an unknown area in a default, an org outside the consortium, a role that does not request', async () => {
    const { state, as } = await unitLedger();
    const before = new Map(state.data);
    const propose = (settings: object) => consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'p', settings: { members: [A, B, RI], defaultCipherSuite: 'aes-256-gcm-stream.v1', categories: [], ...settings } }));
    await expect(propose({ areas: AREAS, areaDefaults: [{ area: 'pharmacies', purposes: ['treatment'] }] })).rejects.toThrow(
      /^INVALID_ARGUMENT\[settings.areaDefaults\[0\].area\]: 'pharmacies' is not an area of the consortium \(emr consortium show\); its areas: own-hospital, other-hospitals, research/,
    );
    await expect(propose({ areas: [{ name: 'x', members: [{ org: 'OtherMSP', roles: ['doctor'] }] }], areaDefaults: [] })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areas\[0\].members\[0\].org\]: must be \$home/);
    await expect(propose({ areas: [{ name: 'x', members: [{ org: '$home', roles: ['patient'] }] }], areaDefaults: [] })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areas\[0\].members\[0\].roles\]/);
    await expect(propose({ areas: [AREAS[0], AREAS[0]], areaDefaults: [] })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areas\]: must name each area once/);
    await expect(propose({ areas: AREAS, areaDefaults: [{ area: 'research', purposes: ['gossip'] }] })).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areaDefaults\[0\].purposes\]/);
    expect(state.data).toEqual(before);
  });
});

describe('RequestAreaAccess', () => {
  it("a default lets the patient's own hospital's doctors in for treatment, logged with the rule; others are refused with theirs", async () => {
    const { request } = await withAreas();
    const allowed = await request(A, doctor1);
    expect(allowed.entry).toMatchObject({ action: 'access-request', outcome: 'success', areaRule: 'own-hospital:default', consentId: null, purpose: 'treatment' });
    expect(await request(A, doctor1, 'research')).toMatchObject({ entry: { outcome: 'denied', reason: 'wrong-purpose', areaRule: 'own-hospital:default' } });
    const other = await request(B, doctor1);
    expect(other.entry).toMatchObject({ outcome: 'denied', reason: 'not-grantee' });
    expect(other.entry).not.toHaveProperty('areaRule');
    expect(other.detail).toMatch(/is in no area with a rule/);
  });

  it("the patient replaces a default with his own rule, or withdraws it, and clears it again; each change is logged", async () => {
    const { as, request, setPolicy } = await withAreas([{ area: 'own-hospital', purposes: ['treatment'] }, { area: 'research', purposes: ['research'], category: 'oncology' }]);
    expect((await request(RI, researcher1, 'research')).entry).toMatchObject({ outcome: 'denied', reason: 'out-of-scope', areaRule: 'research:default' }); // the record is cardiology
    await setPolicy({ area: 'research', purposes: ['research'], category: 'cardiology' });
    expect((await request(RI, researcher1, 'research')).entry).toMatchObject({ outcome: 'success', areaRule: 'research:patient' });
    await setPolicy({ area: 'own-hospital', purposes: [] });
    expect((await request(A, doctor1)).entry).toMatchObject({ outcome: 'denied', reason: 'revoked', areaRule: 'own-hospital:patient' });
    expect(JSON.parse(await consent.ListAreaPolicies(as(A, admin), p1)).map((p: { area: string }) => p.area)).toEqual(['own-hospital', 'research']);
    expect(JSON.parse(await consent.ClearAreaPolicy(as(A, patient1), p1, 'own-hospital'))).toEqual({ cleared: true });
    expect((await request(A, doctor1)).entry).toMatchObject({ outcome: 'success', areaRule: 'own-hospital:default' });
    const log = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '50', '')).entries.filter((e: { action: string }) => e.action === 'area-policy');
    expect(log.map((e: { areaRule: string }) => e.areaRule).sort()).toEqual(['own-hospital:default', 'own-hospital:patient', 'research:patient']); // one time: any order
  });

  it('names an unknown area, and only the patient sets his rules; nothing is written on a refusal', async () => {
    const { state, as, setPolicy } = await withAreas();
    const before = new Map(state.data);
    await expect(setPolicy({ area: 'pharmacies', purposes: [] })).rejects.toThrow(/^INVALID_ARGUMENT\[area\]: 'pharmacies' is not an area of the consortium .*its areas: own-hospital, other-hospitals, research/);
    await expect(setPolicy({ area: 'research', purposes: ['gossip'] })).rejects.toThrow(/^INVALID_ARGUMENT\[purposes\]/);
    await expect(consent.SetAreaPolicy(as(A, doctor1), JSON.stringify({ patientPseudonym: p1, area: 'research', purposes: [] }))).rejects.toThrow(/^UNAUTHORIZED: role 'doctor'/);
    await expect(consent.SetAreaPolicy(as(B, patient1), JSON.stringify({ patientPseudonym: p1, area: 'research', purposes: [] }))).rejects.toThrow(/^UNAUTHORIZED\[patientPseudonym\]/);
    expect(state.data).toEqual(before);
  });
});

describe('area rules over blinded categories (docs/privacy.md)', () => {
  it("a patient's own rule may name a blinded path and then decides his blinded records; a consortium default may not", async () => {
    const { as, setPolicy, request } = await withAreas([]);
    const key = new Uint8Array(32).fill(9);
    const record = recordInput({ category: blindCategory(key, 'oncology/biopsy') });
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(record));
    await setPolicy({ area: 'research', purposes: ['research'], category: blindCategory(key, 'oncology') });
    expect((await request(RI, researcher1, 'research', record.recordId)).entry).toMatchObject({ outcome: 'success', areaRule: 'research:patient' });
    await setPolicy({ area: 'research', purposes: ['research'], category: blindCategory(key, 'cardiology') });
    expect((await request(RI, researcher1, 'research', record.recordId)).entry).toMatchObject({ outcome: 'denied', reason: 'out-of-scope' });
    const settings = { members: [A, B, RI], defaultCipherSuite: 'aes-256-gcm-stream.v1', categories: [], areas: AREAS, areaDefaults: [{ area: 'research', purposes: ['research'], category: blindCategory(key, 'oncology') }] };
    await expect(consortium.ProposeSettings(as(A, admin), JSON.stringify({ proposalId: 'blinded-default', settings }))).rejects.toThrow(/^INVALID_ARGUMENT\[settings.areaDefaults\[0\].category\]: is a blinded path; a consortium default names a clear one/);
  });
});

describe('a consent to an area', () => {
  it('lets the area\'s members in (for this patient), logged as the area\'s consent; an unknown area is refused when granted', async () => {
    const { as } = await withAreas([]);
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ grantee: { kind: 'area', area: 'pharmacies' } })))).rejects.toThrow(/^INVALID_ARGUMENT\[grantee.area\]: 'pharmacies' is not an area/);
    const c = consentInput({ grantee: { kind: 'area', area: 'other-hospitals' }, purpose: 'treatment' });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const record = recordInput();
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(record));
    const req = async (msp: string) => JSON.parse(await consent.RequestAccess(as(msp, doctor1, '2026-01-01T07:00:00.000Z'), record.recordId, c.consentId, 'treatment')).entry;
    expect(await req(B)).toMatchObject({ outcome: 'success', areaRule: 'other-hospitals:consent', consentId: c.consentId });
    expect(await req(A)).toMatchObject({ outcome: 'denied', reason: 'not-grantee', areaRule: 'other-hospitals:consent' }); // the home is not an "other" hospital
    expect(JSON.parse(await consent.ReadConsent(as(B, doctor1), c.consentId)).grantee).toEqual({ kind: 'area', area: 'other-hospitals' });
  });
});

describe('keys for groups: grants to a role, an org or an area go to the group\'s party', () => {
  it("a consent's grant goes to its grantee's group party only, and a group's grant is not re-delegated", async () => {
    const { state, as, grant, record } = await withAreas([]);
    const cases: { grantee: Grantee; party: Party }[] = [
      { grantee: { kind: 'area', area: 'other-hospitals' }, party: { mspId: A, enrollmentId: 'area:other-hospitals' } }, // relative to the patient's home
      { grantee: { kind: 'role', mspId: B, role: 'doctor' }, party: { mspId: B, enrollmentId: 'role:doctor' } },
      { grantee: { kind: 'org', mspId: RI }, party: { mspId: RI, enrollmentId: 'org:members' } },
    ];
    for (const { grantee, party } of cases) {
      const c = consentInput({ grantee, purpose: 'treatment', hopLimit: 2 });
      await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
      const before = new Map(state.data);
      for (const wrong of [{ mspId: B, enrollmentId: 'doctor1' }, { mspId: B, enrollmentId: 'area:other-hospitals' }, { mspId: A, enrollmentId: 'role:admin' }]) {
        const { input } = await grant({ consentId: c.consentId, delegatee: wrong });
        await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(input))).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[delegatee\\]: must be ${party.enrollmentId}@${party.mspId}, the grantee of consent`));
      }
      expect(state.data).toEqual(before);
      const { input } = await grant({ consentId: c.consentId, delegatee: party });
      expect(JSON.parse(await consent.RegisterGrant(as(A, patient1), JSON.stringify(input))).delegatee).toEqual(party);
      // A member cannot re-delegate the group's grant, nor request through it as his own.
      const child = await grant({ consentId: c.consentId, delegatee: { mspId: B, enrollmentId: 'doctor2' }, hop: 2, parentGrantId: input.grantId });
      await expect(consent.RegisterGrant(as(B, doctor1), JSON.stringify(child.input))).rejects.toThrow(/^INVALID_ARGUMENT\[parentGrantId\]: grant .* is to a group .*not re-delegated/);
      await expect(consent.RequestDelegatedAccess(as(B, doctor1), record.recordId, input.grantId, 'treatment')).rejects.toThrow(/^UNAUTHORIZED\[grantId\]: grant .* \(a group: its members request under its consent, or by area\)/);
    }
    const { input } = await grant({ consentId: 'x', delegatee: { mspId: A, enrollmentId: 'area:Bad Name' } });
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(input))).rejects.toThrow(/^INVALID_ARGUMENT\[delegatee.enrollmentId\]: must be an enrollment id, or a group's/);
  });

  it("the patient's standing grant to an area serves exactly the requests that area's rule allowed for his records", async () => {
    const { state, as, grant, record, request } = await withAreas([{ area: 'own-hospital', purposes: ['treatment'] }, { area: 'research', purposes: ['research'] }]);
    const ownId = areaKeysId('own-hospital', p1);
    const own = await grant({ consentId: ownId, delegatee: { mspId: A, enrollmentId: 'area:own-hospital' }, condition: '*' });
    const before = new Map(state.data);
    // Only the patient, only to the area's party, only an area of the settings; the prefix is reserved for consents.
    await expect(consent.RegisterGrant(as(A, doctor1), JSON.stringify(own.input))).rejects.toThrow(/^UNAUTHORIZED/);
    const wrong = await grant({ consentId: ownId, delegatee: { mspId: A, enrollmentId: 'area:research' }, condition: '*' });
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(wrong.input))).rejects.toThrow(/^INVALID_ARGUMENT\[delegatee\]: must be area:own-hospital@HospitalAMSP/);
    const unknown = await grant({ consentId: areaKeysId('pharmacies', p1), delegatee: { mspId: A, enrollmentId: 'area:pharmacies' }, condition: '*' });
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(unknown.input))).rejects.toThrow(/^INVALID_ARGUMENT\[consentId\]: 'pharmacies' is not an area/);
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ consentId: areaKeysId('research', p1) })))).rejects.toThrow(/^INVALID_ARGUMENT\[consentId\]: must not start with 'area-keys\.'/);
    expect(state.data).toEqual(before);

    const registered = JSON.parse(await consent.RegisterGrant(as(A, patient1), JSON.stringify(own.input)));
    expect(registered).toMatchObject({ consentId: ownId, delegatee: { mspId: A, enrollmentId: 'area:own-hospital' } });
    expect(JSON.parse(await consent.ReadGrant(as(A, doctor1), own.input.grantId)).active).toBe(true);
    expect(JSON.parse(await consent.ListGrantsByConsent(as(A, proxyId), ownId, '10', '')).grants.map((g: { grantId: string }) => g.grantId)).toEqual([own.input.grantId]);
    const research = await grant({ consentId: areaKeysId('research', p1), delegatee: { mspId: A, enrollmentId: 'area:research' }, condition: '*' });
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(research.input));

    const served = (entryId: string, g: typeof own) => proxy.LogReEncryption(as(g.input.proxies[0]!.mspId, proxyId), entryId, g.input.grantId);
    const allowed = (await request(A, doctor1)).entry;
    expect(JSON.parse(await served(allowed.entryId, own))).toMatchObject({ action: 're-encryption', consentId: ownId, recordId: record.recordId, purpose: 'treatment' });
    await expect(served(allowed.entryId, research)).rejects.toThrow(/^INVALID_ARGUMENT\[entryId\]: does not go through grant/); // another area's rule allowed it
    const researchEntry = (await request(RI, researcher1, 'research')).entry;
    expect(JSON.parse(await served(researchEntry.entryId, research))).toMatchObject({ consentId: research.input.consentId });
    await expect(served(researchEntry.entryId, own)).rejects.toThrow(/does not go through grant/);
    const denied = (await request(RI, researcher1, 'treatment')).entry;
    await expect(served(denied.entryId, research)).rejects.toThrow(/is not an allowed access request/);
  });
});
