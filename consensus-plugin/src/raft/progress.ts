import type { NodeId } from '../core/types';

/**
 * A leader's view of one follower (etcd's Progress). In `probe` the leader does not know
 * where the follower's log matches and sends one AppendEntries at a time; in `replicate` it
 * does, and pipelines up to the inflight window without waiting for answers.
 */
export class Progress {
  /** The follower's log matches the leader's up to here. */
  match = 0;
  /** The next index to send. */
  next: number;
  state: 'probe' | 'replicate' = 'probe';
  /** Probe: one AppendEntries is out; wait for its answer or the retransmit timeout. */
  probeSent = false;
  /** Replicate: the last index of each AppendEntries in flight, oldest first. */
  readonly inflight: number[] = [];
  /** Leader tick of the last send. */
  lastSendTick: number;
  /** Replicate: leader tick since which the oldest AppendEntries in flight awaits progress. */
  waitingSince: number;
  /** Whether the follower answered since the leader's last quorum check. */
  active = true;
  /** The highest commit index the follower reported. */
  commitKnown = 0;

  constructor(readonly node: NodeId, next: number, now: number) {
    this.next = next;
    this.lastSendTick = now;
    this.waitingSince = now;
  }

  canSend(maxInflight: number): boolean {
    return this.state === 'probe' ? !this.probeSent : this.inflight.length < maxInflight;
  }

  /** An AppendEntries ending at `lastIndex` left for this follower. */
  sent(lastIndex: number, now: number): void {
    this.lastSendTick = now;
    if (this.state === 'probe') {
      this.probeSent = true;
    } else if (lastIndex >= this.next) {
      if (this.inflight.length === 0) this.waitingSince = now;
      this.inflight.push(lastIndex);
      this.next = lastIndex + 1;
    }
  }

  /** Whether what was sent went unanswered for `ticks`: lost, as far as the leader can tell. */
  stalled(now: number, ticks: number): boolean {
    return this.state === 'probe' ? this.probeSent && now - this.lastSendTick >= ticks : this.inflight.length > 0 && now - this.waitingSince >= ticks;
  }

  becomeProbe(next: number): void {
    this.state = 'probe';
    this.next = Math.max(next, this.match + 1);
    this.probeSent = false;
    this.inflight.length = 0;
  }

  /** The follower holds the leader's log up to `index`; false when that is old news. */
  acknowledge(index: number, now: number): boolean {
    if (this.state === 'probe') this.probeSent = false;
    if (index <= this.match) return false;
    this.match = index;
    this.waitingSince = now;
    if (this.state === 'probe') {
      this.state = 'replicate';
      this.next = index + 1;
    } else {
      this.next = Math.max(this.next, index + 1);
    }
    while (this.inflight.length > 0 && this.inflight[0] <= index) this.inflight.shift();
    return true;
  }
}

/**
 * How many voters hold each uncommitted index, raised as acknowledgements arrive, so that
 * committing never scans all followers per message (n = 1000).
 */
export class AckCounter {
  private readonly counts = new Map<number, number>();

  constructor(private committed: number) {}

  /** A voter's log now matches up to `to` where it matched up to `from`. */
  raise(from: number, to: number): void {
    for (let index = Math.max(from, this.committed) + 1; index <= to; index++) this.counts.set(index, (this.counts.get(index) ?? 0) + 1);
  }

  count(index: number): number {
    return this.counts.get(index) ?? 0;
  }

  /** Everything up to `index` is committed: forget it. */
  commitTo(index: number): void {
    for (let i = this.committed + 1; i <= index; i++) this.counts.delete(i);
    this.committed = Math.max(this.committed, index);
  }
}
