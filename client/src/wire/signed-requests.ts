/**
 * The signed-request format both ends share: requests signed with a member's Fabric
 * enrollment key, and answers sealed to a key of one request. The services verify it in
 * services/auth.ts.
 *
 * Each signed request carries a one-time nonce (a service refuses a repeat within the window)
 * and, when it asks for secret material, an ephemeral X25519 key the answer is sealed to
 * (sealReply/openReply): a replayed or overheard request yields nothing usable.
 */
import { createCipheriv, createDecipheriv, createHash, createPublicKey, diffieHellman, generateKeyPairSync, hkdfSync, randomBytes, type KeyObject } from 'node:crypto';

export interface RequestSigner {
  /** The caller's enrollment certificate (PEM). */
  certificate: string;
  /** ECDSA over SHA-256 with the enrollment key: DER, base64url. */
  sign(payload: string): string;
}

/** Requests older or newer than this are refused; their nonces are remembered twice as long. */
export const MAX_SKEW_MS = 60_000;

export const NONCE = /^[A-Za-z0-9_-]{22,64}$/; // base64url of 16-48 random bytes
export const REPLY_KEY = /^[A-Za-z0-9_-]{43}$/; // base64url of a raw X25519 public key

/**
 * What a request's signature covers. `target` is the URL the caller addresses, the service's
 * endpoint and the path, so a request signed for one service is refused by every other.
 */
export const requestPayload = (method: string, target: string, body: string, timestamp: string, nonce: string, replyKey: string) =>
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
    'x-emr-signature': signer.sign(requestPayload(method, target, body, timestamp, nonce, replyKey ?? '')),
  };
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
  const plain = Buffer.concat([decipher.update(ct.subarray(0, ct.length - 16)), decipher.final()]).toString('utf8');
  try {
    return JSON.parse(plain) as T;
  } catch {
    throw new Error('sealed reply is not JSON'); // not JSON.parse's message: it quotes the secret it failed on
  }
}
