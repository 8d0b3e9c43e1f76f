/**
 * One PBFT group (Castro–Liskov with signatures) as a pure state machine, generic over what
 * it orders. Flat PBFT runs one over client-request batches; DRKPBFT runs one per region and
 * one among the region leaders. Inputs: `step`, `tick`, `propose`, and `expect`/`satisfied`
 * for the work whose delay makes the replica suspect its primary. Each input returns the
 * messages to send (broadcasts expanded per member), the decisions in sequence order, the
 * misbehaviour detected and, when it changed, the state to persist before sending.
 */
import { deepFreeze } from '../core/freeze';
import type { Authenticator, ClusterOptions, NodeId, Outbound } from '../core/types';
import type { Misbehaviour, MisbehaviourKind } from './evidence';
import {
  sign,
  type CheckpointMessage,
  type CommitMessage,
  type DecidedEntry,
  type DecidedMessage,
  type FetchMessage,
  type NewViewMessage,
  type PbftInstanceMessage,
  type PreparedCertificate,
  type PrepareMessage,
  type PrePrepareMessage,
  type StableCheckpoint,
  type Unsigned,
  type ViewChangeMessage,
} from './messages';
import { maxFaulty } from './quorum';
import { Slot, VoteTally, type SlotRecord } from './slot';
import { DEFAULT_NULL_DIGEST, Verifier, genesisState, nextState } from './verifier';

export interface PbftInstanceConfig<P> {
  self: NodeId;
  /** Domain separation: part of every signed payload, e.g. 'flat', 'region:3@e2', 'top@e2'. */
  group: string;
  /** The voters. */
  members: readonly NodeId[];
  /** Rotation order of primaries (default `members`): the primary of view v is primaryOrder[v mod length]. */
  primaryOrder?: readonly NodeId[];
  options: ClusterOptions;
  auth: Authenticator;
  digest(payload: P): string;
  /** A payload the digest covers entirely (see `GroupRules.wellFormed`; default: any). */
  wellFormed?(payload: P): boolean;
  /** External validity, checked by backups before they prepare; must be deterministic. */
  validate(payload: P, seq: number): boolean;
  /** Digest of the null request that fills gaps after a view change (flat PBFT: the empty batch's). */
  nullDigest?: string;
  /**
   * How many executed sequence numbers below the stable checkpoint stay available to lagging
   * replicas (default 4 × checkpointInterval). A replica further behind cannot catch up: that
   * needs state transfer, which an engine that does not know the owner's state cannot do.
   */
  retainDecided?: number;
  /** A replica that sees peers ahead and makes no progress for this many ticks fetches decided entries (default ⌈requestTimeoutTicks / 4⌉). */
  fetchPatienceTicks?: number;
  /** Sequence numbers in flight above the stable checkpoint (default 2 × checkpointInterval). */
  window?: number;
  /** The last `state` this replica output, when it restarts. */
  persisted?: PbftInstanceState<P>;
  /** Called with each valid commit for the decided value that arrives after its sequence number was decided (DRKPBFT counts them as timely votes). */
  lateCommit?: (commit: CommitMessage) => void;
}

/** A decided sequence number, delivered in order; `payload: null` is a null request. */
export type Decision<P> = DecidedEntry<P>;

export interface PbftOutput<P> {
  messages: Outbound<PbftInstanceMessage<P>>[];
  decisions: Decision<P>[];
  misbehaviours: Misbehaviour<P>[];
  /** Set when this input installed a new view (the owner re-forwards its pending work to the new primary). */
  installedView?: number;
  /** Persist before sending `messages`. */
  state?: PbftInstanceState<P>;
}

/** Everything a replica needs after a crash to resume without ever contradicting what it signed. */
export interface PbftInstanceState<P> {
  view: number;
  /** False while changing to `view`. */
  installed: boolean;
  failedViews: number;
  /** The next sequence number this replica assigns as primary of `view`. */
  nextSeq: number;
  stable: StableCheckpoint;
  executed: number;
  /** Hash of the decided history up to `executed`. */
  history: string;
  /** History hashes at the checkpoint sequence numbers above the stable one. */
  checkpoints: [number, string][];
  slots: SlotRecord<P>[];
  /** The new-view that installed the latest view this replica installed. */
  newView?: NewViewMessage<P>;
  /** Its view change while changing views. */
  viewChange?: ViewChangeMessage<P>;
}

/** Timeouts double per consecutive failed view, up to this many doublings. */
const MAX_DOUBLINGS = 16;

/**
 * One replica of one PBFT group. Pure: no clock, I/O or randomness; time is `tick()`, and
 * everything it signs goes through the injected `Authenticator`.
 */
export class PbftInstance<P> {
  readonly self: NodeId;
  readonly group: string;
  private readonly verifier: Verifier<P>;
  private readonly config: PbftInstanceConfig<P>;
  private readonly others: readonly NodeId[];
  private readonly f: number;
  private readonly quorum: number;
  private readonly interval: number;
  private readonly window: number;
  private readonly retain: number;
  private readonly patience: number;
  private now = 0;

  private viewNo = 0;
  private installedFlag = true;
  private failedViews = 0;
  private viewSince = 0;
  private viewChangeQuorumSince: number | undefined;
  private viewChangeSentAt = 0;
  private ownViewChange: ViewChangeMessage<P> | undefined;
  private lastNewView: NewViewMessage<P> | undefined;
  /** Each member's highest valid view change, and how many members' highest is each view. */
  private readonly viewChanges = new Map<NodeId, ViewChangeMessage<P>>();
  private readonly viewChangeCounts = new Map<number, number>();

  private readonly slots = new Map<number, Slot<P>>();
  private stable: StableCheckpoint;
  private executed = 0;
  private history: string;
  private readonly checkpointStates = new Map<number, string>();
  private readonly checkpointVotes = new Map<number, VoteTally<CheckpointMessage>>();
  /** Executed entries kept for lagging replicas, in sequence order. */
  private readonly archive = new Map<number, DecidedEntry<P>>();

  private nextSeq = 1;
  private readonly queue: P[] = [];
  /** Work the owner waits for, with the tick it started waiting (insertion order = oldest first). */
  private readonly expected = new Map<string, number>();

  /** The highest sequence number and view each peer has shown in a signed vote. */
  private readonly peerClaims = new Map<NodeId, { seq: number; view: number }>();
  private suspectBehindSince: number | undefined;
  private lastFetchAt = -Infinity;
  private lastResendAt = -Infinity;
  private fetchAttempts = 0;
  private readonly servedAt = new Map<NodeId, number>();

  private out: PbftOutput<P> = emptyOutput();
  private dirty = false;

  constructor(config: PbftInstanceConfig<P>) {
    const { self, group, members, options } = config;
    if (!members.includes(self)) throw new Error(`node ${self} is not a member of PBFT group ${group}`);
    this.config = config;
    this.self = self;
    this.group = group;
    this.verifier = new Verifier<P>({
      group,
      members,
      primaryOrder: config.primaryOrder ?? members,
      auth: config.auth,
      digest: config.digest,
      wellFormed: config.wellFormed,
      nullDigest: config.nullDigest ?? DEFAULT_NULL_DIGEST,
      checkpointInterval: options.checkpointInterval,
      window: config.window,
    });
    this.others = members.filter((m) => m !== self);
    this.f = maxFaulty(members.length);
    this.quorum = this.verifier.quorum;
    this.interval = options.checkpointInterval;
    this.window = this.verifier.window;
    this.retain = config.retainDecided ?? 4 * this.interval;
    this.patience = config.fetchPatienceTicks ?? Math.max(1, Math.ceil(options.requestTimeoutTicks / 4));
    this.history = genesisState(group);
    this.stable = { seq: 0, state: this.history, proof: [] };
    if (config.persisted) this.restore(config.persisted);
  }

  /** The view this replica is in (or changing to). */
  get view(): number {
    return this.viewNo;
  }

  /** False while a view change is under way. */
  get installed(): boolean {
    return this.installedFlag;
  }

  get primary(): NodeId {
    return this.verifier.primaryOf(this.viewNo);
  }

  /** Primary of an installed view: the one that may propose. */
  get isPrimary(): boolean {
    return this.installedFlag && this.primary === this.self;
  }

  get lastExecuted(): number {
    return this.executed;
  }

  get stableCheckpoint(): StableCheckpoint {
    return this.stable;
  }

  /** Low and high watermarks: pre-prepares are accepted for low < seq ≤ high. */
  get watermarks(): { low: number; high: number } {
    return { low: this.stable.seq, high: this.stable.seq + this.window };
  }

  /** Sequence numbers the log holds (it is garbage-collected up to the stable checkpoint). */
  get logSeqs(): number[] {
    return [...this.slots.keys()].sort((a, b) => a - b);
  }

  /** Payloads accepted in this view and not decided yet, and those queued to be proposed. */
  undecidedProposals(): P[] {
    const out: P[] = [];
    for (const slot of this.slots.values()) {
      const pp = slot.record.accepted;
      if (pp && pp.view === this.viewNo && pp.payload !== null && !slot.record.decided) out.push(pp.payload);
    }
    return out.concat(this.queue);
  }

  /** The state to persist now (the same as the last `state` output). */
  snapshot(): PbftInstanceState<P> {
    const slots = [...this.slots.values()]
      .filter((s) => s.seq > this.stable.seq && (s.record.accepted || s.record.prepared || s.record.decided))
      .sort((a, b) => a.seq - b.seq)
      .map((s) => s.record);
    return {
      view: this.viewNo,
      installed: this.installedFlag,
      failedViews: this.failedViews,
      nextSeq: this.nextSeq,
      stable: this.stable,
      executed: this.executed,
      history: this.history,
      checkpoints: [...this.checkpointStates],
      slots,
      newView: this.lastNewView,
      viewChange: this.ownViewChange,
    };
  }

  /** The owner waits for `key` (for example a request it forwarded): a view change follows if it waits too long. */
  expect(key: string): void {
    if (!this.expected.has(key)) this.expected.set(key, this.now);
  }

  satisfied(key: string): void {
    this.expected.delete(key);
  }

  /** A message from the network; `from` is the transport's claim, used only to name a bad signature's source. */
  step(message: PbftInstanceMessage<P>, from?: NodeId): PbftOutput<P> {
    if (message.group === this.group && this.verifier.isMember(message.sender) && message.sender !== this.self) {
      if (this.verifier.signed(message)) this.dispatch(message);
      else this.flag(from ?? message.sender, 'bad-signature', [message]);
    }
    return this.flush();
  }

  tick(): PbftOutput<P> {
    this.now++;
    if (this.installedFlag) {
      const oldest = this.expected.values().next();
      if (!oldest.done && this.now - Math.max(oldest.value, this.viewSince) >= this.timeout()) this.startViewChange(this.viewNo + 1);
    } else if (this.viewChangeQuorumSince !== undefined && this.now - this.viewChangeQuorumSince >= this.timeout()) {
      this.startViewChange(this.viewNo + 1);
    } else if (this.ownViewChange && this.now - this.viewChangeSentAt >= this.config.options.requestTimeoutTicks) {
      // Alone in its view change? Say it again, and meanwhile keep executing what the others decide.
      this.viewChangeSentAt = this.now;
      this.broadcast(this.ownViewChange);
      this.fetchFrom(this.others);
    }
    this.catchUp();
    return this.flush();
  }

  /** As primary of an installed view: order `payload` (queued while the watermark window is full). Ignored otherwise. */
  propose(payload: P): PbftOutput<P> {
    if (this.isPrimary) {
      this.queue.push(payload);
      this.proposeQueued();
    }
    return this.flush();
  }

  // ---- normal case -------------------------------------------------------------------

  private dispatch(m: PbftInstanceMessage<P>): void {
    switch (m.type) {
      case 'pre-prepare':
        return this.onPrePrepare(m);
      case 'prepare':
        return this.onPrepare(m);
      case 'commit':
        return this.onCommit(m);
      case 'checkpoint':
        return this.onCheckpoint(m);
      case 'view-change':
        return this.onViewChange(m);
      case 'new-view':
        return this.onNewView(m);
      case 'fetch':
        return this.onFetch(m);
      case 'decided':
        return this.onDecided(m);
    }
  }

  private proposeQueued(): void {
    while (this.queue.length > 0 && this.nextSeq <= this.stable.seq + this.window) {
      const payload = this.queue.shift() as P;
      const pp = this.signed<PrePrepareMessage<P>>({
        type: 'pre-prepare',
        group: this.group,
        view: this.viewNo,
        seq: this.nextSeq++,
        digest: this.config.digest(payload),
        payload,
        sender: this.self,
      });
      const slot = this.slotFor(pp.seq);
      slot.prePrepares.set(pp.view, pp);
      this.setRecord(slot, { accepted: pp });
      this.broadcast(pp);
      this.advance(slot);
    }
  }

  private onPrePrepare(pp: PrePrepareMessage<P>): void {
    // From the primary of its view, with the payload its digest names (else tampered in transit: nothing provable).
    if (pp.view < this.viewNo || pp.view > this.viewNo + 1 || !this.inWindow(pp.seq) || !this.verifier.prePrepare(pp)) return;
    const slot = this.slotFor(pp.seq);
    const earlier = slot.prePrepares.get(pp.view);
    if (earlier !== undefined) {
      if (earlier.digest !== pp.digest) this.flag(pp.sender, 'equivocation', [earlier, pp]);
      return;
    }
    slot.prePrepares.set(pp.view, pp);
    if (this.installedFlag && pp.view === this.viewNo) this.accept(slot, pp);
  }

  /** Accepts a pre-prepare of the installed view: validity, then a prepare from a backup. */
  private accept(slot: Slot<P>, pp: PrePrepareMessage<P>): void {
    const decided = slot.record.decided;
    if (decided !== undefined && decided.digest !== pp.digest) return;
    if (pp.payload !== null && !this.config.validate(pp.payload, pp.seq)) {
      this.flag(pp.sender, 'invalid-proposal', [pp]);
      return;
    }
    this.setRecord(slot, { accepted: pp });
    if (pp.sender !== this.self) {
      const prepare = this.signed<PrepareMessage>({ type: 'prepare', group: this.group, view: pp.view, seq: pp.seq, digest: pp.digest, sender: this.self });
      slot.preparesIn(pp.view).add(prepare);
      this.broadcast(prepare);
    }
    this.advance(slot);
  }

  private onPrepare(p: PrepareMessage): void {
    this.noteClaim(p.sender, 0, p.view);
    if (p.sender === this.verifier.primaryOf(p.view) || p.view < this.viewNo || p.view > this.viewNo + 1 || !this.inWindow(p.seq)) return;
    const slot = this.slotFor(p.seq);
    if (slot.record.decided) return;
    const prepares = slot.preparesIn(p.view);
    const conflict = prepares.add(p);
    if (conflict) this.flag(p.sender, 'conflicting-vote', [conflict, p]);
    // f + 1 backups prepared another proposal than the one the primary sent us: an honest one
    // among them holds it signed, so the primary signed two. No point waiting for a timeout.
    const ours = slot.prePrepares.get(p.view);
    if (ours !== undefined && p.view === this.viewNo && this.installedFlag && prepares.total - prepares.count(ours.digest) > this.f) {
      this.startViewChange(this.viewNo + 1);
      return;
    }
    this.advance(slot);
  }

  private onCommit(c: CommitMessage): void {
    this.noteClaim(c.sender, c.seq, c.view);
    if (c.view > this.viewNo + 1 || !this.inWindow(c.seq)) return;
    const slot = this.slotFor(c.seq);
    const decided = slot.record.decided;
    if (decided) {
      if (decided.view === c.view && decided.digest === c.digest) this.config.lateCommit?.(c);
      return;
    }
    const conflict = slot.commitsIn(c.view).add(c);
    if (conflict) this.flag(c.sender, 'conflicting-vote', [conflict, c]);
    this.advance(slot);
  }

  /** Prepared → commit; a quorum of commits with a known payload → decided. */
  private advance(slot: Slot<P>): void {
    const { accepted: pp, prepared, decided } = slot.record;
    if (decided) return;
    if (pp && this.installedFlag && pp.view === this.viewNo && (prepared === undefined || prepared.prePrepare.view < pp.view)) {
      const prepares = slot.preparesIn(pp.view);
      if (prepares.count(pp.digest) >= this.quorum - 1) {
        const certificate: PreparedCertificate<P> = { prePrepare: pp, prepares: prepares.matching(pp.digest, this.quorum - 1) };
        this.setRecord(slot, { prepared: certificate });
        const commit = this.signed<CommitMessage>({ type: 'commit', group: this.group, view: pp.view, seq: pp.seq, digest: pp.digest, sender: this.self });
        slot.commitsIn(pp.view).add(commit);
        this.broadcast(commit);
      }
    }
    // With signatures a quorum of commits proves the decision by itself, whatever this replica prepared.
    for (const { view, digest } of slot.commitQuorums(this.quorum)) {
      const known = slot.payloadFor(digest);
      if (known === undefined) continue;
      const certificate = slot.commitsIn(view).matching(digest, this.quorum);
      this.decide(slot, { seq: slot.seq, view, digest, payload: known.payload, certificate });
      return;
    }
  }

  private decide(slot: Slot<P>, entry: DecidedEntry<P>): void {
    this.setRecord(slot, { decided: entry });
    slot.forgetVotes();
    for (;;) {
      const next = this.slots.get(this.executed + 1)?.record.decided;
      if (next === undefined) break;
      this.execute(next);
    }
  }

  private execute(entry: DecidedEntry<P>): void {
    this.executed = entry.seq;
    this.history = nextState(this.history, entry.seq, entry.digest);
    this.archive.set(entry.seq, entry);
    this.out.decisions.push(entry);
    this.suspectBehindSince = undefined;
    if (this.installedFlag && entry.view === this.viewNo) this.failedViews = 0;
    this.dirty = true;
    if (entry.seq % this.interval === 0) {
      this.checkpointStates.set(entry.seq, this.history);
      const checkpoint = this.signed<CheckpointMessage>({ type: 'checkpoint', group: this.group, seq: entry.seq, state: this.history, sender: this.self });
      this.broadcast(checkpoint);
      this.recordCheckpoint(checkpoint);
    }
  }

  // ---- checkpoints and garbage collection --------------------------------------------

  private onCheckpoint(c: CheckpointMessage): void {
    this.noteClaim(c.sender, c.seq, 0);
    const upTo = Math.max(this.executed, this.stable.seq + this.window);
    if (c.seq % this.interval !== 0 || c.seq <= this.stable.seq || c.seq > upTo) return;
    this.recordCheckpoint(c);
  }

  private recordCheckpoint(c: CheckpointMessage): void {
    let tally = this.checkpointVotes.get(c.seq);
    if (tally === undefined) {
      tally = new VoteTally<CheckpointMessage>((m) => m.state);
      this.checkpointVotes.set(c.seq, tally);
    }
    const conflict = tally.add(c);
    if (conflict) this.flag(c.sender, 'conflicting-vote', [conflict, c]);
    const mine = this.checkpointStates.get(c.seq);
    if (mine !== undefined && tally.count(mine) >= this.quorum) {
      this.makeStable({ seq: c.seq, state: mine, proof: tally.matching(mine, this.quorum) });
    }
  }

  /** A verified checkpoint from elsewhere (a new view, a peer's answer): adopted once this replica has executed up to it. */
  private adoptStable(checkpoint: StableCheckpoint): void {
    if (checkpoint.seq <= this.stable.seq) return;
    if (checkpoint.seq > this.executed) this.fetchFrom(checkpoint.proof.map((c) => c.sender));
    else if (this.checkpointStates.get(checkpoint.seq) === checkpoint.state) this.makeStable(checkpoint);
  }

  private makeStable(checkpoint: StableCheckpoint): void {
    if (checkpoint.seq <= this.stable.seq) return;
    this.stable = checkpoint;
    this.dirty = true;
    for (const seq of this.slots.keys()) if (seq <= checkpoint.seq) this.slots.delete(seq);
    for (const seq of this.checkpointVotes.keys()) if (seq <= checkpoint.seq) this.checkpointVotes.delete(seq);
    for (const seq of this.checkpointStates.keys()) if (seq < checkpoint.seq) this.checkpointStates.delete(seq);
    for (const seq of this.archive.keys()) {
      if (seq > checkpoint.seq - this.retain) break;
      this.archive.delete(seq);
    }
    if (this.isPrimary) this.proposeQueued();
  }

  // ---- view change -------------------------------------------------------------------

  /** Requests wait T in a view; each consecutive failed view doubles it. */
  private timeout(): number {
    return this.config.options.requestTimeoutTicks * 2 ** Math.min(Math.max(0, this.failedViews - 1), MAX_DOUBLINGS);
  }

  private startViewChange(view: number): void {
    if (view <= this.viewNo) return;
    this.viewNo = view;
    this.installedFlag = false;
    this.viewSince = this.now;
    this.viewChangeQuorumSince = undefined;
    this.failedViews++;
    this.queue.length = 0;
    const prepared: PreparedCertificate<P>[] = [];
    for (const slot of [...this.slots.values()].sort((a, b) => a.seq - b.seq)) {
      const certificate = slot.record.prepared;
      if (certificate && slot.seq > this.stable.seq && slot.seq <= this.stable.seq + this.window) prepared.push(certificate);
      slot.forgetPreparesBefore(view);
    }
    const vc = this.signed<ViewChangeMessage<P>>({ type: 'view-change', group: this.group, view, stable: this.stable, prepared, sender: this.self });
    this.ownViewChange = vc;
    this.viewChangeSentAt = this.now;
    this.dirty = true;
    this.broadcast(vc);
    this.recordViewChange(vc);
  }

  private onViewChange(vc: ViewChangeMessage<P>): void {
    if (vc.view < this.viewNo) return;
    if (vc.view === this.viewNo && this.installedFlag) {
      // It missed the new view that installed ours: resend it (at most once a tick per peer).
      if (this.lastNewView?.view === this.viewNo && this.mayServe(vc.sender)) this.send(vc.sender, this.lastNewView);
      return;
    }
    if (this.verifier.viewChange(vc)) this.recordViewChange(vc);
  }

  private recordViewChange(vc: ViewChangeMessage<P>): void {
    const earlier = this.viewChanges.get(vc.sender);
    if (earlier !== undefined && earlier.view >= vc.view) return;
    if (earlier !== undefined) this.viewChangeCounts.set(earlier.view, (this.viewChangeCounts.get(earlier.view) ?? 1) - 1);
    this.viewChanges.set(vc.sender, vc);
    this.viewChangeCounts.set(vc.view, (this.viewChangeCounts.get(vc.view) ?? 0) + 1);

    // f + 1 members beyond our view include an honest one: join the lowest such view.
    let ahead = 0;
    let lowest = Infinity;
    for (const [view, count] of this.viewChangeCounts) {
      if (view > this.viewNo && count > 0) {
        ahead += count;
        lowest = Math.min(lowest, view);
      }
    }
    if (ahead > this.f) {
      this.startViewChange(lowest);
      return;
    }
    if (!this.installedFlag && (this.viewChangeCounts.get(this.viewNo) ?? 0) >= this.quorum) {
      this.viewChangeQuorumSince ??= this.now;
      if (this.verifier.primaryOf(this.viewNo) === this.self) this.sendNewView();
    }
  }

  private sendNewView(): void {
    const viewChanges = [...this.viewChanges.values()]
      .filter((vc) => vc.view === this.viewNo)
      .sort((a, b) => a.sender - b.sender)
      .slice(0, this.quorum);
    const { checkpoint, proposals } = this.verifier.reproposals(viewChanges);
    const prePrepares = proposals.map((r) =>
      this.signed<PrePrepareMessage<P>>({ type: 'pre-prepare', group: this.group, view: this.viewNo, seq: r.seq, digest: r.digest, payload: r.payload, sender: this.self }),
    );
    const nv = this.signed<NewViewMessage<P>>({ type: 'new-view', group: this.group, view: this.viewNo, viewChanges, prePrepares, sender: this.self });
    this.broadcast(nv);
    this.install(nv, checkpoint);
  }

  private onNewView(nv: NewViewMessage<P>): void {
    if (nv.view < this.viewNo || (nv.view === this.viewNo && this.installedFlag) || !this.verifier.signed(nv)) return;
    const checkpoint = this.verifier.newView(nv);
    if (checkpoint === undefined) this.flag(nv.sender, 'invalid-proposal', [nv]);
    else this.install(nv, checkpoint);
  }

  /** Enters the view of a verified new-view and accepts the pre-prepares it carries. */
  private install(nv: NewViewMessage<P>, checkpoint: StableCheckpoint): void {
    this.viewNo = nv.view;
    this.installedFlag = true;
    this.viewSince = this.now;
    this.viewChangeQuorumSince = undefined;
    this.ownViewChange = undefined;
    this.lastNewView = nv;
    this.queue.length = 0;
    this.dirty = true;
    this.out.installedView = nv.view;
    for (const [sender, vc] of this.viewChanges) if (vc.view <= nv.view) this.viewChanges.delete(sender);
    for (const view of this.viewChangeCounts.keys()) if (view <= nv.view) this.viewChangeCounts.delete(view);
    this.adoptStable(checkpoint);

    let top = checkpoint.seq;
    for (const pp of nv.prePrepares) {
      top = pp.seq;
      if (pp.seq <= this.stable.seq) continue;
      const slot = this.slotFor(pp.seq);
      const earlier = slot.prePrepares.get(pp.view);
      if (earlier !== undefined && earlier.digest !== pp.digest) this.flag(pp.sender, 'equivocation', [earlier, pp]);
      slot.prePrepares.set(pp.view, pp);
      this.accept(slot, pp);
    }
    this.nextSeq = top + 1;
    for (const slot of this.slots.values()) {
      slot.forgetPreparesBefore(nv.view);
      const early = slot.prePrepares.get(nv.view);
      if (early !== undefined && slot.seq > top && slot.record.accepted !== early) this.accept(slot, early);
      else this.advance(slot);
    }
  }

  // ---- catch-up ----------------------------------------------------------------------

  /** A peer's signed vote shows how far it is; f + 1 peers ahead and no progress here means this replica lags. */
  private noteClaim(peer: NodeId, seq: number, view: number): void {
    const claim = this.peerClaims.get(peer);
    if (claim === undefined) this.peerClaims.set(peer, { seq, view });
    else {
      claim.seq = Math.max(claim.seq, seq);
      claim.view = Math.max(claim.view, view);
    }
    if (this.suspectBehindSince === undefined && this.isAhead(seq, view)) this.suspectBehindSince = this.now;
  }

  private isAhead(seq: number, view: number): boolean {
    return seq > this.executed || view > this.viewNo || (view === this.viewNo && !this.installedFlag);
  }

  /**
   * Two signs of lagging: f + 1 peers showed votes beyond this replica (then ask one of them),
   * or the next sequence number had a pre-prepare accepted here long ago and is still not
   * decided. Then messages were lost: it sends its own messages for it again and asks the
   * members in turn for the decision.
   */
  private catchUp(): void {
    const next = this.slots.get(this.executed + 1);
    if (next?.record.accepted && !next.record.decided && this.now - Math.max(next.since, this.lastResendAt) >= this.patience) {
      this.lastResendAt = this.now;
      this.resendOwnMessages(next);
      this.fetchFrom(this.others);
    }
    if (this.suspectBehindSince === undefined || this.now - this.suspectBehindSince < this.patience) return;
    this.suspectBehindSince = undefined;
    const ahead: NodeId[] = [];
    for (const [peer, claim] of this.peerClaims) if (this.isAhead(claim.seq, claim.view)) ahead.push(peer);
    if (ahead.length > this.f) {
      this.fetchFrom(ahead);
      this.suspectBehindSince = this.now;
    }
  }

  /** Its pre-prepare (as primary), prepare and commit for the slot in the current view, signed again (same content, same signature). */
  private resendOwnMessages(slot: Slot<P>): void {
    const pp = slot.record.accepted;
    if (!pp || !this.installedFlag || pp.view !== this.viewNo) return;
    if (pp.sender === this.self) this.broadcast(pp);
    const vote = { group: this.group, view: pp.view, seq: pp.seq, digest: pp.digest, sender: this.self };
    if (pp.sender !== this.self) this.broadcast(this.signed<PrepareMessage>({ type: 'prepare', ...vote }));
    if (slot.record.prepared?.prePrepare.view === pp.view) this.broadcast(this.signed<CommitMessage>({ type: 'commit', ...vote }));
  }

  /** Asks one of `peers` (a different one each attempt) for what it decided beyond our execution. */
  private fetchFrom(peers: readonly NodeId[]): void {
    const candidates = peers.filter((p) => p !== this.self);
    if (candidates.length === 0 || this.now - this.lastFetchAt < this.patience) return;
    this.lastFetchAt = this.now;
    const peer = candidates[this.fetchAttempts++ % candidates.length];
    const installedView = this.installedFlag ? this.viewNo : this.viewNo - 1;
    this.send(peer, this.signed<FetchMessage>({ type: 'fetch', group: this.group, from: this.executed + 1, view: installedView, sender: this.self }));
  }

  private onFetch(f: FetchMessage): void {
    if (!this.mayServe(f.sender)) return;
    const entries: DecidedEntry<P>[] = [];
    for (let seq = Math.max(1, f.from); seq <= this.executed && entries.length < this.window; seq++) {
      const entry = this.archive.get(seq) ?? this.slots.get(seq)?.record.decided;
      if (entry === undefined) break;
      entries.push(entry);
    }
    const newView = this.lastNewView !== undefined && this.lastNewView.view > f.view ? this.lastNewView : undefined;
    const stable = this.stable.seq >= f.from ? this.stable : undefined;
    if (entries.length === 0 && newView === undefined && stable === undefined) return;
    this.send(f.sender, this.signed<DecidedMessage<P>>({ type: 'decided', group: this.group, entries, stable, newView, sender: this.self }));
  }

  private onDecided(d: DecidedMessage<P>): void {
    const before = this.executed;
    for (const entry of d.entries) {
      if (entry.seq <= this.executed) continue;
      const slot = this.slotFor(entry.seq);
      if (slot.record.decided) continue;
      if (!this.verifier.decidedEntry(entry)) break;
      this.decide(slot, entry);
    }
    // Progress: the next chunk may be asked for at once.
    if (this.executed > before) this.lastFetchAt = -Infinity;
    if (d.stable !== undefined && this.verifier.stableCheckpoint(d.stable)) this.adoptStable(d.stable);
    const nv = d.newView;
    if (nv !== undefined && (nv.view > this.viewNo || (nv.view === this.viewNo && !this.installedFlag))) this.onNewView(nv);
  }

  /** Answers to fetches and missed new-views: at most one per peer per tick. */
  private mayServe(peer: NodeId): boolean {
    if (this.servedAt.get(peer) === this.now) return false;
    this.servedAt.set(peer, this.now);
    return true;
  }

  // ---- plumbing ----------------------------------------------------------------------

  private inWindow(seq: number): boolean {
    return seq > this.stable.seq && seq <= this.stable.seq + this.window;
  }

  private slotFor(seq: number): Slot<P> {
    let slot = this.slots.get(seq);
    if (slot === undefined) {
      slot = new Slot<P>(seq, this.now);
      this.slots.set(seq, slot);
    }
    return slot;
  }

  /** Records are replaced, never changed: frozen, each is persisted as text made once (net/state-file.ts). */
  private setRecord(slot: Slot<P>, change: Partial<SlotRecord<P>>): void {
    slot.record = deepFreeze({ ...slot.record, ...change });
    this.dirty = true;
  }

  private signed<M extends PbftInstanceMessage<P>>(m: Unsigned<M>): M {
    return sign<M>(m, this.config.auth);
  }

  private broadcast(message: PbftInstanceMessage<P>): void {
    for (const to of this.others) this.out.messages.push({ to, message });
  }

  private send(to: NodeId, message: PbftInstanceMessage<P>): void {
    this.out.messages.push({ to, message });
  }

  private flag(node: NodeId, kind: MisbehaviourKind, proof: PbftInstanceMessage<P>[]): void {
    this.out.misbehaviours.push({ node, kind, proof });
  }

  private flush(): PbftOutput<P> {
    const out = this.out;
    if (this.dirty) out.state = this.snapshot();
    this.out = emptyOutput();
    this.dirty = false;
    return out;
  }

  private restore(s: PbftInstanceState<P>): void {
    this.viewNo = s.view;
    this.installedFlag = s.installed;
    this.failedViews = s.failedViews;
    this.nextSeq = s.nextSeq;
    this.stable = s.stable;
    this.executed = s.executed;
    this.history = s.history;
    for (const [seq, state] of s.checkpoints) this.checkpointStates.set(seq, state);
    for (const record of s.slots) this.slots.set(record.seq, new Slot<P>(record.seq, this.now, record));
    this.lastNewView = s.newView;
    this.ownViewChange = s.viewChange;
    if (this.ownViewChange) this.recordViewChange(this.ownViewChange);
  }
}

const emptyOutput = <P>(): PbftOutput<P> => ({ messages: [], decisions: [], misbehaviours: [] });
