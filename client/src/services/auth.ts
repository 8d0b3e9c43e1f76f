/**
 * The services' side of signed requests (the format is wire/signed-requests.ts). A service
 * learns who calls from the certificate, checked against the consortium's CA certificates,
 * never from what the caller claims: the enrollment id is the certificate's CN, the MSP is
 * the org whose CA issued it, the role is Fabric CA's `role` attribute in the certificate.
 */
import { X509Certificate, verify } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Caller, Role } from '@emr/protocol';
import { certificateAttributes } from '../fabric/certificates';
import type { ConnectionProfile } from '../fabric/profile';
import { MAX_SKEW_MS, NONCE, REPLY_KEY, requestPayload } from '../wire/signed-requests';

export class AuthenticationError extends Error {}
/** The replay memory is full (more signed requests in the window than it holds): retry later. */
export class ReplayCacheFullError extends Error {}

/**
 * Nonces seen within the window. A nonce is only accepted with a timestamp within ±MAX_SKEW_MS
 * of arrival, so remembering it for 2·MAX_SKEW_MS after arrival covers every replay; entries
 * expire in arrival order, so pruning is from the front. Bounded: when full, requests are
 * refused (503) rather than forgetting a nonce early.
 */
export class NonceCache {
  private readonly seen = new Map<string, number>();
  constructor(readonly max = 100_000) {}

  /** Records a nonce; false if it was seen within the window. */
  use(nonce: string, now = Date.now()): boolean {
    for (const [n, expires] of this.seen) {
      if (expires > now) break;
      this.seen.delete(n);
    }
    if (this.seen.has(nonce)) return false;
    if (this.seen.size >= this.max) throw new ReplayCacheFullError(`too many signed requests in the last ${(2 * MAX_SKEW_MS) / 1000} s; retry shortly`);
    this.seen.set(nonce, now + 2 * MAX_SKEW_MS);
    return true;
  }

  get size(): number {
    return this.seen.size;
  }
}

/** The org CAs a service trusts: MSP id → CA certificate. */
export type TrustedCas = Map<string, X509Certificate>;

/** The member orgs' CA certificates, by MSP id, from the connection profile. */
export const trustedCasOf = (profile: ConnectionProfile): TrustedCas => new Map(Object.values(profile.orgs).map((o) => [o.mspId, new X509Certificate(readFileSync(o.caCertPath))]));

/** A verified request: who signed it (from the certificate), with what certificate, nonce and reply key. */
export interface SignedRequest {
  caller: Caller;
  /** The signer's enrollment certificate, PEM (e.g. for its pseudonym). */
  certificate: string;
  nonce: string;
  /** The requester's ephemeral X25519 public key, if it asked for a sealed answer. */
  replyKey?: string;
}

/**
 * Checks a signed request; returns the caller established from the certificate. With
 * `nonces`, a nonce seen before is refused (checked after the signature, so nobody can burn
 * another caller's nonce).
 */
export function verifySigned(headers: Record<string, string | string[] | undefined>, method: string, target: string, body: string, trust: TrustedCas, now = Date.now(), nonces?: NonceCache): SignedRequest {
  const h = (name: string) => {
    const v = headers[name];
    if (typeof v !== 'string' || !v) throw new AuthenticationError(`missing ${name} header: sign the request with your enrollment key`);
    return v;
  };
  const certificate = h('x-emr-certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certificate, 'base64url'));
  } catch {
    throw new AuthenticationError('x-emr-certificate is not a certificate');
  }
  const timestamp = h('x-emr-timestamp');
  if (!(Math.abs(now - Date.parse(timestamp)) <= MAX_SKEW_MS)) throw new AuthenticationError(`request timestamp ${timestamp} is outside the ${MAX_SKEW_MS / 1000}-second window`);
  const nonce = h('x-emr-nonce');
  if (!NONCE.test(nonce)) throw new AuthenticationError('x-emr-nonce must be 16-48 random bytes, base64url');
  const replyKey = headers['x-emr-reply-key'];
  if (replyKey !== undefined && (typeof replyKey !== 'string' || !REPLY_KEY.test(replyKey))) throw new AuthenticationError('x-emr-reply-key must be an X25519 public key, base64url');
  const mspId = [...trust].find(([, ca]) => cert.checkIssued(ca) && cert.verify(ca.publicKey))?.[0];
  if (!mspId) throw new AuthenticationError('the certificate was not issued by a consortium CA');
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new AuthenticationError('the certificate is not valid now');
  if (!verify('sha256', Buffer.from(requestPayload(method, target, body, timestamp, nonce, replyKey ?? '')), cert.publicKey, Buffer.from(h('x-emr-signature'), 'base64url'))) {
    throw new AuthenticationError('the request signature does not verify with the certificate');
  }
  const attrs = certificateAttributes(cert);
  const enrollmentId = attrs['hf.EnrollmentID'];
  if (!enrollmentId) throw new AuthenticationError('the certificate has no enrollment id');
  if (nonces && !nonces.use(nonce, now)) throw new AuthenticationError('this request was already received (replayed nonce)');
  return { caller: { mspId, enrollmentId, role: attrs.role as Role }, certificate: cert.toString(), nonce, ...(replyKey ? { replyKey } : {}) };
}
