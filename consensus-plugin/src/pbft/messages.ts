/**
 * The messages of one PBFT group (Castro–Liskov with signatures). Every message names its
 * sender and its group inside the signed payload; the payload that is signed is a short
 * header, and a proposal's body is bound through its digest, so signing and verifying stay
 * cheap however large the batch or the certificates a message carries.
 */
import type { Authenticator, NodeId } from '../core/types';

/** The primary of `view` proposes `payload` (or a null request, `payload: null`) at `seq`. */
export interface PrePrepareMessage<P> {
  type: 'pre-prepare';
  group: string;
  view: number;
  seq: number;
  digest: string;
  payload: P | null;
  sender: NodeId;
  sig: string;
}

/** A vote on (view, seq, digest) in `group`, signed by `sender`. */
interface SlotVote<T extends 'prepare' | 'commit'> {
  type: T;
  group: string;
  view: number;
  seq: number;
  digest: string;
  sender: NodeId;
  sig: string;
}

/** A backup accepted the pre-prepare (view, seq, digest). */
export type PrepareMessage = SlotVote<'prepare'>;

/** The sender is prepared for (view, seq, digest); a quorum of these decides it. */
export type CommitMessage = SlotVote<'commit'>;

/** The sender executed up to `seq` and its decided history hashes to `state`. */
export interface CheckpointMessage {
  type: 'checkpoint';
  group: string;
  seq: number;
  state: string;
  sender: NodeId;
  sig: string;
}

/** A pre-prepare and quorum − 1 matching prepares from other members: the value may have been decided. */
export interface PreparedCertificate<P> {
  prePrepare: PrePrepareMessage<P>;
  prepares: PrepareMessage[];
}

/** A checkpoint with its proof: a quorum of matching checkpoint messages (empty at the genesis, seq 0). */
export interface StableCheckpoint {
  seq: number;
  state: string;
  proof: CheckpointMessage[];
}

/** The sender leaves the views below `view`: its stable checkpoint and what it prepared above it. */
export interface ViewChangeMessage<P> {
  type: 'view-change';
  group: string;
  view: number;
  stable: StableCheckpoint;
  prepared: PreparedCertificate<P>[];
  sender: NodeId;
  sig: string;
}

/** The primary of `view` starts it: a quorum of view changes and the pre-prepares they imply. */
export interface NewViewMessage<P> {
  type: 'new-view';
  group: string;
  view: number;
  viewChanges: ViewChangeMessage<P>[];
  prePrepares: PrePrepareMessage<P>[];
  sender: NodeId;
  sig: string;
}

/** A lagging replica asks for the decided entries from `from` on (and for a newer new-view than that of `view`). */
export interface FetchMessage {
  type: 'fetch';
  group: string;
  from: number;
  /** The latest view the sender has installed. */
  view: number;
  sender: NodeId;
  sig: string;
}

/** A decided sequence number with the commit certificate that proves it. */
export interface DecidedEntry<P> {
  seq: number;
  view: number;
  digest: string;
  payload: P | null;
  /** A quorum of commit messages for (group, view, seq, digest) from distinct members. */
  certificate: CommitMessage[];
}

/** The answer to a fetch: self-verifying entries, the sender's stable checkpoint and the new-view of its view. */
export interface DecidedMessage<P> {
  type: 'decided';
  group: string;
  entries: DecidedEntry<P>[];
  stable?: StableCheckpoint;
  newView?: NewViewMessage<P>;
  sender: NodeId;
  sig: string;
}

export type PbftInstanceMessage<P> =
  | PrePrepareMessage<P>
  | PrepareMessage
  | CommitMessage
  | CheckpointMessage
  | ViewChangeMessage<P>
  | NewViewMessage<P>
  | FetchMessage
  | DecidedMessage<P>;

/** A message before it is signed. */
export type Unsigned<M> = M extends unknown ? Omit<M, 'sig'> : never;

const DOMAIN = 'pbft/v1';

/** The bytes a message's signature covers (a JSON array: unambiguous and fast to build). */
export function signingPayload<P>(m: Unsigned<PbftInstanceMessage<P>>): string {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return JSON.stringify([DOMAIN, m.type, m.group, m.view, m.seq, m.digest, m.sender]);
    case 'checkpoint':
      return JSON.stringify([DOMAIN, m.type, m.group, m.seq, m.state, m.sender]);
    case 'view-change':
      return JSON.stringify([
        DOMAIN,
        m.type,
        m.group,
        m.view,
        m.stable.seq,
        m.stable.state,
        m.prepared.map((c) => [c.prePrepare.seq, c.prePrepare.view, c.prePrepare.digest]),
        m.sender,
      ]);
    case 'new-view':
      return JSON.stringify([
        DOMAIN,
        m.type,
        m.group,
        m.view,
        m.viewChanges.map((v) => v.sender),
        m.prePrepares.map((p) => [p.seq, p.digest]),
        m.sender,
      ]);
    case 'fetch':
      return JSON.stringify([DOMAIN, m.type, m.group, m.from, m.view, m.sender]);
    case 'decided':
      return JSON.stringify([DOMAIN, m.type, m.group, m.entries.map((e) => [e.seq, e.digest]), m.stable?.seq ?? null, m.newView?.view ?? null, m.sender]);
  }
}

/** Signs `m` as `auth.id` (the sender field is set from the authenticator). */
export function sign<M extends PbftInstanceMessage<unknown>>(m: Unsigned<M>, auth: Authenticator): M {
  const unsigned = { ...m, sender: auth.id } as Unsigned<PbftInstanceMessage<unknown>>;
  return { ...unsigned, sig: auth.sign(signingPayload(unsigned)) } as unknown as M;
}

/** Whether `m` carries a valid signature of its claimed sender. */
export function signedBySender<P>(m: PbftInstanceMessage<P>, auth: Authenticator): boolean {
  return auth.verify(m.sender, signingPayload(m), m.sig);
}
