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
 * - With a single region (n < 8) there is no top layer: the region's decisions are the log.
 */
import { requestKey } from '../core/digest';
import { validBatch } from '../core/requests';
import type { Authenticator, ClientRequest, Commit, ConsensusNode, NodeId, Outbound, Ready } from '../core/types';
import { PbftInstance, type Decision, type PbftInstanceState, type PbftOutput } from '../pbft/instance';
import type { CommitMessage, PbftInstanceMessage, PrePrepareMessage } from '../pbft/messages';
import { Verifier } from '../pbft/verifier';
import {
  batchKey,
  certificateSigners,
  committedDigest,
  entryRef,
  homeRegion,
  isTopEntryRef,
  keptRequests,
  logOffset,
  orderGroup,
  REGION_NULL_DIGEST,
  regionDigest,
  regionGroup,
  TOP_NULL_DIGEST,
  topDigest,
  topGroup,
  withBatch,
  withoutCertificate,
  type CertifiedBatch,
  type RegionBatch,
  type TopEntry,
  type TopEntryRef,
} from './batches';
import { keepsStructure, type EpochConfig, type MembershipChange } from './configuration';
import type { DrkContext, EpochLayout } from './context';
import { ExecutedRequests, type ExecutedRecord } from '../core/executed';
import {
  isOwnMessage,
  ownSigned,
  type BatchFetchMessage,
  signOwn,
  type CertifiedMessage,
  type DecideMessage,
  type DrkMessage,
  type ForwardMessage,
  type LogEntry,
  type LogFetchMessage,
  type LogMessage,
  type LogPayload,
  type OwnMessage,
} from './messages';
import { groupPosition, hasExecuted, isTopEntry, logDigest, wellFormed, withExecuted, type BatchProgress } from './log';
import { emptyEvidence, rankByReputation, type EpochEvidence } from './reputation';

/** A region's seat: its holder and the region view whose certificate gave it the seat. */
export interface Seat {
  holder: NodeId;
  view: number;
}

/** What a DRKPBFT node persists. */
export interface DrkState {
  /** The current epoch's configuration: its reputations feed the next one. */
  config: EpochConfig;
  /** First global position of the epoch. */
  epochStart: number;
  /**
   * The configuration the groups were built from (regions, leader orders, group names): the
   * last epoch that changed the structure (see `keepsStructure`), and its first position.
   */
  structure: EpochConfig;
  structureStart: number;
  term: number;
  /** First global position of the term. */
  termStart: number;
  executedSeq: number;
  executed: ExecutedRecord;
  /** Per region: the region batches the log executed this epoch. */
  progress: BatchProgress[];
  seats: Seat[];
  /** The top primaries of the term in view order (see `topOrder`). */
  topOrder: NodeId[];
  evidence: EpochEvidence;
  changes: MembershipChange[];
  /** Batches this node's region decided that the log has not executed yet. */
  certified: CertifiedBatch[];
  region?: PbftInstanceState<RegionBatch>;
  top?: PbftInstanceState<TopEntry>;
}

/** Entries per log answer, and bounds on what a node buffers ahead of its execution. */
const LOG_PAGE = 64;
const MAX_BUFFERED_ENTRIES = 4096;
const MAX_FUTURE_MESSAGES = 8192;
const MAX_UNRESOLVED = 1024;

const MEMBERSHIP_OP = /^(join|leave):(\d+)$/;

/** A top pre-prepare that names its batch (`TopEntryRef`). */
type NamingProposal = PrePrepareMessage<TopEntryRef> & { payload: TopEntryRef };

export class DrkpbftNode implements ConsensusNode<DrkMessage, DrkState> {
  private now = 0;

  // ---- persisted -------------------------------------------------------------------------
  private config: EpochConfig;
  private epochStart: number;
  private structure: EpochConfig;
  private structureStart: number;
  private term: number;
  private termStart: number;
  private executedSeq: number;
  private readonly executed: ExecutedRequests;
  private progress: BatchProgress[];
  private seats: Seat[];
  private topOrder: NodeId[];
  private evidence: EpochEvidence;
  private changes: MembershipChange[];
  /** This region's decided batches not executed yet, by region sequence number. */
  private readonly certified = new Map<number, CertifiedBatch>();
  private regionState: PbftInstanceState<RegionBatch> | undefined;
  private topState: PbftInstanceState<TopEntry> | undefined;

  // ---- derived from the configuration ----------------------------------------------------
  private layout!: EpochLayout;
  private myRegion = -1;
  private region: PbftInstance<RegionBatch> | undefined;
  private top: PbftInstance<TopEntry> | undefined;
  private regionVerifiers: (Verifier<RegionBatch> | undefined)[] = [];
  private logVerifierCache: Verifier<LogPayload> | undefined;

  // ---- volatile --------------------------------------------------------------------------
  /** Requests this node knows of and has not seen executed. */
  private readonly known = new Map<string, ClientRequest>();
  /** When each known request was learnt, until it is announced to the whole region (then the region waits on it). */
  private readonly waiting = new Map<string, number>();
  /** Requests to pass on at the next tick (or once `batchSize` are here), see `flushForwards`. */
  private readonly forwards = new Map<string, ClientRequest>();
  /** Primary: requests waiting to be batched, and those already in a proposal or a decided batch. */
  private readonly queue = new Map<string, ClientRequest>();
  private queueSince = 0;
  private readonly batched = new Set<string>();
  /** When each certified batch was decided, and which ones the region now waits on (its primary did not get them ordered). */
  private readonly certifiedAt = new Map<number, number>();
  private readonly watched = new Set<number>();
  /** Region primary: decided batches to send to the seat holders at the next tick. */
  private readonly unsent = new Set<number>();
  private lastCertifiedSend = 0;
  /** Seat holder: certified batches of the epoch not executed yet, by `region:regionSeq`. */
  private readonly pool = new Map<string, CertifiedBatch>();
  /** When each pooled batch arrived, until the top layer starts waiting on it. */
  private readonly poolUnwatched = new Map<string, number>();
  /**
   * Top layer: entries of this term above the executed position that this replica validated
   * or proposed, by top sequence number. Gaps are judged by them, and the primary does not
   * propose again what they hold (some may be stale after a view change: they go once the
   * log executes past them).
   */
  private readonly inTopLog = new Map<number, TopEntry>();
  private topDirty = false;
  private nextRegionTurn = 0;
  /** Top pre-prepares naming a batch this seat holder has not got yet, by `view:seq`; `fetched`: asked the primary for it. */
  private readonly unresolved = new Map<string, { pp: NamingProposal; fetched: boolean }>();
  /** When this node last answered each `sender/batch` fetch. */
  private readonly batchServedAt = new Map<string, number>();
  /** The executed global log (served to lagging nodes) and entries received ahead of execution. */
  private readonly log: LogEntry[] = [];
  private readonly ahead = new Map<number, LogEntry[]>();
  private aheadCount = 0;
  private readonly future: DrkMessage[] = [];
  private lastProgress = 0;
  private lastFetch = -Infinity;
  /** The last log answer was a full page: there is probably more, fetch again at the next tick. */
  private fullPage = false;
  private fetchTurn = 0;
  private readonly servedAt = new Map<NodeId, number>();

  private messages: Outbound<DrkMessage>[] = [];
  private commits: Commit[] = [];
  private dirty = false;

  constructor(
    readonly id: NodeId,
    private readonly auth: Authenticator,
    private readonly ctx: DrkContext,
    persisted?: DrkState,
  ) {
    const genesis = ctx.genesis;
    this.config = persisted?.config ?? genesis;
    this.epochStart = persisted?.epochStart ?? 1;
    this.structure = persisted?.structure ?? genesis;
    this.structureStart = persisted?.structureStart ?? 1;
    this.term = persisted?.term ?? 0;
    this.termStart = persisted?.termStart ?? 1;
    this.executedSeq = persisted?.executedSeq ?? 0;
    this.executed = new ExecutedRequests(persisted?.executed);
    this.evidence = persisted?.evidence ?? emptyEvidence();
    this.changes = persisted?.changes ?? [];
    for (const b of persisted?.certified ?? []) this.certified.set(b.regionSeq, b);
    this.regionState = persisted?.region;
    this.topState = persisted?.top;
    this.progress = persisted?.progress ?? [];
    this.seats = persisted?.seats ?? [];
    this.topOrder = persisted?.topOrder ?? [];
    this.enterEpoch(persisted === undefined);
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

  tick(): Ready<DrkMessage, DrkState> {
    this.now++;
    if (this.region) this.absorbRegion(this.region.tick());
    if (this.top) this.absorbTop(this.top.tick());
    this.batchQueued(true);
    this.sendDecided();
    this.flushForwards();
    this.announceWaiting();
    this.watchCertified();
    this.watchPool();
    this.resendCertified();
    this.fetchUnresolved();
    this.fetchIfBehind(this.fullPage);
    return this.flush();
  }

  submit(request: ClientRequest): Ready<DrkMessage, DrkState> {
    this.learn([request], false);
    return this.flush();
  }

  // ---- requests and region batches -------------------------------------------------------

  /**
   * Requests that reached this node: remember them and get them to their home region's
   * primary (`homeRegion`). A voter forwards to its own region primary, which batches the
   * requests of its region and relays the others to their home regions' seat holders. The
   * home region waits on a request (its view-change clock runs) once it is `announced`: sent
   * to every voter of the home region because it waited a request timeout, as a PBFT client
   * re-sends to all.
   */
  private learn(requests: readonly ClientRequest[], announced: boolean): void {
    const fresh: ClientRequest[] = [];
    for (const r of requests) {
      const key = requestKey(r);
      if (this.executed.has(r)) continue;
      const isNew = !this.known.has(key);
      if (isNew) {
        this.known.set(key, r);
        fresh.push(r);
      }
      const home = this.home(r);
      // A request already in a decided batch: the region waits on the batch instead (`watchCertified`).
      if (announced && home && !this.batched.has(key)) {
        this.waiting.delete(key);
        this.region?.expect(key);
      } else if (isNew && !(home && this.region?.isPrimary)) this.waiting.set(key, this.now);
    }
    if (fresh.length === 0) return;
    if (this.region?.isPrimary) {
      for (const r of fresh) this.enqueue(r);
      this.batchQueued(false);
      this.forward(fresh.filter((r) => !this.home(r)));
    } else this.forward(fresh);
  }

  /** The region that batches the request with this key. */
  private homeOf(key: string): number {
    return this.layout.k === 1 ? 0 : homeRegion(key, this.layout.k);
  }

  /** Whether this node's region is the request's home region. */
  private home(r: ClientRequest): boolean {
    return this.layout.k === 1 || this.homeOf(requestKey(r)) === this.myRegion;
  }

  /**
   * Buffers requests for their next hop, sent as one signed message per destination and tick
   * (or at once when `batchSize` are buffered), as flat PBFT does: one signature and one
   * message per request would cost the primary more than the batch it ends up in.
   */
  private forward(requests: readonly ClientRequest[]): void {
    for (const r of requests) this.forwards.set(requestKey(r), r);
    if (this.forwards.size >= this.ctx.options.batchSize) this.flushForwards();
  }

  /**
   * The buffered forwards. A voter's next hop is its region primary, except that a primary
   * relays what is not its region's to the home region's seat holder; a node without a vote
   * sends to the home region's seat holder directly.
   */
  private flushForwards(): void {
    if (this.forwards.size === 0) return;
    const byHop = new Map<NodeId, ClientRequest[]>();
    for (const r of this.forwards.values()) {
      const to = this.nextHop(r);
      if (to === undefined || to === this.id || this.executed.has(r)) continue;
      const list = byHop.get(to);
      if (list) list.push(r);
      else byHop.set(to, [r]);
    }
    this.forwards.clear();
    for (const [to, list] of byHop) this.send(to, signOwn<ForwardMessage>({ type: 'forward', requests: list, announce: false }, this.auth));
  }

  private nextHop(r: ClientRequest): NodeId | undefined {
    const region = this.region;
    if (region && !region.installed) return undefined;
    if (region && !region.isPrimary) return region.primary;
    const home = this.homeOf(requestKey(r));
    return region && home === this.myRegion ? region.primary : this.seats[home]?.holder;
  }

  /**
   * Requests not executed a request timeout after they arrived go to every voter of their
   * home region, which then waits on them (a region primary waits only on the requests it
   * relayed: it batches its own).
   */
  private announceWaiting(): void {
    if (!this.region) return;
    const late = new Map<number, ClientRequest[]>();
    for (const [key, since] of this.waiting) {
      if (this.now - since < this.ctx.options.requestTimeoutTicks) break;
      this.waiting.delete(key);
      const r = this.known.get(key);
      if (r === undefined) continue;
      const home = this.homeOf(key);
      if (home === this.myRegion) this.region.expect(key);
      const list = late.get(home);
      if (list) list.push(r);
      else late.set(home, [r]);
    }
    for (const [home, requests] of late) {
      const message = signOwn<ForwardMessage>({ type: 'forward', requests, announce: true }, this.auth);
      for (const voter of this.structure.regions[home]) if (voter !== this.id) this.send(voter, message);
    }
  }

  /** As region primary: a request of this region to batch. */
  private enqueue(r: ClientRequest): void {
    const key = requestKey(r);
    if (!this.home(r) || this.executed.has(r) || this.queue.has(key) || this.batched.has(key)) return;
    if (this.queue.size === 0) this.queueSince = this.now;
    this.queue.set(key, r);
  }

  /** As region primary: full batches at once, a partial one after the batch timeout. */
  private batchQueued(timedOut: boolean, force = false): void {
    const region = this.region;
    if (!region?.isPrimary) return;
    const { batchSize, batchTimeoutTicks } = this.ctx.options;
    while (this.queue.size >= batchSize || (this.queue.size > 0 && timedOut && this.now - this.queueSince >= batchTimeoutTicks) || force) {
      force = false;
      const requests: ClientRequest[] = [];
      for (const [key, r] of this.queue) {
        if (requests.length >= batchSize) break;
        this.queue.delete(key);
        this.batched.add(key);
        requests.push(r);
      }
      this.queueSince = this.now;
      this.absorbRegion(region.propose({ requests }));
    }
  }

  private absorbRegion(out: PbftOutput<RegionBatch>): void {
    const instance = this.region;
    this.emit(out);
    if (out.state) {
      this.regionState = out.state;
      this.dirty = true;
    }
    // A decision may end the epoch: what follows it in `out` belongs to a group that is gone.
    for (const d of out.decisions) if (this.region === instance) this.onRegionDecision(d);
    if (out.installedView !== undefined && this.region === instance) this.onRegionView();
  }

  private onRegionDecision(d: Decision<RegionBatch>): void {
    if (this.layout.k === 1) {
      if (this.region) this.offer({ group: this.region.group, entry: d }, true);
      return;
    }
    if (hasExecuted(this.progress[this.myRegion], d.seq)) return;
    const batch: CertifiedBatch = {
      epoch: this.structure.epoch,
      region: this.myRegion,
      regionSeq: d.seq,
      view: d.view,
      batch: d.payload ?? { requests: [] },
      certificate: d.certificate,
    };
    this.certified.set(d.seq, batch);
    this.certifiedAt.set(d.seq, this.now);
    this.dirty = true;
    // The region did its part: from here on it waits on the batch (`watchCertified`), not its requests.
    for (const r of batch.batch.requests) {
      const key = requestKey(r);
      this.batched.add(key);
      this.queue.delete(key);
      this.waiting.delete(key);
      this.region?.satisfied(key);
    }
    // Sent at the next tick, with the commits that arrive meanwhile (see `lateCommit`).
    if (this.region?.isPrimary) this.unsent.add(d.seq);
  }

  /**
   * A region commit that arrived after its batch was decided. Until the primary sends the
   * batch to the seat holders (at its next tick) the commit joins the batch's certificate:
   * the certificate's signers are the votes reputation counts as timely, and a member only
   * slightly slower than the first quorum voted as correctly and nearly as fast.
   */
  private lateCommit(c: CommitMessage): void {
    const batch = this.certified.get(c.seq);
    if (batch === undefined || !this.unsent.has(c.seq) || batch.view !== c.view || batch.certificate.some((v) => v.sender === c.sender)) return;
    this.certified.set(c.seq, { ...batch, certificate: [...batch.certificate, c] });
  }

  /** As region primary, at each tick: the batches decided since the last one go to the seat holders. */
  private sendDecided(): void {
    if (this.unsent.size === 0) return;
    const batches = [...this.unsent].map((seq) => this.certified.get(seq)).filter((b) => b !== undefined);
    this.unsent.clear();
    if (this.region?.isPrimary) this.sendCertified(batches);
  }

  /** A new region view: its primary takes over the queue and claims the seat; the others forward what they know. */
  private onRegionView(): void {
    const region = this.region;
    if (!region) return;
    // Its old primary held the seat: whatever it stopped passing on must be fetched.
    this.fetchIfBehind(true);
    this.queue.clear();
    this.batched.clear();
    for (const b of this.certified.values()) for (const r of b.batch.requests) this.batched.add(requestKey(r));
    for (const p of region.undecidedProposals()) for (const r of p.requests) this.batched.add(requestKey(r));
    const pending = [...this.known.values()].filter((r) => !this.batched.has(requestKey(r)));
    if (region.isPrimary) {
      // It batches its region's requests and relays the others (the old primary may have dropped them).
      for (const r of pending) {
        this.enqueue(r);
        this.waiting.delete(requestKey(r));
      }
      this.forward(pending.filter((r) => !this.home(r)));
      const claim = this.layout.k > 1 && region.view > 0 && this.seats[this.myRegion].holder !== this.id;
      // A batch certified in this view is what moves the seat: propose one now, even empty.
      this.batchQueued(true, claim);
      this.sendCertified([...this.certified.values()]);
    } else {
      this.forward(pending.filter((r) => this.home(r)));
    }
  }

  private sendCertified(batches: readonly CertifiedBatch[]): void {
    if (this.layout.k === 1 || batches.length === 0) return;
    this.lastCertifiedSend = this.now;
    for (const batch of batches) {
      const message = signOwn<CertifiedMessage>({ type: 'certified', batch }, this.auth);
      for (const seat of this.seats) {
        if (seat.holder === this.id) this.pooled(batch);
        else this.send(seat.holder, message);
      }
    }
  }

  /** Region primary: batches not ordered a request timeout after they were decided go to the seat holders again. */
  private resendCertified(): void {
    if (!this.region?.isPrimary || this.certified.size === 0) return;
    if (this.now - this.lastCertifiedSend >= this.ctx.options.requestTimeoutTicks) this.sendCertified([...this.certified.values()]);
  }

  /**
   * A batch the log has not executed two request timeouts after its region decided it: the
   * region starts waiting on it, so a primary that keeps it from the top layer is replaced.
   * (The top layer waits on it from one timeout after it was pooled, so its clock runs out
   * first when its own primary is at fault.)
   */
  private watchCertified(): void {
    if (!this.region) return;
    for (const [regionSeq, at] of this.certifiedAt) {
      if (this.watched.has(regionSeq) || this.now - at < 2 * this.ctx.options.requestTimeoutTicks) continue;
      this.watched.add(regionSeq);
      this.region.expect(`certified:${regionSeq}`);
    }
  }

  // ---- top layer -------------------------------------------------------------------------

  /** A certified batch for the top layer. */
  private pooled(batch: CertifiedBatch): void {
    // A region primary that claimed a seat gets the batches before it has executed far enough to sit in the new term.
    if ((!this.top && !this.region?.isPrimary) || batch.epoch !== this.structure.epoch || hasExecuted(this.progress[batch.region], batch.regionSeq)) return;
    const key = `${batch.region}:${batch.regionSeq}`;
    if (this.pool.has(key)) return;
    this.pool.set(key, batch);
    this.poolUnwatched.set(key, this.now);
    this.topDirty = true;
    for (const [slot, { pp }] of this.unresolved) {
      if (batchKey(pp.payload.ref) !== key) continue;
      this.unresolved.delete(slot);
      this.resolve(pp);
    }
  }

  /** A top pre-prepare naming a certified batch: with the batch filled in, to the top replica; kept until it arrives otherwise. */
  private resolve(pp: PrePrepareMessage<TopEntryRef>): void {
    const top = this.top;
    if (!top || pp.group !== top.group || !isNamingProposal(pp)) return;
    const batch = this.batchFor(batchKey(pp.payload.ref));
    const entry = batch && withBatch(pp.payload, batch);
    if (entry) this.absorbTop(top.step({ ...pp, payload: entry }, pp.sender));
    else if (this.unresolved.size < MAX_UNRESOLVED && pp.view >= top.view) this.unresolved.set(`${pp.view}:${pp.seq}`, { pp, fetched: false });
  }

  /** A certified batch this seat holder holds: pooled, or in an entry of the top log. */
  private batchFor(key: string): CertifiedBatch | undefined {
    return this.pool.get(key) ?? [...this.inTopLog.values()].find((e) => batchKey(e.batch) === key)?.batch;
  }

  /** Batches still missing a tick after their pre-prepare named them: asked of the primary that proposed them. */
  private fetchUnresolved(): void {
    for (const [slot, pending] of this.unresolved) {
      if (!this.top || pending.pp.view < this.top.view) this.unresolved.delete(slot);
      else if (!pending.fetched) {
        pending.fetched = true;
        const { region, regionSeq } = pending.pp.payload.ref;
        this.send(pending.pp.sender, signOwn<BatchFetchMessage>({ type: 'batch-fetch', region, regionSeq }, this.auth));
      }
    }
  }

  /** A top backup's fetch: the certified batch, if this seat holder has it (once a request timeout per asker and batch). */
  private serveBatch(m: BatchFetchMessage): void {
    if (!this.top) return;
    const key = batchKey(m);
    const asked = `${m.sender}/${key}`;
    if (this.now - (this.batchServedAt.get(asked) ?? -Infinity) < this.ctx.options.requestTimeoutTicks) return;
    const batch = this.batchFor(key);
    if (batch === undefined) return;
    if (this.batchServedAt.size >= MAX_UNRESOLVED) this.batchServedAt.clear();
    this.batchServedAt.set(asked, this.now);
    this.send(m.sender, signOwn<CertifiedMessage>({ type: 'certified', batch }, this.auth));
  }

  /**
   * The top layer waits on a pooled batch (its view-change clock runs) once the batch has
   * been pooled a request timeout: as a flat PBFT replica waits on a request only after it
   * was announced, so one slow round across zones does not replace a correct primary.
   */
  private watchPool(): void {
    if (!this.top) return;
    for (const [key, since] of this.poolUnwatched) {
      if (this.now - since < this.ctx.options.requestTimeoutTicks) break;
      this.poolUnwatched.delete(key);
      this.top.expect(`batch:${key}`);
    }
  }

  /** A certified batch whose certificate proves it: its region's commits for exactly its digest, every one valid. */
  private certificateValid(b: CertifiedBatch): boolean {
    if (b.epoch !== this.structure.epoch || !Number.isInteger(b.region) || b.region < 0 || b.region >= this.layout.k) return false;
    if (!b.batch || !validBatch(b.batch.requests, this.ctx.options.batchSize) || !Array.isArray(b.certificate)) return false;
    const verifier = this.regionVerifier(b.region);
    const digest = regionDigest(b.batch);
    const senders = new Set<NodeId>();
    for (const c of b.certificate) {
      const matches = c.type === 'commit' && c.view === b.view && c.seq === b.regionSeq && c.digest === digest;
      if (!matches || senders.has(c.sender) || !verifier.signed(c)) return false;
      senders.add(c.sender);
    }
    return senders.size >= verifier.quorum;
  }

  /**
   * A top backup accepts an entry whose region certificate is valid, whose signers are the
   * certificate's and whose skips are well formed. Validity must not depend on the replica's
   * state (a new view's re-proposals must stay acceptable wherever the replica's execution
   * is), so a batch's place in its region's order is the log's business: the log executes
   * each region batch once, in whatever position the top layer gave it.
   */
  private validateTop(entry: TopEntry, seq: number): boolean {
    if (!entry || !Array.isArray(entry.skip) || !Array.isArray(entry.signers) || !entry.batch || !this.certificateValid(entry.batch)) return false;
    if (entry.signers.join() !== certificateSigners(entry.batch.certificate).join()) return false;
    const batch = entry.batch.batch;
    let previous = -1;
    for (const i of entry.skip) {
      if (!Number.isInteger(i) || i <= previous || i >= batch.requests.length) return false;
      previous = i;
    }
    this.inTopLog.set(seq, entry);
    return true;
  }

  /**
   * As top primary: every pooled batch not in flight yet (in flight: proposed, or in the log
   * above the executed position), oldest first and regions in turn, with the requests
   * already ordered skipped.
   */
  private proposeTop(): void {
    const top = this.top;
    if (!this.topDirty || !top?.isPrimary) return;
    this.topDirty = false;
    if (this.pool.size === 0) return;
    const inFlight = new Set<string>();
    const ordered = new Set<string>();
    for (const e of [...top.undecidedProposals(), ...this.inTopLog.values()]) {
      inFlight.add(`${e.batch.region}:${e.batch.regionSeq}`);
      for (const r of keptRequests(e)) ordered.add(requestKey(r));
    }
    const k = this.layout.k;
    const turn = (region: number): number => (region - this.nextRegionTurn + k) % k;
    const candidates = [...this.pool]
      .filter(([key]) => !inFlight.has(key))
      .map(([, batch]) => batch)
      .sort((a, b) => a.regionSeq - b.regionSeq || turn(a.region) - turn(b.region));
    if (candidates.length === 0) return;
    this.nextRegionTurn = (this.nextRegionTurn + 1) % k;
    for (const batch of candidates) {
      const skip: number[] = [];
      batch.batch.requests.forEach((r, index) => {
        const key = requestKey(r);
        if (this.executed.has(r) || ordered.has(key)) skip.push(index);
        else ordered.add(key);
      });
      this.absorbTop(top.propose({ batch, skip, signers: certificateSigners(batch.certificate) }));
    }
  }

  private absorbTop(out: PbftOutput<TopEntry>): void {
    // Its own proposals go out naming their batches, which the seat holders have (`TopEntryRef`).
    const refs = new Map<PbftInstanceMessage<TopEntry>, DrkMessage>();
    for (const { to, message: m } of out.messages) {
      if (m.type !== 'pre-prepare' || m.sender !== this.id || m.payload === null) {
        this.send(to, m);
        continue;
      }
      this.inTopLog.set(m.seq, m.payload);
      let ref = refs.get(m);
      if (ref === undefined) refs.set(m, (ref = { ...m, payload: entryRef(m.payload) }));
      this.send(to, ref);
    }
    if (out.state) {
      this.topState = out.state;
      this.dirty = true;
    }
    const group = this.top?.group;
    for (const d of out.decisions) if (group !== undefined) this.offer({ group, entry: d }, true);
    if (out.installedView !== undefined) this.topDirty = true;
  }

  // ---- the global log --------------------------------------------------------------------

  /** The group that orders the next position. */
  private logGroup(): string {
    return this.layout.k === 1 ? orderGroup(this.structure.epoch, this.structureStart - 1) : topGroup(this.structure.epoch, this.term, this.termStart - 1);
  }

  /** An entry for some position: executed when it is the next one (and proves itself), kept for later when ahead. */
  private offer(log: LogEntry, trusted: boolean): void {
    if (!wellFormed(log)) return;
    const seq = (logOffset(log.group) ?? NaN) + log.entry.seq;
    if (!Number.isInteger(seq) || seq <= this.executedSeq) return;
    if (seq > this.executedSeq + 1) {
      if (this.aheadCount >= MAX_BUFFERED_ENTRIES) return;
      const list = this.ahead.get(seq) ?? [];
      if (list.length >= 4) return;
      list.push(log);
      this.ahead.set(seq, list);
      this.aheadCount++;
      return;
    }
    if (!this.tryExecute(log, trusted)) return;
    for (;;) {
      const candidates = this.ahead.get(this.executedSeq + 1);
      if (candidates === undefined) break;
      this.ahead.delete(this.executedSeq + 1);
      this.aheadCount -= candidates.length;
      if (!candidates.some((c) => this.tryExecute(c, false))) break;
    }
  }

  private tryExecute(log: LogEntry, trusted: boolean): boolean {
    if (log.group !== this.logGroup()) return false;
    if (!trusted && !this.logVerifier().decidedEntry(log.entry)) return false;
    this.execute(log);
    return true;
  }

  private execute(log: LogEntry): void {
    const seq = this.executedSeq + 1;
    const payload = log.entry.payload;
    for (const s of this.inTopLog.keys()) if (s <= log.entry.seq) this.inTopLog.delete(s);
    let requests: ClientRequest[] = [];
    /** The node a seat moved to, if this entry moved one. */
    let seated: NodeId | undefined;
    if (payload !== null && !isTopEntry(payload)) requests = payload.requests;
    else if (payload !== null) {
      const b = payload.batch;
      // A region batch the log already executed (possible only around view changes) executes nothing.
      if (log.entry.view > 0) this.noteTopView(log.entry.view);
      if (b.epoch === this.structure.epoch && !hasExecuted(this.progress[b.region], b.regionSeq)) {
        requests = keptRequests(payload);
        this.evidence = { ...this.evidence, regionBatches: [...this.evidence.regionBatches, { region: b.region, signers: payload.signers }] };
        if (this.moveSeat(b.region, b.view)) seated = this.seats[b.region].holder;
        this.batchExecuted(b.region, b.regionSeq);
      }
    }
    const fresh: ClientRequest[] = [];
    let membershipChanged = false;
    for (const r of requests) {
      if (this.executed.has(r)) continue;
      this.executed.add(r);
      fresh.push(r);
      const key = requestKey(r);
      this.known.delete(key);
      this.waiting.delete(key);
      this.queue.delete(key);
      this.region?.satisfied(key);
      membershipChanged = this.noteMembership(r.operation) || membershipChanged;
    }
    this.executedSeq = seq;
    this.log[seq] = payload !== null && isTopEntry(payload) ? { group: log.group, entry: { ...log.entry, payload: withoutCertificate(payload) } } : log;
    this.lastProgress = this.now;
    this.dirty = true;
    this.topDirty = true;
    const quorum = log.entry.certificate.map((c: CommitMessage) => c.sender);
    this.commits.push({ seq, digest: committedDigest(log.entry.digest), requests: fresh, quorum, epoch: this.config.epoch });
    this.tellRegion(this.log[seq]);
    // A new seat holder may not have heard of the entry that seated it (its region heard from the old holder).
    if (this.top && seated !== undefined && seated !== this.id) this.send(seated, signOwn<DecideMessage>({ type: 'decide', log: this.log[seq] }, this.auth));
    const restarted = (membershipChanged || seq - this.epochStart + 1 >= this.ctx.epochLength) && this.nextEpoch();
    if (seated !== undefined && !restarted) this.nextTerm();
  }

  /** A join or leave that changes the membership; the epoch ends after its batch. */
  private noteMembership(operation: string): boolean {
    const match = MEMBERSHIP_OP.exec(operation);
    if (!match) return false;
    const change: MembershipChange = { kind: match[1] as 'join' | 'leave', node: Number(match[2]) };
    let member = this.layout.members.has(change.node);
    for (const c of this.changes) if (c.node === change.node) member = c.kind === 'join';
    if ((change.kind === 'join') === member) return false;
    this.changes = [...this.changes, change];
    return true;
  }

  /** A batch certified in a later region view gives the seat to that view's primary; the primaries in between lost it. */
  private moveSeat(region: number, view: number): boolean {
    const seat = this.seats[region];
    if (view <= seat.view) return false;
    const order = this.layout.leaderOrders[region];
    const holder = order[view % order.length];
    const deposed = new Set(this.evidence.deposedLeaders);
    for (let w = seat.view; w < view; w++) if (order[w % order.length] !== holder) deposed.add(order[w % order.length]);
    this.evidence = { ...this.evidence, deposedLeaders: [...deposed].sort((a, b) => a - b) };
    this.seats = this.seats.map((s, r) => (r === region ? { holder, view } : s));
    return holder !== seat.holder;
  }

  private batchExecuted(region: number, regionSeq: number): void {
    this.progress = this.progress.map((p, r) => (r === region ? withExecuted(p, regionSeq) : p));
    this.pool.delete(`${region}:${regionSeq}`);
    this.poolUnwatched.delete(`${region}:${regionSeq}`);
    this.top?.satisfied(`batch:${region}:${regionSeq}`);
    if (region !== this.myRegion) return;
    this.certified.delete(regionSeq);
    this.certifiedAt.delete(regionSeq);
    if (this.watched.delete(regionSeq)) this.region?.satisfied(`certified:${regionSeq}`);
  }

  /** A seat holder passes each executed position to its region (with one region: to the members without a vote). */
  private tellRegion(log: LogEntry): void {
    if (this.myRegion < 0) return;
    const single = this.layout.k === 1;
    if (single ? !this.region?.isPrimary : this.seats[this.myRegion].holder !== this.id) return;
    const to = single ? this.structure.listeners[0] : this.layout.regionMembers(this.myRegion);
    if (to.length === 0) return;
    const message = signOwn<DecideMessage>({ type: 'decide', log }, this.auth);
    for (const node of to) if (node !== this.id) this.send(node, message);
  }

  // ---- epochs and terms ------------------------------------------------------------------

  /**
   * The next epoch's configuration. When it keeps the structure every group goes on as it
   * was; otherwise (a join, a leave, a vote lost or a leader no longer trusted) every group
   * starts afresh. Returns whether they did.
   */
  private nextEpoch(): boolean {
    this.config = this.ctx.next(this.config, this.evidence, this.changes);
    this.epochStart = this.executedSeq + 1;
    this.evidence = emptyEvidence();
    this.changes = [];
    this.dirty = true;
    if (keepsStructure(this.structure, this.config, this.seats.map((seat) => seat.holder))) return false;
    this.structure = this.config;
    this.structureStart = this.epochStart;
    this.term = 0;
    this.termStart = this.epochStart;
    this.certified.clear();
    this.regionState = undefined;
    this.topState = undefined;
    this.enterEpoch(true);
    // Requests of region batches the old groups did not order are batched again.
    this.learnAgain();
    return true;
  }

  /** Derived state and groups of the current structure; `fresh`: its batch progress and seats start over. */
  private enterEpoch(fresh: boolean): void {
    this.layout = this.ctx.layout(this.structure);
    this.myRegion = this.layout.regionOf.get(this.id) ?? -1;
    if (fresh) {
      this.progress = this.structure.regions.map(() => ({ upTo: 0, above: [] }));
      this.seats = this.layout.leaderOrders.map((order) => ({ holder: order[0], view: 0 }));
    }
    this.regionVerifiers = [];
    this.certifiedAt.clear();
    this.unsent.clear();
    for (const regionSeq of this.certified.keys()) this.certifiedAt.set(regionSeq, this.now);
    this.watched.clear();
    this.pool.clear();
    this.poolUnwatched.clear();
    this.queue.clear();
    this.batched.clear();
    this.dirty = true;
    this.region = undefined;
    if (this.layout.voters.has(this.id)) {
      const voters = this.structure.regions[this.myRegion];
      const single = this.layout.k === 1;
      this.region = new PbftInstance<RegionBatch>({
        self: this.id,
        group: single ? orderGroup(this.structure.epoch, this.structureStart - 1) : regionGroup(this.structure.epoch, this.myRegion),
        members: voters,
        primaryOrder: this.layout.leaderOrders[this.myRegion],
        options: this.ctx.options,
        auth: this.auth,
        digest: regionDigest,
        nullDigest: REGION_NULL_DIGEST,
        validate: (batch) => !!batch && validBatch(batch.requests, this.ctx.options.batchSize),
        persisted: this.regionState,
        lateCommit: (c) => this.lateCommit(c),
      });
      this.replayFuture(this.region.group);
    }
    this.enterTerm(fresh);
  }

  private nextTerm(): void {
    this.term++;
    this.termStart = this.executedSeq + 1;
    this.topState = undefined;
    this.enterTerm(true);
    // The new seat holders need the batches the old ones were holding.
    if (this.region?.isPrimary) this.sendCertified([...this.certified.values()]);
  }

  /** The top instance of the term; `fresh`: a new term, whose primary order is fixed now. */
  private enterTerm(fresh: boolean): void {
    this.logVerifierCache = undefined;
    this.inTopLog.clear();
    this.unresolved.clear();
    this.top = undefined;
    this.topDirty = true;
    const holders = this.seats.map((s) => s.holder);
    if (fresh) this.topOrder = this.termOrder(holders);
    if (this.layout.k === 1 || !holders.includes(this.id)) {
      this.pool.clear();
      this.poolUnwatched.clear();
      return;
    }
    this.top = new PbftInstance<TopEntry>({
      self: this.id,
      group: this.logGroup(),
      members: [...holders].sort((a, b) => a - b),
      primaryOrder: this.topOrder,
      options: this.ctx.options,
      window: this.topWindow(),
      auth: this.auth,
      digest: topDigest,
      nullDigest: TOP_NULL_DIGEST,
      validate: (entry, seq) => this.validateTop(entry, seq),
      persisted: this.topState,
    });
    for (const key of this.pool.keys()) if (!this.poolUnwatched.has(key)) this.top.expect(`batch:${key}`);
    this.replayFuture(this.top.group);
  }

  /**
   * The top layer orders the batches of all K regions, so its log moves K times as fast as a
   * region's: its watermark window is K times a region's, or it, not the seat holders' CPUs
   * and links, would cap throughput (at ~2·interval slots per WAN round).
   */
  private topWindow(): number {
    return 2 * this.ctx.options.checkpointInterval * this.layout.k;
  }

  /**
   * A term's top primaries: the seat holders by reputation, those deposed (from a region or
   * the top) this epoch last. The top instance starts afresh each term; without this a top
   * primary just replaced by a view change would lead again as soon as a seat moves.
   */
  private termOrder(holders: readonly NodeId[]): NodeId[] {
    const deposed = new Set(this.evidence.deposedLeaders);
    const ranked = rankByReputation(holders, this.structure.reputations);
    return [...ranked.filter((n) => !deposed.has(n)), ...ranked.filter((n) => deposed.has(n))];
  }

  /** Top entries decided in view v > 0: the term's primaries of the views before it lost the lead. */
  private noteTopView(view: number): void {
    const order = this.topOrder;
    const leader = order[view % order.length];
    const deposed = new Set(this.evidence.deposedLeaders);
    const before = deposed.size;
    for (let w = 0; w < Math.min(view, order.length); w++) if (order[w] !== leader) deposed.add(order[w]);
    if (deposed.size > before) this.evidence = { ...this.evidence, deposedLeaders: [...deposed].sort((a, b) => a - b) };
  }

  /** After an epoch change: everything known and not executed goes to the new region primary. */
  private learnAgain(): void {
    const pending = [...this.known.values()];
    this.known.clear();
    this.waiting.clear();
    this.learn(pending, false);
  }

  private regionVerifier(region: number): Verifier<RegionBatch> {
    let verifier = this.regionVerifiers[region];
    if (verifier === undefined) {
      verifier = new Verifier<RegionBatch>({
        group: regionGroup(this.structure.epoch, region),
        members: this.structure.regions[region],
        primaryOrder: this.layout.leaderOrders[region],
        auth: this.auth,
        digest: regionDigest,
        nullDigest: REGION_NULL_DIGEST,
        checkpointInterval: this.ctx.options.checkpointInterval,
      });
      this.regionVerifiers[region] = verifier;
    }
    return verifier;
  }

  /** Checks decisions of the group that orders the next position, for entries from DECIDE and log answers. */
  private logVerifier(): Verifier<LogPayload> {
    if (this.logVerifierCache === undefined) {
      const single = this.layout.k === 1;
      const members = single ? this.structure.regions[0] : this.seats.map((s) => s.holder).sort((a, b) => a - b);
      this.logVerifierCache = new Verifier<LogPayload>({
        group: this.logGroup(),
        members,
        primaryOrder: single ? this.layout.leaderOrders[0] : this.topOrder,
        auth: this.auth,
        digest: logDigest,
        nullDigest: single ? REGION_NULL_DIGEST : TOP_NULL_DIGEST,
        checkpointInterval: this.ctx.options.checkpointInterval,
        window: single ? undefined : this.topWindow(),
      });
    }
    return this.logVerifierCache;
  }

  // ---- messages --------------------------------------------------------------------------

  private onPbft(message: Exclude<DrkMessage, OwnMessage>, from: NodeId): void {
    const group = message.group;
    if (this.top && group === this.top.group && message.type === 'pre-prepare' && isTopEntryRef(message.payload)) this.resolve(message as PrePrepareMessage<TopEntryRef>);
    else if (this.region && group === this.region.group) this.absorbRegion(this.region.step(message as PbftInstanceMessage<RegionBatch>, from));
    else if (this.top && group === this.top.group) this.absorbTop(this.top.step(message as PbftInstanceMessage<TopEntry>, from));
    else if (this.isFuture(group) && this.future.length < MAX_FUTURE_MESSAGES) this.future.push(message);
  }

  /** A group of a later epoch or term: this node has not executed far enough to join it yet. */
  private isFuture(group: string): boolean {
    const position = groupPosition(group);
    if (position === undefined) return false;
    return position.epoch > this.structure.epoch || (position.epoch === this.structure.epoch && group.startsWith('top@') && position.term > this.term);
  }

  private replayFuture(group: string): void {
    const mine = this.future.filter((m) => 'group' in m && m.group === group);
    if (mine.length === 0) return;
    const rest = this.future.filter((m) => !('group' in m && m.group === group));
    this.future.length = 0;
    this.future.push(...rest.filter((m) => 'group' in m && this.isFuture(m.group)));
    for (const m of mine) this.onPbft(m as PbftInstanceMessage<RegionBatch>, m.sender);
  }

  private onOwn(message: OwnMessage): void {
    switch (message.type) {
      case 'forward':
        if (validBatch(message.requests, Infinity)) this.learn(message.requests, message.announce === true);
        break;
      case 'certified':
        if (this.certificateValid(message.batch)) this.pooled(message.batch);
        break;
      case 'decide':
        this.offer(message.log, false);
        break;
      case 'log-fetch':
        this.serveLog(message);
        break;
      case 'batch-fetch':
        this.serveBatch(message);
        break;
      case 'log': {
        const before = this.executedSeq;
        for (const entry of message.entries) this.offer(entry, false);
        this.fullPage = message.entries.length >= LOG_PAGE && this.executedSeq > before;
        break;
      }
    }
  }

  private serveLog(m: LogFetchMessage): void {
    if (this.servedAt.get(m.sender) === this.now || !(m.from >= 1)) return;
    this.servedAt.set(m.sender, this.now);
    const entries: LogEntry[] = [];
    for (let seq = m.from; seq <= this.executedSeq && entries.length < LOG_PAGE; seq++) {
      const entry = this.log[seq];
      if (entry === undefined) break;
      entries.push(entry);
    }
    if (entries.length > 0) this.send(m.sender, signOwn<LogMessage>({ type: 'log', from: m.from, entries }, this.auth));
  }

  /**
   * A node that holds entries beyond a gap, waits on requests without progress, or is not a
   * member (a joiner catching up) asks a seat holder — a different one each time — for the
   * log; so does, less often, a node that heard of nothing for a while (its seat holder may
   * have stopped telling it), and at once a node whose region changed view (`now`).
   */
  private fetchIfBehind(now = false): void {
    const patience = Math.max(1, Math.ceil(this.ctx.options.requestTimeoutTicks / 2));
    if (this.now - this.lastFetch < (now ? 1 : patience)) return;
    const quiet = this.now - Math.max(this.lastProgress, this.lastFetch);
    const waiting = this.known.size > 0 || this.certified.size > 0;
    const behind = now || this.aheadCount > 0 || !this.layout.members.has(this.id) || quiet >= (waiting ? patience : 2 * patience);
    if (!behind) return;
    const peers = (this.layout.k === 1 ? this.structure.regions[0] : this.seats.map((s) => s.holder)).filter((p) => p !== this.id);
    if (peers.length === 0) return;
    this.lastFetch = this.now;
    this.fullPage = false;
    const to = peers[this.fetchTurn++ % peers.length];
    this.send(to, signOwn<LogFetchMessage>({ type: 'log-fetch', from: this.executedSeq + 1 }, this.auth));
  }

  // ---- output ----------------------------------------------------------------------------

  private emit(out: PbftOutput<RegionBatch> | PbftOutput<TopEntry>): void {
    for (const m of out.messages) this.messages.push(m as Outbound<DrkMessage>);
  }

  private send(to: NodeId, message: DrkMessage): void {
    this.messages.push({ to, message });
  }

  private flush(): Ready<DrkMessage, DrkState> {
    // After any input: as top primary, propose what became available.
    this.proposeTop();
    const ready: Ready<DrkMessage, DrkState> = { messages: this.messages, commits: this.commits };
    if (this.dirty) ready.state = this.snapshot();
    this.messages = [];
    this.commits = [];
    this.dirty = false;
    return ready;
  }

  private snapshot(): DrkState {
    return {
      config: this.config,
      epochStart: this.epochStart,
      structure: this.structure,
      structureStart: this.structureStart,
      term: this.term,
      termStart: this.termStart,
      executedSeq: this.executedSeq,
      executed: this.executed.record(),
      progress: this.progress,
      seats: this.seats,
      topOrder: this.topOrder,
      evidence: this.evidence,
      changes: this.changes,
      certified: [...this.certified.values()],
      region: this.regionState,
      top: this.topState,
    };
  }
}

const isNamingProposal = (pp: PrePrepareMessage<TopEntryRef>): pp is NamingProposal =>
  isTopEntryRef(pp.payload) && typeof pp.payload.ref === 'object' && pp.payload.ref !== null;
