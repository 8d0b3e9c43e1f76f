/**
 * Break-glass: a doctor reads a patient's records without prior consent. It needs a written
 * justification, kept in the doctor's hospital's implicit private data collection (it may
 * hold health details; the chain carries its hash), and the approval of a second doctor of
 * the same hospital. It lasts a bounded time from the approval, then expires by itself.
 * Every step is logged as an emergency override, which the patient's log lists first.
 */
import {
  ChaincodeError,
  ErrorCode,
  emergencyStatus,
  checkCategory,
  checkEmergencyId,
  checkPseudonym,
  invalid,
  type Caller,
  type Emergency,
  type EmergencyInput,
  type Justification,
} from '@emr/protocol';
import { encode, found, implicitCollection, parseJsonObject, readJson, rejectUnknownFields, sha256Hex, type StateStore, type TxContext } from './ledger';

export const MIN_DURATION_MINUTES = 5;
export const MAX_DURATION_MINUTES = 24 * 60;
export const MIN_JUSTIFICATION_CHARS = 20;
export const MAX_JUSTIFICATION_BYTES = 8 * 1024;

const MINUTE = 60_000;

export function parseEmergencyInput(json: string): EmergencyInput {
  const raw = parseJsonObject(json, 'emergency');
  rejectUnknownFields(raw, ['emergencyId', 'patientPseudonym', 'category', 'durationMinutes']);
  const emergencyId = checkEmergencyId(typeof raw.emergencyId === 'string' ? raw.emergencyId : '');
  const patientPseudonym = checkPseudonym(typeof raw.patientPseudonym === 'string' ? raw.patientPseudonym : '');
  const d = raw.durationMinutes;
  if (typeof d !== 'number' || !Number.isSafeInteger(d) || d < MIN_DURATION_MINUTES || d > MAX_DURATION_MINUTES) {
    throw invalid('durationMinutes', `must be an integer from ${MIN_DURATION_MINUTES} to ${MAX_DURATION_MINUTES}`);
  }
  return { emergencyId, patientPseudonym, ...(raw.category !== undefined ? { category: checkCategory(raw.category) } : {}), durationMinutes: d };
}

const EMERGENCY = 'emr.emergency';
const JUSTIFICATION = 'emr.justification';

export class EmergencyStore {
  constructor(private readonly state: StateStore) {}

  async get(emergencyId: string): Promise<Emergency | undefined> {
    return readJson<Emergency>(this.state, EMERGENCY, [emergencyId]);
  }

  async require(emergencyId: string): Promise<Emergency> {
    return found(await this.get(emergencyId), 'emergencyId', `break-glass '${emergencyId}' does not exist`);
  }

  private justificationKey = (emergencyId: string, enrollmentId: string) => this.state.createCompositeKey(JUSTIFICATION, [emergencyId, enrollmentId]);

  /** Step 1 (endorsed by the doctor's own hospital only): the justification, privately. */
  async recordJustification(emergencyId: string, text: string, caller: Caller, tx: TxContext): Promise<{ emergencyId: string; justificationHash: string }> {
    if (text.trim().length < MIN_JUSTIFICATION_CHARS) throw invalid('justification', `must be a written justification of at least ${MIN_JUSTIFICATION_CHARS} characters`);
    if (await this.get(emergencyId)) throw new ChaincodeError(ErrorCode.Conflict, `break-glass '${emergencyId}' already exists`, 'emergencyId');
    const collection = implicitCollection(caller.mspId);
    const key = this.justificationKey(emergencyId, caller.enrollmentId);
    const existing = await this.state.getPrivateDataHash(collection, key);
    if (existing && existing.length > 0) throw new ChaincodeError(ErrorCode.Conflict, `a justification for '${emergencyId}' is already recorded`, 'emergencyId');
    const entry: Justification = { emergencyId, author: caller.enrollmentId, justification: text, recordedAt: tx.timestamp.toISOString(), txId: tx.txId };
    const bytes = encode(entry);
    await this.state.putPrivateData(collection, key, bytes);
    return { emergencyId, justificationHash: sha256Hex(bytes) };
  }

  async readJustification(e: Emergency): Promise<Justification> {
    const bytes = await this.state.getPrivateData(implicitCollection(e.requester.mspId), this.justificationKey(e.emergencyId, e.requester.enrollmentId));
    if (!bytes || bytes.length === 0) throw new ChaincodeError(ErrorCode.NotFound, `the justification of '${e.emergencyId}' is not on this peer`, 'emergencyId');
    return JSON.parse(Buffer.from(bytes).toString('utf8')) as Justification;
  }

  /** Step 2: the public request; every peer checks the justification's hash exists. */
  async request(input: EmergencyInput, caller: Caller, tx: TxContext): Promise<Emergency> {
    if (await this.get(input.emergencyId)) throw new ChaincodeError(ErrorCode.Conflict, `break-glass '${input.emergencyId}' already exists`, 'emergencyId');
    const hash = await this.state.getPrivateDataHash(implicitCollection(caller.mspId), this.justificationKey(input.emergencyId, caller.enrollmentId));
    if (!hash || hash.length === 0) {
      throw new ChaincodeError(ErrorCode.NotFound, `no justification by '${caller.enrollmentId}' for '${input.emergencyId}'; record it first (RecordJustification)`, 'justification');
    }
    const e: Emergency = {
      emergencyId: input.emergencyId,
      patientPseudonym: input.patientPseudonym,
      category: input.category ?? null,
      durationMinutes: input.durationMinutes,
      requester: { mspId: caller.mspId, enrollmentId: caller.enrollmentId },
      justificationHash: Buffer.from(hash).toString('hex'),
      requestedAt: tx.timestamp.toISOString(),
      txId: tx.txId,
      approver: null,
      approvedAt: null,
      expiresAt: null,
      approveTxId: null,
    };
    await this.state.putState(this.state.createCompositeKey(EMERGENCY, [e.emergencyId]), encode(e));
    return e;
  }

  /** Step 3: a second doctor of the same hospital approves; the clock starts. */
  async approve(e: Emergency, caller: Caller, tx: TxContext): Promise<Emergency> {
    if (caller.mspId !== e.requester.mspId) throw new ChaincodeError(ErrorCode.Unauthorized, `only a doctor of ${e.requester.mspId} may approve break-glass '${e.emergencyId}'`, 'emergencyId');
    if (caller.enrollmentId === e.requester.enrollmentId) throw new ChaincodeError(ErrorCode.Unauthorized, 'the requesting doctor cannot approve his own break-glass', 'emergencyId');
    const status = emergencyStatus(e, tx.timestamp);
    if (status !== 'pending') throw new ChaincodeError(ErrorCode.Conflict, `break-glass '${e.emergencyId}' is ${status}, not awaiting approval`, 'emergencyId');
    const approved: Emergency = {
      ...e,
      approver: { mspId: caller.mspId, enrollmentId: caller.enrollmentId },
      approvedAt: tx.timestamp.toISOString(),
      expiresAt: new Date(tx.timestamp.getTime() + e.durationMinutes * MINUTE).toISOString(),
      approveTxId: tx.txId,
    };
    await this.state.putState(this.state.createCompositeKey(EMERGENCY, [e.emergencyId]), encode(approved));
    return approved;
  }
}
