/**
 * Patient registrations: which certificate speaks for a pseudonym. The hospital that
 * enrolled the patient (its admin) registers the binding; the chain stores only a hash of
 * the patient's MSP and enrollment id, so the state never lists who a pseudonym is.
 */
import { ChaincodeError, ErrorCode } from './errors';
import type { Caller } from './roles';
import { encode, found, readJson, sha256Hex, type StateStore, type TxContext } from './ledger';

export interface PatientRegistration {
  patientPseudonym: string;
  /** The patient's home hospital: the org that enrolled the patient and registered the binding. */
  homeMsp: string;
  /** Hex SHA-256 binding the pseudonym to one certificate subject (MSP + enrollment id). */
  subject: string;
  registeredBy: string;
  registeredAt: string;
  txId: string;
}

const PATIENT = 'emr.patient';

export const subjectOf = (mspId: string, enrollmentId: string): string =>
  sha256Hex(`emr-patient-subject:v1\u0000${mspId}\u0000${enrollmentId}`);

export class PatientStore {
  constructor(private readonly state: StateStore) {}

  async get(patientPseudonym: string): Promise<PatientRegistration | undefined> {
    return readJson<PatientRegistration>(this.state, PATIENT, [patientPseudonym]);
  }

  async require(patientPseudonym: string): Promise<PatientRegistration> {
    return found(await this.get(patientPseudonym), 'patientPseudonym', 'no patient is registered under this pseudonym');
  }

  /** An admin registers a patient of the admin's own hospital. A pseudonym is bound once. */
  async register(patientPseudonym: string, enrollmentId: string, caller: Caller, tx: TxContext): Promise<PatientRegistration> {
    if (await this.get(patientPseudonym)) throw new ChaincodeError(ErrorCode.Conflict, 'this pseudonym is already registered', 'patientPseudonym');
    const registration: PatientRegistration = {
      patientPseudonym,
      homeMsp: caller.mspId,
      subject: subjectOf(caller.mspId, enrollmentId),
      registeredBy: caller.enrollmentId,
      registeredAt: tx.timestamp.toISOString(),
      txId: tx.txId,
    };
    await this.state.putState(this.state.createCompositeKey(PATIENT, [patientPseudonym]), encode(registration));
    return registration;
  }

  /** True when the caller is the patient registered under the pseudonym. */
  static isPatient(registration: PatientRegistration, caller: Caller): boolean {
    return caller.role === 'patient' && registration.subject === subjectOf(caller.mspId, caller.enrollmentId);
  }

  /** The patient, or an admin of the patient's home hospital. */
  static isPatientOrHomeAdmin(registration: PatientRegistration, caller: Caller): boolean {
    return PatientStore.isPatient(registration, caller) || (caller.role === 'admin' && caller.mspId === registration.homeMsp);
  }

  /** Throws UNAUTHORIZED unless the caller is the registered patient. */
  async requirePatient(patientPseudonym: string, caller: Caller, action: string): Promise<PatientRegistration> {
    const registration = await this.require(patientPseudonym);
    if (!PatientStore.isPatient(registration, caller)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the patient may ${action}; '${caller.enrollmentId}' (${caller.mspId}) is not that patient`, 'patientPseudonym');
    }
    return registration;
  }
}
