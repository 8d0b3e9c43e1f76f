/**
 * A record's capsules: the data key encapsulated to its own category's slot and to each
 * ancestor's (docs/crypto.md, "Category subtrees"). A grant opens the one whose slot is its own.
 *
 * An unlinked record's capsules are encrypted to its patient's slots like any other, but as
 * stored on chain they name its record pseudonym as their owner, not him (docs/privacy.md,
 * "Linkability"): whoever holds the record's link puts him back before using them.
 */
import { decodeCapsule, encodeCapsule, encrypt, fromBase64url, slotIdentity, toBase64url, type Capsule, type PublicParams, type Slot } from '@emr/crypto';
import { categoryAncestors, isRecordPseudonym, type EmrRecord, type RecordType } from '@emr/protocol';

/** A record's capsules as the index holds them, and whom it names. */
type Capsuled = Pick<EmrRecord, 'encapsulatedKey' | 'ancestorKeys'> & { patientPseudonym?: string };

/**
 * The leaf capsule first, then the ancestors' (parent first, the root last). For an unlinked
 * record, `patientPseudonym` (from its link) is put back as their owner.
 */
export function recordCapsules(record: Capsuled, patientPseudonym = record.patientPseudonym): Capsule[] {
  const capsules = [record.encapsulatedKey, ...(record.ancestorKeys ?? [])].map((k, i) => decodeCapsule(fromBase64url(k, i === 0 ? 'encapsulatedKey' : `ancestorKeys[${i - 1}]`)));
  if (!patientPseudonym || !isRecordPseudonym(record.patientPseudonym)) return capsules;
  return capsules.map((c) => (c.slot.owner === record.patientPseudonym ? { ...c, slot: { ...c.slot, owner: patientPseudonym } } : c));
}

/** Capsules as an unlinked record stores them: naming its record pseudonym as their owner. */
export const storedCapsule = (capsule: Capsule, recordPseudonym: string): string => toBase64url(encodeCapsule({ ...capsule, slot: { ...capsule.slot, owner: recordPseudonym } }));

/** The record's capsule for a slot, or undefined when the record has none (the grant does not cover it). Pass the decoded capsules to match several slots. */
export function capsuleForSlot(record: Capsuled | Capsule[], slot: Slot): Capsule | undefined {
  const wanted = slotIdentity(slot);
  return (Array.isArray(record) ? record : recordCapsules(record)).find((c) => slotIdentity(c.slot) === wanted);
}

/** Encapsulates a new record's data key to its category and to every ancestor: the index's encapsulatedKey and ancestorKeys. */
export function encapsulateForCategory(params: PublicParams, owner: string, type: RecordType, category: string, dataKey: Uint8Array): { encapsulatedKey: string; ancestorKeys: string[] } {
  const [leaf, ...ancestors] = [category, ...categoryAncestors(category)].map((condition) => toBase64url(encodeCapsule(encrypt(params, { owner, type, condition }, dataKey))));
  return { encapsulatedKey: leaf!, ancestorKeys: ancestors };
}
