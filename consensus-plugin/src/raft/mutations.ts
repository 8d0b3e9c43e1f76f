import type { ClientRequest, Mutations } from '../core/types';
import { sign } from './codec';
import type { AppendEntries, AppendResponse, LogEntry, RaftMessage, VoteResponse } from './messages';

/**
 * Validly signed lies a Byzantine Raft node could tell. Raft has no defence against them
 * (it tolerates crashes only); they exist so the simulator can show what they break.
 */
export const raftMutations: Mutations<RaftMessage> = {
  /** The same AppendEntries with a different batch in its last batch entry. */
  equivocate(message, auth) {
    if (message.type !== 'append') return undefined;
    const position = message.entries.map((e) => e.kind).lastIndexOf('batch');
    if (position < 0) return undefined;
    const entries = message.entries.slice();
    entries[position] = otherBatch(entries[position], message.from);
    return sign<AppendEntries>({ ...message, entries }, auth);
  },

  /** A vote answer flipped: a grant refused or a refusal granted; an acknowledgement withdrawn or invented. */
  conflictingVote(message, auth) {
    if (message.type === 'preVoteResp' || message.type === 'voteResp') return sign<VoteResponse>({ ...message, granted: !message.granted }, auth);
    if (message.type !== 'appendResp') return undefined;
    const flipped: AppendResponse = { ...message, success: !message.success, seq: undefined, hintIndex: undefined, hintTerm: undefined };
    return sign<AppendResponse>(flipped, auth);
  },

  badSignature(message) {
    const first = message.sig.charAt(0) === '0' ? '1' : '0';
    return { ...message, sig: first + message.sig.slice(1) };
  },
};

/** A batch differing from `entry`'s: one request fewer, or a request nobody sent. */
function otherBatch(entry: LogEntry, liar: number): LogEntry {
  const forged: ClientRequest = { client: `equivocation/${liar}`, timestamp: entry.seq, operation: 'equivocation' };
  return { ...entry, requests: entry.requests.length > 1 ? entry.requests.slice(0, -1) : [forged] };
}
