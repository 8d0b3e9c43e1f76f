import type { ClientRequest, NodeId } from '../core/types';

/**
 * What a log entry carries: a batch of client requests, one membership change (a `join:<id>`
 * or `leave:<id>` request, alone in its entry), or the no-op a new leader appends to commit
 * its term (Raft §8).
 */
export type EntryKind = 'batch' | 'config' | 'noop';

export interface LogEntry {
  term: number;
  kind: EntryKind;
  /**
   * Position in the global order of committed batches: batch and config entries count
   * 1, 2, 3, …; a no-op repeats the previous entry's number, so committed no-ops leave no
   * gap in `Commit.seq`.
   */
  seq: number;
  requests: ClientRequest[];
}

/**
 * The acknowledgements a leader counted when it committed up to `index`: `voters` (itself
 * included) all hold the log up to there, and are a majority of configuration `epoch`.
 * Followers name them in their own commits.
 */
export interface CommitQuorum {
  index: number;
  epoch: number;
  voters: NodeId[];
}

interface Signed {
  /** The sender, inside the signed payload (the transport's claim is not trusted). */
  from: NodeId;
  /** The sender's signature over `signingPayload` (codec.ts). */
  sig: string;
}

/** Pre-vote (`term` is the term the sender would campaign in) or a real vote request. */
export interface VoteRequest extends Signed {
  type: 'preVote' | 'vote';
  term: number;
  lastIndex: number;
  lastTerm: number;
}

export interface VoteResponse extends Signed {
  type: 'preVoteResp' | 'voteResp';
  /** The request's term when granted, the voter's own when refused. */
  term: number;
  granted: boolean;
}

export interface AppendEntries extends Signed {
  type: 'append';
  term: number;
  prevIndex: number;
  prevTerm: number;
  entries: LogEntry[];
  /** The leader's commit index. */
  commit: number;
  /** Present while the follower has not reported `commit` yet. */
  quorum?: CommitQuorum;
}

export interface AppendResponse extends Signed {
  type: 'appendResp';
  term: number;
  success: boolean;
  /** On success the index the follower's log now matches up to; on refusal the `prevIndex` refused. */
  index: number;
  /** On success the batch seq at `index`: the follower acknowledges every batch up to it. */
  seq?: number;
  /** Fast backtracking on refusal: the follower's entry at `index` has `hintTerm`, which starts at `hintIndex` (or its log ends before `hintIndex`). */
  hintIndex?: number;
  hintTerm?: number;
  /** The follower's commit index, so the leader knows when to stop sending it a quorum. */
  commit: number;
}

/** Keeps followers from campaigning and tells them how far they may commit. */
export interface Heartbeat extends Signed {
  type: 'heartbeat';
  term: number;
  /** min(the follower's acknowledged index, the leader's commit index), as in etcd. */
  commit: number;
  quorum?: CommitQuorum;
}

export interface HeartbeatResponse extends Signed {
  type: 'heartbeatResp';
  term: number;
  commit: number;
}

/** Client requests a node passes on to the leader it knows. */
export interface Forward extends Signed {
  type: 'forward';
  requests: ClientRequest[];
}

export type RaftMessage = VoteRequest | VoteResponse | AppendEntries | AppendResponse | Heartbeat | HeartbeatResponse | Forward;

/** A message before its signature. */
export type Unsigned<M extends RaftMessage> = M extends RaftMessage ? Omit<M, 'sig'> : never;

/**
 * What a node persists (etcd's HardState plus its log). `log` may hold entries past
 * `logLength` that later states appended: a node only ever appends to this array or
 * replaces it with a truncated copy, so its first `logLength` entries never change, and a
 * state costs O(1) however long the log. A restart reads the first `logLength` entries.
 */
export interface RaftState {
  term: number;
  votedFor?: NodeId;
  /** Committed (and applied) up to here: a restart does not commit these again. */
  commit: number;
  log: readonly LogEntry[];
  logLength: number;
}
