/**
 * Blinded categories (protocol blinding.ts): the relations every rule on chain relies on hold
 * on the blinded form exactly as on the clear one, for random department paths and keys; the
 * blinded form passes the category rule; another key, or another path, gives another form.
 */
import fc from 'fast-check';
import { CATEGORY_LABEL, ROOT_CATEGORY, blindCategory, categoryAncestors, checkCategory, inCategory, isBlindedCategory, openCategoryLabel, patientBlindingKey, sealCategoryLabel, unblindCategory } from '@emr/protocol';

const segment = fc.constantFrom('cardiology', 'oncology', 'psychiatry', 'echo', 'ecg', 'biopsy', 'inpatient', 'stress', 'a', 'b');
const path = fc.array(segment, { minLength: 1, maxLength: 8 }).map((s) => s.join('/'));
const key = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('blindCategory', () => {
  it('keeps the subtree order: a is b or below it exactly when blind(a) is blind(b) or below it', () => {
    fc.assert(fc.property(key, path, path, (k, a, b) => expect(inCategory(blindCategory(k, a), blindCategory(k, b))).toBe(inCategory(a, b))));
  });

  it("blinds a path's ancestors into the blinded path's ancestors, the root staying the root", () => {
    fc.assert(fc.property(key, path, (k, a) => expect(categoryAncestors(blindCategory(k, a))).toEqual(categoryAncestors(a).map((c) => blindCategory(k, c)))));
    expect(blindCategory(new Uint8Array(32), ROOT_CATEGORY)).toBe(ROOT_CATEGORY);
  });

  it('gives a well-formed category of the same depth, and another form under another key or for another path', () => {
    fc.assert(
      fc.property(key, key, path, path, (k1, k2, a, b) => {
        const blinded = blindCategory(k1, a);
        expect(() => checkCategory(blinded)).not.toThrow();
        expect(isBlindedCategory(blinded)).toBe(true);
        expect(blinded.split('/')).toHaveLength(a.split('/').length);
        if (Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0) expect(blindCategory(k2, a)).not.toBe(blinded);
        if (a !== b) expect(blindCategory(k1, b)).not.toBe(blinded);
      }),
    );
  });

  it('a path segment blinds by the whole path above it: the same leaf name under two parents differs', () => {
    const k = patientBlindingKey(new Uint8Array(32).fill(1), 'a1'.repeat(32));
    expect(blindCategory(k, 'cardiology/echo').split('/')[1]).not.toBe(blindCategory(k, 'oncology/echo').split('/')[1]);
  });

  it("each patient of a hospital has his own key; a holder unblinds against the department tree", () => {
    const secret = new Uint8Array(32).fill(7);
    const [k1, k2] = ['a1'.repeat(32), 'b2'.repeat(32)].map((p) => patientBlindingKey(secret, p));
    expect(Buffer.from(k1!).equals(Buffer.from(k2!))).toBe(false);
    const tree = ['cardiology', 'cardiology/echo', 'oncology', 'oncology/biopsy'];
    expect(unblindCategory(k1!, blindCategory(k1!, 'oncology/biopsy'), tree)).toBe('oncology/biopsy');
    expect(unblindCategory(k2!, blindCategory(k1!, 'oncology/biopsy'), tree)).toBeUndefined();
  });
});

describe('sealCategoryLabel', () => {
  it('opens to the clear path for the key, within the label shape, and to nothing under another key', () => {
    fc.assert(
      fc.property(key, key, path, (k1, k2, a) => {
        const label = sealCategoryLabel(k1, a);
        expect(label).toMatch(CATEGORY_LABEL);
        expect(openCategoryLabel(k1, blindCategory(k1, a), label)).toBe(a);
        if (Buffer.compare(Buffer.from(k1), Buffer.from(k2)) !== 0) expect(openCategoryLabel(k2, blindCategory(k2, a), label)).toBeUndefined();
      }),
    );
  });

  it('does not open next to another blinded path (a copied label), nor once a byte changed', () => {
    fc.assert(
      fc.property(key, path, path, fc.nat(), (k, a, b, at) => {
        const label = sealCategoryLabel(k, a);
        if (a !== b) expect(openCategoryLabel(k, blindCategory(k, b), label)).toBeUndefined();
        const bytes = Buffer.from(label, 'base64url');
        bytes[at % bytes.length] ^= 1;
        expect(openCategoryLabel(k, blindCategory(k, a), bytes.toString('base64url'))).toBeUndefined();
      }),
    );
  });

  it('fits the label shape for the longest path the category rule allows', () => {
    const longest = Array.from({ length: 8 }, () => 'a'.repeat(64)).join('/');
    expect(sealCategoryLabel(new Uint8Array(32), longest)).toMatch(CATEGORY_LABEL);
    expect(sealCategoryLabel(new Uint8Array(32), 'a')).toMatch(CATEGORY_LABEL);
  });
});
