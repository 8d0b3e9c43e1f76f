/** Typed access to patient registrations, consents, access requests and the access log. */
import type { AccessDecision, AreaPolicy, ApprovalPolicy, Consent, ConsentInput, ConsentPage, DenyReason, GrantPage, KeyLeakReport, LogEntry, LogPage, PatientRegistration, PolicySet, Purpose, ReachAttestation, RecordLink, ReachAttestationInput, Registration, RegistrationInput } from '@emr/protocol';
import { sm2KeyPayload } from '@emr/protocol';
import { ContractClient, allPages, type PageOptions } from './contract-client';
import { EmrError } from './errors';

/** The consent does not authorize this request; the denial is on the patient's log. */
export class AccessDeniedError extends EmrError {
  constructor(
    readonly reason: DenyReason,
    readonly detail: string,
    /** The log entry recording the denial. */
    readonly entry: LogEntry,
  ) {
    super(`access denied (${reason}): ${detail}`);
  }
}

/** The entry of an allowed request, or AccessDeniedError for a denied one (already on the log). */
export function allowedOrThrow({ entry, detail }: AccessDecision): LogEntry {
  if (entry.outcome !== 'success') throw new AccessDeniedError(entry.reason as DenyReason, detail ?? '', entry);
  return entry;
}

export class ConsentLedger extends ContractClient {
  /** The calling patient registers his pseudonym: the one his enrollment key derives (`pseudonymOf`). */
  registerPatient(patientPseudonym: string): Promise<PatientRegistration> {
    return this.submit('consent:RegisterPatient', patientPseudonym);
  }

  /** The calling patient registers his SM2 key (derived from his enrollment key), proving he holds it. */
  registerSm2Key(patientPseudonym: string): Promise<PatientRegistration> {
    if (!this.connection.sm2PublicKey) throw new Error('this connection has no SM2 key');
    const publicKey = this.connection.sm2PublicKey();
    return this.submit('consent:RegisterSm2Key', { patientPseudonym, publicKey, proof: this.connection.sign(sm2KeyPayload(patientPseudonym, publicKey), 'sm2-sm3') });
  }

  /** A pseudonym's registration (home hospital, when); NotFoundError when nobody registered it. */
  readPatient(patientPseudonym: string): Promise<PatientRegistration> {
    return this.evaluate('consent:ReadPatient', patientPseudonym);
  }

  /** The patient grants a consent condition (caller: the registered patient). */
  grantConsent(input: ConsentInput): Promise<Consent> {
    return this.submit('consent:GrantConsent', input);
  }

  /** The patient revokes a consent; it refuses every later request. */
  revokeConsent(consentId: string): Promise<Consent> {
    return this.submit('consent:RevokeConsent', consentId);
  }

  readConsent(consentId: string): Promise<Consent> {
    return this.evaluate('consent:ReadConsent', consentId);
  }

  listConsents(patientPseudonym: string, options: PageOptions = {}): Promise<ConsentPage> {
    return this.evaluate('consent:ListConsentsByPatient', patientPseudonym, ...ContractClient.page(options));
  }

  /**
   * Asks to use a record under a consent (caller: doctor or researcher). Resolves with the
   * log entry of the granted request; throws AccessDeniedError (after the denial is
   * committed to the log) when the consent does not authorize it.
   */
  async requestAccess(recordId: string, consentId: string, purpose: Purpose, link?: RecordLink): Promise<LogEntry> {
    return allowedOrThrow(await this.submitTransient('consent:RequestAccess', [recordId, consentId, purpose], { link }));
  }

  /**
   * Asks to use a record without a consent, under the rules of the areas the caller is in
   * (the consortium's defaults or the patient's own); the entry names the rule. Throws
   * AccessDeniedError (logged, with the rule) when none allows it.
   */
  async requestAreaAccess(recordId: string, purpose: Purpose, link?: RecordLink): Promise<LogEntry> {
    return allowedOrThrow(await this.submitTransient('consent:RequestAreaAccess', [recordId, purpose], { link }));
  }

  /** The patient sets his own rule for an area (no purposes: the area gets nothing); it replaces the consortium's default. */
  setAreaPolicy(policy: { patientPseudonym: string; area: string; purposes: Purpose[]; category?: string }): Promise<AreaPolicy> {
    return this.submit('consent:SetAreaPolicy', policy);
  }

  /** The patient removes his own rule for an area: its default applies again. */
  async clearAreaPolicy(patientPseudonym: string, area: string): Promise<boolean> {
    return (await this.submit('consent:ClearAreaPolicy', patientPseudonym, area)).cleared;
  }

  listAreaPolicies(patientPseudonym: string): Promise<AreaPolicy[]> {
    return this.evaluate('consent:ListAreaPolicies', patientPseudonym);
  }

  /** A delegatee asks to use a record through the grant he holds (re-delegation chains included). */
  async requestDelegatedAccess(recordId: string, grantId: string, purpose: Purpose, link?: RecordLink): Promise<LogEntry> {
    return allowedOrThrow(await this.submitTransient('consent:RequestDelegatedAccess', [recordId, grantId, purpose], { link }));
  }

  /** One access entry (for its requester, the proxies serving it, admins). */
  readAccessEntry(entryId: string): Promise<LogEntry> {
    return this.evaluate('consent:ReadAccessEntry', entryId);
  }

  /** The grants registered under a consent, a page at a time. */
  listGrants(consentId: string, options: PageOptions = {}): Promise<GrantPage> {
    return this.evaluate('consent:ListGrantsByConsent', consentId, ...ContractClient.page(options));
  }

  /** As confirmReceipt, without waiting for the commit (`committed` settles then). */
  confirmReceiptAsync(entryId: string): Promise<{ result: LogEntry; committed: Promise<void> }> {
    return this.submitAsync('consent:ConfirmReceipt', entryId);
  }

  /** Every grant registered under a consent. */
  allGrants(consentId: string): Promise<Registration[]> {
    return allPages((o) => this.listGrants(consentId, o), (p) => p.grants);
  }

  /** The patient's whole log: emergency overrides first, then everything else, newest first. */
  wholePatientLog(patientPseudonym: string): Promise<LogEntry[]> {
    return allPages((o) => this.patientLog(patientPseudonym, o), (p) => p.entries);
  }

  /** The requester confirms he decrypted what an allowed access gave him (logged as a receipt). */
  confirmReceipt(accessEntryId: string): Promise<LogEntry> {
    return this.submit('consent:ConfirmReceipt', accessEntryId);
  }

  /** An admin sets (or, with no approvals, removes) one category policy of his hospital. */
  setApprovalPolicy(policy: ApprovalPolicy): Promise<PolicySet> {
    return this.submit('consent:SetApprovalPolicy', policy);
  }

  readApprovalPolicies(mspId: string): Promise<PolicySet> {
    return this.evaluate('consent:ReadApprovalPolicies', mspId);
  }

  /** The home hospital's key centre attests what its policies require of a patient's blinded category. */
  attestBlindedReach(attestation: ReachAttestationInput): Promise<ReachAttestation> {
    return this.submit('consent:AttestBlindedReach', attestation);
  }

  /** A doctor or admin of the patient's hospital approves a pending consent. */
  approveConsent(consentId: string): Promise<Consent> {
    return this.submit('consent:ApproveConsent', consentId);
  }

  /** Registers a grant's public part: the patient for hop 1, the previous delegatee for a re-delegation. */
  registerGrant(input: RegistrationInput): Promise<Registration> {
    return this.submit('consent:RegisterGrant', input);
  }

  /** A grant's registration and whether it is usable now (consent active, not expired). */
  readGrant(grantId: string): Promise<{ registration: Registration; active: boolean }> {
    return this.evaluate('consent:ReadGrant', grantId);
  }

  /** Every registered grant (admins), a page at a time. */
  listEveryGrant(options: PageOptions = {}): Promise<GrantPage> {
    return this.evaluate('consent:ListGrants', ...ContractClient.page(options));
  }

  /** Every registered grant (admins), 100 a page. */
  everyGrant(): Promise<Registration[]> {
    return allPages((o) => this.listEveryGrant({ ...o, pageSize: 100 }), (p) => p.grants);
  }

  /** The grants of every consent of a patient (the patient, or an admin of his hospital). */
  async patientGrants(patientPseudonym: string): Promise<Registration[]> {
    const consents = await allPages((o) => this.listConsents(patientPseudonym, o), (p) => p.consents);
    return (await Promise.all(consents.map((c) => this.allGrants(c.consentId)))).flat();
  }

  /** Logs a leaked key in the patient's log (see EmrClient.traceLeakedGrantKey, traceLeakedDataKey). */
  reportKeyLeak(report: KeyLeakReport, link?: RecordLink): Promise<LogEntry> {
    return this.submitTransient('consent:ReportKeyLeak', [report], { link });
  }

  /** The patient's access log: emergency overrides first, then the rest; each newest first. */
  patientLog(patientPseudonym: string, options: PageOptions = {}): Promise<LogPage> {
    return this.evaluate('consent:ListPatientLog', patientPseudonym, ...ContractClient.page(options));
  }

  /** One record's whole log, newest first. */
  wholeRecordLog(recordId: string, link?: RecordLink): Promise<LogEntry[]> {
    return allPages((o) => this.recordLog(recordId, o, link), (p) => p.entries);
  }

  /** One record's access log, newest first. */
  recordLog(recordId: string, options: PageOptions = {}, link?: RecordLink): Promise<LogPage> {
    return this.evaluateTransient('consent:ListRecordLog', [recordId, ...ContractClient.page(options)], { link });
  }
}
