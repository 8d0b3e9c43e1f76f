/**
 * The BLS12-381 arithmetic under the scheme, behind one interface so that a faster
 * implementation can carry the hot operations: mcl (WebAssembly, backend-mcl.ts), the
 * default, and noble (pure JavaScript), the fallback where WebAssembly cannot load and an
 * explicit option. Both give byte-identical encodings, hashes to the curve and pairing
 * values, so capsules, fragments and keys move freely between them
 * (test/unit/crypto/backend.test.ts checks this against the committed vectors).
 *
 * The backend is a process-wide choice made once, before the first point: every entry
 * point (the SDK's connect, the services, the chaincode, the CLI, the benchmarks) awaits
 * `ready()`. Points of one backend must not meet points of another, so the first choice
 * sticks: a process that computes before anything awaited `ready()` stays on noble.
 */
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { normalizeZ } from '@noble/curves/abstract/curve.js';
import type { WeierstrassPoint } from '@noble/curves/abstract/weierstrass.js';

/** A point of G1 or G2. */
export interface GroupElement<P> {
  add(other: P): P;
  subtract(other: P): P;
  /** Multiplication by a scalar in [1, r); constant-time where the backend offers it, since scalars may be secret. */
  multiply(scalar: bigint): P;
  equals(other: P): boolean;
  is0(): boolean;
  /** The compressed (ZCash) encoding: 48 bytes in G1, 96 in G2. */
  toBytes(): Uint8Array;
}
export type G1Point = GroupElement<G1Point>;
export type G2Point = GroupElement<G2Point>;
/** An element of the pairing's target group; opaque outside the backend. */
export type Gt = { readonly __gt: unique symbol };

export interface Curve<P extends GroupElement<P>> {
  readonly BASE: P;
  readonly ZERO: P;
  /** Decodes a compressed point, rejecting anything off the curve or outside the prime-order subgroup. */
  fromBytes(bytes: Uint8Array): P;
  /** RFC 9380 hash to the curve (XMD:SHA-256, SSWU, random oracle) with the given DST. */
  hashToCurve(msg: Uint8Array, dst: string): P;
  /** Σ sᵢ·Pᵢ, variable-time: only for public points and scalars (verification equations). */
  sumOfProducts(points: P[], scalars: bigint[]): P;
  /** Encodes many freshly computed points with one batched normalisation. */
  toBytesMany(points: P[]): Uint8Array[];
}

export type BackendName = 'noble' | 'mcl';

export interface Backend {
  readonly name: BackendName;
  readonly G1: Curve<G1Point>;
  readonly G2: Curve<G2Point>;
  pairing(p: G1Point, q: G2Point): Gt;
  /** Π e(pᵢ, qᵢ) with one final exponentiation: a check e(a, b) = e(c, d) costs barely more than one pairing. */
  pairingProduct(pairs: [G1Point, G2Point][]): Gt;
  /** e(·, q) for many first arguments: q's line functions are computed once. `release` frees them. */
  pairingWith(q: G2Point): { pair(p: G1Point): Gt; release(): void };
  gtEquals(a: Gt, b: Gt): boolean;
  gtIsOne(x: Gt): boolean;
  /** The Fp12 coefficients, 48 big-endian bytes each, in noble's order. */
  gtToBytes(x: Gt): Uint8Array;
}

type NoblePoint<P> = P & { multiplyUnsafe(s: bigint): P; assertValidity(): void };

function nobleCurve<P extends GroupElement<P>>(c: typeof bls12_381.G1 | typeof bls12_381.G2): Curve<P> {
  const Point = c.Point as unknown as { BASE: P; ZERO: P; fromBytes(b: Uint8Array): NoblePoint<P> };
  return {
    BASE: Point.BASE,
    ZERO: Point.ZERO,
    fromBytes(bytes) {
      const p = Point.fromBytes(bytes);
      p.assertValidity();
      return p;
    },
    hashToCurve: (msg, dst) => c.hashToCurve(msg, { DST: dst }) as unknown as P,
    sumOfProducts: (points, scalars) =>
      points.reduce((acc, p, i) => (scalars[i] === 0n ? acc : acc.add((p as NoblePoint<P>).multiplyUnsafe(scalars[i]!))), Point.ZERO),
    toBytesMany: (points) =>
      c === bls12_381.G1
        ? normalizeZ(bls12_381.G1.Point, points as unknown as WeierstrassPoint<bigint>[]).map((p) => compressG1(p.toAffine(), p.is0()))
        : points.map((p) => p.toBytes()),
  };
}

/**
 * The ZCash compressed encoding of an affine G1 point. noble's toBytes would first re-check
 * that the point is in the subgroup (a multiplication per point); points computed from
 * valid points need no such check, and this is the hot path of every fragment proof.
 */
function compressG1(a: { x: bigint; y: bigint }, infinity: boolean): Uint8Array {
  const Fp = bls12_381.fields.Fp;
  if (infinity) return Uint8Array.from({ length: 48 }, (_, i) => (i === 0 ? 0xc0 : 0));
  const out = Fp.toBytes(a.x);
  out[0]! |= 0x80 | (a.y * 2n > Fp.ORDER ? 0x20 : 0); // compressed; y is the larger root
  return out;
}

const noble: Backend = {
  name: 'noble',
  G1: nobleCurve<G1Point>(bls12_381.G1),
  G2: nobleCurve<G2Point>(bls12_381.G2),
  pairing: (p, q) => bls12_381.pairing(p as never, q as never) as unknown as Gt,
  // noble memoizes a G2 point's line functions on the point object itself.
  pairingWith: (q) => ({ pair: (p) => bls12_381.pairing(p as never, q as never) as unknown as Gt, release: () => undefined }),
  pairingProduct: (pairs) => bls12_381.pairingBatch(pairs.map(([g1, g2]) => ({ g1: g1 as never, g2: g2 as never }))) as unknown as Gt,
  gtEquals: (a, b) => bls12_381.fields.Fp12.eql(a as never, b as never),
  gtIsOne: (x) => bls12_381.fields.Fp12.eql(x as never, bls12_381.fields.Fp12.ONE),
  gtToBytes: (x) => bls12_381.fields.Fp12.toBytes(x as never),
};

let active: Backend | undefined;
let choosing: Promise<Backend> | undefined;
let fallback: string | undefined;

/** The backend in use (noble if nothing chose one before the first point was made). */
export const backend = (): Backend => (active ??= noble);

/** Why the default fell back to noble, or undefined when it did not. */
export const backendFallback = (): string | undefined => fallback;

const BACKENDS: readonly BackendName[] = ['noble', 'mcl'];

/**
 * Chooses the process's backend once and resolves with it: EMR_CRYPTO_BACKEND (noble or
 * mcl) when set, otherwise mcl, falling back to noble where WebAssembly cannot load
 * (`backendFallback()` says why). Cheap to await again. If a point was already made, the
 * backend it was made on stays.
 */
export function ready(): Promise<Backend> {
  if (active) return Promise.resolve(active);
  choosing ??= (async () => {
    const wanted = process.env.EMR_CRYPTO_BACKEND || undefined;
    if (wanted !== undefined && !(BACKENDS as string[]).includes(wanted)) {
      throw new Error(`EMR_CRYPTO_BACKEND is '${wanted}'; it must be one of ${BACKENDS.join(', ')} (or unset for mcl with a noble fallback)`);
    }
    let chosen: Backend;
    if (wanted === 'noble') chosen = noble;
    else {
      try {
        chosen = await loadMcl();
      } catch (err) {
        if (wanted === 'mcl') throw err;
        fallback = `mcl (WebAssembly) did not load: ${(err as Error).message}`;
        chosen = noble;
      }
    }
    return (active ??= chosen);
  })();
  return choosing;
}

const loadMcl = async (): Promise<Backend> => (await import('./backend-mcl')).loadMcl();

/**
 * Switches the process to another backend. Call it only at start-up, before any point is
 * made (tests and benchmarks compare the two): points already held belong to the old one.
 */
export async function useBackend(name: BackendName): Promise<Backend> {
  if (name === 'noble') active = noble;
  else if (name === 'mcl') active = await loadMcl();
  else throw new Error(`unknown crypto backend '${String(name)}' (noble or mcl)`);
  return active;
}
