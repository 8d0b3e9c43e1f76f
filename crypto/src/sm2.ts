/**
 * SM2 digital signatures (GB/T 32918.2-2016) with the SM3 hash (GB/T 32905-2016) and the
 * signer's user-ID digest Z (the "distinguishing identifier", default 1234567812345678 as in
 * GM/T 0009), over the recommended curve of GB/T 32918.5. The curve arithmetic is noble's;
 * SM3 is Node's (OpenSSL). Signatures are encoded as GM/T 0009's DER SEQUENCE { r, s }.
 *
 * Names follow the standard: d the private key, P = [d]G the public key, Z = SM3(ENTL ‖ ID ‖
 * a ‖ b ‖ xG ‖ yG ‖ xP ‖ yP), e = SM3(Z ‖ M), r = (e + x1) mod n, s = (1 + d)⁻¹ (k − r·d) mod n.
 *
 * Node's `crypto.sign('sm3', …)` with an SM2 key is not this: it leaves out Z.
 */
import { DER } from '@noble/curves/abstract/der.js';
import { weierstrass, type WeierstrassOpts, type WeierstrassPoint, type WeierstrassPointCons } from '@noble/curves/abstract/weierstrass.js';
import { createHash, createHmac, randomBytes } from 'node:crypto';

/** The default distinguishing identifier (GM/T 0009-2012). */
export const SM2_DEFAULT_ID = '1234567812345678';

/** The recommended 256-bit curve, GB/T 32918.5-2017 (OID 1.2.156.10197.1.301). */
export const SM2P256V1: WeierstrassOpts<bigint> = {
  p: 0xfffffffeffffffffffffffffffffffffffffffff00000000ffffffffffffffffn,
  a: 0xfffffffeffffffffffffffffffffffffffffffff00000000fffffffffffffffcn,
  b: 0x28e9fa9e9d9f5e344d5a9e4bcf6509a7f39789f515ab8f92ddbcbd414d940e93n,
  n: 0xfffffffeffffffffffffffffffffffff7203df6b21c6052b53bbf40939d54123n,
  h: 1n,
  Gx: 0x32c4ae2c1f1981195f9904466a39c9948fe30bbff2660be1715a4589334c74c7n,
  Gy: 0xbc3736a2f4f6779c59bdcee36b692153d0a9877cc62a474002df32e52139f0a0n,
};

export type Sm2Curve = WeierstrassPointCons<bigint>;
type Point = WeierstrassPoint<bigint>;

/** The point group of a curve (the standard's examples use other curves than the recommended one). */
export const sm2Curve = (params: WeierstrassOpts<bigint>): Sm2Curve => weierstrass(params);
const RECOMMENDED = sm2Curve(SM2P256V1);

const FIELD_BYTES = (curve: Sm2Curve) => Math.ceil(curve.CURVE().p.toString(16).length / 2);
const toBytes = (x: bigint, length: number) => Buffer.from(x.toString(16).padStart(length * 2, '0'), 'hex');
const toScalar = (bytes: Uint8Array) => BigInt(`0x${Buffer.from(bytes).toString('hex') || '0'}`);
const mod = (a: bigint, n: bigint) => ((a % n) + n) % n;

function invert(a: bigint, n: bigint): bigint {
  let [r0, r1, t0, t1] = [mod(a, n), n, 1n, 0n];
  while (r1 !== 0n) {
    const q = r0 / r1;
    [r0, r1, t0, t1] = [r1, r0 - q * r1, t1, t0 - q * t1];
  }
  if (r0 !== 1n) throw new Error('not invertible');
  return mod(t0, n);
}

/** SM3 of the concatenated parts. */
export const sm3 = (...parts: Uint8Array[]): Buffer => {
  const hash = createHash('sm3');
  for (const part of parts) hash.update(part);
  return hash.digest();
};

export interface Sm2Options {
  /** The signer's distinguishing identifier (default SM2_DEFAULT_ID). */
  id?: string | Uint8Array;
  /** Default: the recommended curve. */
  curve?: Sm2Curve;
}

/** Decodes an uncompressed or compressed SEC1 public key and checks that it is a valid point other than O. */
export function sm2PublicKeyPoint(publicKey: Uint8Array, curve: Sm2Curve = RECOMMENDED): Point {
  const point = curve.fromBytes(publicKey);
  point.assertValidity();
  if (point.is0()) throw new Error('the SM2 public key is the point at infinity');
  return point;
}

/** Z = SM3(ENTL ‖ ID ‖ a ‖ b ‖ xG ‖ yG ‖ xP ‖ yP): binds the signer's identifier and key to every signature. */
export function sm2UserIdDigest(publicKey: Uint8Array, options: Sm2Options = {}): Buffer {
  const curve = options.curve ?? RECOMMENDED;
  const id = typeof options.id === 'string' || options.id === undefined ? Buffer.from(options.id ?? SM2_DEFAULT_ID, 'utf8') : Buffer.from(options.id);
  if (id.length * 8 > 0xffff) throw new Error('the SM2 identifier is longer than 8191 bytes');
  const { a, b, Gx, Gy } = curve.CURVE();
  const P = sm2PublicKeyPoint(publicKey, curve);
  const size = FIELD_BYTES(curve);
  const entl = Buffer.from([(id.length * 8) >> 8, (id.length * 8) & 0xff]);
  return sm3(entl, id, ...[a, b, Gx, Gy, P.x, P.y].map((v) => toBytes(v, size)));
}

/** A private key d in [1, n − 2] (the standard excludes n − 1, which has no (1 + d)⁻¹). */
function checkSecret(secret: bigint, n: bigint): bigint {
  if (secret < 1n || secret > n - 2n) throw new Error('the SM2 private key must lie in [1, n − 2]');
  return secret;
}

/** The uncompressed SEC1 public key [d]G. */
export function sm2PublicKey(secret: bigint, curve: Sm2Curve = RECOMMENDED): Uint8Array {
  return curve.BASE.multiply(checkSecret(secret, curve.CURVE().n)).toBytes(false);
}

/**
 * A private key derived from `seed` (at least 32 bytes of secret) under `label`: HMAC-SM3
 * expanded to 64 bytes, reduced into [1, n − 2] (bias below 2⁻²⁵⁰). The same seed and label give
 * the same key, so a key derived from a wallet secret needs no storage of its own.
 */
export function deriveSm2Secret(seed: Uint8Array, label: string, curve: Sm2Curve = RECOMMENDED): bigint {
  if (seed.length < 32) throw new Error('an SM2 key seed must hold at least 32 bytes');
  const block = (i: number) => createHmac('sm3', seed).update(`${label}\u0000${i}`, 'utf8').digest();
  return (toScalar(Buffer.concat([block(0), block(1)])) % (curve.CURVE().n - 2n)) + 1n;
}

/** A fresh random private key. */
export const randomSm2Secret = (curve: Sm2Curve = RECOMMENDED): bigint => deriveSm2Secret(randomBytes(32), 'random', curve);

/** e = SM3(Z ‖ M) as an integer. */
function messageDigest(message: Uint8Array, publicKey: Uint8Array, options: Sm2Options): bigint {
  return toScalar(sm3(sm2UserIdDigest(publicKey, options), message));
}

/**
 * The signing steps A3–A7 with a given nonce k; exported for the standard's known-answer tests
 * only (a repeated or known k reveals d). Returns undefined where the standard says to pick another k.
 */
export function sm2SignWithNonce(e: bigint, secret: bigint, k: bigint, curve: Sm2Curve = RECOMMENDED): { r: bigint; s: bigint } | undefined {
  const { n } = curve.CURVE();
  const d = checkSecret(secret, n);
  if (k < 1n || k >= n) return undefined;
  const r = mod(e + curve.BASE.multiply(k).x, n);
  if (r === 0n || r + k === n) return undefined;
  const s = mod(invert(1n + d, n) * (k - r * d), n);
  return s === 0n ? undefined : { r, s };
}

/** An SM2 signature of `message` (DER SEQUENCE { r, s }). */
export function sm2Sign(message: Uint8Array, secret: bigint, options: Sm2Options = {}): Uint8Array {
  const curve = options.curve ?? RECOMMENDED;
  const e = messageDigest(message, sm2PublicKey(secret, curve), options);
  for (;;) {
    // k from fresh randomness hedged with d and e, so a weak generator alone does not leak d.
    const k = toScalar(createHmac('sm3', randomBytes(32)).update(toBytes(secret, 32)).update(toBytes(e, 32)).digest()) % curve.CURVE().n;
    const signature = sm2SignWithNonce(e, secret, k, curve);
    if (signature) return Buffer.from(DER.hexFromSig(signature), 'hex');
  }
}

/** The standard's verification B1–B7. False for any malformed signature or key. */
export function sm2Verify(message: Uint8Array, signature: Uint8Array, publicKey: Uint8Array, options: Sm2Options = {}): boolean {
  const curve = options.curve ?? RECOMMENDED;
  const { n } = curve.CURVE();
  try {
    const { r, s } = DER.toSig(signature);
    if (r < 1n || r >= n || s < 1n || s >= n) return false;
    const t = mod(r + s, n);
    if (t === 0n) return false;
    const P = sm2PublicKeyPoint(publicKey, curve);
    const e = messageDigest(message, publicKey, options);
    const x1y1 = curve.BASE.mulAddUnsafe(s, P, t);
    return !x1y1.is0() && mod(e + x1y1.x, n) === r;
  } catch {
    return false;
  }
}
