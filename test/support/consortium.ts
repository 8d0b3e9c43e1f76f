import { createHash } from 'node:crypto';
import { G1, type G2Point, type Rng } from '../../crypto/src/group';
import { combinePartialKeys, extractPartial, type PublicParams } from '../../crypto/src/ibe';
import { Polynomial } from '../../crypto/src/shamir';

/** A deterministic RNG (SHA-256 in counter mode) so tests and vectors reproduce. */
export function seededRng(seed: string): Rng {
  let counter = 0;
  return (n) => {
    const out = new Uint8Array(n);
    for (let o = 0; o < n; o += 32) out.set(createHash('sha256').update(`${seed}:${counter++}`).digest().subarray(0, Math.min(32, n - o)), o);
    return out;
  };
}

/**
 * Key generation centres for unit tests of the PRE layer: a test dealer splits a master
 * secret (the DKG tests cover generation without any dealer).
 */
export function testCentres(n = 3, t = 2, rng: Rng = seededRng('centres')) {
  const f = Polynomial.random(t, 0n + 1n + BigInt(`0x${Buffer.from(rng(31)).toString('hex')}`), rng);
  const shares = Array.from({ length: n }, (_, i) => ({ index: BigInt(i + 1), share: f.evaluate(BigInt(i + 1)) }));
  const params: PublicParams = { mpk: G1.BASE.multiply(f.coefficients[0]!) };
  const cache = new Map<string, G2Point>();
  const keyOf = (id: string): G2Point => {
    if (!cache.has(id)) cache.set(id, combinePartialKeys(params, id, shares.slice(0, t).map((s) => extractPartial(s.index, s.share, id))));
    return cache.get(id)!;
  };
  return { params, shares, publicShares: shares.map((s) => G1.BASE.multiply(s.share)), keyOf };
}
