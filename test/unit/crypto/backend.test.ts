/**
 * The mcl backend must be interchangeable with noble: the same encodings, hashes to the
 * curve and pairing values, the same rejections of bad points, and capsules made under one
 * backend open under the other. (The committed vectors are checked under both in vectors.test.ts.)
 */
// Raw curve and field arithmetic to build edge cases; only bytes and bigints cross into the backends.
import { bls12_381 } from '@noble/curves/bls12-381.js';
import { backend, useBackend, type Backend } from '../../../crypto/src/backend';
import { DST, bytes, randomScalar } from '../../../crypto/src/group';
import { decodeCapsule, decodeFragment, decrypt, encodeCapsule, encodeFragment, encrypt, reEncrypt, reKeyGen, openShare, combineFragments, decryptReEncrypted, openGrantKey, decodeGrant, encodeGrant, slotIdentity } from '../../../crypto/src/pre';
import { EncodingError } from '../../../crypto/src/encoding';
import { seededRng, testCentres } from '../../support/consortium';

jest.setTimeout(60_000);

let noble: Backend;
let mcl: Backend;
beforeAll(async () => {
  noble = await useBackend('noble');
  mcl = await useBackend('mcl');
  await useBackend('noble');
});
afterAll(() => useBackend('noble'));

/** Runs `f` under backend `b` and returns to noble. */
async function under<T>(b: 'noble' | 'mcl', f: () => T): Promise<T> {
  await useBackend(b);
  try {
    return f();
  } finally {
    await useBackend('noble');
  }
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const scalars = Array.from({ length: 4 }, () => randomScalar());

it('encodes the same points to the same bytes, including the identity', () => {
  for (const s of scalars) {
    expect(hex(mcl.G1.BASE.multiply(s).toBytes())).toBe(hex(noble.G1.BASE.multiply(s).toBytes()));
    expect(hex(mcl.G2.BASE.multiply(s).toBytes())).toBe(hex(noble.G2.BASE.multiply(s).toBytes()));
  }
  expect(hex(mcl.G1.ZERO.toBytes())).toBe(hex(noble.G1.ZERO.toBytes()));
  expect(mcl.G1.fromBytes(noble.G1.ZERO.toBytes()).is0()).toBe(true);
});

it('batched encoding equals one-by-one encoding, in both backends', () => {
  for (const b of [noble, mcl]) {
    const pts = [...scalars.map((s) => b.G1.BASE.multiply(s).add(b.G1.BASE)), b.G1.ZERO];
    expect(b.G1.toBytesMany(pts).map(hex)).toEqual(pts.map((p) => hex(p.toBytes())));
  }
});

it('hashes to G1 and G2 identically under our DSTs (RFC 9380)', () => {
  for (const msg of ['', 'patient1@HospitalA', 'x'.repeat(300)]) {
    expect(hex(mcl.G2.hashToCurve(bytes(msg), DST.identity).toBytes())).toBe(hex(noble.G2.hashToCurve(bytes(msg), DST.identity).toBytes()));
    expect(hex(mcl.G1.hashToCurve(bytes(msg), DST.pedersen).toBytes())).toBe(hex(noble.G1.hashToCurve(bytes(msg), DST.pedersen).toBytes()));
  }
});

it('gives the same pairing value bytes, and the pairing is bilinear', () => {
  const [a, b] = scalars as [bigint, bigint];
  const p = (be: Backend) => be.pairing(be.G1.BASE.multiply(a), be.G2.BASE.multiply(b));
  expect(hex(mcl.gtToBytes(p(mcl)))).toBe(hex(noble.gtToBytes(p(noble))));
  const ab = bls12_381.fields.Fr.mul(a, b);
  expect(mcl.gtEquals(p(mcl), mcl.pairing(mcl.G1.BASE.multiply(ab), mcl.G2.BASE))).toBe(true);
  expect(mcl.gtEquals(p(mcl), mcl.pairing(mcl.G1.BASE, mcl.G2.BASE))).toBe(false);
});

it('multi-multiplication and constant-time multiplication agree', () => {
  const pts = scalars.map((s) => mcl.G1.BASE.multiply(s));
  const expected = pts.reduce((acc, p, i) => acc.add(p.multiply(scalars[i]!)), mcl.G1.ZERO);
  expect(mcl.G1.sumOfProducts(pts, scalars).equals(expected)).toBe(true);
  const nobleSum = noble.G1.sumOfProducts(
    scalars.map((s) => noble.G1.BASE.multiply(s)),
    scalars,
  );
  expect(hex(mcl.G1.toBytesMany([expected])[0]!)).toBe(hex(nobleSum.toBytes()));
});

describe('rejects what noble rejects', () => {
  const good = () => bls12_381.G1.Point.BASE.multiply(7n).toBytes();
  const cases: [string, () => Uint8Array][] = [
    ['a point off the curve', () => Uint8Array.from(good(), (v, i) => (i === 47 ? v ^ 1 : v))],
    ['an x coordinate ≥ p', () => Uint8Array.from({ length: 48 }, (_, i) => (i === 0 ? 0x9f : 0xff))],
    ['a missing compression flag', () => Uint8Array.from(good(), (v, i) => (i === 0 ? v & 0x7f : v))],
    ['an identity with stray bits', () => Uint8Array.from({ length: 48 }, (_, i) => (i === 0 ? 0xc0 : i === 47 ? 1 : 0))],
  ];
  it.each(cases)('%s', (_what, make) => {
    const b = make();
    expect(() => noble.G1.fromBytes(b)).toThrow();
    expect(() => mcl.G1.fromBytes(b)).toThrow();
  });

  it('a point outside the prime-order subgroup', () => {
    // A point on E(Fp) of order ≠ r: found by trying x until the curve equation has a root.
    const Fp = bls12_381.fields.Fp;
    for (let x = 1n; ; x++) {
      const y2 = Fp.add(Fp.mul(Fp.sqr(x), x), 4n);
      let y: bigint;
      try {
        y = Fp.sqrt(y2);
      } catch {
        continue;
      }
      if (bls12_381.G1.Point.fromAffine({ x, y }).isTorsionFree()) continue;
      const b = Fp.toBytes(x); // compressed by hand: noble refuses to encode such a point
      b[0]! |= 0x80 | (y * 2n > Fp.ORDER ? 0x20 : 0);
      expect(() => noble.G1.fromBytes(b)).toThrow();
      expect(() => mcl.G1.fromBytes(b)).toThrow();
      break;
    }
  });

  it('a G2 point outside the prime-order subgroup', () => {
    const { Fp, Fp2 } = bls12_381.fields;
    for (let k = 1n; ; k++) {
      const x = Fp2.create({ c0: k, c1: 1n });
      const y2 = Fp2.add(Fp2.mul(Fp2.sqr(x), x), Fp2.create({ c0: 4n, c1: 4n }));
      let y: { c0: bigint; c1: bigint };
      try {
        y = Fp2.sqrt(y2);
      } catch {
        continue;
      }
      if (!Fp2.eql(Fp2.sqr(y), y2) || bls12_381.G2.Point.fromAffine({ x, y }).isTorsionFree()) continue;
      const big = (v: bigint) => v * 2n > Fp.ORDER;
      const b = new Uint8Array([...Fp.toBytes(x.c1), ...Fp.toBytes(x.c0)]);
      b[0]! |= 0x80 | ((y.c1 !== 0n ? big(y.c1) : big(y.c0)) ? 0x20 : 0);
      expect(() => noble.G2.fromBytes(b)).toThrow();
      expect(() => mcl.G2.fromBytes(b)).toThrow();
      break;
    }
  });

  it('through the capsule decoder, with the field named', async () => {
    const bad = new Uint8Array(48).fill(0xff);
    const { params } = testCentres();
    const capsule = encodeCapsule(encrypt(params, { owner: 'p@A', type: 'sharable', condition: 'c' }, new Uint8Array(32)));
    const tampered = capsule.slice();
    tampered.set(bad, capsule.length - 48 - 4); // the last point, u
    await under('mcl', () => expect(() => decodeCapsule(tampered)).toThrow(EncodingError));
    await under('mcl', () => expect(() => decodeCapsule(tampered)).toThrow(/u is not a G1 point/));
  });
});

it('capsules, grants and fragments made under noble open under mcl, and back', async () => {
  const rng = seededRng('backend-interop');
  const slot = { owner: 'patient1@HospitalA', type: 'sharable' as const, condition: 'consent-7' };
  const dataKey = rng(32);
  const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute'];
  // Noble: encrypt and make the grant.
  const { params, keyOf } = testCentres(3, 2, seededRng('interop-centres'));
  const capsule = encrypt(params, slot, dataKey, rng);
  const { grant, shares } = reKeyGen(params, { grantId: 'g1', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop: 1, proxies, threshold: 2 }, rng);
  const shareValues = shares.map((s) => openShare(s, grant, keyOf(s.proxy)));
  const wire = { mpk: params.mpk.toBytes(), capsule: encodeCapsule(capsule), grant: encodeGrant(grant), bobKey: keyOf('bob@HospitalB').toBytes(), ownerKey: keyOf(slotIdentity(slot)).toBytes() };
  // mcl: the proxies re-encrypt, the delegatee combines and decrypts; the owner decrypts directly.
  const fromMcl = await under('mcl', () => {
    const c = decodeCapsule(wire.capsule);
    const g = decodeGrant(wire.grant);
    const frags = shares.map((s, i) => reEncrypt(c, g, s.index, shareValues[i]!, rng));
    const after = combineFragments(c, g, frags).capsule;
    const bobKey = backend().G2.fromBytes(wire.bobKey);
    expect(hex(decryptReEncrypted(after, openGrantKey({ mpk: backend().G1.fromBytes(wire.mpk) }, g, bobKey)))).toBe(hex(dataKey));
    expect(hex(decrypt(c, backend().G2.fromBytes(wire.ownerKey)))).toBe(hex(dataKey));
    return frags.map(encodeFragment);
  });
  // Noble again: the fragments mcl made verify and decrypt.
  const after = combineFragments(capsule, grant, fromMcl.map(decodeFragment));
  expect(after.rejected).toEqual([]);
  expect(hex(decryptReEncrypted(after.capsule, openGrantKey(params, grant, keyOf('bob@HospitalB'))))).toBe(hex(dataKey));
});
