import { canonical, sha256 } from '../core/digest';
import type { Authenticator } from '../core/types';
import type { CommitQuorum, LogEntry, RaftMessage, Unsigned } from './messages';

/**
 * Signing and sizing Raft messages without re-encoding what many messages share. A leader
 * sends the same entries and the same commit quorum to every follower; their digests and
 * encoded sizes are computed once per object (messages and entries are never mutated).
 *
 * etcd's Raft messages are not signed; ours are, so that the simulator's bad-signature
 * fault is dropped on arrival as with the other protocols. Raft still trusts every
 * correctly signed message: signatures do not make it Byzantine-tolerant.
 */

const digests = new WeakMap<object, string>();
const sizes = new WeakMap<object, number>();
const payloads = new WeakMap<object, string>();

const digestOf = (value: LogEntry | CommitQuorum): string => {
  let digest = digests.get(value);
  if (digest === undefined) digests.set(value, (digest = sha256(canonical(value))));
  return digest;
};

/** The signed bytes: the message without `sig`, entries and quorum replaced by their digests. */
export function signingPayload(message: Unsigned<RaftMessage> | RaftMessage): string {
  let payload = payloads.get(message);
  if (payload !== undefined) return payload;
  const body: Record<string, unknown> = { ...message, sig: undefined };
  if (message.type === 'append') body.entries = message.entries.map(digestOf);
  if ((message.type === 'append' || message.type === 'heartbeat') && message.quorum) body.quorum = digestOf(message.quorum);
  payload = `raft/v1\n${canonical(body)}`;
  payloads.set(message, payload);
  return payload;
}

/** `message` signed by `auth` (whose id must be `message.from`). */
export function sign<M extends RaftMessage>(message: Unsigned<M>, auth: Authenticator): M {
  const payload = signingPayload(message);
  const signed = { ...message, sig: auth.sign(payload) } as unknown as M;
  payloads.set(signed, payload);
  return signed;
}

/** Whether `message` carries a valid signature of the node it names as sender. */
export const verify = (message: RaftMessage, auth: Authenticator): boolean => auth.verify(message.from, signingPayload(message), message.sig);

/** `canonical(value).length`, computed from the parts and remembered per object. */
export function canonicalSize(value: unknown): number {
  if (value === null || typeof value !== 'object') return JSON.stringify(value).length;
  let size = sizes.get(value);
  if (size !== undefined) return size;
  // Brackets, then each part and the comma before all but the first.
  size = 1;
  if (Array.isArray(value)) {
    for (const item of value) size += 1 + canonicalSize(item);
  } else {
    const record = value as Record<string, unknown>;
    for (const key of Object.keys(record)) if (record[key] !== undefined) size += 1 + JSON.stringify(key).length + 1 + canonicalSize(record[key]);
  }
  size = Math.max(size, 2);
  sizes.set(value, size);
  return size;
}
