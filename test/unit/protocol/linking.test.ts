import fc from 'fast-check';
import { LINK_GAP, isRecordPseudonym, linkIndexOf, linkKey, parseRecordLink, recordPseudonym } from '@emr/protocol';

const p = 'a'.repeat(64);
const q = 'b'.repeat(64);

describe('record pseudonyms (linking.ts)', () => {
  it('differ per index, per patient and per key, and have their own form', () => {
    const k = new Uint8Array(32).fill(1);
    const seen = new Set<string>();
    for (let i = 0; i < 3 * LINK_GAP; i++) seen.add(recordPseudonym(p, linkKey(k, i)));
    expect(seen.size).toBe(3 * LINK_GAP);
    expect(recordPseudonym(q, linkKey(k, 0))).not.toBe(recordPseudonym(p, linkKey(k, 0)));
    expect(recordPseudonym(p, linkKey(new Uint8Array(32).fill(2), 0))).not.toBe(recordPseudonym(p, linkKey(k, 0)));
    expect([...seen].every(isRecordPseudonym)).toBe(true);
    expect(isRecordPseudonym(p)).toBe(false);
    expect(() => linkKey(k, -1)).toThrow(RangeError);
    expect(() => linkKey(k, 1.5)).toThrow(RangeError);
  });

  it('are found again by index for a holder of the key, and by no other key', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 32, maxLength: 32 }), fc.nat(200), (k, i) => {
        const rp = recordPseudonym(p, linkKey(k, i));
        expect(linkIndexOf(k, p, rp, 256)).toBe(i);
        expect(linkIndexOf(k, q, rp, 256)).toBeUndefined();
        expect(linkIndexOf(k, p, rp, i)).toBeUndefined();
      }),
      { numRuns: 20 },
    );
  });

  it('travel as a link whose every fault is named', () => {
    expect(parseRecordLink({ patientPseudonym: p, linkKey: 'c'.repeat(64) })).toEqual({ patientPseudonym: p, linkKey: 'c'.repeat(64) });
    expect(() => parseRecordLink([])).toThrow(/^INVALID_ARGUMENT\[link\]/);
    expect(() => parseRecordLink({ linkKey: 'c'.repeat(64) })).toThrow(/^INVALID_ARGUMENT\[link.patientPseudonym\]: is required/);
    expect(() => parseRecordLink({ patientPseudonym: 'Alice', linkKey: 'c'.repeat(64) })).toThrow(/^INVALID_ARGUMENT\[link.patientPseudonym\]/);
    expect(() => parseRecordLink({ patientPseudonym: p, linkKey: 'C'.repeat(64) })).toThrow(/^INVALID_ARGUMENT\[link.linkKey\]/);
    expect(() => parseRecordLink({ patientPseudonym: p, linkKey: 'c'.repeat(64), more: 1 })).toThrow(/^INVALID_ARGUMENT\[link.more\]/);
  });
});
