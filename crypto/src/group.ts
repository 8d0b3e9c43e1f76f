/**
 * BLS12-381 groups, the scalar field and the domain-separated hashes of docs/crypto.md.
 * Every hash has its own domain-separation tag (DST); names follow the spec. Group
 * arithmetic goes through the active backend (backend.ts); scalars are bigints mod r.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { createHash, randomBytes } from 'node:crypto';
import { backend, type Backend, type G1Point, type G2Point, type Gt } from './backend';

export type { G1Point, G2Point, Gt } from './backend';
export const Fr = bls12_381.fields.Fr;

/** G1 and G2 of the active backend. */
export const G1 = {
  get BASE(): G1Point {
    return backend().G1.BASE;
  },
  get ZERO(): G1Point {
    return backend().G1.ZERO;
  },
  fromBytes: (b: Uint8Array): G1Point => backend().G1.fromBytes(b),
  sumOfProducts: (points: G1Point[], scalars: bigint[]): G1Point => backend().G1.sumOfProducts(points, scalars),
  toBytesMany: (points: G1Point[]): Uint8Array[] => backend().G1.toBytesMany(points),
};
export const G2 = {
  get BASE(): G2Point {
    return backend().G2.BASE;
  },
  get ZERO(): G2Point {
    return backend().G2.ZERO;
  },
  fromBytes: (b: Uint8Array): G2Point => backend().G2.fromBytes(b),
};
export const pairing = (p: G1Point, q: G2Point): Gt => backend().pairing(p, q);

/**
 * e(p, q) for a G2 point paired again and again: an identity's H_Q (hashToG2 hands out one
 * object per identity), a user's identity key, a grant key. q's line functions are computed
 * once and kept, by the point object, for the last LINE_TABLES_KEPT such points (mcl
 * releases an evicted table's memory; noble keeps its own per-point cache).
 */
export function pairingFixedG2(p: G1Point, q: G2Point): Gt {
  let table = lineTables.get(q);
  if (table?.backend !== backend()) {
    table?.lines.release();
    table = { backend: backend(), lines: backend().pairingWith(q) };
    if (lineTables.size >= LINE_TABLES_KEPT) {
      const [oldest, evicted] = lineTables.entries().next().value!;
      lineTables.delete(oldest);
      evicted.lines.release();
    }
  } else {
    lineTables.delete(q); // refresh its place in the LRU order
  }
  lineTables.set(q, table);
  return table.lines.pair(p);
}
const LINE_TABLES_KEPT = 256;
const lineTables = new Map<G2Point, { backend: Backend; lines: ReturnType<Backend['pairingWith']> }>();
export const gtEquals = (a: Gt, b: Gt): boolean => backend().gtEquals(a, b);
/** e(a₁, a₂) = e(b₁, b₂), checked as e(a₁, a₂)·e(−b₁, b₂) = 1: two Miller loops, one final exponentiation. */
export const pairingsEqual = (a1: G1Point, a2: G2Point, b1: G1Point, b2: G2Point): boolean =>
  backend().gtIsOne(backend().pairingProduct([[a1, a2], [G1.ZERO.subtract(b1), b2]]));
/** Π e(Pᵢ, Qᵢ) with one final exponentiation. */
export const pairingProduct = (pairs: [G1Point, G2Point][]): Gt => backend().pairingProduct(pairs);
export const gtToBytes = (x: Gt): Uint8Array => backend().gtToBytes(x);

/** Domain-separation tags, one per hash in the spec. */
export const DST = {
  /** H_Q: identity string → G2 (the IBE public key of an identity). */
  identity: 'EMR-PRE-V1-H_Q-BLS12381G2_XMD:SHA-256_SSWU_RO_',
  /** H_r: FO randomness from the seed σ and the capsule's context. */
  fo: 'EMR-PRE-V1-H_r',
  /** H_k: key derivation from a pairing value. */
  kdf: 'EMR-PRE-V1-H_k',
  /** H_c: Fiat–Shamir challenge of a DLEQ proof. */
  challenge: 'EMR-PRE-V1-H_c',
  /** H_P: the second Pedersen generator of the DKG → G1. */
  pedersen: 'EMR-PRE-V1-H_pedersen-BLS12381G1_XMD:SHA-256_SSWU_RO_',
} as const;

const utf8 = new TextEncoder();
export const bytes = (s: string): Uint8Array => utf8.encode(s);

export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** Length-prefixed framing, so distinct tuples never hash to the same input. */
export function frame(...parts: (Uint8Array | string)[]): Uint8Array {
  return concat(
    ...parts.flatMap((p) => {
      const b = typeof p === 'string' ? bytes(p) : p;
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, b.length);
      return [len, b];
    }),
  );
}

/** SHA-256 of the DST-framed input (Node's native SHA-256: hashing is on every hot path). */
export const hash = (dst: string, ...parts: (Uint8Array | string)[]): Uint8Array => new Uint8Array(createHash('sha256').update(frame(dst, ...parts)).digest());

/** A scalar from a hash: 48 bytes of XOF-style output reduced mod r (bias < 2^-128). */
export function hashToScalar(dst: string, ...parts: (Uint8Array | string)[]): bigint {
  const wide = concat(hash(dst, '0', ...parts), hash(dst, '1', ...parts)).slice(0, 48);
  const s = Fr.create(bytesToBigint(wide));
  return s === 0n ? 1n : s;
}

export const hashToG1 = (msg: string, dst: string): G1Point => backend().G1.hashToCurve(bytes(msg), dst);

/**
 * H_Q(id), memoized per backend: identities recur (a patient's slots, the proxies of every
 * grant), and returning the same point object also lets noble reuse its pairing precomputation.
 */
const identityPoints = new Map<string, G2Point>();
const IDENTITY_CACHE_SIZE = 4096;
export function hashToG2(id: string): G2Point {
  const b = backend();
  const key = `${b.name}\0${id}`;
  let q = identityPoints.get(key);
  if (q) {
    identityPoints.delete(key); // refresh its place in the LRU order
  } else {
    q = b.G2.hashToCurve(bytes(id), DST.identity);
    if (identityPoints.size >= IDENTITY_CACHE_SIZE) identityPoints.delete(identityPoints.keys().next().value!);
  }
  identityPoints.set(key, q);
  return q;
}

export function bytesToBigint(b: Uint8Array): bigint {
  let x = 0n;
  for (const v of b) x = (x << 8n) | BigInt(v);
  return x;
}

export function scalarToBytes(s: bigint): Uint8Array {
  const out = new Uint8Array(32);
  let x = s;
  for (let i = 31; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

/** A source of randomness; tests inject a seeded one to make vectors reproducible. */
export type Rng = (n: number) => Uint8Array;
export const systemRng: Rng = (n) => new Uint8Array(randomBytes(n));

/**
 * x⁻¹ for a secret x. Fr.inv is a variable-time extended Euclid; it runs here on x·b for a
 * fresh random b, whose timing says nothing about x, and b then cancels.
 */
export function invSecret(x: bigint, rng: Rng = systemRng): bigint {
  const b = randomScalar(rng);
  return Fr.mul(Fr.inv(Fr.mul(x, b)), b);
}

/** A uniformly random non-zero scalar. */
export function randomScalar(rng: Rng = systemRng): bigint {
  for (;;) {
    const s = Fr.create(bytesToBigint(rng(48)));
    if (s !== 0n) return s;
  }
}

