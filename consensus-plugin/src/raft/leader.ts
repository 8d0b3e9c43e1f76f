import { requestKey } from '../core/digest';
import type { ClientRequest, NodeId } from '../core/types';
import type { RaftLog } from './log';
import type { Membership } from './membership';
import { parseMembershipChange } from './membership';
import type { CommitQuorum } from './messages';
import { AckCounter, Progress } from './progress';

/**
 * What a node holds only while it leads: a Progress per follower, the acknowledgement
 * counts, and the requests waiting to be batched. Created on election, dropped on losing
 * the lead; the node (node.ts) turns its decisions into messages and log entries.
 */
export class LeaderState {
  readonly progress = new Map<NodeId, Progress>();
  acks: AckCounter;
  /** Ordinary requests waiting for a batch, oldest first. */
  readonly queue: ClientRequest[] = [];
  /** Membership changes waiting their turn: one at a time, each committed before the next. */
  readonly changes: ClientRequest[] = [];
  /** Keys of requests queued or in an uncommitted entry: each is batched once. */
  readonly pending = new Set<string>();
  /** No membership change is proposed until this index (the last change, or the term's no-op) commits. */
  changeBarrier = 0;
  /** The acknowledgements behind the latest commit, sent to followers that have not reported it. */
  quorum: CommitQuorum | undefined;
  heartbeatElapsed = 0;
  batchElapsed = 0;

  constructor(private readonly self: NodeId, private readonly log: RaftLog, membership: Membership, committed: number, now: number) {
    for (const node of membership.members) if (node !== self) this.progress.set(node, new Progress(node, log.lastIndex + 1, now));
    for (let index = committed + 1; index <= log.lastIndex; index++) for (const request of log.entry(index).requests) this.pending.add(requestKey(request));
    this.acks = this.countAcks(membership, committed);
  }

  /** Queues a request unless it is already queued or in the log; true when queued. */
  enqueue(request: ClientRequest): boolean {
    const key = requestKey(request);
    if (this.pending.has(key)) return false;
    this.pending.add(key);
    if (parseMembershipChange(request.operation)) this.changes.push(request);
    else {
      if (this.queue.length === 0) this.batchElapsed = 0;
      this.queue.push(request);
    }
    return true;
  }

  /** Followers join and leave with the configuration; the counts follow its voters. */
  reconfigure(membership: Membership, committed: number, now: number): void {
    for (const node of this.progress.keys()) if (!membership.has(node)) this.progress.delete(node);
    for (const node of membership.members) {
      if (node !== this.self && !this.progress.has(node)) this.progress.set(node, new Progress(node, this.log.lastIndex + 1, now));
    }
    this.acks = this.countAcks(membership, committed);
  }

  /** The highest index a majority holds whose entry is of the leader's `term` (only those commit by counting, §5.4.2). */
  commitTarget(membership: Membership, committed: number, term: number): number {
    let target = committed;
    for (let index = committed + 1; index <= this.log.lastIndex && this.acks.count(index) >= membership.majority; index++) {
      if (this.log.term(index) === term) target = index;
    }
    return target;
  }

  /** The voters holding the log up to `index`, the leader first: the quorum of that commit. */
  quorumAt(index: number, membership: Membership): CommitQuorum {
    const voters = [this.self];
    for (const node of membership.members) if (node !== this.self && (this.progress.get(node)?.match ?? 0) >= index) voters.push(node);
    return { index, epoch: membership.version, voters };
  }

  /** True while a majority of voters answered since the last check (etcd's CheckQuorum); resets the marks. */
  checkQuorum(membership: Membership): boolean {
    let active = membership.has(this.self) ? 1 : 0;
    for (const progress of this.progress.values()) {
      if (progress.active) active++;
      progress.active = false;
    }
    return active >= membership.majority;
  }

  private countAcks(membership: Membership, committed: number): AckCounter {
    const acks = new AckCounter(committed);
    if (membership.has(this.self)) acks.raise(committed, this.log.lastIndex);
    for (const progress of this.progress.values()) acks.raise(committed, progress.match);
    return acks;
  }
}
