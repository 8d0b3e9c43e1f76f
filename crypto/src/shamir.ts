/** Shamir sharing over the scalar field, Lagrange interpolation at 0, Feldman commitments in G1. */
import { Fr, G1, type G1Point, randomScalar, systemRng, type Rng } from './group';

/** f(x) = a0 + a1 x + … + a_{t-1} x^{t-1}; coefficients low to high. */
export class Polynomial {
  constructor(readonly coefficients: bigint[]) {
    if (coefficients.length < 1) throw new Error('a polynomial needs at least one coefficient');
  }

  static random(threshold: number, secret: bigint, rng: Rng = systemRng): Polynomial {
    if (!Number.isInteger(threshold) || threshold < 1) throw new Error(`threshold must be an integer ≥ 1, got ${threshold}`);
    return new Polynomial([Fr.create(secret), ...Array.from({ length: threshold - 1 }, () => randomScalar(rng))]);
  }

  evaluate(x: bigint): bigint {
    let acc = 0n;
    for (let i = this.coefficients.length - 1; i >= 0; i--) acc = Fr.add(Fr.mul(acc, x), this.coefficients[i]!);
    return acc;
  }

  /** Feldman commitments C_k = a_k·G. */
  commitments(): G1Point[] {
    return this.coefficients.map((a) => G1.BASE.multiply(a));
  }
}

/** Σ C_k·x^k: the public image f(x)·G of a share, from the commitments alone. */
export function commitmentAt(commitments: G1Point[], x: bigint): G1Point {
  const powers: bigint[] = [];
  for (let k = 0, p = 1n; k < commitments.length; k++, p = Fr.mul(p, x)) powers.push(p);
  return G1.sumOfProducts(commitments, powers);
}

/** Lagrange coefficient λ_i for interpolation at 0 over the distinct indices `xs`. */
export function lagrangeAtZero(xs: bigint[], i: bigint): bigint {
  let num = 1n;
  let den = 1n;
  for (const j of xs) {
    if (j === i) continue;
    num = Fr.mul(num, j);
    den = Fr.mul(den, Fr.sub(j, i));
  }
  if (den === 0n) throw new Error('indices must be distinct');
  return Fr.div(num, den);
}

export function assertDistinctIndices(xs: bigint[], what: string): void {
  if (new Set(xs.map(String)).size !== xs.length) throw new Error(`${what}: indices must be distinct`);
  if (xs.some((x) => x === 0n)) throw new Error(`${what}: index 0 is the secret and never a share`);
}
