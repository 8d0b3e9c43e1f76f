/**
 * Category subtrees (docs/crypto.md): a record's data key is encapsulated to its category's
 * slot and to every ancestor's, so one grant on a category opens every record below it,
 * uploaded before or after the grant, and nothing above or beside it. The refusal is
 * cryptographic: a rogue proxy that ignores the chain and the capsules' labels, relabels
 * another record's capsule as the grant's slot and re-encrypts it, gives the delegatee
 * nothing he can open. Property-tested over random category trees.
 */
import fc from 'fast-check';
import { randomBytes } from 'node:crypto';
import { CryptoError, combineFragments, decrypt, decryptReEncrypted, openGrantKey, openShare, reEncrypt, reKeyGen, slotIdentity, type Capsule, type G2Point, type GrantPublic, type PublicParams, type Slot } from '@emr/crypto';
import { ROOT_CATEGORY, categoryAncestors, inCategory, linkKey, recordPseudonym } from '@emr/protocol';
import { capsuleForSlot, encapsulateForCategory, recordCapsules, storedCapsule } from '../../../client/src/fabric/record-capsules';
import { seededRng, testCentres } from '../../support/consortium';

jest.setTimeout(120_000);
const rng = seededRng('record-capsules');
let params: PublicParams;
let keyOf: (id: string) => G2Point;
beforeAll(() => ({ params, keyOf } = testCentres(3, 2, rng)));

const owner = 'patient-pseudonym-1';
const researcher = 'researcher1@ResearchInstitute';
const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute'];

function grantOn(condition: string): { grant: GrantPublic; shares: ReturnType<typeof reKeyGen>['shares'] } {
  const slot: Slot = { owner, type: 'sharable', condition };
  return reKeyGen(params, { grantId: `g-${condition}`, slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: researcher, hop: 1, proxies, threshold: 2 }, rng);
}

/** Two proxies re-encrypt the capsule, as given (no label check: they skip reEncrypt's), and the delegatee opens it. */
function throughRogueProxies(capsule: Capsule, { grant, shares }: ReturnType<typeof grantOn>): Uint8Array {
  const relabelled = { ...capsule, slot: grant.slot };
  const fragments = shares.slice(0, 2).map((s) => reEncrypt(relabelled, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
  return decryptReEncrypted(combineFragments(relabelled, grant, fragments).capsule, openGrantKey(params, grant, keyOf(researcher)));
}

describe('categoryAncestors', () => {
  it('lists the parent first and the root last', () => {
    expect(categoryAncestors('cardiology/echo/stress')).toEqual(['cardiology/echo', 'cardiology', ROOT_CATEGORY]);
    expect(categoryAncestors('cardiology')).toEqual([ROOT_CATEGORY]);
  });
});

describe('a record carries one capsule per level', () => {
  it('its category first, then each ancestor, every one opening the same data key', () => {
    const k = new Uint8Array(randomBytes(32));
    const keys = encapsulateForCategory(params, owner, 'sharable', 'cardiology/echo', k);
    const capsules = recordCapsules(keys);
    expect(capsules.map((c) => c.slot.condition)).toEqual(['cardiology/echo', 'cardiology', ROOT_CATEGORY]);
    expect(capsuleForSlot(keys, { owner, type: 'sharable', condition: 'oncology' })).toBeUndefined();
    expect(capsuleForSlot(keys, { owner, type: 'non-sharable', condition: 'cardiology' })).toBeUndefined();
  });
});

describe('one grant on a category', () => {
  const segment = fc.constantFrom('cardiology', 'oncology', 'echo', 'ecg', 'stress', 'biopsy');
  const category = fc.array(segment, { minLength: 1, maxLength: 3 }).map((s) => s.join('/'));

  it('opens every record below it, and a rogue proxy gets the delegatee nothing above or beside it', () => {
    fc.assert(
      fc.property(category, fc.array(category, { minLength: 1, maxLength: 4 }), (granted, recordCategories) => {
        const grant = grantOn(granted);
        for (const c of recordCategories) {
          // Uploaded after the grant was made: nothing of the grant depends on the records.
          const k = new Uint8Array(randomBytes(32));
          const keys = encapsulateForCategory(params, owner, 'sharable', c, k);
          const own = capsuleForSlot(keys, grant.grant.slot);
          if (inCategory(c, granted)) {
            expect(own).toBeDefined();
            expect(throughRogueProxies(own!, grant)).toEqual(k);
          } else {
            expect(own).toBeUndefined();
            for (const capsule of recordCapsules(keys)) expect(() => throughRogueProxies(capsule, grant)).toThrow(CryptoError);
          }
        }
      }),
      { numRuns: 12 },
    );
  });

  it('on the root opens every category of the patient, and nothing of another patient', () => {
    const grant = grantOn(ROOT_CATEGORY);
    const k = new Uint8Array(randomBytes(32));
    expect(throughRogueProxies(capsuleForSlot(encapsulateForCategory(params, owner, 'sharable', 'oncology/biopsy', k), grant.grant.slot)!, grant)).toEqual(k);
    const other = encapsulateForCategory(params, 'patient-pseudonym-2', 'sharable', 'oncology/biopsy', k);
    for (const capsule of recordCapsules(other)) expect(() => throughRogueProxies(capsule, grant)).toThrow(CryptoError);
  });
});

describe("an unlinked record's capsules (docs/privacy.md, \"Linkability\")", () => {
  it('name its record pseudonym, not the patient, and open only once the link puts him back', () => {
    const k = new Uint8Array(randomBytes(32));
    const rp = recordPseudonym('a'.repeat(64), linkKey(new Uint8Array(32), 0));
    const [encapsulatedKey, ...ancestorKeys] = recordCapsules(encapsulateForCategory(params, owner, 'sharable', 'oncology/biopsy', k)).map((c) => storedCapsule(c, rp));
    const index = { encapsulatedKey: encapsulatedKey!, ancestorKeys, patientPseudonym: rp };
    const stored = recordCapsules({ encapsulatedKey: index.encapsulatedKey, ancestorKeys: index.ancestorKeys });
    expect(stored.every((c) => c.slot.owner === rp)).toBe(true);
    expect(JSON.stringify(index)).not.toContain(owner);
    expect(() => decrypt(stored[0]!, keyOf(slotIdentity(stored[0]!.slot)))).toThrow(CryptoError);
    const restored = recordCapsules(index, owner);
    expect(restored.map((c) => c.slot.owner)).toEqual([owner, owner, owner]);
    expect(decrypt(restored[0]!, keyOf(slotIdentity(restored[0]!.slot)))).toEqual(k);
    const grant = grantOn('oncology');
    expect(throughRogueProxies(capsuleForSlot(restored, grant.grant.slot)!, grant)).toEqual(k);
  });
});
