import fc from 'fast-check';
import type { Emergency } from '@emr/protocol';
import { APPROVAL_WINDOW_MINUTES, evaluateEmergency } from '@emr/protocol';
import { identity, pseudonymFor } from '../../support/chaincode-context';
import { consentInput, recordInput, pseudonym } from '../../support/fixtures';
import { A, B, admin, contracts, doctor1, doctor2, p1, patient1, researcher1, RI, unitLedger } from '../../support/unit-ledger';

const { emergency, consent, emr } = contracts;
const justification = 'Unconscious on arrival; allergy history needed before anaesthesia.';
const T0 = '2026-01-01T06:00:00.000Z';
const at = (minutes: number) => new Date(Date.parse(T0) + minutes * 60_000).toISOString();

/** doctor1 of HospitalA: justification, request; optionally doctor2 approves. */
async function breakGlass(approve = true, body: object = {}) {
  const l = await unitLedger();
  const emergencyId = 'eg-1';
  await emergency.RecordJustification(l.as(A, doctor1, T0, { justification }), emergencyId);
  await emergency.RequestBreakGlass(l.as(A, doctor1, T0), JSON.stringify({ emergencyId, patientPseudonym: p1, durationMinutes: 60, ...body }));
  if (approve) await emergency.ApproveBreakGlass(l.as(A, doctor2, at(5)), emergencyId);
  const read = async (minutes: number, who = doctor1, recordId = l.record.recordId) =>
    JSON.parse(await emergency.RequestEmergencyAccess(l.as(A, who, at(minutes)), recordId, emergencyId)).entry;
  return { ...l, emergencyId, read };
}

describe('break-glass', () => {
  it('justification (private), request, second-doctor approval, reads until it expires by itself', async () => {
    const { state, as, read, emergencyId } = await breakGlass();
    expect([...state.data.values()].some((v) => Buffer.from(v).toString().includes('Unconscious'))).toBe(false);
    const e = JSON.parse(await emergency.ReadBreakGlass(as(A, patient1, at(10)), emergencyId));
    expect(e).toMatchObject({ status: 'active', emergency: { requester: { enrollmentId: 'doctor1' }, approver: { enrollmentId: 'doctor2' }, expiresAt: at(65) } });
    expect(e.emergency.justificationHash).toMatch(/^[0-9a-f]{64}$/);
    expect(await read(30)).toMatchObject({ outcome: 'success', purpose: 'emergency', emergencyId });
    expect(state.events.at(-1)).toMatchObject({ name: 'access.requested', payload: { emergencyId, outcome: 'success' } });
    expect(await read(65)).toMatchObject({ outcome: 'denied', reason: 'expired' });
    expect(JSON.parse(await emergency.ReadBreakGlass(as(A, patient1, at(65)), emergencyId)).status).toBe('expired');
    expect(JSON.parse(await emergency.ReadJustification(as(A, admin), emergencyId)).justification).toBe(justification);
  });

  it("the patient's log lists the emergency overrides first, newest first, across pages", async () => {
    const { as, read } = await breakGlass();
    await read(20);
    await consent.GrantConsent(as(A, patient1, at(30)), JSON.stringify(consentInput()));
    const page1 = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '2', ''));
    expect(page1.entries.map((e: { action: string }) => e.action)).toEqual(['access-request', 'break-glass-approval']);
    const page2 = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '2', page1.bookmark));
    expect(page2.entries.map((e: { action: string; emergencyId: string | null }) => [e.action, e.emergencyId !== null])).toEqual([
      ['break-glass-request', true],
      ['consent-grant', false],
    ]);
    const rest = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '10', page2.bookmark));
    expect(rest.entries.map((e: { action: string }) => e.action)).toEqual(['patient-registration', 'record-upload']);
    expect(rest.bookmark).toBe('');
    await expect(consent.ListPatientLog(as(A, patient1), p1, '2', 'garbage')).rejects.toThrow(/^INVALID_ARGUMENT\[bookmark\]/);
  });

  it('needs a recorded justification by the requester, of some length', async () => {
    const { as } = await unitLedger();
    const request = (emergencyId: string) => emergency.RequestBreakGlass(as(A, doctor1), JSON.stringify({ emergencyId, patientPseudonym: p1, durationMinutes: 60 }));
    await expect(request('eg-none')).rejects.toThrow(/^NOT_FOUND\[justification\]/);
    await expect(emergency.RecordJustification(as(A, doctor1, T0, { justification: 'because' }), 'eg-short')).rejects.toThrow(/^INVALID_ARGUMENT\[justification\]/);
    await expect(emergency.RecordJustification(as(A, doctor1), 'eg-missing')).rejects.toThrow(/^INVALID_ARGUMENT\[justification\]: is required as transient/);
    await emergency.RecordJustification(as(A, doctor2, T0, { justification }), 'eg-other');
    await expect(request('eg-other')).rejects.toThrow(/^NOT_FOUND\[justification\]/); // doctor2's, not doctor1's
    await expect(emergency.RecordJustification(as(A, doctor2, T0, { justification }), 'eg-other')).rejects.toThrow(/^CONFLICT\[emergencyId\]/);
  });

  it.each([
    ['durationMinutes', { durationMinutes: 2000 }],
    ['patientPseudonym', { patientPseudonym: 'Alice' }],
    ['category', { category: 'Not A Path' }],
  ])('bad %s is named', async (field, body) => {
    const { as } = await unitLedger();
    await emergency.RecordJustification(as(A, doctor1, T0, { justification }), 'eg-x');
    await expect(emergency.RequestBreakGlass(as(A, doctor1), JSON.stringify({ emergencyId: 'eg-x', patientPseudonym: p1, durationMinutes: 60, ...body }))).rejects.toThrow(`INVALID_ARGUMENT[${field}]`);
  });

  it('the approver is a different doctor of the same hospital, within the approval window; unapproved means no access', async () => {
    const { as, read, emergencyId } = await breakGlass(false);
    expect(await read(10)).toMatchObject({ outcome: 'denied', reason: 'pending-approval' });
    await expect(emergency.ApproveBreakGlass(as(A, doctor1, at(5)), emergencyId)).rejects.toThrow(/^UNAUTHORIZED\[emergencyId\]: the requesting doctor/);
    await expect(emergency.ApproveBreakGlass(as(B, doctor2, at(5)), emergencyId)).rejects.toThrow(/^UNAUTHORIZED\[emergencyId\]: only a doctor of HospitalAMSP/);
    await expect(emergency.ApproveBreakGlass(as(A, admin, at(5)), emergencyId)).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emergency.ApproveBreakGlass(as(A, doctor2, at(APPROVAL_WINDOW_MINUTES + 1)), emergencyId)).rejects.toThrow(/^CONFLICT\[emergencyId\]: .*lapsed/);
  });

  it("only the requester reads, only the patient's records and the category asked", async () => {
    const { as, read, emergencyId } = await breakGlass(true, { category: 'cardiology' });
    expect(await read(10, doctor2)).toMatchObject({ outcome: 'denied', reason: 'not-grantee' });
    const patient9 = identity('patient9', 'patient');
    await consent.RegisterPatient(as(A, patient9), pseudonymFor(A, 'patient9'));
    const other = recordInput({ patientPseudonym: pseudonymFor(A, 'patient9') });
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(other));
    expect(await read(10, doctor1, other.recordId)).toMatchObject({ outcome: 'denied', reason: 'out-of-scope' });
    const psych = recordInput({ category: 'psychiatry' });
    await emr.CreateRecord(as(A, doctor1), JSON.stringify(psych));
    expect(await read(10, doctor1, psych.recordId)).toMatchObject({ outcome: 'denied', reason: 'out-of-scope' });
    await expect(emergency.RequestEmergencyAccess(as(RI, researcher1), psych.recordId, emergencyId)).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emergency.ReadBreakGlass(as(B, admin), emergencyId)).rejects.toThrow(/^UNAUTHORIZED\[emergencyId\]/);
    await expect(emergency.ReadJustification(as(B, doctor1), emergencyId)).rejects.toThrow(/^UNAUTHORIZED\[emergencyId\]/);
    await expect(emergency.ReadBreakGlass(as(A, identity('patient2', 'patient')), emergencyId)).rejects.toThrow(/^UNAUTHORIZED\[emergencyId\]/);
  });

  it('property: a break-glass never authorizes before approval, after expiry, another doctor, or another patient', () => {
    const base: Emergency = {
      emergencyId: 'e',
      patientPseudonym: p1,
      category: null,
      durationMinutes: 60,
      requester: { mspId: A, enrollmentId: 'doctor1' },
      justificationHash: '0'.repeat(64),
      requestedAt: T0,
      txId: 't',
      approver: null,
      approvedAt: null,
      expiresAt: null,
      approveTxId: null,
    };
    fc.assert(
      fc.property(fc.boolean(), fc.integer({ min: 5, max: 1440 }), fc.integer({ min: -10, max: 3000 }), fc.boolean(), fc.boolean(), (approved, duration, minute, sameDoctor, samePatient) => {
        const e = approved ? { ...base, durationMinutes: duration, approver: { mspId: A, enrollmentId: 'doctor2' }, approvedAt: T0, expiresAt: at(duration) } : base;
        const requester = { mspId: A, enrollmentId: sameDoctor ? 'doctor1' : 'doctor3', role: 'doctor' as const };
        const record = { recordId: 'r', patientPseudonym: samePatient ? p1 : pseudonym('x'), category: 'cardiology' };
        const d = evaluateEmergency(e, { requester, record, at: new Date(at(minute)) });
        expect(d.allow).toBe(approved && minute >= 0 && minute < duration && sameDoctor && samePatient);
      }),
      { numRuns: 2000 },
    );
  });
});
