/** Message sizes on the wire, shared by the protocols whose messages are canonical JSON (flat PBFT, DRKPBFT). */
import { canonical } from './digest';

const wireSizes = new WeakMap<object, number>();

/** Bytes of `message` as canonical JSON, computed once per message object (a broadcast is one object for all its recipients). */
export function wireSize(message: object): number {
  let size = wireSizes.get(message);
  if (size === undefined) {
    size = Buffer.byteLength(canonical(message));
    wireSizes.set(message, size);
  }
  return size;
}
