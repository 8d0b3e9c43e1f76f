/** DRKPBFT as a `Protocol`: what the simulator, the transport and the benchmark need. */
import { sha256 } from '../core/digest';
import { wireSize } from '../core/wire';
import type { Authenticator, Mutations, NodeId, Protocol, Vote } from '../core/types';
import { sign, type PbftInstanceMessage } from '../pbft/messages';
import { maxFaulty } from '../pbft/quorum';
import { committedDigest, isTopEntryRef, isTopGroup, logOffset, regionDigest, TOP_NULL_DIGEST, type RegionBatch } from './batches';
import { DrkContext, type DrkpbftOptions } from './context';
import { isOwnMessage, type DrkMessage, type OwnMessage } from './messages';
import { DrkpbftNode, type DrkState } from './node';

export { DrkpbftNode, type DrkState, type Seat } from './node';
export type { DrkMessage } from './messages';
export { DEFAULT_EPOCH_LENGTH, type DrkpbftOptions } from './context';

/**
 * A commit of the group that orders the global log (the top layer, or a single region) is
 * a vote for the committed batch at global position offset + seq; region commits are not.
 */
export function drkVotes(message: DrkMessage): Vote[] {
  if (message.type !== 'commit') return [];
  const offset = logOffset(message.group);
  return offset === undefined ? [] : [{ voter: message.sender, seq: offset + message.seq, digest: committedDigest(message.digest) }];
}

/**
 * How many Byzantine nodes the genesis configuration survives wherever they sit. A seat is
 * held by one node, so f_top + 1 Byzantine region primaries control more top seats than the
 * top layer tolerates: the guaranteed bound is f_top = ⌊(K − 1)/3⌋ (with f_top Byzantine
 * nodes no region can hold more than f_top of them, and f_top ≤ f_r for K ≈ √n). The
 * (f_top + 1)(f_r + 1) − 1 of docs/consensus.md holds only if a seat's vote needed its
 * region's endorsement. With one region it is that region's f.
 */
export function drkMaxFaulty(regions: readonly (readonly NodeId[])[]): number {
  return regions.length === 1 ? maxFaulty(regions[0].length) : maxFaulty(regions.length);
}

type AnyPbft = Exclude<DrkMessage, OwnMessage>;

/** The same proposal with another payload of the same kind; undefined when there is none. */
function otherPayload(m: AnyPbft): { payload: RegionBatch | null; digest: string } | undefined {
  if (m.type !== 'pre-prepare' || m.payload === null) return undefined;
  // A top proposal names its batch (`TopEntryRef`), whose requests a mutation cannot see: the other half gets a null request.
  if (isTopEntryRef(m.payload)) return { payload: null, digest: TOP_NULL_DIGEST };
  if (isTopGroup(m.group)) return undefined;
  const requests = (m.payload as RegionBatch).requests;
  if (requests.length === 0) return undefined;
  const payload: RegionBatch = { requests: requests.slice(0, -1) };
  return { payload, digest: regionDigest(payload) };
}

/** Validly signed variants of DRKPBFT messages, for a Byzantine node holding `auth`. */
export const drkMutations: Mutations<DrkMessage> = {
  equivocate(message, auth: Authenticator) {
    if (isOwnMessage(message)) return undefined;
    const other = otherPayload(message);
    if (other === undefined || message.type !== 'pre-prepare') return undefined;
    return sign<PbftInstanceMessage<RegionBatch>>({ ...message, ...other } as PbftInstanceMessage<RegionBatch>, auth) as DrkMessage;
  },
  conflictingVote(message, auth: Authenticator) {
    if (message.type !== 'prepare' && message.type !== 'commit') return undefined;
    const digest = sha256(`conflicting-vote\n${message.digest}`);
    return sign<PbftInstanceMessage<RegionBatch>>({ ...message, digest }, auth) as DrkMessage;
  },
  badSignature(message) {
    const sig = message.sig;
    return { ...message, sig: `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}` } as DrkMessage;
  },
};

/**
 * DRKPBFT among `members`: regions by K-medoids over `options.latency`, reputation-ordered
 * region primaries holding the seats of a top PBFT layer, epochs of `options.epochLength`
 * global positions (and a new epoch after each committed 'join:<id>' / 'leave:<id>').
 */
export function createDrkpbft(members: readonly NodeId[], options: DrkpbftOptions): Protocol<DrkMessage, DrkState> {
  const ctx = new DrkContext(members, options);
  return {
    name: 'drkpbft',
    members: [...ctx.genesis.members],
    createNode: (id, auth, persisted) => new DrkpbftNode(id, auth, ctx, persisted),
    wireSize,
    votes: drkVotes,
    quorumFor: (commit) => ctx.quorumFor(commit.epoch),
    maxFaulty: () => drkMaxFaulty(ctx.genesis.regions),
    mutations: drkMutations,
  };
}
