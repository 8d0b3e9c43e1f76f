import { Fr, G1 } from '../../../crypto/src/group';
import { KeyGenerationCentre, runDkg } from '../../../crypto/src/dkg';
import { combinePartialKeys, extractPartial, open, seal, verifyPartialKey } from '../../../crypto/src/ibe';
import { lagrangeAtZero } from '../../../crypto/src/shamir';
import { seededRng } from '../../support/consortium';

jest.setTimeout(120_000);
const centres = (n: number, t: number, seed: string) => Array.from({ length: n }, (_, i) => new KeyGenerationCentre(i + 1, n, t, seededRng(`${seed}-${i}`)));
const id = 'patient1@HospitalA';
const bytes = new TextEncoder().encode('hello');

describe('DKG among the key generation centres (5 centres, threshold 3)', () => {
  let result: ReturnType<typeof runDkg>;
  beforeAll(() => (result = runDkg(centres(5, 3, 'honest'))));

  it('all honest centres qualify and the public shares are consistent with the master public key', () => {
    expect(result.qual).toEqual([1, 2, 3, 4, 5]);
    expect(result.disqualified).toEqual([]);
    for (const [j, s] of result.secretShares) expect(G1.BASE.multiply(s).equals(result.publicShares.get(j)!)).toBe(true);
    // Any 3 public shares interpolate to mpk "in the exponent".
    const xs = [1n, 3n, 5n];
    const mpk = xs.reduce((acc, x) => acc.add(result.publicShares.get(Number(x))!.multiply(lagrangeAtZero(xs, x))), G1.ZERO);
    expect(mpk.equals(result.params.mpk)).toBe(true);
  });

  it('partial identity keys are publicly verifiable and any t of them give a working identity key', () => {
    const partials = [2, 4, 5].map((j) => extractPartial(BigInt(j), result.secretShares.get(j)!, id));
    for (const p of partials) expect(verifyPartialKey(p, result.publicShares.get(Number(p.index))!, id)).toBe(true);
    const key = combinePartialKeys(result.params, id, partials);
    expect(open(seal(result.params, id, bytes, new Uint8Array()), id, key, new Uint8Array())).toEqual(bytes);
  });

  it('a wrong partial key is detected, and combining with it fails loudly', () => {
    const bad = extractPartial(2n, Fr.add(result.secretShares.get(2)!, 1n), id);
    expect(verifyPartialKey(bad, result.publicShares.get(2)!, id)).toBe(false);
    const good = [1, 3].map((j) => extractPartial(BigInt(j), result.secretShares.get(j)!, id));
    expect(() => combinePartialKeys(result.params, id, [bad, ...good])).toThrow(/do not combine/);
    expect(() => combinePartialKeys(result.params, id, good)).toThrow(/do not combine/); // t − 1 are not enough
  });
});

describe('misbehaving dealers', () => {
  it('a dealer that sends a bad share and then answers the complaint correctly stays qualified', () => {
    const r = runDkg(centres(5, 3, 'fixable'), { share: (d, to, s) => (d === 2 && to === 4 ? { ...s, s: Fr.add(s.s, 1n) } : s) });
    expect(r.qual).toEqual([1, 2, 3, 4, 5]);
    expect(G1.BASE.multiply(r.secretShares.get(4)!).equals(r.publicShares.get(4)!)).toBe(true);
  });

  it('a dealer that answers a complaint with a bad share is excluded, and the key still works', () => {
    const r = runDkg(centres(5, 3, 'cheat'), {
      share: (d, to, s) => (d === 3 && to === 1 ? { ...s, s: Fr.add(s.s, 1n) } : s),
      answer: (d, _c, a) => (d === 3 ? { ...a, s: Fr.add(a.s, 7n) } : a),
    });
    expect(r.qual).toEqual([1, 2, 4, 5]);
    expect(r.disqualified).toEqual([{ dealer: 3, reason: "answered centre 1's complaint with a share that fails its commitments" }]);
    const key = combinePartialKeys(r.params, id, [1, 2, 5].map((j) => extractPartial(BigInt(j), r.secretShares.get(j)!, id)));
    expect(open(seal(r.params, id, bytes, new Uint8Array()), id, key, new Uint8Array())).toEqual(bytes);
  });

  it('a dealer complained about by more than t centres is excluded', () => {
    const r = runDkg(centres(5, 2, 'many'), { share: (d, to, s) => (d === 1 && to !== 1 ? undefined : s) });
    expect(r.qual).toEqual([2, 3, 4, 5]);
    expect(r.disqualified[0]).toMatchObject({ dealer: 1 });
  });

  it('a dealer whose Feldman commitments disagree with its shares is reconstructed, not trusted', () => {
    const r = runDkg(centres(5, 3, 'feldman'), { feldman: (d, cs) => (d === 5 ? cs.map((c) => c.add(c)) : cs) });
    expect(r.reconstructed).toEqual([5]);
    for (const [j, s] of r.secretShares) expect(G1.BASE.multiply(s).equals(r.publicShares.get(j)!)).toBe(true);
    const key = combinePartialKeys(r.params, id, [1, 2, 3].map((j) => extractPartial(BigInt(j), r.secretShares.get(j)!, id)));
    expect(open(seal(r.params, id, bytes, new Uint8Array()), id, key, new Uint8Array())).toEqual(bytes);
  });
});
