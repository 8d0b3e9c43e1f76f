/**
 * A DRKPBFT node (docs/consensus.md, "DRKPBFT as built").
 *
 * - Region layer: every voter runs its region's `PbftInstance` over region batches; the
 *   region primary batches the requests its members forward, and hands each batch its region
 *   decides (a `CertifiedBatch`) to the seat holders.
 * - Top layer: the seat holders (one per region: the region primary whose certificate the
 *   log last showed) run a `PbftInstance` over `TopEntry`s. Its sequence numbers are global
 *   positions (the group name carries the offset).
 * - Propagation: each seat holder sends what it executes (DECIDE) to its region; a node that
 *   falls behind fetches the log from the seat holders. Decisions are self-verifying.
 * - Seats: a region batch certified in a later region view moves its region's seat to that
 *   view's primary once the top layer orders it; everyone then starts a new top *term*
 *   (a fresh top instance among the new seat holders) at the next position.
 * - Epochs: every `epochLength` positions, or right after a committed join or leave, the
 *   next configuration is computed from the log. If it keeps the structure (same voters and
 *   regions, seat holders still trusted) every group goes on; otherwise every group starts
 *   afresh, region batches the top layer had not ordered are dropped and their requests
 *   are forwarded again.
 * - With a single region (n < 16) there is no top layer: the region's decisions are the log.
 *
 * `DrkpbftNode` is a thin coordinator over one component per role, each owning its state:
 * `Intake` (intake.ts), `RegionRole` (region.ts), `TopSeat` (top-seat.ts), `GlobalLog`
 * (global-log.ts) and `Epochs` (epochs.ts, with the structure's `Shape`). `step`, `tick` and
 * `submit` route each input to the role that handles it (`onOwn`, `onPbft`); roles write
 * messages, commits and state changes to one `Outbox`, which `flush` hands out as the
 * `Ready`. What crosses roles goes through here: region decisions and view changes
 * (`absorbRegion`), the execution of a log position (`execute`), and epochs and terms.
 */
import { requestKey } from '../core/digest';
import { validBatch } from '../core/requests';
import type { Authenticator, ClientRequest, ConsensusNode, LeaderView, NodeId, Ready } from '../core/types';
import type { ExecutedRecord } from '../core/executed';
import type { Decision, PbftInstanceState, PbftOutput } from '../pbft/instance';
import type { PbftInstanceMessage, PrePrepareMessage } from '../pbft/messages';
import { isTopEntryRef, isTopGroup, keptRequests, type CertifiedBatch, type RegionBatch, type TopEntry, type TopEntryRef } from './batches';
import type { DrkContext } from './context';
import { Outbox, type NodeEnv } from './env';
import { Epochs, type EpochsState } from './epochs';
import { GlobalLog } from './global-log';
import { Intake } from './intake';
import { isOwnMessage, ownSigned, type DrkMessage, type LogEntry, type OwnMessage } from './messages';
import { RegionRole } from './region';
import { TopSeat } from './top-seat';

export type { Seat } from './shape';

/**
 * What a DRKPBFT node persists: its epochs, terms and seats (`EpochsState`), how far it
 * executed the log and which requests, its region's certified batches and its instances.
 */
export interface DrkState extends EpochsState {
  executedSeq: number;
  executed: ExecutedRecord;
  /** Batches this node's region decided that the log has not executed yet. */
  certified: CertifiedBatch[];
  region?: PbftInstanceState<RegionBatch>;
  top?: PbftInstanceState<TopEntry>;
}

const MAX_FUTURE_MESSAGES = 8192;

export class DrkpbftNode implements ConsensusNode<DrkMessage, DrkState> {
  private now = 0;
  private readonly out = new Outbox<DrkState>();
  private readonly epochs: Epochs;
  private readonly log: GlobalLog;
  private readonly region: RegionRole;
  private readonly top: TopSeat;
  private readonly intake: Intake;
  /** Messages of groups this node has not reached yet (a later epoch or term), replayed when it does. */
  private readonly future: DrkMessage[] = [];

  constructor(
    readonly id: NodeId,
    private readonly auth: Authenticator,
    ctx: DrkContext,
    persisted?: DrkState,
  ) {
    const env: NodeEnv = { id, auth, ctx, out: this.out, now: () => this.now };
    this.epochs = new Epochs(env, persisted);
    this.log = new GlobalLog(env, this.epochs, persisted, (log) => this.execute(log));
    this.region = new RegionRole(env, this.epochs, this.log.executed, { absorb: (out) => this.absorbRegion(out), pool: (batch) => this.top.pooled(batch, this.region.isPrimary) }, persisted);
    this.top = new TopSeat(env, this.epochs, this.log.executed, (log) => this.log.offer(log, true), persisted?.top);
    this.intake = new Intake(env, this.epochs, this.region, this.log.executed);
    this.enterStructure(persisted === undefined);
  }

  // ---- inputs ----------------------------------------------------------------------------

  step(from: NodeId, message: DrkMessage): Ready<DrkMessage, DrkState> {
    if (isOwnMessage(message)) {
      if (ownSigned(message, this.auth)) this.onOwn(message);
    } else {
      this.onPbft(message, from);
    }
    return this.flush();
  }

  /** One tick: the instances' clocks first, then each role's timers, in this order. */
  tick(): Ready<DrkMessage, DrkState> {
    this.now++;
    if (this.region.instance) this.absorbRegion(this.region.instance.tick());
    this.top.tick();
    this.region.batchQueued(true);
    this.region.sendDecided();
    this.intake.flushForwards();
    this.intake.announceWaiting();
    this.region.watchCertified();
    this.top.watchPool();
    this.region.resendCertified();
    this.top.fetchUnresolved();
    this.log.fetchIfBehind(this.log.fullPage, this.waitingOnWork());
    return this.flush();
  }

  submit(request: ClientRequest): Ready<DrkMessage, DrkState> {
    this.intake.learn([request], false, true);
    return this.flush();
  }

  /** The primary of this node's region (none while it changes view, or for a non-voter) and the seat holders. */
  leaderView(): LeaderView {
    const region = this.region.instance;
    return { leader: region?.installed ? region.primary : undefined, view: region?.view ?? 0, seats: this.epochs.holders() };
  }

  // ---- routing ---------------------------------------------------------------------------

  private onOwn(message: OwnMessage): void {
    switch (message.type) {
      case 'forward':
        if (validBatch(message.requests, Infinity)) this.intake.learn(message.requests, message.announce === true);
        break;
      case 'certified':
        if (this.top.certificateValid(message.batch)) this.top.pooled(message.batch, this.region.isPrimary);
        break;
      case 'decide':
        this.log.offer(message.log, false);
        break;
      case 'log-fetch':
        this.log.serve(message);
        break;
      case 'batch-fetch':
        this.top.serveBatch(message);
        break;
      case 'log':
        this.log.onPage(message);
        break;
    }
  }

  /** A PBFT message goes to the instance of its group; one of a group this node has not reached yet waits (`future`). */
  private onPbft(message: Exclude<DrkMessage, OwnMessage>, from: NodeId): void {
    const group = message.group;
    const region = this.region.instance;
    const top = this.top.instance;
    if (top && group === top.group && message.type === 'pre-prepare' && isTopEntryRef(message.payload)) this.top.resolve(message as PrePrepareMessage<TopEntryRef>);
    else if (region && group === region.group) this.absorbRegion(region.step(message as PbftInstanceMessage<RegionBatch>, from));
    else if (top && group === top.group) this.top.step(message as PbftInstanceMessage<TopEntry>, from);
    else if (this.epochs.isFuture(group) && this.future.length < MAX_FUTURE_MESSAGES) this.future.push(message);
  }

  private replayFuture(group: string): void {
    const mine = this.future.filter((m) => 'group' in m && m.group === group);
    if (mine.length === 0) return;
    const rest = this.future.filter((m) => !('group' in m && m.group === group));
    this.future.length = 0;
    this.future.push(...rest.filter((m) => 'group' in m && this.epochs.isFuture(m.group)));
    for (const m of mine) this.onPbft(m as PbftInstanceMessage<RegionBatch>, m.sender);
  }

  // ---- the region's output ---------------------------------------------------------------

  private absorbRegion(out: PbftOutput<RegionBatch>): void {
    const instance = this.region.instance;
    this.out.emit(out.messages);
    this.region.saveState(out.state);
    // A decision may end the structure: what follows it in `out` belongs to a group that is gone.
    for (const d of out.decisions) if (this.region.instance === instance) this.onRegionDecision(d);
    if (out.installedView !== undefined && this.region.instance === instance) this.onRegionView();
  }

  /** Under a top layer a region decision is a certified batch; with one region it is the next log position. */
  private onRegionDecision(d: Decision<RegionBatch>): void {
    if (!this.epochs.shape.topLayer) {
      const region = this.region.instance;
      if (region) this.log.offer({ group: region.group, entry: d }, true);
      return;
    }
    const batch = this.region.certify(d);
    // The region did its part: it waits on the batch now, nobody announces its requests.
    if (batch) for (const r of batch.batch.requests) this.intake.stopTimer(requestKey(r));
  }

  /** A new region view: its primary takes over the queue and claims the seat; the others forward what they know. */
  private onRegionView(): void {
    const region = this.region.instance;
    if (!region) return;
    // Its old primary held the seat: whatever it stopped passing on must be fetched.
    this.log.fetchIfBehind(true, this.waitingOnWork());
    const pending = this.region.newView(this.intake.requests());
    if (region.isPrimary) {
      // It batches its region's requests and relays the others (the old primary may have dropped them).
      for (const r of pending) {
        this.region.enqueue(r);
        this.intake.stopTimer(requestKey(r));
      }
      this.intake.forward(pending.filter((r) => !this.epochs.shape.isHome(r)));
      this.region.takeOver();
    } else {
      this.intake.forward(pending.filter((r) => this.epochs.shape.isHome(r)));
    }
  }

  // ---- execution: the one event every role hears of --------------------------------------

  /** Runs the next log position (`GlobalLog` calls it once the entry proved itself); each role does its part, in this order. */
  private execute(log: LogEntry): void {
    const payload = log.entry.payload;
    this.top.executedUpTo(log.entry.seq);
    let requests: ClientRequest[] = [];
    /** The node a seat moved to, if this entry moved one. */
    let seated: NodeId | undefined;
    // The group that decided the entry tells what it is (`logEntryOf`), never the payload's fields.
    if (payload !== null && !isTopGroup(log.group)) requests = (payload as RegionBatch).requests;
    else if (payload !== null) {
      const entry = payload as TopEntry;
      const b = entry.batch;
      if (log.entry.view > 0) this.epochs.noteTopView(log.entry.view);
      // A region batch the log already executed (possible only around view changes) executes nothing.
      if (b.epoch === this.epochs.structure.epoch && !this.epochs.hasExecuted(b.region, b.regionSeq)) {
        requests = keptRequests(entry);
        this.epochs.noteRegionBatch(b.region, entry.signers);
        if (this.epochs.moveSeat(b.region, b.view)) seated = this.epochs.seats[b.region].holder;
        this.epochs.batchExecuted(b.region, b.regionSeq);
        this.top.batchExecuted(b.region, b.regionSeq);
        if (b.region === this.epochs.shape.myRegion) this.region.batchExecuted(b.regionSeq);
      }
    }
    const { seq, fresh, stored } = this.log.record(log, requests, this.epochs.config.epoch);
    let membershipChanged = false;
    for (const r of fresh) {
      const key = requestKey(r);
      this.intake.forget(key);
      this.region.requestExecuted(key);
      membershipChanged = this.epochs.noteMembership(r.operation) || membershipChanged;
    }
    this.top.dirty = true;
    this.log.pass(stored, this.epochs.shape.decideAudience(this.region.isPrimary, this.epochs.seats));
    // A new seat holder may not have heard of the entry that seated it (its region heard from the old holder).
    if (this.top.instance && seated !== undefined && seated !== this.id) this.log.pass(stored, [seated]);
    const restarted = (membershipChanged || this.epochs.endsAt(seq)) && this.nextEpoch();
    if (seated !== undefined && !restarted) this.nextTerm();
  }

  // ---- epochs and terms ------------------------------------------------------------------

  /**
   * The next epoch's configuration. When it keeps the structure every group goes on as it
   * was; otherwise (a join, a leave, a vote lost or a leader no longer trusted) every group
   * starts afresh. Returns whether they did.
   */
  private nextEpoch(): boolean {
    if (!this.epochs.nextEpoch(this.log.executedSeq)) return false;
    this.region.drop();
    this.top.state = undefined;
    this.enterStructure(true);
    // Requests of region batches the old groups did not order are batched again.
    this.intake.relearn();
    return true;
  }

  /** The groups of the current structure; `fresh`: its batch progress and seats start over. */
  private enterStructure(fresh: boolean): void {
    this.epochs.enterStructure(fresh);
    this.top.enterStructure();
    this.region.enterStructure();
    if (this.region.instance) this.replayFuture(this.region.instance.group);
    this.enterTerm(fresh);
  }

  private nextTerm(): void {
    this.epochs.nextTerm(this.log.executedSeq);
    this.top.state = undefined;
    this.enterTerm(true);
    // The new seat holders need the batches the old ones were holding.
    if (this.region.isPrimary) this.region.sendCertified([...this.region.certified.values()]);
  }

  /** The top instance of the term; `fresh`: a new term, whose primary order is fixed now. */
  private enterTerm(fresh: boolean): void {
    this.epochs.enterTerm(fresh);
    this.top.enterTerm();
    if (this.top.instance) this.replayFuture(this.top.instance.group);
  }

  // ---- output ----------------------------------------------------------------------------

  /** Whether this node waits on work of others: requests it knows, batches its region certified. */
  private waitingOnWork(): boolean {
    return this.intake.size > 0 || this.region.certified.size > 0;
  }

  private flush(): Ready<DrkMessage, DrkState> {
    // After any input: as top primary, propose what became available.
    this.top.propose();
    return this.out.take(() => this.snapshot());
  }

  private snapshot(): DrkState {
    const e = this.epochs;
    return {
      config: e.config,
      epochStart: e.epochStart,
      structure: e.structure,
      structureStart: e.structureStart,
      term: e.term,
      termStart: e.termStart,
      executedSeq: this.log.executedSeq,
      executed: this.log.executed.record(),
      progress: e.progress,
      seats: e.seats,
      topOrder: e.topOrder,
      evidence: e.evidence,
      changes: e.changes,
      certified: [...this.region.certified.values()],
      region: this.region.state,
      top: this.top.state,
    };
  }
}
