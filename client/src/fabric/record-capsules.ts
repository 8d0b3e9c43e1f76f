/**
 * A record's capsules: the data key encapsulated to its own category's slot and to each
 * ancestor's (docs/crypto.md, "Category subtrees"). A grant opens the one whose slot is its own.
 */
import { decodeCapsule, encodeCapsule, encrypt, fromBase64url, slotIdentity, toBase64url, type Capsule, type PublicParams, type Slot } from '@emr/crypto';
import { categoryAncestors, type EmrRecord, type RecordType } from '@emr/protocol';

/** The leaf capsule first, then the ancestors' (parent first, the root last). */
export function recordCapsules(record: Pick<EmrRecord, 'encapsulatedKey' | 'ancestorKeys'>): Capsule[] {
  return [record.encapsulatedKey, ...(record.ancestorKeys ?? [])].map((k, i) => decodeCapsule(fromBase64url(k, i === 0 ? 'encapsulatedKey' : `ancestorKeys[${i - 1}]`)));
}

/** The record's capsule for a slot, or undefined when the record has none (the grant does not cover it). Pass the decoded capsules to match several slots. */
export function capsuleForSlot(record: Pick<EmrRecord, 'encapsulatedKey' | 'ancestorKeys'> | Capsule[], slot: Slot): Capsule | undefined {
  const wanted = slotIdentity(slot);
  return (Array.isArray(record) ? record : recordCapsules(record)).find((c) => slotIdentity(c.slot) === wanted);
}

/** Encapsulates a new record's data key to its category and to every ancestor: the index's encapsulatedKey and ancestorKeys. */
export function encapsulateForCategory(params: PublicParams, owner: string, type: RecordType, category: string, dataKey: Uint8Array): { encapsulatedKey: string; ancestorKeys: string[] } {
  const [leaf, ...ancestors] = [category, ...categoryAncestors(category)].map((condition) => toBase64url(encodeCapsule(encrypt(params, { owner, type, condition }, dataKey))));
  return { encapsulatedKey: leaf!, ancestorKeys: ancestors };
}
