/**
 * Chaum–Pedersen proof of discrete-log equality in G1, made non-interactive with
 * Fiat–Shamir: proves log_G(X) = log_U(Y) without revealing it. Used for proxy
 * fragments (the proxy applied the share it committed to) and for DKG-free checks.
 */
import { DST, Fr, G1, hashToScalar, randomScalar, systemRng, type G1Point, type Rng } from './group';

export interface DleqProof {
  /** Challenge c. */
  c: bigint;
  /** Response z = k + c·x. */
  z: bigint;
}

// One field inversion for all six points (Montgomery's trick) instead of one per encoding:
// affine conversion dominates the cost of hashing fresh points.
const challenge = (g: G1Point, x: G1Point, u: G1Point, y: G1Point, a: G1Point, b: G1Point, context: Uint8Array): bigint =>
  hashToScalar(DST.challenge, ...G1.toBytesMany([g, x, u, y, a, b]), context);

/** Proves X = x·G and Y = x·U for the same x. `context` binds the proof to its use. */
export function proveDleq(x: bigint, g: G1Point, u: G1Point, context: Uint8Array, rng: Rng = systemRng): DleqProof {
  const k = randomScalar(rng);
  const a = g.multiply(k);
  const b = u.multiply(k);
  const c = challenge(g, g.multiply(x), u, u.multiply(x), a, b, context);
  return { c, z: Fr.add(k, Fr.mul(c, x)) };
}

/** Same as proveDleq when X and Y are already computed (saves two multiplications). */
export function proveDleqFor(x: bigint, g: G1Point, bigX: G1Point, u: G1Point, bigY: G1Point, context: Uint8Array, rng: Rng = systemRng): DleqProof {
  const k = randomScalar(rng);
  const c = challenge(g, bigX, u, bigY, g.multiply(k), u.multiply(k), context);
  return { c, z: Fr.add(k, Fr.mul(c, x)) };
}

export function verifyDleq(proof: DleqProof, g: G1Point, x: G1Point, u: G1Point, y: G1Point, context: Uint8Array): boolean {
  if (proof.c === 0n && proof.z === 0n) return false;
  // A = z·G − c·X, B = z·U − c·Y
  // Public inputs only, so the variable-time multi-multiplication is safe here.
  const minusC = Fr.neg(proof.c);
  const a = G1.sumOfProducts([g, x], [proof.z, minusC]);
  const b = G1.sumOfProducts([u, y], [proof.z, minusC]);
  return challenge(g, x, u, y, a, b, context) === proof.c;
}

