import {
  ChaincodeError,
  ErrorCode,
  PURPOSES,
  canonicalJson,
  checkConsentId,
  checkEntryId,
  checkGrantId,
  checkMspId,
  checkPseudonym,
  checkRecordId,
  encodeParty,
  evaluateAreaAccess,
  isBlindedCategory,
  isGroupParty,
  parseAreaKeysId,
  AREA_NAME,
  invalid,
  evaluateConsent,
  granteeMatches,
  type AreaMembership,
  type Decision,
  isRecordPseudonym,
  registrationActive,
  sameParty,
  type ApprovalRequirement,
  type ApproverRole,
  type Consent,
  type ConsentInput,
  type EmrRecord,
  type PolicySet,
  type Purpose,
} from '@emr/protocol';
import { decodeGrant, fromBase64url, verifyKeyPossession } from '@emr/crypto';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { parseConsentInput } from './consents';
import { parseAreaRule, requireArea, requireBlindedIfBlinding, requireCategory } from './consortium';
import type { PatientStore } from './patients';
import { checkSm2Key } from './sm2-keys';
import { KeyCentreStore } from './key-centres';
import { KeyLeakStore, decodeProof, parseKeyLeakReport } from './key-leaks';
import { parseApprovalPolicy, parseReachAttestation, requiredApprovals, type PolicyStore } from './policies';
import { electProxies, electionSeed, registryKey } from './proxies';
import { parseRegistrationInput } from './registrations';
import { parseJsonObject, rejectUnknownFields } from './ledger';
import { checkSignature, parsePageSize, type RecordStore } from './records';
import { session } from './session';

function checkPurpose(purpose: string): asserts purpose is Purpose {
  if (!(PURPOSES as readonly string[]).includes(purpose)) throw invalid('purpose', `must be one of ${PURPOSES.join(', ')}`);
}

/**
 * Patients, consents and their approvals, re-encryption key registrations, access requests,
 * receipts and the access log. Each transaction checks the caller's role first, then its
 * arguments, then ownership (which needs the state).
 */
@Info({ title: 'ConsentContract', description: 'patient registrations, consent conditions, approvals, grants, access requests, access logs' })
export class ConsentContract extends BatchingContract {
  constructor() {
    super('consent');
  }

  /**
   * A patient registers his pseudonym: the one derived from the key he signs this
   * transaction with (@emr/protocol's pseudonyms.ts), at his certificate's MSP, his home hospital.
   */
  @Transaction()
  @Returns('string')
  async RegisterPatient(ctx: Context, patientPseudonym: string): Promise<string> {
    const { caller, tx, patients, log } = session(ctx, 'consent:RegisterPatient');
    checkPseudonym(patientPseudonym);
    const registration = await patients.register(patientPseudonym, tx);
    await log.append({ action: 'patient-registration', outcome: 'success', reason: null, agent: caller, patientPseudonym, recordId: null, consentId: null, purpose: null });
    return canonicalJson(registration);
  }

  /**
   * The patient registers his SM2 public key, for his signatures on records of the SM suite.
   * Argument: JSON {patientPseudonym, publicKey (hex, uncompressed), proof (the key's SM2
   * signature over sm2KeyPayload, base64url DER)}.
   */
  @Transaction()
  @Returns('string')
  async RegisterSm2Key(ctx: Context, keyJson: string): Promise<string> {
    const { caller, patients, log } = session(ctx, 'consent:RegisterSm2Key');
    const raw = parseJsonObject(keyJson, 'key');
    rejectUnknownFields(raw, ['patientPseudonym', 'publicKey', 'proof']);
    const patientPseudonym = checkPseudonym(typeof raw.patientPseudonym === 'string' ? raw.patientPseudonym : '');
    const publicKey = typeof raw.publicKey === 'string' ? raw.publicKey : '';
    checkSm2Key(patientPseudonym, publicKey, checkSignature(raw.proof, 'proof'));
    const registration = await patients.requirePatient(patientPseudonym, 'register an SM2 key for this pseudonym');
    const updated = await patients.registerSm2Key(registration, publicKey);
    if (updated !== registration) await log.append({ action: 'sm2-key-registration', outcome: 'success', reason: null, agent: caller, patientPseudonym, recordId: null, consentId: null, purpose: null });
    return canonicalJson(updated);
  }

  /** A pseudonym's registration: home hospital and the hash binding it to one certificate subject (no PHI). */
  @Transaction(false)
  @Returns('string')
  async ReadPatient(ctx: Context, patientPseudonym: string): Promise<string> {
    const { patients } = session(ctx, 'consent:ReadPatient');
    return canonicalJson(await patients.require(checkPseudonym(patientPseudonym)));
  }

  /** The patient grants a consent condition. Argument: the consent input as JSON. */
  @Transaction()
  @Returns('string')
  async GrantConsent(ctx: Context, consentJson: string): Promise<string> {
    const { caller, tx, patients, consents, consortium, records, policies, directory, log, event } = session(ctx, 'consent:GrantConsent');
    const input = parseConsentInput(consentJson);
    const settings = await consortium.settings();
    if (input.scope.category !== undefined) requireCategory(settings, input.scope.category, 'scope.category');
    if (input.grantee.kind === 'area') requireArea(settings, input.grantee.area, 'grantee.area');
    const patient = await patients.requirePatient(input.patientPseudonym, 'grant consent over these records');
    await directory.requireGrantee(input.grantee);
    const reach = await this.categoriesReached(input, records);
    const policySet = await policies.get(patient.homeMsp);
    const required = reach !== 'all' && reach.some(isBlindedCategory) && policySet.policies.length > 0 ? await this.attestedApprovals(input, policySet, policies) : requiredApprovals(policySet.policies, reach);
    const consent = await consents.create(input, required, patient.homeMsp, caller, tx);
    await log.append({ action: 'consent-grant', outcome: 'success', reason: null, agent: caller, patientPseudonym: input.patientPseudonym, recordId: null, consentId: consent.consentId, purpose: consent.purpose });
    event('consent.granted', { consentId: consent.consentId, status: consent.status });
    return canonicalJson(consent);
  }

  /**
   * A blinded path cannot be matched against the policies' clear ones (docs/privacy.md): a
   * consent on a blinded category takes the approvals the home hospital's key centre attested
   * for it under the policies in force. Nothing else gets past a policy: a consent naming
   * records that reach a blinded category is refused.
   */
  private async attestedApprovals(input: ConsentInput, policySet: PolicySet, policies: PolicyStore): Promise<ApprovalRequirement[]> {
    const { category, recordIds } = input.scope;
    if (recordIds !== undefined || category === undefined) {
      throw invalid('scope.recordIds', `reaches a blinded category, which ${policySet.mspId}'s approval policies cannot be checked against; consent on the blinded category itself`);
    }
    const attested = await policies.attestation(input.patientPseudonym, category);
    if (!attested) throw invalid('scope.category', `is blinded, and ${policySet.mspId}'s key centre has not attested what its approval policies require of it (the SDK asks it first)`);
    if (attested.policiesTxId !== policySet.txId) throw new ChaincodeError(ErrorCode.Conflict, `${policySet.mspId}'s approval policies changed after its key centre attested this blinded category; attest again`, 'scope.category');
    return attested.requiredApprovals;
  }

  /**
   * The home hospital's key centre attests what its approval policies require of a consent on
   * a patient's blinded category (it alone can unblind it). Argument: ReachAttestationInput as JSON.
   */
  @Transaction()
  @Returns('string')
  async AttestBlindedReach(ctx: Context, attestationJson: string): Promise<string> {
    const { caller, tx, patients, policies } = session(ctx, 'consent:AttestBlindedReach');
    const input = parseReachAttestation(attestationJson);
    const patient = await patients.require(input.patientPseudonym);
    if (caller.mspId !== patient.homeMsp) throw new ChaincodeError(ErrorCode.Unauthorized, `only ${patient.homeMsp}'s key centre, the patient's hospital's, attests his categories`, 'patientPseudonym');
    const current = await policies.get(patient.homeMsp);
    if (current.txId !== input.policiesTxId) throw new ChaincodeError(ErrorCode.Conflict, `${patient.homeMsp}'s approval policies are those of ${current.txId || 'no transaction (none set)'}, not ${input.policiesTxId}`, 'policiesTxId');
    return canonicalJson(await policies.attest(input, caller, tx));
  }

  /** The patient revokes a consent; every later transaction sees it revoked. */
  @Transaction()
  @Returns('string')
  async RevokeConsent(ctx: Context, consentId: string): Promise<string> {
    const { caller, tx, patients, consents, log, event } = session(ctx, 'consent:RevokeConsent');
    checkConsentId(consentId);
    const consent = await consents.require(consentId);
    await patients.requirePatient(consent.patientPseudonym, 'revoke this consent');
    const revoked = await consents.revoke(consent, tx);
    await log.append({ action: 'consent-revoke', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId, purpose: consent.purpose });
    event('consent.revoked', { consentId });
    return canonicalJson(revoked);
  }

  /** Readable by the patient, an admin of the patient's hospital, the grantee, and proxies. */
  @Transaction(false)
  @Returns('string')
  async ReadConsent(ctx: Context, consentId: string): Promise<string> {
    const s = session(ctx, 'consent:ReadConsent');
    const { caller, patients, consents } = s;
    checkConsentId(consentId);
    const consent = await consents.require(consentId);
    const registration = await patients.require(consent.patientPseudonym);
    const areas = consent.grantee.kind === 'area' ? await this.areaMembership(s, registration.homeMsp) : undefined;
    if (!(caller.role === 'proxy' || granteeMatches(consent.grantee, caller, areas) || patients.isPatientOrHomeAdmin(registration) || patients.isHomeKeyCentre(registration))) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `'${caller.enrollmentId}' (${caller.mspId}) is neither the patient, the patient's hospital's admin or key centre, the grantee nor a proxy`, 'consentId');
    }
    return canonicalJson(consent);
  }

  @Transaction(false)
  @Returns('string')
  async ListConsentsByPatient(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { patients, consents } = session(ctx, 'consent:ListConsentsByPatient');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(pageSize);
    await this.requirePatientOrHomeAdmin(patients, patientPseudonym);
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
    const s = session(ctx, 'consent:RequestAccess');
    checkRecordId(recordId);
    checkConsentId(consentId);
    checkPurpose(purpose);
    const record = s.asPatients(await s.records.require(recordId));
    const consent = await s.consents.require(consentId);
    const areas = consent.grantee.kind === 'area' ? await this.areaMembership(s, (await s.patients.require(consent.patientPseudonym)).homeMsp) : undefined;
    const decision = evaluateConsent(consent, { requester: s.caller, record, purpose, at: s.tx.timestamp, hop: 1, ...(areas ? { areas } : {}) });
    return this.logRequest(s, decision, record, consent, purpose, undefined, consent.grantee.kind === 'area' ? `${consent.grantee.area}:consent` : undefined);
  }

  /**
   * A doctor or researcher asks to use a record without a consent, under the rules of the
   * areas he is in (the consortium's defaults, or the patient's own rules that replace them;
   * docs/chaincode.md). Decided by the pure evaluateAreaAccess and logged either way with the
   * rule that allowed or denied it.
   */
  @Transaction()
  @Returns('string')
  async RequestAreaAccess(ctx: Context, recordId: string, purpose: string): Promise<string> {
    const s = session(ctx, 'consent:RequestAreaAccess');
    checkRecordId(recordId);
    checkPurpose(purpose);
    const record = s.asPatients(await s.records.require(recordId));
    const { homeMsp } = await s.patients.require(record.patientPseudonym);
    const settings = await s.consortium.settings();
    const policies = await s.areaPolicies.list(record.patientPseudonym);
    const decision = evaluateAreaAccess({ areas: settings.areas, defaults: settings.areaDefaults, policies, members: settings.members, homeMsp }, s.caller, record, purpose);
    return this.logAccess(s, decision, record, purpose, { consentId: null, ...(decision.rule ? { areaRule: decision.rule } : {}) });
  }

  /**
   * The patient sets his own rule for an area, replacing the consortium's default for it.
   * Argument: JSON {patientPseudonym, area, purposes (none: the area gets nothing), category?}.
   */
  @Transaction()
  @Returns('string')
  async SetAreaPolicy(ctx: Context, policyJson: string): Promise<string> {
    const s = session(ctx, 'consent:SetAreaPolicy');
    const raw = parseJsonObject(policyJson, 'policy');
    rejectUnknownFields(raw, ['patientPseudonym', 'area', 'purposes', 'category']);
    const patientPseudonym = checkPseudonym(typeof raw.patientPseudonym === 'string' ? raw.patientPseudonym : '');
    if (typeof raw.area !== 'string' || !AREA_NAME.test(raw.area)) throw invalid('area', 'must be an area name: 1-32 characters of a-z 0-9 - starting with a letter');
    const settings = await s.consortium.settings();
    requireArea(settings, raw.area, 'area');
    const rule = parseAreaRule(raw, '', settings.categories, true);
    if (rule.category !== undefined) requireBlindedIfBlinding(settings, rule.category, 'category');
    await s.patients.requirePatient(patientPseudonym, 'set his own area rules');
    const policy = await s.areaPolicies.set({ patientPseudonym, area: raw.area, ...rule }, s.tx);
    await s.log.append({ action: 'area-policy', outcome: 'success', reason: null, agent: s.caller, patientPseudonym, recordId: null, consentId: null, areaRule: `${raw.area}:patient`, purpose: null });
    return canonicalJson(policy);
  }

  /** The patient removes his own rule for an area: the consortium's default applies again. */
  @Transaction()
  @Returns('string')
  async ClearAreaPolicy(ctx: Context, patientPseudonym: string, area: string): Promise<string> {
    const s = session(ctx, 'consent:ClearAreaPolicy');
    checkPseudonym(patientPseudonym);
    if (!AREA_NAME.test(area)) throw invalid('area', 'must be an area name: 1-32 characters of a-z 0-9 - starting with a letter');
    await s.patients.requirePatient(patientPseudonym, 'clear his own area rules');
    const cleared = await s.areaPolicies.clear(patientPseudonym, area);
    if (cleared) await s.log.append({ action: 'area-policy', outcome: 'success', reason: null, agent: s.caller, patientPseudonym, recordId: null, consentId: null, areaRule: `${area}:default`, purpose: null });
    return canonicalJson({ cleared });
  }

  /** The patient's own area rules: for him, or an admin of his home hospital. */
  @Transaction(false)
  @Returns('string')
  async ListAreaPolicies(ctx: Context, patientPseudonym: string): Promise<string> {
    const s = session(ctx, 'consent:ListAreaPolicies');
    checkPseudonym(patientPseudonym);
    if (s.caller.role === 'kgc') {
      if (!s.patients.isHomeKeyCentre(await s.patients.require(patientPseudonym))) throw new ChaincodeError(ErrorCode.Unauthorized, "only the patient's hospital's key centre reads his area rules", 'patientPseudonym');
    } else await this.requirePatientOrHomeAdmin(s.patients, patientPseudonym);
    return canonicalJson(await s.areaPolicies.list(patientPseudonym));
  }

  /** The consortium's areas as they apply to a patient of `homeMsp`. */
  private async areaMembership(s: ReturnType<typeof session>, homeMsp: string): Promise<AreaMembership> {
    const { areas, members } = await s.consortium.settings();
    return { areas, members, homeMsp };
  }

  /**
   * A delegatee asks to use a record through the grant he holds (a re-delegation, hop ≥ 2,
   * or his own hop-1 grant). Decided like RequestAccess at the grant's hop, logged either
   * way with the grant; the proxies of every grant up the chain serve the entry.
   */
  @Transaction()
  @Returns('string')
  async RequestDelegatedAccess(ctx: Context, recordId: string, grantId: string, purpose: string): Promise<string> {
    const s = session(ctx, 'consent:RequestDelegatedAccess');
    checkRecordId(recordId);
    checkGrantId(grantId);
    checkPurpose(purpose);
    const record = s.asPatients(await s.records.require(recordId));
    const reg = await s.grants.require(grantId);
    if (!sameParty(reg.delegatee, s.caller)) throw new ChaincodeError(ErrorCode.Unauthorized, `grant '${grantId}' is for ${registryKey(reg.delegatee)}${isGroupParty(reg.delegatee) ? ' (a group: its members request under its consent, or by area)' : ''}`, 'grantId');
    const consent = await s.consents.requireForGrants(reg.consentId);
    let decision = evaluateConsent(consent, { requester: s.caller, record, purpose, at: s.tx.timestamp, hop: reg.hop });
    if (decision.allow && s.tx.timestamp.getTime() >= Date.parse(reg.expiresAt)) decision = { allow: false, reason: 'expired', detail: `grant '${grantId}' expired at ${reg.expiresAt}` };
    if (decision.allow && record.type !== reg.type) decision = { allow: false, reason: 'out-of-scope', detail: `grant '${grantId}' is for ${reg.type} records` };
    return this.logRequest(s, decision, record, consent, purpose, grantId);
  }

  /** Logs a request under a consent either way; an allowed one counts against the consent's maximum. */
  private async logRequest(s: ReturnType<typeof session>, decision: Decision, record: EmrRecord, consent: Consent, purpose: Purpose, grantId?: string, areaRule?: string): Promise<string> {
    if (decision.allow) await s.consents.recordUse(consent);
    return this.logAccess(s, decision, record, purpose, { consentId: consent.consentId, ...(grantId ? { grantId } : {}), ...(areaRule ? { areaRule } : {}) });
  }

  /** Logs an access request either way, with what decided it; emits `access.requested` for the proxies. */
  private async logAccess(s: ReturnType<typeof session>, decision: Decision, record: EmrRecord, purpose: Purpose, by: { consentId: string | null; grantId?: string; areaRule?: string }): Promise<string> {
    const { recordId } = record;
    const entry = await s.log.append({
      action: 'access-request',
      outcome: decision.allow ? 'success' : 'denied',
      reason: decision.allow ? null : decision.reason,
      agent: s.caller,
      patientPseudonym: record.patientPseudonym,
      recordId,
      ...by,
      purpose,
    });
    s.event('access.requested', { entryId: entry.entryId, recordId, ...(by.consentId ? { consentId: by.consentId } : {}), ...(by.grantId ? { grantId: by.grantId } : {}), ...(by.areaRule ? { areaRule: by.areaRule } : {}), outcome: entry.outcome });
    return canonicalJson({ entry, detail: decision.allow ? null : decision.detail });
  }

  /** One access entry: for the proxies that serve it, its requester, and admins. */
  @Transaction(false)
  @Returns('string')
  async ReadAccessEntry(ctx: Context, entryId: string): Promise<string> {
    const { caller, log } = session(ctx, 'consent:ReadAccessEntry');
    checkEntryId(entryId);
    const entry = await log.get(entryId);
    if (entry.action !== 'access-request') throw invalid('entryId', 'must name an access request');
    if ((caller.role === 'doctor' || caller.role === 'researcher') && !sameParty(entry.agent, caller)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, 'only the requester, proxies and admins read an access entry', 'entryId');
    }
    return canonicalJson(entry);
  }

  /** The grants registered under a consent, a page at a time (the proxies resolve requests with it). */
  @Transaction(false)
  @Returns('string')
  async ListGrantsByConsent(ctx: Context, consentId: string, pageSize: string, bookmark: string): Promise<string> {
    const { consents, grants } = session(ctx, 'consent:ListGrantsByConsent');
    checkConsentId(consentId);
    const size = parsePageSize(pageSize);
    await consents.requireForGrants(consentId);
    return canonicalJson(await grants.listByConsent(consentId, size, bookmark));
  }

  /**
   * Registers the public part of a re-encryption key made under a consent: by the patient
   * for hop 1, by the previous delegatee for a re-delegation within the hop limit.
   */
  @Transaction()
  @Returns('string')
  async RegisterGrant(ctx: Context, registrationJson: string): Promise<string> {
    const { caller, tx, patients, consents, grants, proxies, directory, consortium, log, event } = session(ctx, 'consent:RegisterGrant');
    const input = parseRegistrationInput(registrationJson);
    const consent = await consents.requireForGrants(input.consentId);
    const standing = parseAreaKeysId(input.consentId);
    if (standing) requireArea(await consortium.settings(), standing.area, 'consentId');
    const patient = input.hop === 1 ? await patients.requirePatient(consent.patientPseudonym, 'register a grant under this consent') : await patients.require(consent.patientPseudonym);
    if (!isGroupParty(input.delegatee)) await directory.requireRequester(input.delegatee, 'delegatee');
    const elected = electProxies(await proxies.all(), electionSeed(input.grantId, input.consentId), input.proxies.length);
    const reg = await grants.register(input, consent, elected, patient.homeMsp, caller, tx);
    await log.append({ action: 'grant-registration', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId: consent.consentId, purpose: standing ? null : consent.purpose });
    event('grant.registered', { grantId: reg.grantId, consentId: reg.consentId });
    return canonicalJson(reg);
  }

  /** An admin sets (or, with no approvals, removes) one category policy of his hospital. */
  @Transaction()
  @Returns('string')
  async SetApprovalPolicy(ctx: Context, policyJson: string): Promise<string> {
    const { caller, tx, policies } = session(ctx, 'consent:SetApprovalPolicy');
    const policy = parseApprovalPolicy(policyJson);
    return canonicalJson(await policies.set(caller.mspId, policy, caller.enrollmentId, tx));
  }

  @Transaction(false)
  @Returns('string')
  async ReadApprovalPolicies(ctx: Context, mspId: string): Promise<string> {
    const { policies } = session(ctx, 'consent:ReadApprovalPolicies');
    return canonicalJson(await policies.get(checkMspId(mspId)));
  }

  /** A doctor or admin of the patient's home hospital approves a pending consent. */
  @Transaction()
  @Returns('string')
  async ApproveConsent(ctx: Context, consentId: string): Promise<string> {
    const { caller, tx, patients, consents, log, event } = session(ctx, 'consent:ApproveConsent');
    checkConsentId(consentId);
    const consent = await consents.require(consentId);
    const patient = await patients.require(consent.patientPseudonym);
    if (caller.mspId !== patient.homeMsp) throw new ChaincodeError(ErrorCode.Unauthorized, `only ${patient.homeMsp}, the patient's hospital, approves this consent`, 'consentId');
    const approved = await consents.approve(consent, { ...caller, role: caller.role as ApproverRole }, tx);
    await log.append({ action: 'consent-approval', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId, purpose: consent.purpose });
    event('consent.approved', { consentId, status: approved.status });
    return canonicalJson(approved);
  }

  /** The requester confirms he decrypted what an allowed access request gave him. */
  @Transaction()
  @Returns('string')
  async ConfirmReceipt(ctx: Context, entryId: string): Promise<string> {
    const { caller, log } = session(ctx, 'consent:ConfirmReceipt');
    checkEntryId(entryId);
    const access = await log.get(entryId);
    if (access.action !== 'access-request' || access.outcome !== 'success') throw invalid('entryId', 'must name an allowed access request');
    if (!sameParty(access.agent, caller)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, 'only the requester confirms receipt of his access', 'entryId');
    }
    await log.markReceipt(entryId);
    const { patientPseudonym, recordId, consentId, emergencyId, purpose } = access;
    const receipt = await log.append({ action: 'receipt', outcome: 'success', reason: null, agent: caller, patientPseudonym, recordId, consentId, purpose, ...(emergencyId ? { emergencyId } : {}) });
    return canonicalJson(receipt);
  }

  /** A registration with whether it is usable now (its consent active, neither expired). */
  @Transaction(false)
  @Returns('string')
  async ReadGrant(ctx: Context, grantId: string): Promise<string> {
    const { tx, consents, grants } = session(ctx, 'consent:ReadGrant');
    checkGrantId(grantId);
    const reg = await grants.require(grantId);
    const consent = await consents.requireForGrants(reg.consentId);
    return canonicalJson({ registration: reg, active: registrationActive(reg, consent, tx.timestamp) });
  }

  /** Every registered grant, a page at a time: an admin traces a leaked key against all of them. */
  @Transaction(false)
  @Returns('string')
  async ListGrants(ctx: Context, pageSize: string, bookmark: string): Promise<string> {
    const { grants } = session(ctx, 'consent:ListGrants');
    return canonicalJson(await grants.listAll(parsePageSize(pageSize), bookmark));
  }

  /**
   * Logs a leaked key in the patient's log (docs/crypto.md, "Tracing a leaked key"). A grant
   * key: anyone who holds it proves so (a proof of possession bound to him, checked against
   * the grant's anchor and the agreed mpk), and the entry names the grant, its delegatee,
   * delegator, hop and consent. A record's data key cannot be checked on chain: only the
   * record's patient or an admin of its hospital reports it, and the entry says unproven.
   */
  @Transaction()
  @Returns('string')
  async ReportKeyLeak(ctx: Context, reportJson: string): Promise<string> {
    const { caller, tx, stub, patients, consents, records, grants, log, event, asPatients } = session(ctx, 'consent:ReportKeyLeak');
    const report = parseKeyLeakReport(reportJson);
    const leaks = new KeyLeakStore(stub);
    if (report.kind === 'grant-key') {
      const proof = decodeProof(report.proof);
      const reg = await grants.require(report.grantId);
      const consent = await consents.requireForGrants(reg.consentId);
      const params = await new KeyCentreStore(stub).agreedParams('grantId');
      if (!verifyKeyPossession(params, decodeGrant(fromBase64url(reg.grant, 'grant')), proof, encodeParty(caller))) {
        throw invalid('proof', `does not prove that ${encodeParty(caller)} holds the key of grant '${report.grantId}'`);
      }
      await leaks.mark('grant-key', report.grantId, 'grantId', tx);
      const leak = { kind: 'grant-key' as const, proven: true, delegatee: reg.delegatee, delegator: reg.delegator, hop: reg.hop };
      const entry = await log.append({ action: 'key-leak', outcome: 'success', reason: null, agent: caller, patientPseudonym: consent.patientPseudonym, recordId: null, consentId: consent.consentId, grantId: reg.grantId, purpose: consent.purpose, leak });
      event('key.leaked', { entryId: entry.entryId, grantId: reg.grantId, consentId: consent.consentId });
      return canonicalJson(entry);
    }
    const stored = await records.require(report.recordId);
    const ownerAdmin = caller.role === 'admin' && caller.mspId === stored.ownerMsp;
    const record = ownerAdmin ? stored : asPatients(stored);
    const registration = await patients.get(record.patientPseudonym);
    if (!((registration && patients.isPatient(registration)) || ownerAdmin)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the record's patient or an admin of ${record.ownerMsp} reports its data key leaked`, 'recordId');
    }
    await leaks.mark('data-key', record.recordId, 'recordId', tx);
    const entry = await log.append({ action: 'key-leak', outcome: 'success', reason: null, agent: caller, patientPseudonym: record.patientPseudonym, recordId: record.recordId, consentId: null, purpose: null, leak: { kind: 'data-key', proven: false } });
    event('key.leaked', { entryId: entry.entryId, recordId: record.recordId });
    return canonicalJson(entry);
  }

  /** The patient's log, newest first. */
  @Transaction(false)
  @Returns('string')
  async ListPatientLog(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { patients, log } = session(ctx, 'consent:ListPatientLog');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(pageSize);
    await this.requirePatientOrHomeAdmin(patients, patientPseudonym);
    return canonicalJson(await log.listByPatient(patientPseudonym, size, bookmark));
  }

  /** One record's log, newest first: for its patient, or an admin of the hospital that owns it. */
  @Transaction(false)
  @Returns('string')
  async ListRecordLog(ctx: Context, recordId: string, pageSize: string, bookmark: string): Promise<string> {
    const { caller, patients, records, log, asPatients } = session(ctx, 'consent:ListRecordLog');
    checkRecordId(recordId);
    const size = parsePageSize(pageSize);
    const stored = await records.require(recordId);
    const ownerAdmin = caller.role === 'admin' && caller.mspId === stored.ownerMsp;
    const registration = ownerAdmin ? undefined : await patients.get(asPatients(stored).patientPseudonym);
    const allowed = (registration && patients.isPatient(registration)) || ownerAdmin;
    if (!allowed) throw new ChaincodeError(ErrorCode.Unauthorized, `only the record's patient or an admin of ${stored.ownerMsp} may read its log`, 'recordId');
    return canonicalJson(await log.listByRecord(recordId, size, bookmark));
  }

  /**
   * The categories a consent can reach, to pick the approval policies: its category, or the
   * categories of the records it names (which must exist and be the patient's), else all.
   */
  private async categoriesReached(input: ConsentInput, records: RecordStore): Promise<string[] | 'all'> {
    if (input.scope.category !== undefined) return [input.scope.category];
    if (input.scope.recordIds === undefined) return 'all';
    const categories: string[] = [];
    for (const [i, id] of input.scope.recordIds.entries()) {
      const record = await records.get(id);
      if (!record) throw new ChaincodeError(ErrorCode.NotFound, `record '${id}' does not exist`, `scope.recordIds[${i}]`);
      if (isRecordPseudonym(record.patientPseudonym)) throw invalid(`scope.recordIds[${i}]`, 'names an unlinked record: a consent reaches unlinked records through its category, so that it names none of them');
      if (record.patientPseudonym !== input.patientPseudonym) throw invalid(`scope.recordIds[${i}]`, "names another patient's record");
      categories.push(record.category);
    }
    return categories;
  }

  private async requirePatientOrHomeAdmin(patients: PatientStore, patientPseudonym: string): Promise<void> {
    const registration = await patients.require(patientPseudonym);
    if (!patients.isPatientOrHomeAdmin(registration)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `only the patient or an admin of the patient's hospital may list this`, 'patientPseudonym');
    }
  }
}
