/**
 * Re-encryption key registrations: the public part of a grant made under a consent. The
 * key material itself never reaches the chain; the registration names who delegates to
 * whom, for which type and condition, at which hop, through which proxies with which
 * threshold, and carries the Feldman commitments that let anyone check a proxy's fragment.
 * A registration is usable only while its consent is active (revocation needs no write here).
 */
import { decodeGrant, fromBase64url, toBase64url, verifyGrantAnchor, type GrantPublic } from '@emr/crypto';
import {
  ChaincodeError,
  ErrorCode,
  MAX_HOP_LIMIT,
  RECORD_TYPES,
  checkConsentId,
  checkEnrollmentId,
  checkGrantId,
  checkMspId,
  checkTime,
  distinctParties,
  encodeParty,
  groupOf,
  groupPartyOf,
  inCategory,
  isGroupParty,
  invalid,
  registrationActive,
  sameParty,
  type Caller,
  type Consent,
  type GrantPage,
  type Party,
  type RecordType,
  type Registration,
  type RegistrationInput,
} from '@emr/protocol';
import { encode, endorsedBy, found, indexPage, isObject, parseJsonObject, readJson, rejectUnknownFields, sha256Hex, type StateStore, type TxContext } from './ledger';
import { registryKey } from './proxies';

/**
 * The encoded grant must say what the registration says: same id, hop, delegatee, type,
 * condition (by hash), threshold and commitments. The chain then vouches for the
 * commitments that fragments are checked against.
 */
export function decodeRegisteredGrant(input: Pick<RegistrationInput, 'grantId' | 'hop' | 'delegatee' | 'type' | 'conditionHash' | 'threshold' | 'commitments' | 'grant'>): GrantPublic {
  let grant: GrantPublic;
  try {
    grant = decodeGrant(fromBase64url(input.grant, 'grant'));
  } catch (e) {
    throw invalid('grant', `is not an encoded grant: ${(e as Error).message}`);
  }
  const mismatch =
    grant.grantId !== input.grantId ? 'grantId'
    : grant.hop !== input.hop ? 'hop'
    : grant.delegatee !== encodeParty(input.delegatee) ? 'delegatee'
    : grant.slot.type !== input.type ? 'type'
    : sha256Hex(grant.slot.condition) !== input.conditionHash ? 'conditionHash'
    : grant.threshold !== input.threshold ? 'threshold'
    : grant.commitments.some((c, i) => toBase64url(c.toBytes()) !== input.commitments[i]) ? 'commitments'
    : null;
  if (mismatch) throw invalid(mismatch, 'differs from the encoded grant');
  return grant;
}

const REGISTRATION = 'emr.registration';
const BY_CONSENT = 'emr.registration~consent';
const MAX_GRANT_PROXIES = 16;
const B64URL = (max: number) => new RegExp(`^[A-Za-z0-9_-]{1,${max}}$`);

export function parseParty(raw: unknown, field: string): Party {
  if (!isObject(raw)) throw invalid(field, 'must be {mspId, enrollmentId}');
  rejectUnknownFields(raw, ['mspId', 'enrollmentId'], `${field}.`);
  return { mspId: checkMspId(raw.mspId, `${field}.mspId`), enrollmentId: checkEnrollmentId(typeof raw.enrollmentId === 'string' ? raw.enrollmentId : '', `${field}.enrollmentId`) };
}

/** An identity, or a group's party (groups.ts): `area:<name>`, `role:<role>` or `org:members` at an MSP. */
function parseDelegatee(raw: unknown): Party {
  if (isObject(raw) && typeof raw.enrollmentId === 'string' && raw.enrollmentId.includes(':')) {
    rejectUnknownFields(raw, ['mspId', 'enrollmentId'], 'delegatee.');
    const party = { mspId: checkMspId(raw.mspId, 'delegatee.mspId'), enrollmentId: raw.enrollmentId };
    if (!groupOf(party)) throw invalid('delegatee.enrollmentId', "must be an enrollment id, or a group's: area:<area>, role:<role> or org:members");
    return party;
  }
  return parseParty(raw, 'delegatee');
}

export function parseRegistrationInput(json: string): RegistrationInput {
  const raw = parseJsonObject(json, 'registration');
  rejectUnknownFields(raw, ['grantId', 'consentId', 'delegatee', 'type', 'conditionHash', 'hop', 'parentGrantId', 'proxies', 'threshold', 'commitments', 'grant', 'expiresAt']);
  const s = (f: string) => (typeof raw[f] === 'string' ? (raw[f] as string) : '');
  const grantId = checkGrantId(s('grantId'));
  const consentId = checkConsentId(s('consentId'));
  const delegatee = parseDelegatee(raw.delegatee);
  if (!(RECORD_TYPES as readonly unknown[]).includes(raw.type)) throw invalid('type', `must be one of ${RECORD_TYPES.join(', ')}`);
  if (!/^[0-9a-f]{64}$/.test(s('conditionHash'))) throw invalid('conditionHash', 'must be 64 lowercase hex characters');
  const hop = raw.hop;
  if (typeof hop !== 'number' || !Number.isSafeInteger(hop) || hop < 1 || hop > MAX_HOP_LIMIT) throw invalid('hop', `must be an integer from 1 to ${MAX_HOP_LIMIT}`);
  let parentGrantId: string | undefined;
  if (hop > 1) parentGrantId = checkGrantId(s('parentGrantId'), 'parentGrantId');
  else if (raw.parentGrantId !== undefined) throw invalid('parentGrantId', 'is only for a re-delegation (hop > 1)');
  if (!Array.isArray(raw.proxies) || raw.proxies.length < 1 || raw.proxies.length > MAX_GRANT_PROXIES) throw invalid('proxies', `must list 1 to ${MAX_GRANT_PROXIES} proxies`);
  const proxies = raw.proxies.map((p, i) => parseParty(p, `proxies[${i}]`));
  if (distinctParties(proxies) !== proxies.length) throw invalid('proxies', 'must not repeat a proxy');
  const threshold = raw.threshold;
  if (typeof threshold !== 'number' || !Number.isSafeInteger(threshold) || threshold < 1 || threshold > proxies.length) throw invalid('threshold', `must be an integer from 1 to the number of proxies (${proxies.length})`);
  if (!Array.isArray(raw.commitments) || raw.commitments.length !== threshold) throw invalid('commitments', `must list exactly threshold (${threshold}) commitments`);
  const commitments = raw.commitments.map((c, i) => {
    if (typeof c !== 'string' || !/^[A-Za-z0-9_-]{64}$/.test(c)) throw invalid(`commitments[${i}]`, 'must be a base64url compressed G1 point (64 characters)');
    return c;
  });
  if (!B64URL(8192).test(s('grant'))) throw invalid('grant', 'must be base64url, at most 8192 characters');
  const expiresAt = checkTime(s('expiresAt'), 'expiresAt');
  return {
    grantId,
    consentId,
    delegatee,
    type: raw.type as RecordType,
    conditionHash: s('conditionHash'),
    hop,
    ...(parentGrantId !== undefined ? { parentGrantId } : {}),
    proxies,
    threshold,
    commitments,
    grant: s('grant'),
    expiresAt,
  };
}

export class RegistrationStore {
  constructor(private readonly state: StateStore) {}

  async get(grantId: string): Promise<Registration | undefined> {
    return readJson<Registration>(this.state, REGISTRATION, [grantId]);
  }

  async require(grantId: string, field = 'grantId'): Promise<Registration> {
    return found(await this.get(grantId), field, `grant '${grantId}' is not registered`);
  }

  /** Every registered grant, a page at a time (tracing a leaked key). */
  async listAll(pageSize: number, bookmark: string): Promise<GrantPage> {
    const { items, bookmark: next } = await indexPage(this.state, REGISTRATION, [], pageSize, bookmark, (id) => this.require(id));
    return { grants: items, bookmark: next };
  }

  /** The grants registered under a consent, a page at a time. */
  async listByConsent(consentId: string, pageSize: number, bookmark: string): Promise<GrantPage> {
    const { items, bookmark: next } = await indexPage(this.state, BY_CONSENT, [consentId], pageSize, bookmark, (id) => this.require(id));
    return { grants: items, bookmark: next };
  }

  /**
   * Registers a grant under a consent. Hop 1: the caller is the consent's patient (checked by
   * the contract) and the delegatee must be the consent's grantee. Hop h > 1: the caller is
   * the delegatee of the active parent grant at hop h − 1, within the consent's hop limit.
   */
  async register(input: RegistrationInput, consent: Consent, elected: Party[], homeMsp: string, caller: Caller, tx: TxContext): Promise<Registration> {
    if (await this.get(input.grantId)) throw new ChaincodeError(ErrorCode.Conflict, `grant '${input.grantId}' is already registered`, 'grantId');
    if (consent.status === 'revoked') throw new ChaincodeError(ErrorCode.Conflict, `consent '${consent.consentId}' is revoked`, 'consentId');
    if (input.proxies.length !== elected.length || input.proxies.some((p, i) => !sameParty(p, elected[i]!))) {
      throw new ChaincodeError(ErrorCode.Conflict, `are not the proxies elected for this grant (${elected.map(registryKey).join(', ')}); the registry changed or the election was not run`, 'proxies');
    }
    const grant = decodeRegisteredGrant(input);
    if (Date.parse(input.expiresAt) > Date.parse(consent.validUntil)) throw invalid('expiresAt', `must not be after the consent's validUntil (${consent.validUntil})`);
    if (Date.parse(input.expiresAt) <= tx.timestamp.getTime()) throw invalid('expiresAt', 'must be in the future');
    if (consent.scope.type !== undefined && consent.scope.type !== input.type) throw invalid('type', `the consent covers ${consent.scope.type} records only`);
    // A grant on a category opens every record below it (ancestor capsules): it may reach no further than its consent.
    if (consent.scope.category !== undefined && !inCategory(grant.slot.condition, consent.scope.category)) {
      throw invalid('conditionHash', `the grant's category '${grant.slot.condition}' lies outside the consent's category '${consent.scope.category}'`);
    }
    if (input.hop > consent.hopLimit) throw invalid('hop', `the consent allows ${consent.hopLimit} hop(s)`);
    const delegator: Party = { mspId: caller.mspId, enrollmentId: caller.enrollmentId };
    if (input.hop === 1) {
      // An identity's grant is to him; a role's, org's or area's to the group's party, whose key its members get.
      const { grantee } = consent;
      const expected = grantee.kind === 'identity' ? { mspId: grantee.mspId, enrollmentId: grantee.enrollmentId } : groupPartyOf(grantee, homeMsp)!;
      if (!sameParty(input.delegatee, expected)) throw invalid('delegatee', `must be ${encodeParty(expected)}, the grantee of consent '${consent.consentId}'`);
    } else {
      const parent = await this.require(input.parentGrantId!, 'parentGrantId');
      if (parent.consentId !== consent.consentId) throw invalid('parentGrantId', 'belongs to another consent');
      if (parent.hop !== input.hop - 1) throw invalid('hop', `must be the parent's hop + 1 (${parent.hop + 1})`);
      if (isGroupParty(parent.delegatee)) throw invalid('parentGrantId', `grant '${parent.grantId}' is to a group (${encodeParty(parent.delegatee)}); a group's grant is not re-delegated`);
      if (!sameParty(parent.delegatee, delegator)) throw new ChaincodeError(ErrorCode.Unauthorized, `only the delegatee of grant '${parent.grantId}' may re-delegate it`, 'parentGrantId');
      if (!registrationActive(parent, consent, tx.timestamp)) throw new ChaincodeError(ErrorCode.Conflict, `grant '${parent.grantId}' has expired`, 'parentGrantId');
      if (parent.type !== input.type || parent.conditionHash !== input.conditionHash) throw invalid('conditionHash', 'a re-delegation keeps its parent\'s type and condition');
      // The delegatee checks its key against the anchor; the chain vouches that the anchor is the parent's times this grant's ρ.
      if (!verifyGrantAnchor(grant, decodeGrant(fromBase64url(parent.grant, 'grant')))) {
        throw invalid('grant', `its anchor is not grant '${parent.grantId}'s anchor times the ρ it commits to, so its delegatee could not check the key it is given`);
      }
    }
    const reg: Registration = { ...input, parentGrantId: input.parentGrantId ?? null, delegator, createdAt: tx.timestamp.toISOString(), txId: tx.txId };
    const key = this.state.createCompositeKey(REGISTRATION, [reg.grantId]);
    await this.state.putState(key, encode(reg));
    await endorsedBy(this.state, key, homeMsp);
    await this.state.putState(this.state.createCompositeKey(BY_CONSENT, [reg.consentId, reg.grantId]), Buffer.from([0]));
    return reg;
  }
}
