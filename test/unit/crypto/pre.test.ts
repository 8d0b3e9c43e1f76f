import { randomBytes } from 'node:crypto';
import { RECORD_TYPES } from '@emr/protocol';
import { Fr, type G2Point } from '../../../crypto/src/group';
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
  encrypt,
  FragmentError,
  RECORD_KEY_TYPES,
  openGrantKey,
  openShare,
  reEncrypt,
  reKeyGen,
  slotIdentity,
  switchType,
  type Capsule,
  type GrantPublic,
  type Slot,
} from '../../../crypto/src/pre';
import { seededRng, testCentres } from '../../support/consortium';

jest.setTimeout(120_000);
const rng = seededRng('pre-test');
// Made in beforeAll, after the jest project has chosen the backend (test/support/mcl-backend.ts).
let params: PublicParams;
let keyOf: (id: string) => G2Point;
beforeAll(() => ({ params, keyOf } = testCentres(3, 2, rng)));
const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute', 'proxy2@HospitalA', 'proxy2@HospitalB'];
const slot: Slot = { owner: 'patient1@HospitalA', type: 'sharable', condition: 'consent-42/research' };
const dataKey = () => new Uint8Array(randomBytes(32));

/** Runs one hop: every proxy re-encrypts, the requester combines the first `use` fragments. */
function hop(capsule: Capsule, grant: GrantPublic, shares: ReturnType<typeof reKeyGen>['shares'], use = grant.threshold): Capsule {
  const fragments = shares.slice(0, use).map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant.grantId, keyOf(s.proxy)), rng));
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
    expect(decryptReEncrypted(after, openGrantKey(grant, keyOf(grant.delegatee)))).toEqual(k);
  });

  it('works with any t of the n proxies', () => {
    const k = dataKey();
    const { grant, shares } = grantOf({ proxies, threshold: 3 });
    const capsule = encrypt(params, slot, k, rng);
    const x = openGrantKey(grant, keyOf(grant.delegatee));
    for (const pick of [[0, 1, 2], [2, 3, 4], [0, 2, 4]]) {
      const fragments = pick.map((i) => reEncrypt(capsule, grant, shares[i]!.index, openShare(shares[i]!, 'g1', keyOf(shares[i]!.proxy)), rng));
      expect(decryptReEncrypted(combineFragments(capsule, grant, fragments).capsule, x)).toEqual(k);
    }
  });

  it('fewer than t fragments are refused', () => {
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, dataKey(), rng);
    const one = [reEncrypt(capsule, grant, shares[0]!.index, openShare(shares[0]!, 'g1', keyOf(shares[0]!.proxy)), rng)];
    expect(() => combineFragments(capsule, grant, one)).toThrow(/need 2 valid fragments/);
  });

  it('a bad fragment is identified by its proxy index, and the good ones still combine', () => {
    const k = dataKey();
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, k, rng);
    const good = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, 'g1', keyOf(s.proxy)), rng));
    const forged = { ...good[1]!, u: good[1]!.u.add(good[1]!.u) };
    const { capsule: out, badIndices } = combineFragments(capsule, grant, [good[0]!, forged, good[2]!]);
    expect(badIndices).toEqual([2n]);
    expect(decryptReEncrypted(out, openGrantKey(grant, keyOf(grant.delegatee)))).toEqual(k);
    let err: unknown;
    try {
      combineFragments(capsule, grant, [good[0]!, forged]);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(FragmentError);
    expect((err as FragmentError).badIndices).toEqual([2n]);
  });

  it('a proxy using a share other than its committed one is caught', () => {
    const { grant, shares } = grantOf();
    const capsule = encrypt(params, slot, dataKey(), rng);
    const wrongShare = openShare(shares[0]!, 'g1', keyOf(shares[0]!.proxy)) + 1n;
    const bad = reEncrypt(capsule, grant, 1n, wrongShare, rng);
    expect(combineFragments.bind(null, capsule, grant, [bad, reEncrypt(capsule, grant, 2n, openShare(shares[1]!, 'g1', keyOf(shares[1]!.proxy)), rng)])).toThrow(/bad fragments from proxies 1/);
  });

  it('a grant only works for its own type and condition', () => {
    const { grant, shares } = grantOf();
    const other = encrypt(params, { ...slot, condition: 'consent-99/insurance' }, dataKey(), rng);
    expect(() => reEncrypt(other, grant, 1n, openShare(shares[0]!, 'g1', keyOf(shares[0]!.proxy)), rng)).toThrow(/another type or condition/);
    // Even a proxy that ignores the check produces fragments the delegatee cannot use:
    const forcedGrant = { ...grant, slot: other.slot };
    const fragments = shares.slice(0, 2).map((s) => reEncrypt(other, forcedGrant, s.index, openShare(s, 'g1', keyOf(s.proxy)), rng));
    const combined = combineFragments(other, forcedGrant, fragments).capsule;
    expect(() => decryptReEncrypted(combined, openGrantKey(grant, keyOf(grant.delegatee)))).toThrow(CryptoError);
  });

  it('only the named delegatee can open the grant key', () => {
    const { grant } = grantOf();
    expect(() => openGrantKey(grant, keyOf('doctor1@HospitalB'))).toThrow(CryptoError);
  });
});

describe('multi-hop', () => {
  it.each([0, 1, 2, 3, 4, 5])('%i hops: the last delegatee decrypts and the capsule does not grow', (hops) => {
    const k = dataKey();
    let capsule = encrypt(params, slot, k, rng);
    const size = encodeCapsule(capsule).length;
    let key = keyOf(slotIdentity(slot));
    for (let h = 1; h <= hops; h++) {
      const delegatee = `user${h}@HospitalB`;
      const { grant, shares } = reKeyGen(params, { grantId: `g-hop${h}`, slot, delegatorKey: key, delegatee, hop: h, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
      capsule = hop(capsule, grant, shares);
      key = openGrantKey(grant, keyOf(delegatee));
      expect(encodeCapsule(capsule).length).toBe(size);
    }
    expect(hops === 0 ? decrypt(capsule, key) : decryptReEncrypted(capsule, key)).toEqual(k);
  });
});

describe('collusion', () => {
  it('t proxies and the delegatee recover only that slot\'s key, which opens no other slot and is not the identity key', () => {
    const { grant, shares } = reKeyGen(params, { grantId: 'gc', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'eve@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    const x = openGrantKey(grant, keyOf('eve@HospitalB'));
    const s = shares.slice(0, 2).map((sh) => ({ i: sh.index, v: openShare(sh, 'gc', keyOf(sh.proxy)) }));
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
    expect(() => decryptReEncrypted({ ...after, u: after.u.add(after.u) }, openGrantKey(grant, keyOf('bob@HospitalB')))).toThrow(CryptoError);
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
    expect(() => reEncrypt(switched, grant, 1n, openShare(shares[0]!, 'gs', keyOf(shares[0]!.proxy)), rng)).toThrow(/another type or condition/);
  });
});

describe('encodings', () => {
  it('round-trip capsules, fragments and grants, and reject malformed bytes with a clear error', () => {
    const capsule = encrypt(params, slot, dataKey(), rng);
    const { grant, shares } = reKeyGen(params, { grantId: 'ge', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'bob@HospitalB', hop: 1, proxies: proxies.slice(0, 3), threshold: 2 }, rng);
    const fragment = reEncrypt(capsule, grant, 1n, openShare(shares[0]!, 'ge', keyOf(shares[0]!.proxy)), rng);
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
