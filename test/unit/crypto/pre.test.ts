import { randomBytes } from 'node:crypto';
import { RECORD_TYPES } from '@emr/protocol';
import { Fr, invSecret, randomScalar, type G2Point } from '../../../crypto/src/group';
import { CryptoError, type PublicParams } from '../../../crypto/src/ibe';
import { lagrangeAtZero } from '../../../crypto/src/shamir';
import {
  combineFragments,
  decodeCapsule,
  decodeFragment,
  decodeGrant,
  decrypt,
  decryptReEncrypted,
  encodeCapsule,
  encodeFragment,
  encodeGrant,
  encodeProxyShare,
  encrypt,
  MAX_SHARE_INDEX,
  FragmentError,
  RECORD_KEY_TYPES,
  openGrantKey,
  openShare,
  reEncrypt,
  reKeyGen,
  slotIdentity,
  switchType,
  verifyFragment,
  verifyGrantAnchor,
  type Capsule,
  type GrantPublic,
  type Slot,
} from '../../../crypto/src/pre';
import { seededRng, testCentres } from '../../support/consortium';

jest.setTimeout(120_000);
const rng = seededRng('pre-test');
// Made in beforeAll, after the jest project has chosen the backend (test/support/default-backend.ts, noble-backend.ts).
let params: PublicParams;
let keyOf: (id: string) => G2Point;
beforeAll(() => ({ params, keyOf } = testCentres(3, 2, rng)));
const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute', 'proxy2@HospitalA', 'proxy2@HospitalB'];
const slot: Slot = { owner: 'patient1@HospitalA', type: 'sharable', condition: 'consent-42/research' };
const dataKey = () => new Uint8Array(randomBytes(32));

/** Runs one hop: every proxy re-encrypts, the requester combines the first `use` fragments. */
function hop(capsule: Capsule, grant: GrantPublic, shares: ReturnType<typeof reKeyGen>['shares'], use = grant.threshold): Capsule {
  const fragments = shares.slice(0, use).map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
  return combineFragments(capsule, grant, fragments).capsule;
}

describe('identity-based encapsulation', () => {
  it('anyone encrypts to (identity, type, condition) with the public parameters; the owner decrypts with the slot key', () => {
    const k = dataKey();
    const capsule = encrypt(params, slot, k, rng);
    expect(decrypt(capsule, keyOf(slotIdentity(slot)))).toEqual(k);
  });

  it('another slot\'s key (type or condition) cannot open it', () => {
    const capsule = encrypt(params, slot, dataKey(), rng);
    expect(() => decrypt(capsule, keyOf(slotIdentity({ ...slot, type: 'non-sharable' })))).toThrow(CryptoError);
    expect(() => decrypt(capsule, keyOf(slotIdentity({ ...slot, condition: 'consent-43/research' })))).toThrow(CryptoError);
    expect(() => decrypt(capsule, keyOf(slot.owner))).toThrow(CryptoError);
  });
});

describe('threshold re-encryption', () => {
  const grantOf = (input: Partial<Parameters<typeof reKeyGen>[1]> = {}) =>
    reKeyGen(params, { grantId: 'g1', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'researcher1@ResearchInstitute', hop: 1, proxies: proxies.slice(0, 3), threshold: 2, ...input }, rng);

  it('the delegatee decrypts after t proxies re-encrypt (non-interactive: made from its identity alone)', () => {
    const k = dataKey();
    const { grant, shares } = grantOf();
    const after = hop(encrypt(params, slot, k, rng), grant, shares);
    expect(after.hops).toBe(1);
    expect(decryptReEncrypted(after, openGrantKey(params, grant, keyOf(grant.delegatee)))).toEqual(k);
  });

  it('works with any t of the n proxies', () => {
    const k = dataKey();
    const { grant, shares } = grantOf({ proxies, threshold: 3 });
    const capsule = encrypt(params, slot, k, rng);
    const x = openGrantKey(params, grant, keyOf(grant.delegatee));
    for (const pick of [[0, 1, 2], [2, 3, 4], [0, 2, 4]]) {
      const fragments = pick.map((i) => reEncrypt(capsule, grant, shares[i]!.index, openShare(shares[i]!, grant, keyOf(shares[i]!.proxy)), rng));
      expect(decryptReEncrypted(combineFragments(capsule, grant, fragments).capsule, x)).toEqual(k);
    }
  });

  it('fewer than t fragments are refused', () => {
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, dataKey(), rng);
    const one = [reEncrypt(capsule, grant, shares[0]!.index, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng)];
    expect(() => combineFragments(capsule, grant, one)).toThrow(/need 2 valid fragments/);
  });

  it('a bad fragment is identified by its position, and the good ones still combine', () => {
    const k = dataKey();
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, k, rng);
    const good = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
    const forged = { ...good[1]!, u: good[1]!.u.add(good[1]!.u) };
    const { capsule: out, rejected } = combineFragments(capsule, grant, [good[0]!, forged, good[2]!]);
    expect(rejected).toEqual([1]);
    expect(decryptReEncrypted(out, openGrantKey(params, grant, keyOf(grant.delegatee)))).toEqual(k);
    let err: unknown;
    try {
      combineFragments(capsule, grant, [good[0]!, forged]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FragmentError);
    expect((err as FragmentError).rejected).toEqual([1]);
  });

  it('a forged fragment claiming proxy j\'s index, sent first, neither pushes out j\'s good one nor gets j blamed', () => {
    const k = dataKey();
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, k, rng);
    const good = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
    const forged = { ...good[0]!, u: good[0]!.u.add(good[0]!.u) }; // claims index 1
    const { capsule: out, rejected } = combineFragments(capsule, grant, [forged, good[0]!, good[1]!]);
    expect(rejected).toEqual([0]); // the forgery's position, not proxy 1's
    expect(decryptReEncrypted(out, openGrantKey(params, grant, keyOf(grant.delegatee)))).toEqual(k);
    // A duplicate of a good fragment is not a fault either.
    expect(combineFragments(capsule, grant, [good[0]!, good[0]!, good[1]!]).rejected).toEqual([]);
  });

  it('fragment indices are bounded: r + 1 does not pass for 1, and no encoding truncates an index', () => {
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, dataKey(), rng);
    const good = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
    const aliased = { ...good[0]!, index: Fr.ORDER + 1n };
    expect(verifyFragment(capsule, grant, aliased)).toBe(false);
    expect(combineFragments(capsule, grant, [aliased, good[0]!, good[1]!]).rejected).toEqual([0]);
    expect(() => combineFragments(capsule, grant, [good[0]!, aliased])).toThrow(FragmentError);
    for (const index of [0n, MAX_SHARE_INDEX + 1n, 2n ** 32n + 1n]) {
      expect(() => encodeFragment({ ...good[0]!, index })).toThrow(/index must be an integer from 1 to 4294967295/);
      expect(() => reEncrypt(capsule, grant, index, 5n, rng)).toThrow(/index must be an integer from 1/);
      expect(() => encodeProxyShare({ ...shares[0]!, index })).toThrow(/index must be an integer from 1/);
    }
  });

  it('a proxy using a share other than its committed one is caught', () => {
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, dataKey(), rng);
    const wrongShare = openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)) + 1n;
    const bad = reEncrypt(capsule, grant, 1n, wrongShare, rng);
    expect(combineFragments.bind(null, capsule, grant, [bad, reEncrypt(capsule, grant, 2n, openShare(shares[1]!, grant, keyOf(shares[1]!.proxy)), rng)])).toThrow(/the fragments at positions 0 \(claiming indices 1\) fail their proofs/);
  });

  it('a grant only works for its own type and condition', () => {
    const { grant, shares } = grantOf();
    const other = encrypt(params, { ...slot, condition: 'consent-99/insurance' }, dataKey(), rng);
    expect(() => reEncrypt(other, grant, 1n, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng)).toThrow(/another type or condition/);
    // Even a proxy that ignores the check produces fragments the delegatee cannot use:
    const forcedGrant = { ...grant, slot: other.slot };
    const fragments = shares.slice(0, 2).map((s) => reEncrypt(other, forcedGrant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
    const combined = combineFragments(other, forcedGrant, fragments).capsule;
    expect(() => decryptReEncrypted(combined, openGrantKey(params, grant, keyOf(grant.delegatee)))).toThrow(CryptoError);
  });

  it('only the named delegatee can open the grant key', () => {
    const { grant } = grantOf();
    expect(() => openGrantKey(params, grant, keyOf('doctor1@HospitalB'))).toThrow(CryptoError);
  });
});

describe('a malicious delegator is caught when its key material is opened', () => {
  const grantOf = (input: Partial<Parameters<typeof reKeyGen>[1]> = {}) =>
    reKeyGen(params, { grantId: 'gm', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'researcher1@ResearchInstitute', hop: 1, proxies: proxies.slice(0, 3), threshold: 2, ...input }, rng);

  it('a proxy refuses a share that does not match the commitments (before it can make fragments that get it reported)', () => {
    const { grant } = grantOf();
    const { shares: other } = grantOf(); // same grant id and proxies, another polynomial
    expect(() => openShare(other[0]!, grant, keyOf(other[0]!.proxy))).toThrow(/share 1 of grant 'gm' does not match the grant's commitments/);
    expect(() => openShare({ ...other[0]!, index: 0n }, grant, keyOf(other[0]!.proxy))).toThrow(/index must be an integer from 1/);
  });

  it('a delegatee refuses a grant key that does not pair with the grant\'s anchor, at every hop', () => {
    const wrongKey = grantOf({ delegatorKey: keyOf(slotIdentity({ ...slot, condition: 'elsewhere' })) }).grant;
    expect(() => openGrantKey(params, wrongKey, keyOf(wrongKey.delegatee))).toThrow(/does not match its commitments/);
    const { grant: first } = grantOf();
    const x1 = openGrantKey(params, first, keyOf(first.delegatee));
    const second = reKeyGen(params, { grantId: 'gm2', slot, delegatorKey: x1, delegatee: 'bob@HospitalB', hop: 2, proxies: proxies.slice(0, 3), threshold: 2, parent: first }, rng).grant;
    expect(verifyGrantAnchor(second, first)).toBe(true);
    expect(() => openGrantKey(params, second, keyOf('bob@HospitalB'))).not.toThrow();
    const badSecond = reKeyGen(params, { grantId: 'gm2', slot, delegatorKey: x1.add(x1), delegatee: 'bob@HospitalB', hop: 2, proxies: proxies.slice(0, 3), threshold: 2, parent: first }, rng).grant;
    expect(() => openGrantKey(params, badSecond, keyOf('bob@HospitalB'))).toThrow(/does not match its commitments/);
  });

  it('a re-delegation\'s anchor must be its parent\'s times its own committed ρ', () => {
    const { grant: first } = grantOf();
    const { grant: unrelated } = grantOf({ grantId: 'gm-other' });
    const second = reKeyGen(params, { grantId: 'gm3', slot, delegatorKey: openGrantKey(params, first, keyOf(first.delegatee)), delegatee: 'bob@HospitalB', hop: 2, proxies: proxies.slice(0, 3), threshold: 2, parent: first }, rng).grant;
    expect(verifyGrantAnchor(second, unrelated)).toBe(false); // another parent
    expect(verifyGrantAnchor({ ...second, anchor: { ...second.anchor!, point: second.anchor!.point.add(first.commitments[0]!) } }, first)).toBe(false);
    expect(verifyGrantAnchor({ ...second, commitments: unrelated.commitments }, first)).toBe(false);
    const { anchor: _dropped, ...legacy } = second;
    expect(verifyGrantAnchor(legacy, first)).toBe(false);
    expect(() => reKeyGen(params, { grantId: 'gm4', slot, delegatorKey: keyOf('x'), delegatee: 'bob@HospitalB', hop: 2, proxies: proxies.slice(0, 3), threshold: 2 }, rng)).toThrow(/a hop-2 grant needs its parent/);
    expect(encodeGrant(decodeGrant(encodeGrant(second)))).toEqual(encodeGrant(second));
  });

  it('secret inversion (blinded) gives the inverse', () => {
    for (let i = 0; i < 20; i++) {
      const x = randomScalar(rng);
      expect(Fr.mul(x, invSecret(x, rng))).toBe(1n);
    }
  });
});

describe('the hop count: bookkeeping that buys nothing when false', () => {
  it('decryption does not depend on it; a proxy re-encrypts only with the grant of the next hop, and its fragment binds the count', () => {
    const k = dataKey();
    const rk = (hop: number, parent?: GrantPublic) => reKeyGen(params, { grantId: `gh${hop}`, slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop, proxies: proxies.slice(0, 3), threshold: 2, ...(parent ? { parent } : {}) }, rng);
    const { grant, shares } = rk(1);
    const capsule = encrypt(params, slot, k, rng);
    const after = hop(capsule, grant, shares);
    const x = openGrantKey(params, grant, keyOf('bob@HospitalB'));
    expect(decryptReEncrypted({ ...after, hops: 7 }, x)).toEqual(k); // the count is not a secret and not an input
    expect(() => reEncrypt({ ...capsule, hops: 1 }, grant, 1n, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng)).toThrow(/grant 'gh1' is for hop 1, the capsule is at hop 1/);
    const fragment = reEncrypt(capsule, grant, 1n, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng);
    expect(verifyFragment({ ...capsule, hops: 5 }, { ...grant, hop: 6 }, fragment)).toBe(false);
    expect(verifyFragment(capsule, grant, fragment)).toBe(true);
  });
});

describe('multi-hop', () => {
  it.each([0, 1, 2, 3, 4, 5])('%i hops: the last delegatee decrypts and the capsule does not grow', (hops) => {
    const k = dataKey();
    let capsule = encrypt(params, slot, k, rng);
    const size = encodeCapsule(capsule).length;
    let key = keyOf(slotIdentity(slot));
    let parent: GrantPublic | undefined;
    for (let h = 1; h <= hops; h++) {
      const delegatee = `user${h}@HospitalB`;
      const { grant, shares } = reKeyGen(params, { grantId: `g-hop${h}`, slot, delegatorKey: key, delegatee, hop: h, proxies: proxies.slice(0, 3), threshold: 2, ...(parent ? { parent } : {}) }, rng);
      expect(verifyGrantAnchor(grant, parent)).toBe(true);
      parent = grant;
      capsule = hop(capsule, grant, shares);
      key = openGrantKey(params, grant, keyOf(delegatee));
      expect(encodeCapsule(capsule).length).toBe(size);
    }
    expect(hops === 0 ? decrypt(capsule, key) : decryptReEncrypted(capsule, key)).toEqual(k);
  });
});

describe('collusion', () => {
  it('t proxies and the delegatee recover only that slot\'s key, which opens no other slot and is not the identity key', () => {
    const { grant, shares } = reKeyGen(params, { grantId: 'gc', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'eve@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    const x = openGrantKey(params, grant, keyOf('eve@HospitalB'));
    const s = shares.slice(0, 2).map((sh) => ({ i: sh.index, v: openShare(sh, grant, keyOf(sh.proxy)) }));
    const rho = s.reduce((acc, sh) => Fr.add(acc, Fr.mul(sh.v, lagrangeAtZero(s.map((z) => z.i), sh.i))), 0n);
    const recovered = x.multiply(rho);
    expect(recovered.equals(keyOf(slotIdentity(slot)))).toBe(true); // the one slot key: the stated bound
    expect(recovered.equals(keyOf(slot.owner))).toBe(false);
    const otherType = encrypt(params, { ...slot, type: 'non-sharable' }, dataKey(), rng);
    expect(() => decrypt({ ...otherType }, recovered)).toThrow(CryptoError);
  });
});

describe('integrity (FO transform)', () => {
  let capsule: Capsule;
  beforeAll(() => (capsule = encrypt(params, slot, dataKey(), rng)));
  const flip = (b: Uint8Array, i = 0) => b.map((v, j) => (j === i ? v ^ 1 : v));

  it.each([
    ['w', (c: Capsule) => ({ ...c, w: flip(c.w) })],
    ['v', (c: Capsule) => ({ ...c, v: flip(c.v, 5) })],
    ['u0', (c: Capsule) => ({ ...c, u0: c.u0.add(c.u0), u: c.u0.add(c.u0) })],
    ['slot', (c: Capsule) => ({ ...c, slot: { ...c.slot, condition: 'consent-42/insurance' } })],
  ])('a capsule with tampered %s is rejected', (_field, tamper) => {
    expect(() => decrypt(tamper(capsule), keyOf(slotIdentity(tamper(capsule).slot)))).toThrow(CryptoError);
  });

  it('a re-encrypted capsule with a tampered current U is rejected', () => {
    const { grant, shares } = reKeyGen(params, { grantId: 'gt', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    const after = hop(capsule, grant, shares);
    expect(() => decryptReEncrypted({ ...after, u: after.u.add(after.u) }, openGrantKey(params, grant, keyOf('bob@HospitalB')))).toThrow(CryptoError);
  });
});

describe('type switch', () => {
  it('moves a data key to non-sharable: old grants stop working, the owner still decrypts the same key', () => {
    const k = dataKey();
    const capsule = encrypt(params, slot, k, rng);
    const switched = switchType(params, capsule, keyOf(slotIdentity(slot)), 'non-sharable', rng);
    expect(switched.slot.type).toBe('non-sharable');
    expect(decrypt(switched, keyOf(slotIdentity(switched.slot)))).toEqual(k);
    const { grant, shares } = reKeyGen(params, { grantId: 'gs', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    expect(() => reEncrypt(switched, grant, 1n, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng)).toThrow(/another type or condition/);
  });
});

describe('encodings', () => {
  it('round-trip capsules, fragments and grants, and reject malformed bytes with a clear error', () => {
    const capsule = encrypt(params, slot, dataKey(), rng);
    const { grant, shares } = reKeyGen(params, { grantId: 'ge', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    const fragment = reEncrypt(capsule, grant, 1n, openShare(shares[0]!, grant, keyOf(shares[0]!.proxy)), rng);
    expect(encodeCapsule(decodeCapsule(encodeCapsule(capsule)))).toEqual(encodeCapsule(capsule));
    expect(encodeFragment(decodeFragment(encodeFragment(fragment)))).toEqual(encodeFragment(fragment));
    expect(encodeGrant(decodeGrant(encodeGrant(grant)))).toEqual(encodeGrant(grant));
    const bytes = encodeCapsule(capsule);
    expect(() => decodeCapsule(bytes.slice(0, -1))).toThrow(/invalid capsule: truncated/);
    expect(() => decodeCapsule(new Uint8Array([...bytes, 0]))).toThrow(/invalid capsule: 1 trailing bytes/);
    expect(() => decodeCapsule(encodeFragment(fragment))).toThrow(/type tag 2 is not capsule/);
    const badVersion = bytes.slice();
    badVersion[2] = 9;
    expect(() => decodeCapsule(badVersion)).toThrow(/unsupported version 9/);
    const offCurve = bytes.slice();
    offCurve[bytes.length - 4 - 10] ^= 0xff; // inside u
    expect(() => decodeCapsule(offCurve)).toThrow(/invalid capsule: u is not a G1 point/);
  });
});

it('the crypto layer\'s key types are the chaincode\'s record types (kept apart so crypto imports no Fabric code)', () => {
  expect([...RECORD_KEY_TYPES]).toEqual([...RECORD_TYPES]);
});
