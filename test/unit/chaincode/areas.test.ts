/**
 * Access by area on the chaincode: areas and their defaults are consortium settings; a
 * requester without a consent is decided by the areas he is in (RequestAreaAccess), under
 * the patient's own rule for an area when he set one; a consent can name an area as its
 * grantee; every decision's log entry names the area rule; an unknown area is named.
 */
import { ConsortiumContract } from '../../../chaincode/src/consortium-contract';
import { consentInput, recordInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, researcher1, unitLedger } from '../../support/unit-ledger';

const consortium = new ConsortiumContract();
const { consent, emr } = contracts;
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
