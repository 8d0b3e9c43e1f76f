import { ChaincodeError, ErrorCode, canonicalJson, checkEmergencyId, checkRecordId, emergencyStatus, evaluateEmergency, type Caller, type Emergency } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { MAX_JUSTIFICATION_BYTES, parseEmergencyInput } from './emergencies';
import { requireBlindedIfBlinding } from './consortium';
import { transientText } from './ledger';
import { PatientStore } from './patients';
import { session } from './session';

/**
 * Break-glass in three transactions: the requesting doctor records his justification
 * privately (endorsed by his own hospital only), then requests; a second doctor of the
 * same hospital approves; the requester reads within the approved time. Each step is an
 * emergency override in the patient's log, which lists overrides first.
 */
@Info({ title: 'EmergencyContract', description: 'break-glass access: justification, second-doctor approval, time-limited emergency reads' })
export class EmergencyContract extends BatchingContract {
  constructor() {
    super('emergency');
  }

  /** Transient `justification` (text) to the caller's hospital's implicit collection. */
  @Transaction()
  @Returns('string')
  async RecordJustification(ctx: Context, emergencyId: string): Promise<string> {
    const s = session(ctx, 'emergency:RecordJustification');
    checkEmergencyId(emergencyId);
    const text = transientText(s.stub, 'justification', MAX_JUSTIFICATION_BYTES);
    return canonicalJson(await s.emergencies.recordJustification(emergencyId, text, s.caller, s.tx));
  }

  /** Argument: JSON {emergencyId, patientPseudonym, category?, durationMinutes}. */
  @Transaction()
  @Returns('string')
  async RequestBreakGlass(ctx: Context, emergencyJson: string): Promise<string> {
    const s = session(ctx, 'emergency:RequestBreakGlass');
    const input = parseEmergencyInput(emergencyJson);
    if (input.category !== undefined) requireBlindedIfBlinding(await s.consortium.settings(), input.category, 'category');
    await s.patients.require(input.patientPseudonym);
    const e = await s.emergencies.request(input, s.caller, s.tx);
    await s.log.append({ action: 'break-glass-request', outcome: 'success', reason: null, agent: s.caller, patientPseudonym: e.patientPseudonym, recordId: null, consentId: null, purpose: 'emergency', emergencyId: e.emergencyId });
    s.event('emergency.requested', { emergencyId: e.emergencyId });
    return canonicalJson(e);
  }

  @Transaction()
  @Returns('string')
  async ApproveBreakGlass(ctx: Context, emergencyId: string): Promise<string> {
    const s = session(ctx, 'emergency:ApproveBreakGlass');
    checkEmergencyId(emergencyId);
    const approved = await s.emergencies.approve(await s.emergencies.require(emergencyId), s.caller, s.tx);
    await s.log.append({ action: 'break-glass-approval', outcome: 'success', reason: null, agent: s.caller, patientPseudonym: approved.patientPseudonym, recordId: null, consentId: null, purpose: 'emergency', emergencyId });
    s.event('emergency.approved', { emergencyId, expiresAt: approved.expiresAt! });
    return canonicalJson(approved);
  }

  /** Like consent:RequestAccess, under a break-glass: decided at the transaction time, logged either way. */
  @Transaction()
  @Returns('string')
  async RequestEmergencyAccess(ctx: Context, recordId: string, emergencyId: string): Promise<string> {
    const s = session(ctx, 'emergency:RequestEmergencyAccess');
    checkRecordId(recordId);
    checkEmergencyId(emergencyId);
    const record = s.asPatients(await s.records.require(recordId));
    const e = await s.emergencies.require(emergencyId);
    const decision = evaluateEmergency(e, { requester: s.caller, record, at: s.tx.timestamp });
    const entry = await s.log.append({
      action: 'access-request',
      outcome: decision.allow ? 'success' : 'denied',
      reason: decision.allow ? null : decision.reason,
      agent: s.caller,
      patientPseudonym: record.patientPseudonym,
      recordId,
      consentId: null,
      purpose: 'emergency',
      emergencyId,
    });
    s.event('access.requested', { entryId: entry.entryId, recordId, emergencyId, outcome: entry.outcome });
    return canonicalJson({ entry, detail: decision.allow ? null : decision.detail });
  }

  /** The break-glass with its status now: for the patient, his hospital's admins, and the requester's hospital. */
  @Transaction(false)
  @Returns('string')
  async ReadBreakGlass(ctx: Context, emergencyId: string): Promise<string> {
    const s = session(ctx, 'emergency:ReadBreakGlass');
    checkEmergencyId(emergencyId);
    const e = await s.emergencies.require(emergencyId);
    await this.requireReader(e, s.caller, s.patients);
    return canonicalJson({ emergency: e, status: emergencyStatus(e, s.tx.timestamp) });
  }

  /** The justification text, from the requester's hospital's own peer, for its doctors and admins. */
  @Transaction(false)
  @Returns('string')
  async ReadJustification(ctx: Context, emergencyId: string): Promise<string> {
    const s = session(ctx, 'emergency:ReadJustification');
    checkEmergencyId(emergencyId);
    const e = await s.emergencies.require(emergencyId);
    if (s.caller.mspId !== e.requester.mspId) throw new ChaincodeError(ErrorCode.Unauthorized, `the justification is ${e.requester.mspId}'s`, 'emergencyId');
    return canonicalJson(await s.emergencies.readJustification(e));
  }

  private async requireReader(e: Emergency, caller: Caller, patients: PatientStore): Promise<void> {
    if (caller.mspId === e.requester.mspId && caller.role !== 'patient') return;
    const registration = await patients.require(e.patientPseudonym);
    if (!patients.isPatientOrHomeAdmin(registration) && !patients.isHomeKeyCentre(registration)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the patient, his hospital's admins and key centre, or ${e.requester.mspId} may read this break-glass`, 'emergencyId');
    }
  }
}
