/** Flat PBFT as a `Protocol`: what the simulator, the transport and the benchmark need. */
import { batchDigest, sha256 } from '../core/digest';
import type { Authenticator, ClientRequest, ClusterOptions, Mutations, NodeId, Protocol, Vote } from '../core/types';
import { wireSize } from '../core/wire';
import { sign, type PbftInstanceMessage } from './messages';
import { PbftNode, type PbftMessage, type PbftState, type PbftTuning } from './node';
import { maxFaulty, quorumSize } from './quorum';

export { PbftNode, FLAT_GROUP, type PbftMessage, type PbftState, type PbftTuning, type RequestMessage } from './node';

/** Validly signed variants of flat PBFT messages, for a Byzantine node holding `auth`. */
export const pbftMutations: Mutations<PbftMessage> = {
  /** A pre-prepare for the same (view, seq) whose batch lacks its last request (re-signed). */
  equivocate(message, auth) {
    if (message.type !== 'pre-prepare' || message.payload === null || message.payload.length === 0) return undefined;
    const payload = message.payload.slice(0, -1);
    return resign({ ...message, payload, digest: batchDigest(payload) }, auth);
  },
  /** A prepare or commit for the same (view, seq) and another digest (re-signed). */
  conflictingVote(message, auth) {
    if (message.type !== 'prepare' && message.type !== 'commit') return undefined;
    return resign({ ...message, digest: sha256(`conflicting-vote\n${message.digest}`) }, auth);
  },
  badSignature(message) {
    const sig = message.sig;
    return { ...message, sig: `${sig.slice(0, -1)}${sig.endsWith('0') ? '1' : '0'}` };
  },
};

/** Re-signs a variant as `auth.id`. */
const resign = (message: PbftInstanceMessage<ClientRequest[]>, auth: Authenticator): PbftMessage =>
  sign<PbftInstanceMessage<ClientRequest[]>>(message, auth);

/** Flat Castro–Liskov PBFT among `members` (group 'flat'; primary of view v = members[v mod n]). */
export function createPbft(members: readonly NodeId[], options: ClusterOptions, tuning: PbftTuning = {}): Protocol<PbftMessage, PbftState> {
  const genesis = [...members];
  return {
    name: 'pbft',
    members: genesis,
    createNode: (id, auth, persisted) => new PbftNode(id, genesis, options, auth, persisted, tuning),
    wireSize,
    votes: (message): Vote[] => (message.type === 'commit' ? [{ voter: message.sender, seq: message.seq, digest: message.digest }] : []),
    quorumFor: () => quorumSize(genesis.length),
    maxFaulty: () => maxFaulty(genesis.length),
    mutations: pbftMutations,
  };
}
