/** One sequence number of a PBFT log: the proposals and votes seen for it, and what must survive a restart. */
import type { NodeId } from '../core/types';
import type { CommitMessage, DecidedEntry, PreparedCertificate, PrepareMessage, PrePrepareMessage } from './messages';

/** Votes of one kind for one sequence number (and view): at most one per sender, counted per value. */
export class VoteTally<M extends { sender: NodeId }> {
  private readonly bySender = new Map<NodeId, M>();
  private readonly counts = new Map<string, number>();
  /** The highest count of any value: most calls need no scan. */
  private top = 0;

  constructor(private readonly valueOf: (m: M) => string) {}

  /** Records `m`; returns the sender's earlier vote when it was for another value (then `m` is not counted). */
  add(m: M): M | undefined {
    const earlier = this.bySender.get(m.sender);
    if (earlier !== undefined) return this.valueOf(earlier) === this.valueOf(m) ? undefined : earlier;
    this.bySender.set(m.sender, m);
    const value = this.valueOf(m);
    const count = (this.counts.get(value) ?? 0) + 1;
    this.counts.set(value, count);
    this.top = Math.max(this.top, count);
    return undefined;
  }

  count(value: string): number {
    return this.counts.get(value) ?? 0;
  }

  /** Votes counted, whatever their value. */
  get total(): number {
    return this.bySender.size;
  }

  /** The values at least `needed` senders voted for. */
  valuesWith(needed: number): string[] {
    if (this.top < needed) return [];
    return [...this.counts].filter(([, n]) => n >= needed).map(([value]) => value);
  }

  /** The first `limit` votes for `value`, in arrival order. */
  matching(value: string, limit: number): M[] {
    const out: M[] = [];
    for (const m of this.bySender.values()) {
      if (out.length >= limit) break;
      if (this.valueOf(m) === value) out.push(m);
    }
    return out;
  }
}

/** What a replica must remember about a sequence number across a restart so it never votes differently. */
export interface SlotRecord<P> {
  seq: number;
  /** The pre-prepare this replica accepted (and prepared for, as a backup) in the highest view it accepted one. */
  accepted?: PrePrepareMessage<P>;
  /** Its highest-view prepared certificate (it sent a commit for that value). */
  prepared?: PreparedCertificate<P>;
  decided?: DecidedEntry<P>;
}

const byDigest = (m: { digest: string }): string => m.digest;

export class Slot<P> {
  /** Pre-prepares received, one per view: the accepted one, or one waiting for its view to start. */
  readonly prePrepares = new Map<number, PrePrepareMessage<P>>();
  private prepares = new Map<number, VoteTally<PrepareMessage>>();
  private commits = new Map<number, VoteTally<CommitMessage>>();
  record: SlotRecord<P>;

  /** `since`: the tick this replica first heard of the sequence number. */
  constructor(readonly seq: number, readonly since: number, record?: SlotRecord<P>) {
    this.record = record ?? { seq };
    for (const pp of [record?.accepted, record?.prepared?.prePrepare]) if (pp) this.prePrepares.set(pp.view, pp);
  }

  preparesIn(view: number): VoteTally<PrepareMessage> {
    return tallyIn(this.prepares, view);
  }

  commitsIn(view: number): VoteTally<CommitMessage> {
    return tallyIn(this.commits, view);
  }

  /** Every (view, digest) with at least `needed` commits. */
  *commitQuorums(needed: number): Generator<{ view: number; digest: string }> {
    for (const [view, tally] of this.commits) for (const digest of tally.valuesWith(needed)) yield { view, digest };
  }

  /** The payload of `digest` if any verified proposal for this sequence number carried it. */
  payloadFor(digest: string): { payload: P | null } | undefined {
    for (const pp of this.prePrepares.values()) if (pp.digest === digest) return { payload: pp.payload };
    return undefined;
  }

  /** Prepares of views before `view` can no longer prepare anything. */
  forgetPreparesBefore(view: number): void {
    for (const v of this.prepares.keys()) if (v < view) this.prepares.delete(v);
  }

  /** Once decided, votes are no longer needed. */
  forgetVotes(): void {
    this.prepares = new Map();
    this.commits = new Map();
  }
}

function tallyIn<M extends { sender: NodeId; digest: string }>(tallies: Map<number, VoteTally<M>>, view: number): VoteTally<M> {
  let tally = tallies.get(view);
  if (tally === undefined) {
    tally = new VoteTally<M>(byDigest);
    tallies.set(view, tally);
  }
  return tally;
}
