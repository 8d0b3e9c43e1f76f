/**
 * Patient consent conditions: who may use which records, for what, when and how often.
 * Parsing and the store; the decision itself (`evaluateConsent`) is @emr/protocol's
 * consent-rules.ts, shared with the key centres.
 */
import {
  ChaincodeError,
  ErrorCode,
  MAX_ACCESSES,
  MAX_HOP_LIMIT,
  MAX_SCOPE_RECORDS,
  PURPOSES,
  RECORD_TYPES,
  ROLES,
  checkCategory,
  checkConsentId,
  checkEnrollmentId,
  checkMspId,
  checkPseudonym,
  checkRecordId,
  checkTime,
  invalid,
  isRole,
  isReservedConsentId,
  parseAreaKeysId,
  AREA_NAME,
  type Approval,
  type ApprovalRequirement,
  type Caller,
  type Consent,
  type ConsentInput,
  type ConsentPage,
  type ConsentScope,
  type Grantee,
  type Purpose,
  type RecordType,
} from '@emr/protocol';
import { encode, endorsedBy, found, indexPage, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';
import { approvalsSatisfy } from './policies';

function parseTime(obj: Record<string, unknown>, field: string): string {
  const v = obj[field];
  if (typeof v !== 'string') throw invalid(field, v === undefined ? 'is required' : 'must be an ISO-8601 time string');
  return checkTime(v, field);
}

function int(obj: Record<string, unknown>, field: string, min: number, max: number): number {
  const v = obj[field];
  if (typeof v !== 'number' || !Number.isSafeInteger(v) || v < min || v > max) throw invalid(field, `must be an integer from ${min} to ${max}`);
  return v;
}

export function parseGrantee(raw: unknown): Grantee {
  if (!isObject(raw)) throw invalid('grantee', 'must be an object with kind identity, role, org or area');
  const mspId = () => checkMspId(raw.mspId, 'grantee.mspId');
  switch (raw.kind) {
    case 'identity': {
      rejectUnknownFields(raw, ['kind', 'mspId', 'enrollmentId'], 'grantee.');
      const m = mspId();
      return { kind: 'identity', mspId: m, enrollmentId: checkEnrollmentId(typeof raw.enrollmentId === 'string' ? raw.enrollmentId : '', 'grantee.enrollmentId') };
    }
    case 'role': {
      rejectUnknownFields(raw, ['kind', 'mspId', 'role'], 'grantee.');
      const m = mspId();
      if (!isRole(raw.role)) throw invalid('grantee.role', `must be one of ${ROLES.join(', ')}`);
      return { kind: 'role', mspId: m, role: raw.role };
    }
    case 'org':
      rejectUnknownFields(raw, ['kind', 'mspId'], 'grantee.');
      return { kind: 'org', mspId: mspId() };
    case 'area':
      rejectUnknownFields(raw, ['kind', 'area'], 'grantee.');
      if (typeof raw.area !== 'string' || !AREA_NAME.test(raw.area)) throw invalid('grantee.area', 'must be an area name: 1-32 characters of a-z 0-9 - starting with a letter');
      return { kind: 'area', area: raw.area };
    default:
      throw invalid('grantee.kind', 'must be identity, role, org or area');
  }
}

function parseScope(raw: unknown): ConsentScope {
  if (!isObject(raw)) throw invalid('scope', 'must be an object');
  rejectUnknownFields(raw, ['recordIds', 'category', 'type'], 'scope.');
  const scope: ConsentScope = {};
  if (raw.recordIds !== undefined) {
    const ids = raw.recordIds;
    if (!Array.isArray(ids) || ids.length < 1 || ids.length > MAX_SCOPE_RECORDS) throw invalid('scope.recordIds', `must be a list of 1 to ${MAX_SCOPE_RECORDS} record ids`);
    scope.recordIds = ids.map((id, i) => checkRecordId(typeof id === 'string' ? id : '', `scope.recordIds[${i}]`));
    if (new Set(scope.recordIds).size !== ids.length) throw invalid('scope.recordIds', 'must not repeat a record id');
  }
  if (raw.category !== undefined) {
    scope.category = checkCategory(raw.category, 'scope.category');
  }
  if (raw.type !== undefined) {
    if (!(RECORD_TYPES as readonly unknown[]).includes(raw.type)) throw invalid('scope.type', `must be one of ${RECORD_TYPES.join(', ')}`);
    scope.type = raw.type as RecordType;
  }
  if (Object.keys(scope).length === 0) throw invalid('scope', 'must name record ids, a category or a type');
  return scope;
}

/** Parses and validates a consent; errors name the offending field. */
export function parseConsentInput(json: string): ConsentInput {
  const raw = parseJsonObject(json, 'consent');
  rejectUnknownFields(raw, ['consentId', 'patientPseudonym', 'grantee', 'scope', 'purpose', 'validFrom', 'validUntil', 'maxAccesses', 'hopLimit']);
  const consentId = checkConsentId(typeof raw.consentId === 'string' ? raw.consentId : '');
  if (isReservedConsentId(consentId)) throw invalid('consentId', "must not start with 'area-keys.': those ids name a patient's standing grants to an area");
  const patientPseudonym = checkPseudonym(typeof raw.patientPseudonym === 'string' ? raw.patientPseudonym : '');
  const grantee = parseGrantee(raw.grantee);
  const scope = parseScope(raw.scope);
  if (!(PURPOSES as readonly unknown[]).includes(raw.purpose)) throw invalid('purpose', `must be one of ${PURPOSES.join(', ')}`);
  const validFrom = parseTime(raw, 'validFrom');
  const validUntil = parseTime(raw, 'validUntil');
  if (Date.parse(validUntil) <= Date.parse(validFrom)) throw invalid('validUntil', 'must be after validFrom');
  return {
    consentId,
    patientPseudonym,
    grantee,
    scope,
    purpose: raw.purpose as Purpose,
    validFrom,
    validUntil,
    maxAccesses: int(raw, 'maxAccesses', 1, MAX_ACCESSES),
    hopLimit: int(raw, 'hopLimit', 1, MAX_HOP_LIMIT),
  };
}

/**
 * What a patient's standing grants to an area hang under (groups.ts areaKeysId): a consent in
 * all but storage, for the area, his sharable records, hop 1, active until each grant expires.
 * It allows no request by itself; the area's rules on chain do (RequestAreaAccess).
 */
export function standingConsent(consentId: string, standing: { area: string; patientPseudonym: string }): Consent {
  return {
    consentId,
    patientPseudonym: standing.patientPseudonym,
    grantee: { kind: 'area', area: standing.area },
    scope: { type: 'sharable' },
    purpose: 'treatment',
    validFrom: new Date(0).toISOString(),
    validUntil: '9999-12-31T23:59:59.999Z',
    maxAccesses: MAX_ACCESSES,
    hopLimit: 1,
    status: 'active',
    requiredApprovals: [],
    approvals: [],
    accessCount: 0,
    createdBy: standing.patientPseudonym,
    createdAt: new Date(0).toISOString(),
    txId: '',
    revokedAt: null,
    revokeTxId: null,
  };
}

const CONSENT = 'emr.consent';
const BY_PATIENT = 'emr.consent~patient';

/** Consents on the world state. Revocation changes the status; nothing is deleted. */
export class ConsentStore {
  constructor(private readonly state: StateStore) {}

  async get(consentId: string): Promise<Consent | undefined> {
    return readJson<Consent>(this.state, CONSENT, [consentId]);
  }

  async require(consentId: string): Promise<Consent> {
    return found(await this.get(consentId), 'consentId', `consent '${consentId}' does not exist`);
  }

  /** The consent grants hang under: a stored one, or the one standing for a patient's grants to an area (standingConsent). */
  async requireForGrants(consentId: string): Promise<Consent> {
    const standing = parseAreaKeysId(consentId);
    return standing ? standingConsent(consentId, standing) : this.require(consentId);
  }

  private put = (consent: Consent) => this.state.putState(this.state.createCompositeKey(CONSENT, [consent.consentId]), encode(consent));

  /**
   * Stores a new consent, `pending` when approvals are required. Every later write of it
   * (approval, use, revocation) needs the patient's home hospital's peer (state-based endorsement).
   */
  async create(input: ConsentInput, requiredApprovals: ApprovalRequirement[], homeMsp: string, caller: Caller, tx: TxContext): Promise<Consent> {
    if (await this.get(input.consentId)) throw new ChaincodeError(ErrorCode.Conflict, `consent '${input.consentId}' already exists`, 'consentId');
    const consent: Consent = {
      ...input,
      status: requiredApprovals.length ? 'pending' : 'active',
      requiredApprovals,
      approvals: [],
      accessCount: 0,
      createdBy: caller.enrollmentId,
      createdAt: tx.timestamp.toISOString(),
      txId: tx.txId,
      revokedAt: null,
      revokeTxId: null,
    };
    await this.put(consent);
    await endorsedBy(this.state, this.state.createCompositeKey(CONSENT, [input.consentId]), homeMsp);
    await this.state.putState(this.state.createCompositeKey(BY_PATIENT, [input.patientPseudonym, input.consentId]), Buffer.from([0]));
    return consent;
  }

  async revoke(consent: Consent, tx: TxContext): Promise<Consent> {
    if (consent.status === 'revoked') throw new ChaincodeError(ErrorCode.Conflict, `consent '${consent.consentId}' is already revoked`, 'consentId');
    const revoked: Consent = { ...consent, status: 'revoked', revokedAt: tx.timestamp.toISOString(), revokeTxId: tx.txId };
    await this.put(revoked);
    return revoked;
  }

  /**
   * One approval by a doctor or admin of the patient's home hospital (the contract checks
   * the org). Each identity approves once, only for a role still short; the consent becomes
   * active when every requirement is met.
   */
  async approve(consent: Consent, approver: Caller & { role: Approval['role'] }, tx: TxContext): Promise<Consent> {
    if (consent.status !== 'pending') throw new ChaincodeError(ErrorCode.Conflict, `consent '${consent.consentId}' is ${consent.status}, not awaiting approval`, 'consentId');
    if (tx.timestamp.getTime() >= Date.parse(consent.validUntil)) throw new ChaincodeError(ErrorCode.Conflict, `consent '${consent.consentId}' expired at ${consent.validUntil}`, 'consentId');
    if (consent.approvals.some((a) => a.mspId === approver.mspId && a.enrollmentId === approver.enrollmentId)) {
      throw new ChaincodeError(ErrorCode.Conflict, `'${approver.enrollmentId}' already approved consent '${consent.consentId}'`, 'consentId');
    }
    const need = consent.requiredApprovals.find((r) => r.role === approver.role);
    if (!need) throw new ChaincodeError(ErrorCode.Unauthorized, `the policy of consent '${consent.consentId}' asks no ${approver.role} for approval`, 'consentId');
    if (consent.approvals.filter((a) => a.role === approver.role).length >= need.count) {
      throw new ChaincodeError(ErrorCode.Conflict, `consent '${consent.consentId}' already has its ${need.count} ${approver.role} approval(s)`, 'consentId');
    }
    const approvals = [...consent.approvals, { mspId: approver.mspId, enrollmentId: approver.enrollmentId, role: approver.role, approvedAt: tx.timestamp.toISOString(), txId: tx.txId }];
    const approved: Consent = { ...consent, approvals, status: approvalsSatisfy(consent.requiredApprovals, approvals) ? 'active' : 'pending' };
    await this.put(approved);
    return approved;
  }

  /** Counts one granted access against maxAccesses. */
  async recordUse(consent: Consent): Promise<Consent> {
    const used = { ...consent, accessCount: consent.accessCount + 1 };
    await this.put(used);
    return used;
  }

  async listByPatient(patientPseudonym: string, pageSize: number, bookmark: string): Promise<ConsentPage> {
    const { items, bookmark: next } = await indexPage(this.state, BY_PATIENT, [patientPseudonym], pageSize, bookmark, (id) => this.require(id));
    return { consents: items, bookmark: next };
  }
}
