import { G2, hashToG2, randomScalar, type G2Point } from '../../../crypto/src/group';
import type { PublicParams } from '../../../crypto/src/ibe';
import { openGrantKey, reKeyGen, slotIdentity, type GrantPublic, type Slot } from '../../../crypto/src/pre';
import { decodeKeyPossession, encodeKeyPossession, parseLeakedGrantKey, proveKeyPossession, traceGrantKey, verifyKeyPossession } from '../../../crypto/src/trace';
import { seededRng, testCentres } from '../../support/consortium';

jest.setTimeout(120_000);
const rng = seededRng('trace-test');
let params: PublicParams;
let keyOf: (id: string) => G2Point;
const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute'];
const slot: Slot = { owner: 'patient1@HospitalA', type: 'sharable', condition: 'consent-42/research' };
const other: Slot = { ...slot, condition: 'consent-43/treatment' };
const rk = (grantId: string, s: Slot, delegatorKey: G2Point, delegatee: string, hop = 1, parent?: GrantPublic) =>
  reKeyGen(params, { grantId, slot: s, delegatorKey, delegatee, hop, proxies, threshold: 2, ...(parent ? { parent } : {}) }, rng).grant;
let grants: GrantPublic[];
let x2: G2Point;
let x4: G2Point;
beforeAll(() => {
  ({ params, keyOf } = testCentres(3, 2, rng));
  grants = [rk('t1', slot, keyOf(slotIdentity(slot)), 'a@HospitalB'), rk('t2', slot, keyOf(slotIdentity(slot)), 'b@HospitalB'), rk('t3', other, keyOf(slotIdentity(other)), 'a@HospitalB')];
  x2 = openGrantKey(params, grants[1]!, keyOf('b@HospitalB'));
  grants.push(rk('t4', slot, x2, 'c@ResearchInstitute', 2, grants[1]));
  x4 = openGrantKey(params, grants[3]!, keyOf('c@ResearchInstitute'));
});

describe('tracing a leaked grant key', () => {
  it('names the grant it was issued under, at any hop, among grants of the same and other slots; a key never issued matches none', () => {
    expect(traceGrantKey(params, x2, grants)?.grantId).toBe('t2');
    expect(traceGrantKey(params, x4, grants)?.grantId).toBe('t4');
    expect(traceGrantKey(params, openGrantKey(params, grants[2]!, keyOf('a@HospitalB')), grants)?.grantId).toBe('t3');
    expect(traceGrantKey(params, keyOf(slotIdentity(slot)), grants)).toBeUndefined(); // the slot key itself is no grant's
    expect(traceGrantKey(params, x2, [grants[0]!, grants[2]!])).toBeUndefined();
  });

  it('a grant without an anchor (a re-delegation from before anchors) is skipped, not matched', () => {
    const { anchor: _dropped, ...legacy } = grants[3]!;
    expect(traceGrantKey(params, x4, [legacy])).toBeUndefined();
    expect(() => proveKeyPossession(legacy, x4, 'admin@HospitalB', rng)).toThrow(/no anchor/);
  });
});

describe('proof of possession of a leaked key', () => {
  it('verifies for the key\'s grant and its reporter, and survives encoding', () => {
    const proof = proveKeyPossession(grants[3]!, x4, 'admin@HospitalB', rng);
    expect(verifyKeyPossession(params, grants[3]!, decodeKeyPossession(encodeKeyPossession(proof)), 'admin@HospitalB')).toBe(true);
    expect(encodeKeyPossession(proof)).toHaveLength(4 + 32 + 96);
  });

  it('is refused for another reporter (a copied proof), another grant, a wrong key, and a tampered response or challenge', () => {
    const proof = proveKeyPossession(grants[1]!, x2, 'admin@HospitalB', rng);
    expect(verifyKeyPossession(params, grants[1]!, proof, 'admin@ResearchInstitute')).toBe(false);
    expect(verifyKeyPossession(params, grants[0]!, proof, 'admin@HospitalB')).toBe(false);
    expect(verifyKeyPossession(params, grants[3]!, proof, 'admin@HospitalB')).toBe(false);
    const wrongKey = proveKeyPossession(grants[0]!, x2, 'admin@HospitalB', rng); // x2 is t2's key, not t1's
    expect(verifyKeyPossession(params, grants[0]!, wrongKey, 'admin@HospitalB')).toBe(false);
    expect(verifyKeyPossession(params, grants[1]!, { ...proof, z: proof.z.add(G2.BASE) }, 'admin@HospitalB')).toBe(false);
    expect(verifyKeyPossession(params, grants[1]!, { ...proof, c: proof.c + 1n }, 'admin@HospitalB')).toBe(false);
    expect(verifyKeyPossession(params, grants[1]!, { ...proof, c: 0n }, 'admin@HospitalB')).toBe(false);
  });

  it('cannot be made without the key: a forger who picks Z and c at random fails', () => {
    for (let i = 0; i < 5; i++) {
      const forged = { c: randomScalar(rng), z: hashToG2(`forged-${i}`) };
      expect(verifyKeyPossession(params, grants[1]!, forged, 'admin@HospitalB')).toBe(false);
    }
  });
});

describe('reading a leaked key file', () => {
  it('takes the raw 96 bytes, hex or base64url (whitespace ignored), and names what is wrong otherwise', () => {
    const raw = x2.toBytes();
    for (const file of [raw, Buffer.from(`${Buffer.from(raw).toString('hex')}\n`), Buffer.from(`  ${Buffer.from(raw).toString('base64url')}\n`)]) {
      expect(parseLeakedGrantKey(Uint8Array.from(file)).equals(x2)).toBe(true);
    }
    expect(() => parseLeakedGrantKey(new Uint8Array(32))).toThrow(/96 bytes, or 192 hex or 128 base64url characters; got 32 bytes/);
    const offCurve = new Uint8Array(96).fill(0xff);
    expect(() => parseLeakedGrantKey(offCurve)).toThrow(/not a G2 point/);
  });
});
