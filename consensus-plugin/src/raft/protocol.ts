import type { Authenticator, Commit, NodeId, Protocol, Vote } from '../core/types';
import { canonicalSize } from './codec';
import { Membership } from './membership';
import type { RaftMessage, RaftState } from './messages';
import { raftMutations } from './mutations';
import { RaftNode } from './node';
import type { RaftOptions } from './options';
import { resolveSettings } from './options';

/** The Raft model's Protocol; its nodes are `RaftNode`s (which add `status()`). */
export interface RaftProtocol extends Protocol<RaftMessage, RaftState> {
  createNode(id: NodeId, auth: Authenticator, persisted?: RaftState): RaftNode;
}

const sameMembers = (a: Membership, b: Membership): boolean => a.size === b.size && a.members.every((node, i) => node === b.members[i]);

/**
 * The Raft model for a cluster of `members`. Nodes joined later (`join:<id>` requests, see
 * membership.ts) are created with `createNode` like the others and wait to be added.
 *
 * `Commit.epoch` is the version of the configuration whose majority acknowledged the batch
 * (0 at genesis, +1 per committed membership change). Nodes report each configuration they
 * commit here, so `quorumFor` knows its size; all nodes commit the same ones and share one
 * instance of each.
 */
export function createRaft(members: NodeId[], options: RaftOptions): RaftProtocol {
  const genesis = new Membership(0, members);
  const configurations = new Map<number, Membership>([[0, genesis]]);
  const adopt = (membership: Membership): Membership => {
    const known = configurations.get(membership.version);
    if (known && sameMembers(known, membership)) return known;
    // A different configuration under a known version means diverged logs: keep the first for quorumFor.
    if (!known) configurations.set(membership.version, membership);
    return membership;
  };
  const settings = resolveSettings(genesis, options, adopt);
  const sizeCache = new WeakMap<object, number>();
  return {
    name: 'raft',
    members,
    createNode: (id, auth, persisted) => new RaftNode(id, auth, settings, persisted),
    wireSize(message) {
      let size = sizeCache.get(message);
      if (size === undefined) sizeCache.set(message, (size = canonicalSize(message)));
      return size;
    },
    votes: messageVotes,
    quorumFor: (commit: Commit) => (configurations.get(commit.epoch) ?? genesis).majority,
    /** Crash faults: Raft tolerates a minority of crashed nodes and no Byzantine node at all. */
    maxFaulty: () => Math.floor((members.length - 1) / 2),
    mutations: raftMutations,
  };
}

/**
 * Acknowledgements as `upTo` votes: a follower's successful AppendEntries answer covers
 * every batch up to the seq it reports; a leader's AppendEntries with entries is its own
 * acknowledgement of its log up to the last one (the leader counts itself in every quorum).
 */
function messageVotes(message: RaftMessage): Vote[] {
  if (message.type === 'appendResp' && message.success && message.seq !== undefined) return [{ voter: message.from, seq: message.seq, digest: '', upTo: true }];
  if (message.type === 'append' && message.entries.length > 0) return [{ voter: message.from, seq: message.entries[message.entries.length - 1].seq, digest: '', upTo: true }];
  return [];
}
