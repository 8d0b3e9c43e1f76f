import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { authorize, callerOf, type PERMISSIONS } from './access';
import { AccessLog } from './access-log';
import { canonicalJson } from './canonical-json';
import { ConsentStore, PURPOSES, evaluateConsent, granteeMatches, parseConsentInput, type Purpose } from './consents';
import { ChaincodeError, ErrorCode, invalid } from './errors';
import { PatientStore } from './patients';
import { RegistrationStore, parseRegistrationInput, registrationActive } from './registrations';
import type { Caller } from './roles';
import { txOf, type StateStore } from './ledger';
import { checkEnrollmentId, checkPseudonym, checkRecordId, parsePageSize, RecordStore } from './records';

const event = (stub: StateStore, name: string, payload: Record<string, string>) => stub.setEvent(name, Buffer.from(canonicalJson(payload), 'utf8'));

/**
 * Patients, consents, access requests and the access log. Each transaction checks the
 * caller's role first, then its arguments, then ownership (which needs the state).
 */
@Info({ title: 'ConsentContract', description: 'patient registrations, consent conditions, access requests, access logs' })
export class ConsentContract extends Contract {
  constructor() {
    super('consent');
  }

  private begin(ctx: Context, transaction: keyof typeof PERMISSIONS) {
    const caller = callerOf(ctx.clientIdentity);
    authorize(caller, transaction);
    const stub = ctx.stub as unknown as StateStore;
    const tx = txOf(ctx);
    return {
      caller,
      stub,
      tx,
      patients: new PatientStore(stub),
      consents: new ConsentStore(stub),
      records: new RecordStore(stub),
      grants: new RegistrationStore(stub),
      log: new AccessLog(stub, tx),
    };
  }

  /** An admin binds a pseudonym to a patient enrolled at the admin's hospital. */
  @Transaction()
  @Returns('string')
  async RegisterPatient(ctx: Context, patientPseudonym: string, enrollmentId: string): Promise<string> {
    const { caller, tx, patients, log } = this.begin(ctx, 'RegisterPatient');
    checkPseudonym(patientPseudonym);
    checkEnrollmentId(enrollmentId);
    const registration = await patients.register(patientPseudonym, enrollmentId, caller, tx);
    await log.append({ action: 'patient-registration', outcome: 'success', reason: null, agent: caller, patientPseudonym, recordId: null, consentId: null, purpose: null });
    return canonicalJson(registration);
  }

  /** The patient grants a consent condition. Argument: the consent input as JSON. */
  @Transaction()
  @Returns('string')
  async GrantConsent(ctx: Context, consentJson: string): Promise<string> {
    const { caller, stub, tx, patients, consents, log } = this.begin(ctx, 'GrantConsent');
    const input = parseConsentInput(consentJson);
    await patients.requirePatient(input.patientPseudonym, caller, 'grant consent over these records');
    const consent = await consents.create(input, caller, tx);
    await log.append({ action: 'consent-grant', outcome: 'success', reason: null, agent: caller, patientPseudonym: input.patientPseudonym, recordId: null, consentId: consent.consentId, purpose: consent.purpose });
    event(stub, 'consent.granted', { consentId: consent.consentId });
    return canonicalJson(consent);
  }

  /** The patient revokes a consent; every later transaction sees it revoked. */
  @Transaction()
  @Returns('string')
  async RevokeConsent(ctx: Context, consentId: string): Promise<string> {
    const { caller, stub, tx, patients, consents, log } = this.begin(ctx, 'RevokeConsent');
    checkRecordId(consentId, 'consentId');
    const consent = await consents.require(consentId);
    await patients.requirePatient(consent.patientPseudonym, caller, 'revoke this consent');
    const revoked = await consents.revoke(consent, tx);
    await log.append({ action: 'consent-revoke', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId, purpose: consent.purpose });
    event(stub, 'consent.revoked', { consentId });
    return canonicalJson(revoked);
  }

  /** Readable by the patient, an admin of the patient's hospital, the grantee, and proxies. */
  @Transaction(false)
  @Returns('string')
  async ReadConsent(ctx: Context, consentId: string): Promise<string> {
    const { caller, patients, consents } = this.begin(ctx, 'ReadConsent');
    checkRecordId(consentId, 'consentId');
    const consent = await consents.require(consentId);
    const registration = await patients.require(consent.patientPseudonym);
    if (!(caller.role === 'proxy' || granteeMatches(consent.grantee, caller) || PatientStore.isPatientOrHomeAdmin(registration, caller))) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `'${caller.enrollmentId}' (${caller.mspId}) is neither the patient, the patient's hospital admin, the grantee nor a proxy`, 'consentId');
    }
    return canonicalJson(consent);
  }

  @Transaction(false)
  @Returns('string')
  async ListConsentsByPatient(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { caller, patients, consents } = this.begin(ctx, 'ListConsentsByPatient');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(Number(pageSize));
    await this.requirePatientOrHomeAdmin(patients, patientPseudonym, caller);
    return canonicalJson(await consents.listByPatient(patientPseudonym, size, bookmark));
  }

  /**
   * A doctor or researcher asks to use a record under a consent. The decision is made at
   * the transaction time and logged either way; an allowed request counts against the
   * consent's maximum and emits `access.requested` for the proxies.
   */
  @Transaction()
  @Returns('string')
  async RequestAccess(ctx: Context, recordId: string, consentId: string, purpose: string): Promise<string> {
    const { caller, stub, tx, consents, records, log } = this.begin(ctx, 'RequestAccess');
    checkRecordId(recordId);
    checkRecordId(consentId, 'consentId');
    if (!(PURPOSES as readonly string[]).includes(purpose)) throw invalid('purpose', `must be one of ${PURPOSES.join(', ')}`);
    const record = await records.require(recordId);
    const consent = await consents.require(consentId);
    const decision = evaluateConsent(consent, { requester: caller, record, purpose: purpose as Purpose, at: tx.timestamp, hop: 1 });
    if (decision.allow) await consents.recordUse(consent);
    const entry = await log.append({
      action: 'access-request',
      outcome: decision.allow ? 'success' : 'denied',
      reason: decision.allow ? null : decision.reason,
      agent: caller,
      patientPseudonym: record.patientPseudonym,
      recordId,
      consentId,
      purpose,
    });
    event(stub, 'access.requested', { entryId: entry.entryId, recordId, consentId, outcome: entry.outcome });
    return canonicalJson({ entry, detail: decision.allow ? null : decision.detail });
  }

  /**
   * Registers the public part of a re-encryption key made under a consent: by the patient
   * for hop 1, by the previous delegatee for a re-delegation within the hop limit.
   */
  @Transaction()
  @Returns('string')
  async RegisterGrant(ctx: Context, registrationJson: string): Promise<string> {
    const { caller, stub, tx, patients, consents, grants, log } = this.begin(ctx, 'RegisterGrant');
    const input = parseRegistrationInput(registrationJson);
    const consent = await consents.require(input.consentId);
    if (input.hop === 1) await patients.requirePatient(consent.patientPseudonym, caller, 'register a grant under this consent');
    const reg = await grants.register(input, consent, caller, tx);
    await log.append({ action: 'grant-registration', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId: consent.consentId, purpose: consent.purpose });
    event(stub, 'grant.registered', { grantId: reg.grantId, consentId: reg.consentId });
    return canonicalJson(reg);
  }

  /** A registration with whether it is usable now (its consent active, neither expired). */
  @Transaction(false)
  @Returns('string')
  async ReadGrant(ctx: Context, grantId: string): Promise<string> {
    const { tx, consents, grants } = this.begin(ctx, 'ReadGrant');
    checkRecordId(grantId, 'grantId');
    const reg = await grants.require(grantId);
    const consent = await consents.require(reg.consentId);
    return canonicalJson({ registration: reg, active: registrationActive(reg, consent, tx.timestamp) });
  }

  /** The patient's log, newest first. */
  @Transaction(false)
  @Returns('string')
  async ListPatientLog(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { caller, patients, log } = this.begin(ctx, 'ListPatientLog');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(Number(pageSize));
    await this.requirePatientOrHomeAdmin(patients, patientPseudonym, caller);
    return canonicalJson(await log.listByPatient(patientPseudonym, size, bookmark));
  }

  /** One record's log, newest first: for its patient, or an admin of the hospital that owns it. */
  @Transaction(false)
  @Returns('string')
  async ListRecordLog(ctx: Context, recordId: string, pageSize: string, bookmark: string): Promise<string> {
    const { caller, patients, records, log } = this.begin(ctx, 'ListRecordLog');
    checkRecordId(recordId);
    const size = parsePageSize(Number(pageSize));
    const record = await records.require(recordId);
    const registration = await patients.get(record.patientPseudonym);
    const allowed = (registration && PatientStore.isPatient(registration, caller)) || (caller.role === 'admin' && caller.mspId === record.ownerMsp);
    if (!allowed) throw new ChaincodeError(ErrorCode.Unauthorized, `only the record's patient or an admin of ${record.ownerMsp} may read its log`, 'recordId');
    return canonicalJson(await log.listByRecord(recordId, size, bookmark));
  }

  private async requirePatientOrHomeAdmin(patients: PatientStore, patientPseudonym: string, caller: Caller): Promise<void> {
    const registration = await patients.require(patientPseudonym);
    if (!PatientStore.isPatientOrHomeAdmin(registration, caller)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the patient or an admin of the patient's hospital may list this`, 'patientPseudonym');
    }
  }
}
