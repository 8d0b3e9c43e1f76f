import fc from 'fast-check';
import { APPROVER_ROLES, type ApprovalPolicy } from '@emr/protocol';
import { approvalsSatisfy, requiredApprovals } from '../../../chaincode/src/policies';
import { KeyEndorsementPolicy } from 'fabric-shim';
import { identity } from '../../support/chaincode-context';
import { consentInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, doctor2, p1, patient1, researcher1, unitLedger } from '../../support/unit-ledger';

const { consent } = contracts;
const policy = (category: string, approvals: { role: string; count: number }[]) => JSON.stringify({ category, approvals });

describe('approval policies', () => {
  it('an admin sets and removes his hospital\'s category policies; others may read them but not set them', async () => {
    const { as } = await unitLedger();
    await expect(consent.SetApprovalPolicy(as(A, doctor1), policy('psychiatry', [{ role: 'doctor', count: 1 }]))).rejects.toThrow(/^UNAUTHORIZED: /);
    const set = JSON.parse(await consent.SetApprovalPolicy(as(A, admin), policy('psychiatry', [{ role: 'doctor', count: 1 }])));
    expect(set).toMatchObject({ mspId: A, policies: [{ category: 'psychiatry', approvals: [{ role: 'doctor', count: 1 }] }] });
    expect(JSON.parse(await consent.ReadApprovalPolicies(as(B, researcher1), A)).policies).toHaveLength(1);
    expect(JSON.parse(await consent.ReadApprovalPolicies(as(B, researcher1), B)).policies).toHaveLength(0);
    await consent.SetApprovalPolicy(as(A, admin), policy('psychiatry', []));
    expect(JSON.parse(await consent.ReadApprovalPolicies(as(A, admin), A)).policies).toEqual([]);
    await expect(consent.SetApprovalPolicy(as(A, admin), policy('psychiatry', []))).rejects.toThrow(/^NOT_FOUND\[category\]/);
  });

  it.each([
    ['category', { category: 'Psychiatry', approvals: [] }],
    ['approvals[0].role', { category: 'x', approvals: [{ role: 'patient', count: 1 }] }],
    ['approvals[0].count', { category: 'x', approvals: [{ role: 'doctor', count: 0 }] }],
    ['approvals', { category: 'x', approvals: [{ role: 'doctor', count: 1 }, { role: 'doctor', count: 2 }] }],
    ['colour', { category: 'x', approvals: [], colour: 'red' }],
  ])('bad %s is named', async (field, body) => {
    const { as } = await unitLedger();
    await expect(consent.SetApprovalPolicy(as(A, admin), JSON.stringify(body))).rejects.toThrow(`INVALID_ARGUMENT[${field}]`);
  });
});

describe('multi-party approval of consents', () => {
  async function pendingConsent(approvals = [{ role: 'doctor', count: 1 }, { role: 'admin', count: 1 }]) {
    const l = await unitLedger();
    await consent.SetApprovalPolicy(l.as(A, admin), policy('cardiology', approvals));
    const input = consentInput();
    const granted = JSON.parse(await consent.GrantConsent(l.as(A, patient1), JSON.stringify(input)));
    return { ...l, input, granted };
  }

  it('a consent under a policy is pending, grants nothing and its grants are inactive until every approval is given', async () => {
    const { as, record, input, granted, grant } = await pendingConsent();
    expect(granted).toMatchObject({ status: 'pending', requiredApprovals: [{ role: 'doctor', count: 1 }, { role: 'admin', count: 1 }], approvals: [] });
    const ask = async () => JSON.parse(await consent.RequestAccess(as(RI, researcher1), record.recordId, input.consentId, 'research')).entry;
    expect(await ask()).toMatchObject({ outcome: 'denied', reason: 'pending-approval' });
    const g = (await grant({ consentId: input.consentId })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g));
    expect(JSON.parse(await consent.ReadGrant(as(RI, researcher1), g.grantId)).active).toBe(false);

    expect(JSON.parse(await consent.ApproveConsent(as(A, doctor1), input.consentId)).status).toBe('pending');
    expect(await ask()).toMatchObject({ outcome: 'denied', reason: 'pending-approval' });
    expect(JSON.parse(await consent.ApproveConsent(as(A, admin), input.consentId)).status).toBe('active');
    expect(await ask()).toMatchObject({ outcome: 'success' });
    expect(JSON.parse(await consent.ReadGrant(as(RI, researcher1), g.grantId)).active).toBe(true);
    const log = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '20', '')).entries.map((e: { action: string }) => e.action);
    expect(log.filter((a: string) => a === 'consent-approval')).toHaveLength(2);
  });

  it('refuses approvals from another hospital, a role the policy does not ask, the same person twice, a role already satisfied, and after activation', async () => {
    const { as, input } = await pendingConsent([{ role: 'doctor', count: 1 }]);
    await expect(consent.ApproveConsent(as(B, doctor1), input.consentId)).rejects.toThrow(/^UNAUTHORIZED\[consentId\]: only HospitalAMSP/);
    await expect(consent.ApproveConsent(as(A, admin), input.consentId)).rejects.toThrow(/^UNAUTHORIZED\[consentId\]: .*asks no admin/);
    await expect(consent.ApproveConsent(as(A, patient1), input.consentId)).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(consent.ApproveConsent(as(RI, researcher1), input.consentId)).rejects.toThrow(/^UNAUTHORIZED: /);
    await consent.ApproveConsent(as(A, doctor1), input.consentId);
    await expect(consent.ApproveConsent(as(A, doctor2), input.consentId)).rejects.toThrow(/^CONFLICT\[consentId\]: .*active, not awaiting/);

    const two = await pendingConsent([{ role: 'doctor', count: 2 }]);
    await consent.ApproveConsent(two.as(A, doctor1), two.input.consentId);
    await expect(consent.ApproveConsent(two.as(A, doctor1), two.input.consentId)).rejects.toThrow(/^CONFLICT\[consentId\]: .*already approved/);
  });

  it('a revoked pending consent cannot be approved; an expired one neither', async () => {
    const { as, input } = await pendingConsent();
    await expect(consent.ApproveConsent(as(A, doctor1, '2026-01-03T00:00:00.000Z'), input.consentId)).rejects.toThrow(/^CONFLICT\[consentId\]: .*expired/);
    await consent.RevokeConsent(as(A, patient1), input.consentId);
    await expect(consent.ApproveConsent(as(A, doctor1), input.consentId)).rejects.toThrow(/^CONFLICT\[consentId\]: .*revoked/);
  });

  it('policies apply by category overlap, by the categories of named records, or all when the scope names neither', async () => {
    const { as, record } = await unitLedger();
    await consent.SetApprovalPolicy(as(A, admin), policy('psychiatry', [{ role: 'doctor', count: 1 }]));
    const status = async (scope: object) => JSON.parse(await consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope })))).status;
    expect(await status({ category: 'cardiology' })).toBe('active');
    expect(await status({ category: 'psychiatry/inpatient' })).toBe('pending');
    expect(await status({ recordIds: [record.recordId] })).toBe('active'); // a cardiology record
    expect(await status({ type: 'sharable' })).toBe('pending'); // reaches every category
    await expect(status({ recordIds: ['no-such-record'] })).rejects.toThrow(/^NOT_FOUND\[scope.recordIds\[0\]\]/);
  });

  it("a consent's key needs the patient's home hospital to endorse later writes (state-based endorsement)", async () => {
    const { state, as } = await unitLedger();
    const input = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
    const key = state.createCompositeKey('emr.consent', [input.consentId]);
    expect(new KeyEndorsementPolicy(Buffer.from(state.validation.get(key)!)).listOrgs()).toEqual([A]);
  });
});

describe('approval properties (fast-check)', () => {
  const role = fc.constantFrom(...APPROVER_ROLES);
  const requirement = fc.uniqueArray(fc.record({ role, count: fc.integer({ min: 1, max: 3 }) }), { selector: (r) => r.role, maxLength: 2 });
  const approver = fc.record({ role, mspId: fc.constant(A), enrollmentId: fc.constantFrom('u1', 'u2', 'u3', 'u4') });

  it('approvals below the policy never satisfy it; enough distinct approvers of every role always do', () => {
    fc.assert(
      fc.property(requirement, fc.array(approver, { maxLength: 10 }), (required, approvals) => {
        const distinct = (r: string) => new Set(approvals.filter((a) => a.role === r).map((a) => a.enrollmentId)).size;
        expect(approvalsSatisfy(required, approvals)).toBe(required.every((r) => distinct(r.role) >= r.count));
      }),
      { numRuns: 2000 },
    );
  });

  it('the required approvals cover every policy the scope can reach, at its largest count', () => {
    const cat = fc.constantFrom('psychiatry', 'psychiatry/inpatient', 'cardiology', 'cardiology/ecg', 'oncology');
    const policies = fc.uniqueArray(fc.record({ category: cat, approvals: requirement }), { selector: (p) => p.category, maxLength: 4 });
    fc.assert(
      fc.property(policies, fc.oneof(fc.array(cat, { minLength: 1, maxLength: 3 }), fc.constant('all' as const)), (ps: ApprovalPolicy[], reach) => {
        const required = requiredApprovals(ps, reach);
        for (const p of ps) {
          const applies = reach === 'all' || reach.some((c) => c === p.category || c.startsWith(`${p.category}/`) || p.category.startsWith(`${c}/`));
          for (const a of p.approvals) if (applies) expect(required.find((r) => r.role === a.role)!.count).toBeGreaterThanOrEqual(a.count);
        }
        expect(approvalsSatisfy(required, [])).toBe(required.length === 0);
      }),
      { numRuns: 2000 },
    );
  });

  it('through the contract: a consent activates exactly when its last required approval lands, never before', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 0, max: 2 }), fc.array(fc.constantFrom('doctor1', 'doctor2', 'doctor3', 'admin', 'admin2'), { maxLength: 6 }), async (doctors, admins, sequence) => {
        const { as } = await unitLedger();
        const approvals = [{ role: 'doctor', count: doctors }, ...(admins ? [{ role: 'admin', count: admins }] : [])];
        await consent.SetApprovalPolicy(as(A, admin), policy('cardiology', approvals));
        const input = consentInput();
        await consent.GrantConsent(as(A, patient1), JSON.stringify(input));
        const given = { doctor: new Set<string>(), admin: new Set<string>() };
        for (const who of sequence) {
          const r = who.startsWith('admin') ? 'admin' : 'doctor';
          const outcome = await consent.ApproveConsent(as(A, identity(who, r)), input.consentId).then(JSON.parse, () => null);
          if (outcome) given[r].add(who);
          const met = given.doctor.size >= doctors && given.admin.size >= admins;
          const current = JSON.parse(await consent.ReadConsent(as(A, patient1), input.consentId));
          expect(current.status).toBe(met ? 'active' : 'pending');
        }
      }),
      { numRuns: 60 },
    );
  });
});
