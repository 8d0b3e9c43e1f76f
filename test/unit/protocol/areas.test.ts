/**
 * evaluateAreaAccess, the pure decision of a request by area, property-tested against a
 * direct statement of the rules: a requester gets in through an area he is in, under the
 * patient's own rule for it when he set one (it replaces the consortium's default), else
 * the defaults; a rule allows its purposes on sharable records of its category subtree.
 */
import fc from 'fast-check';
import { PURPOSES, evaluateAreaAccess, inArea, inCategory, type Area, type AreaContext, type AreaRule, type Caller, type Purpose } from '@emr/protocol';

const ORGS = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'];
const ROLES = ['doctor', 'researcher', 'admin'] as const;
const CATEGORIES = ['cardiology', 'cardiology/ecg', 'cardiology/echo', 'oncology', 'oncology/biopsy'];
const AREAS: Area[] = [
  { name: 'own-hospital', members: [{ org: '$home', roles: ['doctor'] }] },
  { name: 'other-hospitals', members: [{ org: '$others', roles: ['doctor'] }] },
  { name: 'research', members: [{ org: 'ResearchInstituteMSP', roles: ['researcher'] }] },
  { name: 'admins', members: [{ org: '$home', roles: ['admin'] }, { org: 'HospitalBMSP', roles: ['admin'] }] },
];

const rule = (area: string) =>
  fc.record({ area: fc.constant(area), purposes: fc.subarray([...PURPOSES]), category: fc.option(fc.constantFrom(...CATEGORIES), { nil: undefined }) }).map((r): AreaRule => (r.category === undefined ? { area: r.area, purposes: r.purposes } : r));
const rules = fc.array(fc.constantFrom(...AREAS.map((a) => a.name)).chain(rule), { maxLength: 6 });
const context = fc.record({ defaults: rules, policies: rules.map((rs) => rs.filter((r, i) => rs.findIndex((x) => x.area === r.area) === i)), homeMsp: fc.constantFrom(...ORGS) }).map(
  (c): AreaContext => ({ areas: AREAS, members: ORGS, ...c }),
);
const requester = fc.record({ mspId: fc.constantFrom(...ORGS), enrollmentId: fc.constant('someone'), role: fc.constantFrom(...ROLES) }) as fc.Arbitrary<Caller>;
const record = fc.record({ recordId: fc.constant('rec-1'), category: fc.constantFrom(...CATEGORIES), type: fc.constantFrom('sharable' as const, 'non-sharable' as const) });
const purpose = fc.constantFrom(...PURPOSES) as fc.Arbitrary<Purpose>;

describe('evaluateAreaAccess', () => {
  it('allows exactly when an applicable rule covers the purpose and the record, and names that rule', () => {
    fc.assert(
      fc.property(context, requester, record, purpose, (ctx, who, rec, p) => {
        const mine = AREAS.filter((a) => inArea(a, who, ctx.homeMsp, ctx.members));
        const applicable = mine.flatMap((a) => {
          const own = ctx.policies.find((x) => x.area === a.name);
          return own ? [{ ...own, source: 'patient' }] : ctx.defaults.filter((d) => d.area === a.name).map((d) => ({ ...d, source: 'default' }));
        });
        const allows = (r: AreaRule) => rec.type === 'sharable' && r.purposes.includes(p) && (r.category === undefined || inCategory(rec.category, r.category));
        const decision = evaluateAreaAccess(ctx, who, rec, p);
        expect(decision.allow).toBe(applicable.some(allows));
        if (decision.allow) {
          const [area, source] = decision.rule.split(':');
          expect(applicable.some((r) => r.area === area && r.source === source && allows(r))).toBe(true);
        } else if (applicable.length === 0) {
          expect(decision).toMatchObject({ reason: 'not-grantee', rule: null });
        } else {
          expect(applicable.map((r) => `${r.area}:${r.source}`)).toContain(decision.rule);
        }
      }),
      { numRuns: 2000 },
    );
  });

  it("a patient's own rule replaces the area's defaults: withdrawing it (no purposes) shuts that area whatever the defaults say", () => {
    fc.assert(
      fc.property(context, record, purpose, (ctx, rec, p) => {
        const doctorHome: Caller = { mspId: ctx.homeMsp, enrollmentId: 'd', role: 'doctor' };
        const withdrawn = { ...ctx, defaults: [...ctx.defaults, { area: 'own-hospital', purposes: [...PURPOSES] }], policies: [{ area: 'own-hospital', purposes: [] }] };
        const decision = evaluateAreaAccess(withdrawn, doctorHome, rec, p);
        expect(decision.allow).toBe(false);
        expect(decision).toMatchObject({ rule: 'own-hospital:patient', reason: 'revoked' });
      }),
    );
  });

  it('the home and the other members are relative to the patient, and nobody is in an area by another org or role', () => {
    const ctx: AreaContext = { areas: AREAS, members: ORGS, homeMsp: 'HospitalAMSP', defaults: [{ area: 'own-hospital', purposes: ['treatment'] }, { area: 'other-hospitals', purposes: ['treatment'], category: 'cardiology' }], policies: [] };
    const rec = { recordId: 'r', category: 'cardiology/ecg', type: 'sharable' as const };
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalAMSP', enrollmentId: 'd', role: 'doctor' }, rec, 'treatment')).toEqual({ allow: true, rule: 'own-hospital:default' });
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalBMSP', enrollmentId: 'd', role: 'doctor' }, rec, 'treatment')).toEqual({ allow: true, rule: 'other-hospitals:default' });
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalBMSP', enrollmentId: 'd', role: 'doctor' }, { ...rec, category: 'oncology' }, 'treatment')).toMatchObject({ allow: false, reason: 'out-of-scope', rule: 'other-hospitals:default' });
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalBMSP', enrollmentId: 'd', role: 'doctor' }, rec, 'research')).toMatchObject({ allow: false, reason: 'wrong-purpose', rule: 'other-hospitals:default' });
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalAMSP', enrollmentId: 'r', role: 'researcher' }, rec, 'treatment')).toMatchObject({ allow: false, reason: 'not-grantee', rule: null });
    expect(evaluateAreaAccess(ctx, { mspId: 'HospitalAMSP', enrollmentId: 'd', role: 'doctor' }, { ...rec, erased: {} }, 'treatment')).toMatchObject({ allow: false, reason: 'erased' });
  });
});
