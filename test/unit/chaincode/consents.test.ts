import fc from 'fast-check';
import { DENY_REASONS, type Caller, type Consent, type DenyReason } from '@emr/protocol';
import { evaluateConsent, type ConsentRequest } from '@emr/protocol';
import { parseConsentInput } from '../../../chaincode/src/consents';
import { consentInput, patient1Pseudonym, pseudonym } from '../../support/fixtures';

jest.setTimeout(60_000); // thousands of property runs on a loaded 2-core machine
const researcher: Caller = { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1', role: 'researcher' };
const T0 = Date.parse('2026-01-01T00:00:00Z');
const HOUR = 3_600_000;

function consent(overrides: Partial<Consent> = {}): Consent {
  return { ...consentInput(), status: 'active', requiredApprovals: [], approvals: [], accessCount: 0, createdBy: 'patient1', createdAt: new Date(T0).toISOString(), txId: 't', revokedAt: null, revokeTxId: null, ...overrides };
}
const record = { recordId: 'rec-1', patientPseudonym: patient1Pseudonym(), category: 'cardiology/ecg', type: 'sharable' as const };
const request = (overrides: Partial<ConsentRequest> = {}): ConsentRequest => ({ requester: researcher, record, purpose: 'research', at: new Date(T0 + HOUR), hop: 1, ...overrides });

describe('parseConsentInput', () => {
  const bad: [string, (c: Record<string, unknown>) => unknown, RegExp][] = [
    ['consentId', (c) => ({ ...c, consentId: '' }), /\[consentId\]/],
    ['patientPseudonym', (c) => ({ ...c, patientPseudonym: 'Alice Smith' }), /\[patientPseudonym\]/],
    ['grantee.kind', (c) => ({ ...c, grantee: { kind: 'everyone', mspId: 'X' } }), /\[grantee\.kind\]/],
    ['grantee.role', (c) => ({ ...c, grantee: { kind: 'role', mspId: 'HospitalBMSP', role: 'nurse' } }), /\[grantee\.role\]/],
    ['grantee.enrollmentId', (c) => ({ ...c, grantee: { kind: 'identity', mspId: 'HospitalBMSP' } }), /\[grantee\.enrollmentId\]/],
    ['an unknown grantee field', (c) => ({ ...c, grantee: { kind: 'org', mspId: 'HospitalBMSP', extra: 1 } }), /\[grantee\.extra\]/],
    ['an empty scope', (c) => ({ ...c, scope: {} }), /\[scope\]/],
    ['scope.category', (c) => ({ ...c, scope: { category: 'Cardiology' } }), /\[scope\.category\]/],
    ['scope.recordIds repeated', (c) => ({ ...c, scope: { recordIds: ['a', 'a'] } }), /\[scope\.recordIds\]/],
    ['scope.recordIds[1]', (c) => ({ ...c, scope: { recordIds: ['a', ''] } }), /\[scope\.recordIds\[1\]\]/],
    ['scope.type', (c) => ({ ...c, scope: { type: 'secret' } }), /\[scope\.type\]/],
    ['purpose', (c) => ({ ...c, purpose: 'marketing' }), /\[purpose\]/],
    ['validFrom', (c) => ({ ...c, validFrom: 'yesterday' }), /\[validFrom\]/],
    // Date.parse took these: 2026-03-02, 2026-01-02T00:00, and midnight in the endorser's own zone.
    ['validFrom 2026-02-30', (c) => ({ ...c, validFrom: '2026-02-30T00:00:00Z', validUntil: '2026-04-01T00:00:00Z' }), /\[validFrom\]/],
    ['validUntil at 24:00', (c) => ({ ...c, validUntil: '2026-01-01T24:00:00Z' }), /\[validUntil\]/],
    ['validUntil without a zone', (c) => ({ ...c, validUntil: '2026-01-01T12:00:00' }), /\[validUntil\]/],
    ['an empty window', (c) => ({ ...c, validUntil: c.validFrom }), /\[validUntil\]/],
    ['maxAccesses', (c) => ({ ...c, maxAccesses: 0 }), /\[maxAccesses\]/],
    ['hopLimit', (c) => ({ ...c, hopLimit: 6 }), /\[hopLimit\]/],
    ['an unknown field', (c) => ({ ...c, name: 'Alice' }), /\[name\]/],
  ];
  it.each(bad)('rejects %s, naming the field', (_what, mutate, field) => {
    expect(() => parseConsentInput(JSON.stringify(mutate(consentInput() as unknown as Record<string, unknown>)))).toThrow(field);
  });

  it('accepts a valid consent and normalizes times to ISO-8601 UTC', () => {
    const parsed = parseConsentInput(JSON.stringify({ ...consentInput(), validFrom: '2026-01-01T01:00:00+01:00' }));
    expect(parsed.validFrom).toBe('2026-01-01T00:00:00.000Z');
  });
});

describe('evaluateConsent', () => {
  it('allows the grantee, in scope, for the purpose, inside the window', () => {
    expect(evaluateConsent(consent(), request())).toEqual({ allow: true });
  });

  it.each([
    ['revoked', consent({ status: 'revoked', revokedAt: 'x' }), request()],
    ['pending-approval', consent({ status: 'pending', requiredApprovals: [{ role: 'doctor', count: 1 }] }), request()],
    ['not-yet-valid', consent(), request({ at: new Date(T0 - 1) })],
    ['expired', consent(), request({ at: new Date(T0 + 24 * HOUR) })],
    ['exhausted', consent({ accessCount: 3, maxAccesses: 3 }), request()],
    ['not-grantee', consent(), request({ requester: { ...researcher, enrollmentId: 'researcher2' } })],
    ['out-of-scope', consent(), request({ record: { ...record, category: 'psychiatry/notes' } })],
    ['out-of-scope', consent(), request({ record: { ...record, patientPseudonym: pseudonym('patient2') } })],
    ['wrong-purpose', consent(), request({ purpose: 'treatment' })],
    ['hop-limit', consent({ hopLimit: 1 }), request({ hop: 2 })],
  ])('denies with reason %s', (reason, c, r) => {
    expect(evaluateConsent(c, r)).toMatchObject({ allow: false, reason });
  });

  it('a category subtree covers its descendants, not its siblings with the same prefix', () => {
    const c = consent({ scope: { category: 'cardiology' } });
    expect(evaluateConsent(c, request({ record: { ...record, category: 'cardiology/ecg/holter' } })).allow).toBe(true);
    expect(evaluateConsent(c, request({ record: { ...record, category: 'cardiology2/ecg' } })).allow).toBe(false);
  });

  it('reports the most specific reason: an oncology record under a used-up cardiology consent is out of scope', () => {
    const usedUp = consent({ accessCount: 3, maxAccesses: 3 });
    expect(evaluateConsent(usedUp, request({ record: { ...record, category: 'oncology/ct' } }))).toMatchObject({ reason: 'out-of-scope' });
    expect(evaluateConsent(consent({ status: 'revoked', revokedAt: 'x' }), request({ purpose: 'treatment' }))).toMatchObject({ reason: 'wrong-purpose' });
    expect(evaluateConsent(usedUp, request({ requester: { ...researcher, enrollmentId: 'researcher2' } }))).toMatchObject({ reason: 'not-grantee' });
  });

  it('role and org grantees match by org and role', () => {
    expect(evaluateConsent(consent({ grantee: { kind: 'role', mspId: 'ResearchInstituteMSP', role: 'researcher' } }), request()).allow).toBe(true);
    expect(evaluateConsent(consent({ grantee: { kind: 'role', mspId: 'HospitalBMSP', role: 'researcher' } }), request()).allow).toBe(false);
    expect(evaluateConsent(consent({ grantee: { kind: 'org', mspId: 'ResearchInstituteMSP' } }), request({ requester: { ...researcher, role: 'doctor' } })).allow).toBe(true);
  });
});

describe('evaluateConsent, properties', () => {
  const arbCaller = fc.record({
    mspId: fc.constantFrom('HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'),
    enrollmentId: fc.constantFrom('researcher1', 'doctor1', 'doctor2'),
    role: fc.constantFrom('doctor' as const, 'researcher' as const),
  });
  const arbRecord = fc.record({
    recordId: fc.constantFrom('rec-1', 'rec-2', 'rec-3'),
    patientPseudonym: fc.constantFrom(patient1Pseudonym(), pseudonym('patient2')),
    category: fc.constantFrom('cardiology', 'cardiology/ecg', 'psychiatry/notes', 'radiology/ct'),
    type: fc.constantFrom('sharable' as const, 'non-sharable' as const),
  });
  const arbConsent = fc
    .record({
      grantee: fc.oneof(
        fc.record({ kind: fc.constant('identity' as const), mspId: fc.constantFrom('HospitalBMSP', 'ResearchInstituteMSP'), enrollmentId: fc.constantFrom('researcher1', 'doctor1') }),
        fc.record({ kind: fc.constant('role' as const), mspId: fc.constantFrom('HospitalBMSP', 'ResearchInstituteMSP'), role: fc.constantFrom('doctor' as const, 'researcher' as const) }),
        fc.record({ kind: fc.constant('org' as const), mspId: fc.constantFrom('HospitalBMSP', 'ResearchInstituteMSP') }),
      ),
      scope: fc.record({ recordIds: fc.subarray(['rec-1', 'rec-2', 'rec-3'], { minLength: 1 }), category: fc.constantFrom('cardiology', 'psychiatry', 'radiology/ct'), type: fc.constantFrom('sharable' as const, 'non-sharable' as const) }, { requiredKeys: [] }),
      purpose: fc.constantFrom('treatment' as const, 'research' as const),
      fromOffset: fc.integer({ min: -48, max: 48 }),
      lengthHours: fc.integer({ min: 1, max: 96 }),
      maxAccesses: fc.integer({ min: 1, max: 5 }),
      accessCount: fc.integer({ min: 0, max: 6 }),
      hopLimit: fc.integer({ min: 1, max: 5 }),
      status: fc.constantFrom('active', 'pending', 'revoked'),
    })
    .filter((c) => Object.keys(c.scope).length > 0)
    .map(
      (c): Consent => ({
        ...consentInput({ grantee: c.grantee, scope: c.scope, purpose: c.purpose, maxAccesses: c.maxAccesses, hopLimit: c.hopLimit }),
        validFrom: new Date(T0 + c.fromOffset * HOUR).toISOString(),
        validUntil: new Date(T0 + (c.fromOffset + c.lengthHours) * HOUR).toISOString(),
        status: c.status as Consent['status'],
        requiredApprovals: c.status === 'pending' ? [{ role: 'doctor', count: 1 }] : [],
        approvals: [],
        accessCount: c.accessCount,
        createdBy: 'patient1',
        createdAt: new Date(T0).toISOString(),
        txId: 't',
        revokedAt: c.status === 'revoked' ? new Date(T0).toISOString() : null,
        revokeTxId: c.status === 'revoked' ? 't2' : null,
      }),
    );
  const arbRequest = fc.record({
    requester: arbCaller,
    record: arbRecord,
    purpose: fc.constantFrom('treatment' as const, 'research' as const),
    at: fc.integer({ min: -72, max: 150 }).map((h) => new Date(T0 + h * HOUR)),
    hop: fc.integer({ min: 1, max: 6 }),
  });
  const runs = { numRuns: 2000 };

  it('a revoked, not yet approved, expired, not-yet-valid or exhausted consent never authorizes', () => {
    fc.assert(
      fc.property(arbConsent, arbRequest, (c, r) => {
        const closed = c.status !== 'active' || r.at.getTime() >= Date.parse(c.validUntil) || r.at.getTime() < Date.parse(c.validFrom) || c.accessCount >= c.maxAccesses;
        return !closed || !evaluateConsent(c, r).allow;
      }),
      runs,
    );
  });

  it('an out-of-scope record, another purpose, a non-grantee or too many hops never authorize', () => {
    fc.assert(
      fc.property(arbConsent, arbRequest, (c, r) => {
        const s = c.scope;
        const outOfScope =
          r.record.patientPseudonym !== c.patientPseudonym ||
          (s.recordIds !== undefined && !s.recordIds.includes(r.record.recordId)) ||
          (s.category !== undefined && r.record.category !== s.category && !r.record.category.startsWith(`${s.category}/`)) ||
          (s.type !== undefined && s.type !== r.record.type);
        const g = c.grantee;
        const grantee = g.kind !== 'area' && g.mspId === r.requester.mspId && (g.kind === 'org' || (g.kind === 'role' ? g.role === r.requester.role : g.enrollmentId === r.requester.enrollmentId));
        const refused = outOfScope || r.purpose !== c.purpose || (r.hop === 1 && !grantee) || r.hop > c.hopLimit;
        return !refused || !evaluateConsent(c, r).allow;
      }),
      runs,
    );
  });

  it('the reason reported is the first that applies, in the order of DENY_REASONS', () => {
    fc.assert(
      fc.property(arbConsent, arbRequest, (c, r) => {
        const s = c.scope;
        const g = c.grantee;
        const t = r.at.getTime();
        const applies: Record<DenyReason, boolean> = {
          'not-grantee': r.hop === 1 && !(g.kind !== 'area' && g.mspId === r.requester.mspId && (g.kind === 'org' || (g.kind === 'role' ? g.role === r.requester.role : g.enrollmentId === r.requester.enrollmentId))),
          'hop-limit': r.hop > c.hopLimit,
          'out-of-scope':
            r.record.patientPseudonym !== c.patientPseudonym ||
            (s.recordIds !== undefined && !s.recordIds.includes(r.record.recordId)) ||
            (s.category !== undefined && r.record.category !== s.category && !r.record.category.startsWith(`${s.category}/`)) ||
            (s.type !== undefined && s.type !== r.record.type),
          'wrong-purpose': r.purpose !== c.purpose,
          erased: false,
          revoked: c.status === 'revoked',
          'pending-approval': c.status === 'pending',
          'not-yet-valid': t < Date.parse(c.validFrom),
          expired: t >= Date.parse(c.validUntil),
          exhausted: c.accessCount >= c.maxAccesses,
        };
        const expected = DENY_REASONS.find((reason) => applies[reason]);
        const d = evaluateConsent(c, r);
        return expected === undefined ? d.allow : !d.allow && d.reason === expected;
      }),
      runs,
    );
  });

  it('every denial names a reason, and the decision depends only on its inputs', () => {
    fc.assert(
      fc.property(arbConsent, arbRequest, (c, r) => {
        const d1 = evaluateConsent(c, r);
        const d2 = evaluateConsent(structuredClone(c), { ...r, at: new Date(r.at.getTime()) });
        return JSON.stringify(d1) === JSON.stringify(d2) && (d1.allow || d1.detail.length > 0);
      }),
      runs,
    );
  });

  it('a request that meets every condition of an open consent is allowed (the properties above are not vacuous)', () => {
    const matching = (c: Consent, offset: number): ConsentRequest => {
      const g = c.grantee;
      return {
        requester: { mspId: g.kind === 'area' ? 'AnyMSP' : g.mspId, enrollmentId: g.kind === 'identity' ? g.enrollmentId : 'someone', role: g.kind === 'role' ? g.role : 'researcher' },
        record: { recordId: c.scope.recordIds?.at(-1) ?? 'rec-x', patientPseudonym: c.patientPseudonym, category: c.scope.category ? `${c.scope.category}/sub` : 'any/thing', type: c.scope.type ?? 'sharable' },
        purpose: c.purpose,
        at: new Date(Date.parse(c.validFrom) + offset * (Date.parse(c.validUntil) - Date.parse(c.validFrom))),
        hop: 1,
      };
    };
    fc.assert(
      fc.property(arbConsent, fc.double({ min: 0, max: 0.999, noNaN: true }), (c, offset) => {
        const open = c.status === 'active' && c.accessCount < c.maxAccesses;
        return !open || evaluateConsent(c, matching(c, offset)).allow;
      }),
      runs,
    );
  });
});

