import { requestKey } from '../core/digest';
import type { ClientRequest, Commit, NodeId, Vote } from '../core/types';

/**
 * - `agreement`: two honest nodes committed different digests, or different requests, at one sequence number;
 * - `validity`: a committed request no client submitted, or one request at two positions of the log;
 * - `order`: an honest node's commits skipped or repeated a sequence number;
 * - `quorum`: an honest commit names fewer than `quorumFor` distinct voters that voted for it: an honest voter
 *   counts only if it really sent a matching vote; a Byzantine one always counts (it can sign anything);
 * - `liveness`: after the network stabilised, a request was not committed by every honest node within the bound.
 */
export type ViolationKind = 'agreement' | 'validity' | 'order' | 'quorum' | 'liveness';

export interface Violation {
  kind: ViolationKind;
  /** Simulated time of detection (ms). */
  atMs: number;
  node?: NodeId;
  seq?: number;
  detail: string;
}

export const isSafetyViolation = (v: Violation): boolean => v.kind !== 'liveness';

/** What a commit meant to the run, for the simulator's bookkeeping. */
export interface CommitOutcome {
  /** False for a replay: a restarted node committing again, identically, a sequence number it had already committed. */
  fresh: boolean;
  /** The first honest commit of this sequence number. */
  firstOfSeq: boolean;
}

interface RequestRecord {
  operation: string;
  submittedAtMs: number;
  /** Honest nodes of the liveness set that committed it, and when the last one did. */
  committedBy: number;
  lastCommitAtMs: number;
  /** Members that join or leave during the run that committed it, and when (created on the first). */
  changingCommits?: Map<NodeId, number>;
}

/** The positions of the log a joining or leaving member must commit: those in (after, until]; none while `after` is unknown. */
interface Tenure {
  after: number | undefined;
  until: number;
}

export interface InvariantOptions {
  quorumFor(commit: Commit): number;
  /** Honest nodes expected to be up at the end: liveness asks each of them to commit every request. */
  livenessNodes: ReadonlySet<NodeId>;
  /** Byzantine nodes: their signed vote for anything is within their power, so they count in any quorum. */
  byzantine: ReadonlySet<NodeId>;
  /**
   * Honest nodes that join (ids past the genesis members) or leave during the run, not in
   * `livenessNodes`: each must commit the requests ordered while it is a member, after its
   * join's position and up to its leave's (see `recordMembership`). A genesis member that
   * leaves is a member from position 0.
   */
  changingMembers?: ReadonlyMap<NodeId, 'join' | 'leave'>;
  /** Record votes and check quorums (the costly check); on by default. */
  checkQuorums?: boolean;
  /** Violations kept per kind (more are counted, not stored). */
  keepPerKind?: number;
}

/**
 * Safety and liveness of a run, checked as it goes. The simulator reports every request a
 * client submitted, every vote a node sent (`votes(message)` of what left it, only the
 * sender's own), and every commit of an honest node; Byzantine nodes' commits are not
 * checked. Memory is per sequence number and per request, never per node × request.
 */
export class InvariantChecker {
  private readonly violationsByKind = new Map<ViolationKind, Violation[]>();
  private readonly counts = new Map<ViolationKind, number>();
  private readonly requests = new Map<string, RequestRecord>();
  /** Digest and request keys of each decided sequence number; first position of each request. */
  private readonly decided: (string | undefined)[] = [];
  private readonly decidedRequests: (string | undefined)[] = [];
  private readonly requestSeq = new Map<string, number>();
  private readonly lastSeq = new Map<NodeId, number>();
  private readonly restarted = new Set<NodeId>();
  /** seq → digest → voters that sent a matching vote. */
  private readonly exactVotes = new Map<number, Map<string, Set<NodeId>>>();
  /** voter → highest seq it acknowledged with an `upTo` vote. */
  private readonly upToVotes = new Map<NodeId, number>();
  private readonly checkQuorums: boolean;
  private readonly keepPerKind: number;
  private readonly tenures = new Map<NodeId, Tenure>();

  constructor(private readonly options: InvariantOptions) {
    this.checkQuorums = options.checkQuorums ?? true;
    this.keepPerKind = options.keepPerKind ?? 20;
    for (const [node, first] of options.changingMembers ?? []) this.tenures.set(node, { after: first === 'join' ? undefined : 0, until: Infinity });
  }

  /** A change of a `changingMembers` node was ordered at position `seq` (its first honest commit). */
  recordMembership(node: NodeId, change: 'join' | 'leave', seq: number): void {
    const tenure = this.tenures.get(node);
    if (!tenure) return;
    if (change === 'join' && tenure.after === undefined) tenure.after = seq;
    if (change === 'leave') tenure.until = Math.min(tenure.until, seq);
  }

  /** A client submitted `request` (again, on a retry: the first time counts). */
  recordSubmitted(request: ClientRequest, atMs: number): void {
    const key = requestKey(request);
    if (!this.requests.has(key)) this.requests.set(key, { operation: request.operation, submittedAtMs: atMs, committedBy: 0, lastCommitAtMs: 0 });
  }

  /** `sender` put these votes on the wire; only its own count (others' are forwarded certificates). */
  recordVotes(sender: NodeId, votes: readonly Vote[]): void {
    if (!this.checkQuorums) return;
    for (const vote of votes) {
      if (vote.voter !== sender) continue;
      if (vote.upTo) {
        if ((this.upToVotes.get(sender) ?? 0) < vote.seq) this.upToVotes.set(sender, vote.seq);
        continue;
      }
      let byDigest = this.exactVotes.get(vote.seq);
      if (!byDigest) this.exactVotes.set(vote.seq, (byDigest = new Map()));
      let voters = byDigest.get(vote.digest);
      if (!voters) byDigest.set(vote.digest, (voters = new Set()));
      voters.add(sender);
    }
  }

  /** A node restarted from persisted state: it may replay commits it had made. */
  recordRestart(node: NodeId): void {
    this.restarted.add(node);
  }

  /** Check one commit of an honest node. */
  checkCommit(node: NodeId, commit: Commit, atMs: number): CommitOutcome {
    const last = this.lastSeq.get(node) ?? 0;
    if (commit.seq <= last) {
      if (this.restarted.has(node) && this.decided[commit.seq] === commit.digest) return { fresh: false, firstOfSeq: false };
      this.report({ kind: 'order', atMs, node, seq: commit.seq, detail: `committed seq ${commit.seq} after seq ${last}` });
      return { fresh: false, firstOfSeq: false };
    }
    if (commit.seq !== last + 1) this.report({ kind: 'order', atMs, node, seq: commit.seq, detail: `gap: seq ${commit.seq} after seq ${last}` });
    this.lastSeq.set(node, commit.seq);

    const keys = commit.requests.map(requestKey);
    const content = keys.join('\n');
    const agreed = this.decided[commit.seq];
    const firstOfSeq = agreed === undefined;
    if (firstOfSeq) {
      this.decided[commit.seq] = commit.digest;
      this.decidedRequests[commit.seq] = content;
    } else if (agreed !== commit.digest) {
      this.report({ kind: 'agreement', atMs, node, seq: commit.seq, detail: `digest ${short(commit.digest)} where another honest node committed ${short(agreed)}` });
    } else if (this.decidedRequests[commit.seq] !== content) {
      this.report({ kind: 'agreement', atMs, node, seq: commit.seq, detail: `digest ${short(commit.digest)} with other requests than another honest node's` });
    }
    if (this.checkQuorums) this.checkQuorum(node, commit, atMs);
    this.checkRequests(node, commit, keys, atMs);
    return { fresh: true, firstOfSeq };
  }

  /**
   * Liveness after stabilisation: each request must be committed by every node of the
   * liveness set by max(submitted, stableAt) + bound, when that deadline falls within the
   * run. One violation summarises all late requests.
   */
  checkLiveness(stableAtMs: number, boundMs: number, endMs: number): void {
    const needed = this.options.livenessNodes.size;
    let due = 0;
    let late = 0;
    let example = '';
    for (const [key, record] of this.requests) {
      const deadline = Math.max(record.submittedAtMs, stableAtMs) + boundMs;
      if (deadline > endMs) continue;
      due++;
      const missing = this.missingChangingMembers(key, record, deadline);
      if (record.committedBy >= needed && record.lastCommitAtMs <= deadline && missing.length === 0) continue;
      late++;
      if (!example) {
        const others = missing.length > 0 ? ` (not by changing member${missing.length > 1 ? 's' : ''} ${missing.join(', ')})` : '';
        example = `${key.replace('\u0000', '/')} submitted @${record.submittedAtMs.toFixed(1)}ms committed by ${record.committedBy}/${needed} honest nodes${others}`;
      }
    }
    if (late > 0) this.report({ kind: 'liveness', atMs: endMs, detail: `${late} of ${due} requests not committed everywhere within ${boundMs}ms after stabilising at ${stableAtMs}ms (e.g. ${example})` });
  }

  /** Kept violations, safety first, then by time. */
  violations(): Violation[] {
    return [...this.violationsByKind.values()].flat().sort((a, b) => Number(isSafetyViolation(b)) - Number(isSafetyViolation(a)) || a.atMs - b.atMs);
  }

  /** All violations found per kind, including those not kept. */
  violationCounts(): Partial<Record<ViolationKind, number>> {
    return Object.fromEntries(this.counts);
  }

  /** Number of distinct requests clients submitted. */
  get submittedCount(): number {
    return this.requests.size;
  }

  /** Joining or leaving members that were due to commit this request by `deadline` and did not. */
  private missingChangingMembers(key: string, record: RequestRecord, deadline: number): NodeId[] {
    if (this.tenures.size === 0) return [];
    const seq = this.requestSeq.get(key);
    if (seq === undefined) return [];
    const missing: NodeId[] = [];
    for (const [node, { after, until }] of this.tenures) {
      if (after === undefined || seq <= after || seq > until) continue;
      const at = record.changingCommits?.get(node);
      if (at === undefined || at > deadline) missing.push(node);
    }
    return missing;
  }

  private checkQuorum(node: NodeId, commit: Commit, atMs: number): void {
    const needed = this.options.quorumFor(commit);
    const exact = this.exactVotes.get(commit.seq)?.get(commit.digest);
    let matching = 0;
    for (const voter of new Set(commit.quorum)) {
      if (exact?.has(voter) || (this.upToVotes.get(voter) ?? 0) >= commit.seq || this.options.byzantine.has(voter)) matching++;
    }
    if (matching < needed) {
      this.report({ kind: 'quorum', atMs, node, seq: commit.seq, detail: `${matching} of the ${commit.quorum.length} voters it names sent a matching vote; ${needed} needed` });
    }
  }

  private checkRequests(node: NodeId, commit: Commit, keys: readonly string[], atMs: number): void {
    const inBatch = new Set<string>();
    const counts = this.options.livenessNodes.has(node);
    const changing = this.tenures.has(node);
    for (let i = 0; i < keys.length; i++) {
      const request = commit.requests[i];
      const key = keys[i];
      const record = this.requests.get(key);
      if (!record || record.operation !== request.operation) {
        this.report({ kind: 'validity', atMs, node, seq: commit.seq, detail: `request ${key.replace('\u0000', '/')} was never submitted` });
        continue;
      }
      const position = this.requestSeq.get(key);
      if (inBatch.has(key) || (position !== undefined && position !== commit.seq)) {
        this.report({ kind: 'validity', atMs, node, seq: commit.seq, detail: `request ${key.replace('\u0000', '/')} also committed at seq ${position ?? commit.seq}` });
        continue;
      }
      inBatch.add(key);
      if (position === undefined) this.requestSeq.set(key, commit.seq);
      if (counts) {
        record.committedBy++;
        record.lastCommitAtMs = atMs;
      } else if (changing) {
        record.changingCommits ??= new Map();
        if (!record.changingCommits.has(node)) record.changingCommits.set(node, atMs);
      }
    }
  }

  private report(violation: Violation): void {
    this.counts.set(violation.kind, (this.counts.get(violation.kind) ?? 0) + 1);
    let kept = this.violationsByKind.get(violation.kind);
    if (!kept) this.violationsByKind.set(violation.kind, (kept = []));
    if (kept.length < this.keepPerKind) kept.push(violation);
  }
}

const short = (digest: string): string => digest.slice(0, 12);
