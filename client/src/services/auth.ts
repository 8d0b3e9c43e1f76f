/**
 * Requests signed with a member's Fabric enrollment key. The services (key centres, proxies)
 * learn who calls from the certificate, checked against the consortium's CA certificates,
 * never from what the caller claims: the enrollment id is the certificate's CN, the MSP is
 * the org whose CA issued it, the role is Fabric CA's `role` attribute in the certificate.
 *
 * Each signed request carries a one-time nonce (a service refuses a repeat within the window)
 * and, when it asks for secret material, an ephemeral X25519 key the answer is sealed to
 * (sealReply/openReply): a replayed or overheard request yields nothing usable.
 */
import { X509Certificate, createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, verify, type KeyObject } from 'node:crypto';
import type { Caller, Role } from '@emr/protocol';

export interface RequestSigner {
  /** The caller's enrollment certificate (PEM). */
  certificate: string;
  /** ECDSA over SHA-256 with the enrollment key: DER, base64url. */
  sign(payload: string): string;
}

/** Requests older or newer than this are refused; their nonces are remembered twice as long. */
export const MAX_SKEW_MS = 60_000;

const NONCE = /^[A-Za-z0-9_-]{22,64}$/; // base64url of 16-48 random bytes
const REPLY_KEY = /^[A-Za-z0-9_-]{43}$/; // base64url of a raw X25519 public key

/**
 * What a request's signature covers. `target` is the URL the caller addresses, the service's
 * endpoint and the path, so a request signed for one service is refused by every other.
 */
const payloadOf = (method: string, target: string, body: string, timestamp: string, nonce: string, replyKey: string) =>
  ['emr-request:v2', method.toUpperCase(), target, createHash('sha256').update(body).digest('hex'), timestamp, nonce, replyKey].join('\n');

/** Headers signing a request; `replyKey` (an X25519 public key, base64url) asks for a sealed answer. */
export function signedHeaders(signer: RequestSigner, method: string, target: string, body: string, replyKey?: string): Record<string, string> {
  const timestamp = new Date().toISOString();
  const nonce = randomBytes(18).toString('base64url');
  return {
    'x-emr-certificate': Buffer.from(signer.certificate).toString('base64url'),
    'x-emr-timestamp': timestamp,
    'x-emr-nonce': nonce,
    ...(replyKey ? { 'x-emr-reply-key': replyKey } : {}),
    'x-emr-signature': signer.sign(payloadOf(method, target, body, timestamp, nonce, replyKey ?? '')),
  };
}

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

/** Fabric CA writes the enrollment attributes as JSON in a certificate extension. */
function attributesOf(cert: X509Certificate): Record<string, string> {
  const raw = cert.raw.toString('latin1');
  const start = raw.indexOf('{"attrs":');
  if (start < 0) return {};
  let depth = 0;
  for (let i = start; i < raw.length; i++) {
    if (raw[i] === '{') depth++;
    else if (raw[i] === '}' && --depth === 0) return (JSON.parse(raw.slice(start, i + 1)) as { attrs: Record<string, string> }).attrs;
  }
  return {};
}

/** The org CAs a service trusts: MSP id → CA certificate. */
export type TrustedCas = Map<string, X509Certificate>;

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
  if (!verify('sha256', Buffer.from(payloadOf(method, target, body, timestamp, nonce, replyKey ?? '')), cert.publicKey, Buffer.from(h('x-emr-signature'), 'base64url'))) {
    throw new AuthenticationError('the request signature does not verify with the certificate');
  }
  const attrs = attributesOf(cert);
  const enrollmentId = attrs['hf.EnrollmentID'];
  if (!enrollmentId) throw new AuthenticationError('the certificate has no enrollment id');
  if (nonces && !nonces.use(nonce, now)) throw new AuthenticationError('this request was already received (replayed nonce)');
  return { caller: { mspId, enrollmentId, role: attrs.role as Role }, certificate: cert.toString(), nonce, ...(replyKey ? { replyKey } : {}) };
}

/** An answer sealed to the requester's ephemeral key: the service's ephemeral key, IV, ciphertext+tag. */
export interface SealedReply {
  epk: string;
  iv: string;
  ct: string;
}

const rawX25519 = (key: KeyObject) => key.export({ format: 'jwk' }).x!;
const x25519 = (raw: string) => createPublicKey({ key: { kty: 'OKP', crv: 'X25519', x: raw }, format: 'jwk' });

/** The AES key of a sealed reply: HKDF-SHA256 over the X25519 secret, bound to the request and both keys. */
function replyKeyOf(secret: Buffer, context: string, epk: string, replyKey: string): Buffer {
  const info = ['emr-sealed-reply:v1', context, epk, replyKey].join('\n');
  return Buffer.from(hkdfSync('sha256', secret, Buffer.alloc(0), info, 32));
}

/** The context a sealed reply is bound to: the signed request's method, path and nonce. */
export const replyContext = (method: string, path: string, nonce: string) => `${method.toUpperCase()} ${path} ${nonce}`;

/** Service side: encrypts `value` (JSON) to the requester's ephemeral X25519 key. */
export function sealReply(replyKey: string, context: string, value: unknown): SealedReply {
  const eph = generateKeyPairSync('x25519');
  const epk = rawX25519(eph.publicKey);
  const key = replyKeyOf(diffieHellman({ privateKey: eph.privateKey, publicKey: x25519(replyKey) }), context, epk, replyKey);
  const iv = randomBytes(12);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(Buffer.from(context));
  const ct = Buffer.concat([cipher.update(JSON.stringify(value), 'utf8'), cipher.final(), cipher.getAuthTag()]);
  return { epk, iv: iv.toString('base64url'), ct: ct.toString('base64url') };
}

/** Requester side: a fresh X25519 key pair for one request. */
export function newReplyKey(): { publicKey: string; privateKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('x25519');
  return { publicKey: rawX25519(publicKey), privateKey };
}

/** Requester side: opens a sealed reply (throws if it was not made for this request and key). */
export function openReply<T>(sealed: SealedReply, context: string, mine: { publicKey: string; privateKey: KeyObject }): T {
  const key = replyKeyOf(diffieHellman({ privateKey: mine.privateKey, publicKey: x25519(sealed.epk) }), context, sealed.epk, mine.publicKey);
  const ct = Buffer.from(sealed.ct, 'base64url');
  if (ct.length < 16) throw new Error('sealed reply is too short');
  const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(sealed.iv, 'base64url'));
  decipher.setAAD(Buffer.from(context));
  decipher.setAuthTag(ct.subarray(ct.length - 16));
  return JSON.parse(Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]).toString('utf8')) as T;
}
