/**
 * Identity-based layer (Boneh–Franklin with the Fujisaki–Okamoto transform, "FullIdent"),
 * with a master key that no party holds: the key generation centres hold Shamir shares
 * s_i of s, publish S_i = s_i·G1, and each returns a verifiable partial key s_i·H_Q(id).
 */
import { DST, G1, G2, concat, gtEquals, gtToBytes, hash, hashToG2, hashToScalar, pairing, pairingFixedG2, systemRng, type G1Point, type G2Point, type Gt, type Rng } from './group';
import { Reader, Writer } from './encoding';
import { lagrangeAtZero, assertDistinctIndices } from './shamir';

/** The consortium's public parameters: the master public key mpk = s·G1. */
export interface PublicParams {
  mpk: G1Point;
}

/** A centre's partial identity key d_i = s_i·H_Q(id), with its index. */
export interface PartialKey {
  index: bigint;
  key: G2Point;
}

export class CryptoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CryptoError';
  }
}

/** Checks e(G1, d_i) = e(S_i, H_Q(id)): the centre used the share it committed to. */
export function verifyPartialKey(partial: PartialKey, publicShare: G1Point, id: string): boolean {
  return gtEquals(pairing(G1.BASE, partial.key), pairing(publicShare, hashToG2(id)));
}

/** Extraction by one centre holding share s_i. */
export const extractPartial = (index: bigint, share: bigint, id: string): PartialKey => ({ index, key: hashToG2(id).multiply(share) });

/**
 * Combines t verified partial keys into d_id = Σ λ_i d_i and checks it against mpk, so a
 * wrong combination can never be used silently.
 */
export function combinePartialKeys(params: PublicParams, id: string, partials: PartialKey[]): G2Point {
  const xs = partials.map((p) => p.index);
  assertDistinctIndices(xs, 'partial keys');
  const key = partials.reduce((acc, p) => acc.add(p.key.multiply(lagrangeAtZero(xs, p.index))), G2.ZERO);
  if (key.equals(G2.ZERO) || !gtEquals(pairing(G1.BASE, key), pairing(params.mpk, hashToG2(id)))) {
    throw new CryptoError(`the ${partials.length} partial keys do not combine to the identity key of '${id}' (too few, or one is bad)`);
  }
  return key;
}

const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((v, i) => v ^ b[i]!);

/** Expands a hash to n bytes (counter mode over SHA-256). */
function expand(dst: string, n: number, ...parts: (Uint8Array | string)[]): Uint8Array {
  const blocks: Uint8Array[] = [];
  for (let i = 0; blocks.length * 32 < n; i++) blocks.push(hash(dst, String(i), ...parts));
  return concat(...blocks).slice(0, n);
}

/** A message sealed to an identity: (U, W = σ ⊕ H_k(z), V = M ⊕ H_k(σ)) with U = H_r(σ, M, id)·G1. */
export interface Sealed {
  u: G1Point;
  w: Uint8Array;
  v: Uint8Array;
}

/** Seals `message` to identity `id` (Boneh–Franklin FullIdent); `context` is bound into every hash. */
export function seal(params: PublicParams, id: string, message: Uint8Array, context: Uint8Array, rng: Rng = systemRng): Sealed {
  const sigma = rng(32);
  const r = hashToScalar(DST.fo, sigma, message, id, context);
  const u = G1.BASE.multiply(r);
  const z = pairingFixedG2(params.mpk.multiply(r), hashToG2(id));
  return { u, w: xor(sigma, expand(DST.kdf, 32, 'seal-w', gtToBytes(z), u.toBytes(), id, context)), v: xor(message, expand(DST.kdf, message.length, 'seal-v', sigma)) };
}

/** Opens a sealed message with the identity key; throws CryptoError if anything was altered. */
export const open = (sealed: Sealed, id: string, identityKey: G2Point, context: Uint8Array): Uint8Array =>
  openWith(sealed, id, pairingFixedG2(sealed.u, identityKey), context);

/**
 * Opens with the pairing value z = e(U, d_id) however it was obtained (directly, or as
 * e(ρ·U, ρ⁻¹·d_id) after re-encryption); the FO check recomputes U from σ.
 */
export function openWith(sealed: Sealed, id: string, z: Gt, context: Uint8Array): Uint8Array {
  const sigma = xor(sealed.w, expand(DST.kdf, 32, 'seal-w', gtToBytes(z), sealed.u.toBytes(), id, context));
  const message = xor(sealed.v, expand(DST.kdf, sealed.v.length, 'seal-v', sigma));
  const r = hashToScalar(DST.fo, sigma, message, id, context);
  if (!G1.BASE.multiply(r).equals(sealed.u)) throw new CryptoError(`sealed message for '${id}' failed its integrity check (tampered, or the wrong key)`);
  return message;
}

export const writeSealed = (w: Writer, s: Sealed): Writer => w.g1(s.u).bytes(s.w).bytes(s.v);
export const readSealed = (r: Reader, field: string): Sealed => ({ u: r.g1(`${field}.u`), w: r.bytes(`${field}.w`, 32), v: r.bytes(`${field}.v`, 4096) });

