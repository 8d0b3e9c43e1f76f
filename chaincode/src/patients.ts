/**
 * Patient registrations: a pseudonym belongs to the patient whose enrollment key it is
 * derived from (@emr/protocol's pseudonyms.ts). The patient registers it himself, signing
 * the transaction with that key, so no admin, of his hospital or another, can claim, squat
 * or re-bind it. The state holds the pseudonym and the home hospital only, never who the
 * patient is.
 */
import { ChaincodeError, ErrorCode, type Caller, type PatientRegistration } from '@emr/protocol';
import { encode, found, readJson, type StateStore, type TxContext } from './ledger';

const PATIENT = 'emr.patient';

/** Registrations, and what the calling identity is to them. */
export class PatientStore {
  constructor(
    private readonly state: StateStore,
    private readonly caller: Caller,
    /** The pseudonym of the caller's own enrollment key (computed when first needed). */
    private readonly callerPseudonym: () => string,
  ) {}

  async get(patientPseudonym: string): Promise<PatientRegistration | undefined> {
    return readJson<PatientRegistration>(this.state, PATIENT, [patientPseudonym]);
  }

  /** The key `get` reads (for StateStore.prefetch). */
  keyOf = (patientPseudonym: string): string => this.state.createCompositeKey(PATIENT, [patientPseudonym]);

  async require(patientPseudonym: string): Promise<PatientRegistration> {
    return found(await this.get(patientPseudonym), 'patientPseudonym', `no patient is registered under pseudonym ${patientPseudonym}; the patient registers it first (emr patient register)`);
  }

  /** The calling patient registers the pseudonym of his own key, once. */
  async register(patientPseudonym: string, tx: TxContext): Promise<PatientRegistration> {
    if (this.caller.role !== 'patient' || patientPseudonym !== this.callerPseudonym()) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `'${this.caller.enrollmentId}' (${this.caller.mspId}) may register only the pseudonym of his own enrollment key`, 'patientPseudonym');
    }
    if (await this.get(patientPseudonym)) throw new ChaincodeError(ErrorCode.Conflict, 'this pseudonym is already registered', 'patientPseudonym');
    const registration: PatientRegistration = { patientPseudonym, homeMsp: this.caller.mspId, registeredAt: tx.timestamp.toISOString(), txId: tx.txId };
    await this.state.putState(this.state.createCompositeKey(PATIENT, [patientPseudonym]), encode(registration));
    return registration;
  }

  /**
   * The registered patient adds his SM2 key (checked by sm2-keys.ts first). Once set it stays:
   * his signatures on SM-suite records are checked against it.
   */
  async registerSm2Key(registration: PatientRegistration, publicKey: string): Promise<PatientRegistration> {
    if (registration.sm2PublicKey === publicKey) return registration;
    if (registration.sm2PublicKey) throw new ChaincodeError(ErrorCode.Conflict, 'this pseudonym already has another SM2 key; it stays for the pseudonym\'s life, so his earlier signatures keep their meaning', 'publicKey');
    const updated: PatientRegistration = { ...registration, sm2PublicKey: publicKey };
    await this.state.putState(this.state.createCompositeKey(PATIENT, [registration.patientPseudonym]), encode(updated));
    return updated;
  }

  /** True when the caller is the patient registered under the pseudonym (his key is the one it derives from). */
  isPatient(registration: PatientRegistration): boolean {
    return this.caller.role === 'patient' && this.caller.mspId === registration.homeMsp && this.callerPseudonym() === registration.patientPseudonym;
  }

  /** The patient, or an admin of the patient's home hospital. */
  isPatientOrHomeAdmin(registration: PatientRegistration): boolean {
    return this.isPatient(registration) || (this.caller.role === 'admin' && this.caller.mspId === registration.homeMsp);
  }

  /** The key centre of the patient's home hospital: it gives his unlinked records' links to those the chain allows. */
  isHomeKeyCentre(registration: PatientRegistration): boolean {
    return this.caller.role === 'kgc' && this.caller.mspId === registration.homeMsp;
  }

  /** Throws UNAUTHORIZED unless the caller is the registered patient. */
  async requirePatient(patientPseudonym: string, action: string): Promise<PatientRegistration> {
    const registration = await this.require(patientPseudonym);
    if (!this.isPatient(registration)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the patient may ${action}; '${this.caller.enrollmentId}' (${this.caller.mspId}) is not that patient`, 'patientPseudonym');
    }
    return registration;
  }
}
