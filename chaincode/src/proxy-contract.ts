import { decodeCapsule, decodeFragment, decodeGrant, fromBase64url, verifyFragment, type Capsule } from '@emr/crypto';
import {
  accessGoesThrough,
  ChaincodeError,
  ErrorCode,
  isRecordPseudonym,
  canonicalJson,
  checkConsentId,
  checkEnrollmentId,
  checkEntryId,
  checkGrantId,
  checkMspId,
  encodeParty,
  fragmentSigningPayload,
  invalid,
  publicKeyPem,
  recordInScope,
  registrationActive,
  sameParty,
  signatureValid,
} from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { parseJsonObject, rejectUnknownFields, sha256Hex } from './ledger';
import { checkEndpoint, electProxies, electionSeed, registryKey } from './proxies';
import { parseParty } from './registrations';
import { checkSignature } from './records';
import { session } from './session';
import { checkSm2Key, sm2SignatureValid } from './sm2-keys';

const B64URL = /^[A-Za-z0-9_-]{1,16384}$/;

/**
 * The proxy registry: self-registration of a member's proxy, stake votes by member orgs,
 * the verifiable election of a grant's proxies, proven-fault reports that cost reputation,
 * and the proxies' re-encryption log entries.
 */
@Info({ title: 'ProxyContract', description: 'proxy registry, delegated stake, election, reputation, re-encryption log' })
export class ProxyContract extends BatchingContract {
  constructor() {
    super('proxy');
  }

  /** A proxy identity of a member org registers itself; its certificate key is kept. */
  @Transaction()
  @Returns('string')
  async RegisterProxy(ctx: Context, endpoint: string): Promise<string> {
    const s = session(ctx, 'proxy:RegisterProxy');
    checkEndpoint(endpoint);
    const proxy = await s.proxies.register(s.caller, endpoint, publicKeyPem(s.certificate()), s.tx);
    s.event('proxy.registered', { proxy: registryKey(proxy) });
    return canonicalJson(proxy);
  }

  /**
   * The registered proxy adds its SM2 key, for the fragments it signs for records of the SM
   * suite. Argument: JSON {publicKey (hex, uncompressed), proof (its SM2 signature over
   * sm2KeyPayload with the proxy as `proxy@MSP`)}.
   */
  @Transaction()
  @Returns('string')
  async RegisterSm2Key(ctx: Context, keyJson: string): Promise<string> {
    const s = session(ctx, 'proxy:RegisterSm2Key');
    const raw = parseJsonObject(keyJson, 'key');
    rejectUnknownFields(raw, ['publicKey', 'proof']);
    const publicKey = typeof raw.publicKey === 'string' ? raw.publicKey : '';
    checkSm2Key(encodeParty(s.caller), publicKey, checkSignature(raw.proof, 'proof'));
    return canonicalJson(await s.proxies.registerSm2Key(await s.proxies.require(s.caller), publicKey));
  }

  /** A member org's admin sets the org's stake on a proxy (0 withdraws it). */
  @Transaction()
  @Returns('string')
  async VoteStake(ctx: Context, mspId: string, enrollmentId: string, amount: string): Promise<string> {
    const s = session(ctx, 'proxy:VoteStake');
    const target = { mspId: checkMspId(mspId), enrollmentId: checkEnrollmentId(enrollmentId) };
    if (!/^\d{1,6}$/.test(amount)) throw invalid('amount', 'must be a non-negative integer');
    return canonicalJson(await s.proxies.vote(s.caller.mspId, target, Number(amount)));
  }

  @Transaction(false)
  @Returns('string')
  async ReadProxy(ctx: Context, mspId: string, enrollmentId: string): Promise<string> {
    const s = session(ctx, 'proxy:ReadProxy');
    return canonicalJson(await s.proxies.require({ mspId: checkMspId(mspId), enrollmentId: checkEnrollmentId(enrollmentId) }));
  }

  /** The whole registry (at most MAX_PROXIES), in key order. */
  @Transaction(false)
  @Returns('string')
  async ListProxies(ctx: Context): Promise<string> {
    const s = session(ctx, 'proxy:ListProxies');
    return canonicalJson(await s.proxies.all());
  }

  /** The n proxies a grant would get now; RegisterGrant repeats the draw and must agree. */
  @Transaction(false)
  @Returns('string')
  async ElectProxies(ctx: Context, grantId: string, consentId: string, n: string): Promise<string> {
    const s = session(ctx, 'proxy:ElectProxies');
    checkGrantId(grantId);
    checkConsentId(consentId);
    if (!/^\d{1,2}$/.test(n) || Number(n) < 1 || Number(n) > 16) throw invalid('n', 'must be an integer from 1 to 16');
    const seed = electionSeed(grantId, consentId);
    return canonicalJson({ seed, proxies: electProxies(await s.proxies.all(), seed, Number(n)) });
  }

  /**
   * Proof that a proxy misbehaved: a fragment it signed for a capsule that fails the proof
   * against the grant's commitments on chain (or does not decode, or claims another share).
   * Argument: JSON {grantId, proxy: {mspId, enrollmentId}, capsule, fragment, signature},
   * byte strings base64url.
   */
  @Transaction()
  @Returns('string')
  async ReportBadFragment(ctx: Context, reportJson: string): Promise<string> {
    const s = session(ctx, 'proxy:ReportBadFragment');
    const raw = parseJsonObject(reportJson, 'report');
    rejectUnknownFields(raw, ['grantId', 'proxy', 'capsule', 'fragment', 'signature']);
    const grantId = checkGrantId(typeof raw.grantId === 'string' ? raw.grantId : '');
    const party = parseParty(raw.proxy, 'proxy');
    const bytes = (field: 'capsule' | 'fragment') => {
      const v = raw[field];
      if (typeof v !== 'string' || !B64URL.test(v)) throw invalid(field, 'must be base64url bytes');
      return fromBase64url(v, field);
    };
    const capsuleBytes = bytes('capsule');
    const fragmentBytes = bytes('fragment');
    const signature = checkSignature(raw.signature);
    const reg = await s.grants.require(grantId);
    const position = reg.proxies.findIndex((p) => sameParty(p, party));
    if (position < 0) throw invalid('proxy', `is not a proxy of grant '${grantId}'`);
    const proxy = await s.proxies.require(party);
    const payload = fragmentSigningPayload({ grantId, capsuleSha256: sha256Hex(capsuleBytes), fragmentSha256: sha256Hex(fragmentBytes) });
    // Either of the proxy's keys: ECDSA with its certificate's, SM2 (fragments of SM-suite records) with the one it registered.
    if (!signatureValid(proxy.publicKey, payload, signature) && !sm2SignatureValid(proxy.sm2PublicKey, payload, signature)) {
      throw invalid('signature', "is not the proxy's signature over this capsule and fragment, so it proves nothing");
    }
    let capsule: Capsule;
    try {
      capsule = decodeCapsule(capsuleBytes);
    } catch (e) {
      throw invalid('capsule', `does not decode: ${(e as Error).message}`);
    }
    const fault = this.faultOf(capsule, decodeGrant(fromBase64url(reg.grant, 'grant')), fragmentBytes, BigInt(position + 1));
    if (!fault) throw invalid('fragment', "verifies against the grant's commitments; there is nothing to report");
    const penalized = await s.proxies.penalize(proxy, sha256Hex(payload));
    s.event('proxy.faulted', { proxy: registryKey(proxy), grantId, status: penalized.status });
    return canonicalJson({ proxy: penalized, fault });
  }

  /**
   * A proxy logs that it re-encrypted a record's capsule for an allowed access entry, under an
   * active grant it serves. Once per (entry, grant, proxy): a repeat returns the first log
   * entry, so a proxy may retry a submit whose outcome it did not learn.
   */
  @Transaction()
  @Returns('string')
  async LogReEncryption(ctx: Context, entryId: string, grantId: string): Promise<string> {
    const s = session(ctx, 'proxy:LogReEncryption');
    checkEntryId(entryId);
    checkGrantId(grantId);
    const reg = await s.grants.require(grantId);
    if (!reg.proxies.some((p) => sameParty(p, s.caller))) throw new ChaincodeError(ErrorCode.Unauthorized, `'${registryKey(s.caller)}' is not a proxy of grant '${grantId}'`, 'grantId');
    const access = await s.log.get(entryId);
    if (access.action !== 'access-request' || access.outcome !== 'success' || !access.recordId) throw invalid('entryId', 'is not an allowed access request');
    if (!(await accessGoesThrough(access, reg, async (id) => (await s.grants.require(id)).parentGrantId))) throw invalid('entryId', `does not go through grant '${grantId}'`);
    const consent = await s.consents.requireForGrants(reg.consentId);
    if (!registrationActive(reg, consent, s.tx.timestamp)) throw new ChaincodeError(ErrorCode.Conflict, `grant '${grantId}' is not active (consent ${consent.status}, or expired)`, 'grantId');
    // An unlinked record is the access entry's patient's: the chain checked the link when it allowed the entry.
    const stored = await s.records.require(access.recordId);
    const record = isRecordPseudonym(stored.patientPseudonym) ? { ...stored, patientPseudonym: access.patientPseudonym } : stored;
    if (record.erased) throw new ChaincodeError(ErrorCode.Conflict, `record '${record.recordId}' was erased`, 'recordId');
    if (!recordInScope(consent, record) || record.type !== reg.type) throw invalid('entryId', `its record is outside grant '${grantId}'`);
    const earlier = await s.log.servedBy(entryId, grantId, registryKey(s.caller));
    if (earlier) return canonicalJson(earlier);
    const entry = await s.log.append({ action: 're-encryption', outcome: 'success', reason: null, agent: s.caller, patientPseudonym: record.patientPseudonym, recordId: record.recordId, consentId: consent.consentId, accessEntryId: entryId, purpose: access.purpose });
    await s.log.markServed(entryId, grantId, registryKey(s.caller), entry.entryId);
    return canonicalJson(entry);
  }

  /** What is wrong with a signed fragment, or null when it is a good one. */
  private faultOf(capsule: Capsule, grant: ReturnType<typeof decodeGrant>, fragmentBytes: Uint8Array, index: bigint): string | null {
    try {
      const fragment = decodeFragment(fragmentBytes);
      if (fragment.index !== index) return `claims share ${fragment.index}, the proxy holds share ${index}`;
      return verifyFragment(capsule, grant, fragment) ? null : 'its proof fails against the commitments';
    } catch (e) {
      return `does not decode: ${(e as Error).message}`;
    }
  }
}
