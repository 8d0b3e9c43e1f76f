import { batchDigest, requestKey } from '../core/digest';
import { ExecutedRequests } from '../core/executed';
import type { Authenticator, ClientRequest, Commit, ConsensusNode, LeaderView, NodeId, Outbound, Ready } from '../core/types';
import { sign, verify } from './codec';
import { Ballot } from './ballot';
import { LeaderState } from './leader';
import { RaftLog } from './log';
import type { Membership } from './membership';
import { parseMembershipChange } from './membership';
import type { AppendEntries, AppendResponse, CommitQuorum, Heartbeat, HeartbeatResponse, LogEntry, RaftMessage, RaftState, Unsigned, VoteRequest, VoteResponse } from './messages';
import type { RaftSettings } from './options';
import type { Progress } from './progress';
import { ElectionRandom } from './random';

export type RaftRole = 'follower' | 'preCandidate' | 'candidate' | 'leader';

/** A node's view of itself, for tests and tools (etcd's Status). */
export interface RaftStatus {
  role: RaftRole;
  term: number;
  leader: NodeId | undefined;
  commit: number;
  lastIndex: number;
  members: readonly NodeId[];
}

/** Batch digests by entry object: followers usually commit the very entries the leader sent. */
const entryDigests = new WeakMap<LogEntry, string>();

/**
 * One Raft node (Ongaro & Ousterhout; the Raft thesis for membership changes; etcd for
 * pre-vote, CheckQuorum and flow control) as a pure state machine: no clock but `tick`, no
 * randomness but its seeded generator, no I/O but the returned `Ready`.
 *
 * Beyond textbook Raft: entries carry batches of client requests and their global batch
 * seq; a leader appends a no-op when elected; membership changes commit one at a time and
 * take effect when committed (as in etcd); every node keeps the requests submitted to it
 * until it sees them applied and passes them on to each new leader.
 */
export class RaftNode implements ConsensusNode<RaftMessage, RaftState> {
  private term = 0;
  private votedFor: NodeId | undefined;
  private readonly log: RaftLog;
  private commitIndex = 0;
  private appliedIndex = 0;

  private role: RaftRole = 'follower';
  private leaderId: NodeId | undefined;
  private leader: LeaderState | undefined;
  private membership: Membership;
  private readonly random: ElectionRandom;
  private electionElapsed = 0;
  private electionTimeout = 0;
  /** Election rounds of this node lost in a row since it last had a leader: each doubles the next timeout range. */
  private lostRounds = 0;
  /** The current pre-vote round, while a pre-candidate. */
  private preVotes: Ballot | undefined;
  /**
   * This node's candidacy in its current term. It outlives the candidate's timeout: a
   * timed-out candidate pre-votes for the next term while still in this one, and late grants
   * can still make it the leader of this term (it voted for itself here and for no one else).
   */
  private votes: Ballot | undefined;
  private readonly applied: ExecutedRequests;
  /** Requests submitted here and not yet applied, with the tick they were last passed on. */
  private readonly outstanding = new Map<string, { request: ClientRequest; since: number }>();
  private now = 0;

  private messages: Outbound<RaftMessage>[] = [];
  private commits: Commit[] = [];
  private dirty = false;

  constructor(readonly id: NodeId, private readonly auth: Authenticator, private readonly settings: RaftSettings, persisted?: RaftState) {
    this.membership = settings.genesis;
    this.applied = new ExecutedRequests({}, settings.dedupWindow);
    this.log = new RaftLog(persisted?.log, persisted?.logLength);
    if (persisted) {
      this.term = persisted.term;
      this.votedFor = persisted.votedFor;
      this.commitIndex = persisted.commit;
      // Rebuild what applying the committed prefix left behind; the commits were made before.
      this.applyCommitted(undefined);
    }
    this.random = new ElectionRandom(settings.seed, id, this.term, this.log.lastIndex);
    this.resetElectionTimer();
  }

  step(_from: NodeId, message: RaftMessage): Ready<RaftMessage, RaftState> {
    return this.run(() => {
      if (verify(message, this.auth)) this.receive(message);
    });
  }

  tick(): Ready<RaftMessage, RaftState> {
    return this.run(() => {
      this.now++;
      this.resendStale();
      if (this.leader) this.tickLeader(this.leader);
      else this.tickElection();
    });
  }

  submit(request: ClientRequest): Ready<RaftMessage, RaftState> {
    return this.run(() => {
      if (this.applied.has(request)) return;
      const key = requestKey(request);
      if (!this.outstanding.has(key)) this.outstanding.set(key, { request, since: this.now });
      this.route([request]);
    });
  }

  leaderView(): LeaderView {
    return { leader: this.leaderId, view: this.term };
  }

  status(): RaftStatus {
    return { role: this.role, term: this.term, leader: this.leaderId, commit: this.commitIndex, lastIndex: this.log.lastIndex, members: this.membership.members };
  }

  private run(work: () => void): Ready<RaftMessage, RaftState> {
    this.messages = [];
    this.commits = [];
    this.dirty = false;
    work();
    const ready: Ready<RaftMessage, RaftState> = { messages: this.messages, commits: this.commits };
    if (this.dirty) ready.state = { term: this.term, votedFor: this.votedFor, commit: this.commitIndex, ...this.log.persisted() };
    return ready;
  }

  // ---- messages in ----

  private receive(m: RaftMessage): void {
    if (m.type === 'forward') {
      // A node that is no longer leader drops them: their origin passes them on to the next one.
      if (this.leader) this.propose(this.leader, m.requests);
      return;
    }
    if (m.term > this.term) {
      const asksVote = m.type === 'preVote' || m.type === 'vote';
      // A node that hears from its leader ignores candidates, so a rejoining node cannot depose it (etcd's lease).
      if (asksVote && this.inLease()) return;
      // A pre-vote and its grant are about a term nobody entered yet.
      const futureTerm = m.type === 'preVote' || (m.type === 'preVoteResp' && m.granted);
      if (!futureTerm) this.becomeFollower(m.term, m.type === 'append' || m.type === 'heartbeat' ? m.from : undefined);
    } else if (m.term < this.term) {
      this.refuseStale(m);
      return;
    }
    switch (m.type) {
      case 'preVote':
      case 'vote':
        return this.onVoteRequest(m);
      case 'preVoteResp':
      case 'voteResp':
        return this.onVoteResponse(m);
      case 'append':
        return this.onAppend(m);
      case 'heartbeat':
        return this.onHeartbeat(m);
      case 'appendResp':
        if (this.leader) this.onAppendResponse(this.leader, m);
        return;
      case 'heartbeatResp':
        if (this.leader) this.onHeartbeatResponse(this.leader, m);
        return;
    }
  }

  /** Tells a deposed leader or a lagging pre-candidate the current term (etcd does the same with pre-vote on). */
  private refuseStale(m: Exclude<RaftMessage, { type: 'forward' }>): void {
    if (m.type === 'append') this.send(m.from, { type: 'appendResp', from: this.id, term: this.term, success: false, index: m.prevIndex, commit: this.commitIndex });
    else if (m.type === 'heartbeat') this.send(m.from, { type: 'heartbeatResp', from: this.id, term: this.term, commit: this.commitIndex });
    else if (m.type === 'preVote') this.send(m.from, { type: 'preVoteResp', from: this.id, term: this.term, granted: false });
  }

  // ---- elections ----

  private tickElection(): void {
    this.electionElapsed++;
    // Only a voter campaigns: a removed node or a joiner not yet added waits to hear from a leader.
    if (!this.membership.has(this.id) || this.electionElapsed < this.electionTimeout) return;
    if (this.role !== 'follower') this.roundLost();
    this.startPreVote();
  }

  /**
   * Backs off after a lost round. When a round trip approaches the election timeout, rounds
   * with fixed timeouts keep colliding (candidates overlap, votes split, candidates give up
   * before the answers arrive) with the same odds every time; doubling the range makes a
   * clean round ever more likely without knowing the network's delays, as PBFT's doubling
   * view-change timeout does.
   */
  private roundLost(): void {
    this.lostRounds = Math.min(this.lostRounds + 1, this.settings.electionBackoffLimit);
  }

  /** Whether this node heard from a leader within the minimum election timeout. */
  private inLease(): boolean {
    return this.leaderId !== undefined && this.electionElapsed < this.settings.electionTimeoutTicks[0];
  }

  /** Asks whether a campaign could win before raising the term, so a partitioned node cannot inflate it (Raft thesis §9.6). */
  private startPreVote(): void {
    this.role = 'preCandidate';
    this.setLeader(undefined);
    this.resetElectionTimer();
    this.preVotes = new Ballot(this.term + 1, this.id);
    this.broadcast({ type: 'preVote', from: this.id, term: this.term + 1, lastIndex: this.log.lastIndex, lastTerm: this.log.lastTerm });
    this.tallyPreVotes();
  }

  private campaign(): void {
    this.role = 'candidate';
    this.term++;
    this.votedFor = this.id;
    this.dirty = true;
    this.resetElectionTimer();
    this.votes = new Ballot(this.term, this.id);
    this.broadcast({ type: 'vote', from: this.id, term: this.term, lastIndex: this.log.lastIndex, lastTerm: this.log.lastTerm });
    this.tallyVotes();
  }

  private onVoteRequest(m: VoteRequest): void {
    const pre = m.type === 'preVote';
    const canVote = this.votedFor === m.from || (this.votedFor === undefined && this.leaderId === undefined) || (pre && m.term > this.term);
    const type = pre ? 'preVoteResp' : 'voteResp';
    if (!canVote || !this.log.isUpToDate(m.lastIndex, m.lastTerm)) {
      this.send(m.from, { type, from: this.id, term: this.term, granted: false });
      return;
    }
    this.send(m.from, { type, from: this.id, term: m.term, granted: true });
    if (!pre) {
      this.electionElapsed = 0;
      this.votedFor = m.from;
      this.dirty = true;
    }
  }

  private onVoteResponse(m: VoteResponse): void {
    if (!this.membership.has(m.from)) return;
    if (m.type === 'preVoteResp') {
      if (this.role !== 'preCandidate' || !this.preVotes || (m.granted && m.term !== this.preVotes.term)) return;
      if (this.preVotes.record(m.from, m.granted)) this.tallyPreVotes();
      return;
    }
    // Past `receive`, an answer is of the current term.
    if (this.role === 'leader' || this.votes?.term !== this.term) return;
    if (this.votes.record(m.from, m.granted)) this.tallyVotes();
  }

  private tallyPreVotes(): void {
    if (!this.preVotes) return;
    if (this.preVotes.won(this.membership)) this.campaign();
    else if (this.preVotes.lost(this.membership)) {
      this.roundLost();
      this.becomeFollower(this.term, undefined);
    }
  }

  private tallyVotes(): void {
    if (!this.votes) return;
    if (this.votes.won(this.membership)) this.becomeLeader();
    else if (this.votes.lost(this.membership)) {
      this.votes = undefined;
      // A pre-candidate that timed out of this candidacy carries on with its pre-vote.
      if (this.role !== 'candidate') return;
      this.roundLost();
      this.becomeFollower(this.term, undefined);
    }
  }

  private becomeFollower(term: number, leader: NodeId | undefined): void {
    if (term !== this.term) {
      this.term = term;
      this.votedFor = undefined;
      this.dirty = true;
    }
    this.role = 'follower';
    this.leader = undefined;
    this.preVotes = undefined;
    this.votes = undefined;
    this.resetElectionTimer();
    this.setLeader(leader);
  }

  private becomeLeader(): void {
    this.role = 'leader';
    this.electionElapsed = 0;
    this.lostRounds = 0;
    this.preVotes = undefined;
    this.votes = undefined;
    const leader = new LeaderState(this.id, this.log, this.membership, this.commitIndex, this.now);
    this.leader = leader;
    this.leaderId = this.id;
    // Entries of earlier terms commit only under one of this term (§5.4.2); so does the first membership change.
    leader.changeBarrier = this.appendEntry(leader, { term: this.term, kind: 'noop', seq: this.log.seqAt(this.log.lastIndex), requests: [] });
    this.propose(leader, [...this.outstanding.values()].map((o) => o.request));
    this.replicateToAll(leader);
    this.maybeCommit();
  }

  private resetElectionTimer(): void {
    this.electionElapsed = 0;
    const [min, max] = this.settings.electionTimeoutTicks;
    const scale = 2 ** this.lostRounds;
    this.electionTimeout = this.random.between(min * scale, max * scale);
  }

  /** Follows `leader`; a newly known leader is handed the requests still waiting here. */
  private setLeader(leader: NodeId | undefined): void {
    if (leader === this.leaderId) return;
    this.leaderId = leader;
    if (leader !== undefined && leader !== this.id && this.outstanding.size > 0) {
      for (const entry of this.outstanding.values()) entry.since = this.now;
      this.send(leader, { type: 'forward', from: this.id, requests: [...this.outstanding.values()].map((o) => o.request) });
    }
  }

  // ---- follower side of replication ----

  private acceptLeader(leader: NodeId): void {
    if (this.role !== 'follower') this.becomeFollower(this.term, leader);
    else this.setLeader(leader);
    this.electionElapsed = 0;
    if (this.lostRounds > 0) {
      this.lostRounds = 0;
      this.resetElectionTimer();
    }
  }

  private onAppend(m: AppendEntries): void {
    this.acceptLeader(m.from);
    const reply = (fields: Pick<AppendResponse, 'success' | 'index' | 'seq' | 'hintIndex' | 'hintTerm'>): void =>
      this.send(m.from, { type: 'appendResp', from: this.id, term: this.term, commit: this.commitIndex, ...fields });
    if (m.prevIndex < this.commitIndex) {
      // The committed prefix matches every leader's log.
      reply({ success: true, index: this.commitIndex, seq: this.log.seqAt(this.commitIndex) });
      return;
    }
    if (!this.log.matches(m.prevIndex, m.prevTerm)) {
      reply({ success: false, index: m.prevIndex, ...this.log.conflictHint(m.prevIndex, this.commitIndex) });
      return;
    }
    const { matched, changed } = this.log.merge(m.prevIndex, m.entries, this.commitIndex);
    if (changed) this.dirty = true;
    this.commitTo(Math.min(m.commit, matched), m.quorum);
    reply({ success: true, index: matched, seq: this.log.seqAt(matched) });
  }

  private onHeartbeat(m: Heartbeat): void {
    this.acceptLeader(m.from);
    this.commitTo(m.commit, m.quorum);
    this.send(m.from, { type: 'heartbeatResp', from: this.id, term: this.term, commit: this.commitIndex });
  }

  /** Commits up to `index` when the leader showed the acknowledgements that commit it. */
  private commitTo(index: number, quorum: CommitQuorum | undefined): void {
    const target = Math.min(index, this.log.lastIndex);
    if (target <= this.commitIndex || !quorum || quorum.index < target) return;
    this.commitIndex = target;
    this.dirty = true;
    this.applyCommitted(quorum);
  }

  /**
   * Applies committed entries in order: requests applied before are dropped (the batch
   * keeps its seq, possibly empty), a membership change takes effect. Without `quorum`
   * (a restart replaying its committed log) nothing is emitted.
   */
  private applyCommitted(quorum: CommitQuorum | undefined): void {
    while (this.appliedIndex < this.commitIndex) {
      const entry = this.log.entry(++this.appliedIndex);
      if (entry.kind === 'noop') continue;
      const fresh: ClientRequest[] = [];
      for (const request of entry.requests) {
        const key = requestKey(request);
        this.outstanding.delete(key);
        this.leader?.pending.delete(key);
        if (this.applied.has(request)) continue;
        this.applied.add(request, entry.seq);
        fresh.push(request);
      }
      this.applied.expire(entry.seq);
      if (quorum) this.commits.push({ seq: entry.seq, digest: this.digestOf(entry, fresh), requests: fresh, quorum: quorum.voters, epoch: quorum.epoch });
      const change = entry.kind === 'config' && fresh.length === 1 ? parseMembershipChange(fresh[0].operation) : undefined;
      if (change) this.reconfigure(this.membership.apply(change));
    }
  }

  private digestOf(entry: LogEntry, requests: ClientRequest[]): string {
    if (requests.length !== entry.requests.length) return batchDigest(requests);
    let digest = entryDigests.get(entry);
    if (digest === undefined) entryDigests.set(entry, (digest = batchDigest(requests)));
    return digest;
  }

  private reconfigure(membership: Membership): void {
    if (membership === this.membership) return;
    this.membership = this.settings.adopt(membership);
    if (!this.leader) return;
    if (this.membership.has(this.id)) {
      // A follower this change removed gets no more messages: tell it the commit that removed it, so it can stop.
      for (const progress of this.leader.progress.values()) if (!this.membership.has(progress.node)) this.sendHeartbeat(this.leader, progress);
      this.leader.reconfigure(this.membership, this.commitIndex, this.now);
      this.replicateToAll(this.leader);
      return;
    }
    // A leader that removed itself steps down once the change is committed (Raft thesis §4.2.2),
    // telling the followers first so that they apply it before electing the next leader.
    this.heartbeat(this.leader);
    this.becomeFollower(this.term, undefined);
  }

  // ---- leader side ----

  private tickLeader(leader: LeaderState): void {
    this.electionElapsed++;
    if (this.electionElapsed >= this.settings.electionTimeoutTicks[0]) {
      this.electionElapsed = 0;
      // A leader cut off from a majority steps down instead of accepting requests it cannot commit.
      if (!leader.checkQuorum(this.membership)) {
        this.becomeFollower(this.term, undefined);
        return;
      }
    }
    if (++leader.heartbeatElapsed >= this.settings.heartbeatTicks) {
      leader.heartbeatElapsed = 0;
      this.heartbeat(leader);
    }
    if (leader.queue.length > 0 && ++leader.batchElapsed >= this.settings.batchTimeoutTicks) this.appendBatches(leader, true);
  }

  private heartbeat(leader: LeaderState): void {
    const retransmitTicks = this.settings.electionTimeoutTicks[0];
    for (const progress of leader.progress.values()) {
      this.sendHeartbeat(leader, progress);
      if (progress.match >= this.log.lastIndex) continue;
      // An AppendEntries or its answer was lost: probe again from what the follower acknowledged.
      if (progress.stalled(this.now, retransmitTicks)) progress.becomeProbe(progress.match + 1);
      this.replicateTo(leader, progress);
    }
  }

  private sendHeartbeat(leader: LeaderState, progress: Progress): void {
    const commit = Math.min(progress.match, this.commitIndex);
    this.send(progress.node, { type: 'heartbeat', from: this.id, term: this.term, commit, quorum: this.quorumFor(leader, progress, commit) });
  }

  /** The commit quorum, for a follower that has not reported committing up to `commit`. */
  private quorumFor(leader: LeaderState, progress: Progress, commit: number): CommitQuorum | undefined {
    return commit > progress.commitKnown && leader.quorum && leader.quorum.index >= commit ? leader.quorum : undefined;
  }

  private propose(leader: LeaderState, requests: readonly ClientRequest[]): void {
    let queued = false;
    for (const request of requests) if (!this.applied.has(request) && leader.enqueue(request)) queued = true;
    if (!queued) return;
    this.proposeChange(leader);
    if (this.leader === leader) this.appendBatches(leader, false);
  }

  /** Appends full batches, and with `flush` the partial one too. */
  private appendBatches(leader: LeaderState, flush: boolean): void {
    let appended = false;
    while (leader.queue.length >= this.settings.batchSize || (flush && leader.queue.length > 0)) {
      const requests = leader.queue.splice(0, this.settings.batchSize);
      this.appendEntry(leader, { term: this.term, kind: 'batch', seq: this.log.seqAt(this.log.lastIndex) + 1, requests });
      appended = true;
    }
    if (flush) leader.batchElapsed = 0;
    if (!appended) return;
    this.replicateToAll(leader);
    this.maybeCommit();
  }

  /** Proposes the next membership change once the previous one (and the term's no-op) committed. */
  private proposeChange(leader: LeaderState): void {
    if (leader.changes.length === 0 || leader.changeBarrier > this.commitIndex) return;
    const request = leader.changes.shift() as ClientRequest;
    leader.changeBarrier = this.appendEntry(leader, { term: this.term, kind: 'config', seq: this.log.seqAt(this.log.lastIndex) + 1, requests: [request] });
    this.replicateToAll(leader);
    this.maybeCommit();
  }

  private appendEntry(leader: LeaderState, entry: LogEntry): number {
    const index = this.log.append(entry);
    this.dirty = true;
    if (this.membership.has(this.id)) leader.acks.raise(index - 1, index);
    return index;
  }

  private replicateToAll(leader: LeaderState): void {
    for (const progress of leader.progress.values()) this.replicateTo(leader, progress);
  }

  /** Sends what the follower lacks: one probe, or AppendEntries up to the inflight window. */
  private replicateTo(leader: LeaderState, progress: Progress): void {
    const { maxInflight, maxEntriesPerAppend } = this.settings;
    while (progress.canSend(maxInflight) && (progress.state === 'probe' || progress.next <= this.log.lastIndex)) {
      const prevIndex = progress.next - 1;
      const last = Math.min(this.log.lastIndex, prevIndex + maxEntriesPerAppend);
      this.send(progress.node, {
        type: 'append',
        from: this.id,
        term: this.term,
        prevIndex,
        prevTerm: this.log.term(prevIndex),
        entries: this.log.slice(prevIndex + 1, last),
        commit: this.commitIndex,
        quorum: this.quorumFor(leader, progress, this.commitIndex),
      });
      progress.sent(last, this.now);
    }
  }

  private onAppendResponse(leader: LeaderState, m: AppendResponse): void {
    const progress = leader.progress.get(m.from);
    if (!progress || m.index > this.log.lastIndex) return;
    progress.active = true;
    progress.commitKnown = Math.max(progress.commitKnown, m.commit);
    if (!m.success) {
      const stale = m.index <= progress.match || (progress.state === 'probe' && m.index !== progress.next - 1);
      if (stale) return;
      progress.becomeProbe(Math.min(this.retryIndex(m), m.index));
      this.replicateTo(leader, progress);
      return;
    }
    const before = progress.match;
    if (progress.acknowledge(m.index, this.now)) {
      if (this.membership.has(m.from)) leader.acks.raise(before, progress.match);
      this.maybeCommit();
    }
    if (this.leader === leader && leader.progress.get(m.from) === progress) this.replicateTo(leader, progress);
  }

  /** Where to retry after a refusal: past our last entry of the follower's conflicting term, else where that term starts in its log. */
  private retryIndex(m: AppendResponse): number {
    const hintIndex = m.hintIndex ?? m.index;
    if (m.hintTerm === undefined) return hintIndex;
    const last = this.log.lastIndexOfTerm(m.hintTerm, m.index);
    return last === undefined ? hintIndex : last + 1;
  }

  private onHeartbeatResponse(leader: LeaderState, m: HeartbeatResponse): void {
    const progress = leader.progress.get(m.from);
    if (!progress) return;
    progress.active = true;
    progress.commitKnown = Math.max(progress.commitKnown, m.commit);
  }

  /** Commits what a majority holds (entries of this term only), applying membership changes one step at a time. */
  private maybeCommit(): void {
    for (let leader = this.leader; leader && this.leader === leader; leader = this.leader) {
      const target = leader.commitTarget(this.membership, this.commitIndex, this.term);
      if (target === this.commitIndex) break;
      leader.quorum = leader.quorumAt(target, this.membership);
      leader.acks.commitTo(target);
      this.commitIndex = target;
      this.dirty = true;
      this.applyCommitted(leader.quorum);
      if (this.leader === leader) this.proposeChange(leader);
    }
  }

  // ---- requests ----

  /** Gives requests to the leader: queued here when leading, forwarded when a leader is known, else kept for the next one. */
  private route(requests: ClientRequest[]): void {
    if (this.leader) this.propose(this.leader, requests);
    else if (this.leaderId !== undefined) this.send(this.leaderId, { type: 'forward', from: this.id, requests });
  }

  /** Requests not applied within the request timeout are passed on again (the leader drops copies it has). */
  private resendStale(): void {
    if (this.now % this.settings.requestTimeoutTicks !== 0 || this.outstanding.size === 0) return;
    const stale: ClientRequest[] = [];
    for (const entry of this.outstanding.values()) {
      if (this.now - entry.since < this.settings.requestTimeoutTicks) continue;
      entry.since = this.now;
      stale.push(entry.request);
    }
    if (stale.length > 0) this.route(stale);
  }

  // ---- messages out ----

  private send(to: NodeId, message: Unsigned<RaftMessage>): void {
    this.messages.push({ to, message: sign(message, this.auth) });
  }

  /** One signed copy for every other voter. */
  private broadcast(message: Unsigned<RaftMessage>): void {
    const signed = sign(message, this.auth);
    for (const node of this.membership.members) if (node !== this.id) this.messages.push({ to: node, message: signed });
  }
}
