/**
 * Deep freezing, for the parts of a state machine's state that never change once made
 * (signed messages, certificates, slot records). A frozen object can be serialised once and
 * its text reused (`net/state-file.ts`); freezing also makes an accidental later change
 * throw instead of silently diverging from what was persisted.
 */
export function deepFreeze<T>(value: T): T {
  if (typeof value !== 'object' || value === null || Object.isFrozen(value)) return value;
  for (const child of Object.values(value)) deepFreeze(child);
  return Object.freeze(value);
}
