/**
 * A seat holder's part in the top layer (docs/consensus.md, "Layers" 2): the term's top
 * `PbftInstance` over `TopEntry`s, the pool of certified region batches it orders, the
 * named proposals it fills in from the pool (fetching a batch it lacks from the proposer,
 * serving those it has), the validation of top entries and, as top primary, the proposals.
 */
import { requestKey } from '../core/digest';
import type { ExecutedRequests } from '../core/executed';
import type { NodeId } from '../core/types';
import { validBatch } from '../core/requests';
import { PbftInstance, type PbftInstanceState, type PbftOutput } from '../pbft/instance';
import type { PbftInstanceMessage, PrePrepareMessage } from '../pbft/messages';
import {
  batchKey,
  certificateSigners,
  entryRef,
  isCertifiedBatch,
  isTopEntry,
  isTopEntryRef,
  keptRequests,
  regionDigest,
  TOP_NULL_DIGEST,
  topDigest,
  withBatch,
  type CertifiedBatch,
  type TopEntry,
  type TopEntryRef,
} from './batches';
import type { NodeEnv } from './env';
import type { Epochs } from './epochs';
import { signOwn, type BatchFetchMessage, type CertifiedMessage, type DrkMessage, type LogEntry } from './messages';

const MAX_UNRESOLVED = 1024;

/** A top pre-prepare that names its batch (`TopEntryRef`). */
type NamingProposal = PrePrepareMessage<TopEntryRef> & { payload: TopEntryRef };

const isNamingProposal = (pp: PrePrepareMessage<TopEntryRef>): pp is NamingProposal =>
  isTopEntryRef(pp.payload) && typeof pp.payload.ref === 'object' && pp.payload.ref !== null;

export class TopSeat {
  /** The term's top instance: set while this node holds a seat in the term. */
  instance: PbftInstance<TopEntry> | undefined;
  /** The instance's persisted state. */
  state: PbftInstanceState<TopEntry> | undefined;
  /** Something to propose may have changed (see `propose`). */
  dirty = false;
  /** Certified batches of the structure not executed yet, by `region:regionSeq`. */
  private readonly pool = new Map<string, CertifiedBatch>();
  /** When each pooled batch arrived, until the top layer starts waiting on it. */
  private readonly poolUnwatched = new Map<string, number>();
  /**
   * Entries of this term above the executed position that this replica validated or
   * proposed, by top sequence number. Gaps are judged by them, and the primary does not
   * propose again what they hold (some may be stale after a view change: they go once the
   * log executes past them).
   */
  private readonly inTopLog = new Map<number, TopEntry>();
  private nextRegionTurn = 0;
  /** Top pre-prepares naming a batch this seat holder has not got yet, by `view:seq`; `fetched`: asked the primary for it. */
  private readonly unresolved = new Map<string, { pp: NamingProposal; fetched: boolean }>();
  /** When this node last answered each `sender/batch` fetch. */
  private readonly batchServedAt = new Map<string, number>();

  /** `decided`: a decision of the top instance, for the global log (`GlobalLog.offer`, trusted). */
  constructor(
    private readonly env: NodeEnv,
    private readonly epochs: Epochs,
    private readonly executed: ExecutedRequests,
    private readonly decided: (log: LogEntry) => void,
    persisted?: PbftInstanceState<TopEntry>,
  ) {
    this.state = persisted;
  }

  /** A new structure: batches pooled for the old one are gone. */
  enterStructure(): void {
    this.pool.clear();
    this.poolUnwatched.clear();
  }

  /** A new term (or the same one restored): a seat holder starts its top instance; nobody else keeps a pool. */
  enterTerm(): void {
    this.inTopLog.clear();
    this.unresolved.clear();
    this.instance = undefined;
    this.dirty = true;
    const { seats, shape } = this.epochs;
    if (!shape.sitsAtTop(seats)) {
      this.pool.clear();
      this.poolUnwatched.clear();
      return;
    }
    this.instance = new PbftInstance<TopEntry>({
      self: this.env.id,
      group: this.epochs.logGroup(),
      members: this.epochs.holders().sort((a, b) => a - b),
      primaryOrder: this.epochs.topOrder,
      options: this.env.ctx.options,
      window: shape.topWindow(),
      auth: this.env.auth,
      digest: topDigest,
      wellFormed: isTopEntry,
      nullDigest: TOP_NULL_DIGEST,
      validate: (entry, seq) => this.validate(entry, seq),
      persisted: this.state,
    });
    for (const key of this.pool.keys()) if (!this.poolUnwatched.has(key)) this.instance.expect(`batch:${key}`);
  }

  /** A top message other than a naming proposal (those go to `resolve`). */
  step(message: PbftInstanceMessage<TopEntry>, from: NodeId): void {
    this.absorb((this.instance as PbftInstance<TopEntry>).step(message, from));
  }

  tick(): void {
    if (this.instance) this.absorb(this.instance.tick());
  }

  /** A certified batch for the top layer; `claimant`: this node is a region primary, which may be about to take a seat. */
  pooled(batch: CertifiedBatch, claimant: boolean): void {
    // A region primary that claimed a seat gets the batches before it has executed far enough to sit in the new term.
    if ((!this.instance && !claimant) || batch.epoch !== this.epochs.structure.epoch || this.epochs.hasExecuted(batch.region, batch.regionSeq)) return;
    const key = `${batch.region}:${batch.regionSeq}`;
    if (this.pool.has(key)) return;
    this.pool.set(key, batch);
    this.poolUnwatched.set(key, this.env.now());
    this.dirty = true;
    for (const [slot, { pp }] of this.unresolved) {
      if (batchKey(pp.payload.ref) !== key) continue;
      this.unresolved.delete(slot);
      this.resolve(pp);
    }
  }

  /** A top pre-prepare naming a certified batch: with the batch filled in, to the top replica; kept until it arrives otherwise. */
  resolve(pp: PrePrepareMessage<TopEntryRef>): void {
    const top = this.instance;
    if (!top || pp.group !== top.group || !isNamingProposal(pp)) return;
    const batch = this.batchFor(batchKey(pp.payload.ref));
    const entry = batch && withBatch(pp.payload, batch);
    if (entry) this.absorb(top.step({ ...pp, payload: entry }, pp.sender));
    else if (this.unresolved.size < MAX_UNRESOLVED && pp.view >= top.view) this.unresolved.set(`${pp.view}:${pp.seq}`, { pp, fetched: false });
  }

  /** Batches still missing a tick after their pre-prepare named them: asked of the primary that proposed them. */
  fetchUnresolved(): void {
    for (const [slot, pending] of this.unresolved) {
      if (!this.instance || pending.pp.view < this.instance.view) this.unresolved.delete(slot);
      else if (!pending.fetched) {
        pending.fetched = true;
        const { region, regionSeq } = pending.pp.payload.ref;
        this.env.out.send(pending.pp.sender, signOwn<BatchFetchMessage>({ type: 'batch-fetch', region, regionSeq }, this.env.auth));
      }
    }
  }

  /** A top backup's fetch: the certified batch, if this seat holder has it (once a request timeout per asker and batch). */
  serveBatch(m: BatchFetchMessage): void {
    if (!this.instance) return;
    const key = batchKey(m);
    const asked = `${m.sender}/${key}`;
    const now = this.env.now();
    if (now - (this.batchServedAt.get(asked) ?? -Infinity) < this.env.ctx.options.requestTimeoutTicks) return;
    const batch = this.batchFor(key);
    if (batch === undefined) return;
    if (this.batchServedAt.size >= MAX_UNRESOLVED) this.batchServedAt.clear();
    this.batchServedAt.set(asked, now);
    this.env.out.send(m.sender, signOwn<CertifiedMessage>({ type: 'certified', batch }, this.env.auth));
  }

  /**
   * The top layer waits on a pooled batch (its view-change clock runs) once the batch has
   * been pooled a request timeout: as a flat PBFT replica waits on a request only after it
   * was announced, so one slow round across zones does not replace a correct primary.
   */
  watchPool(): void {
    if (!this.instance) return;
    const now = this.env.now();
    for (const [key, since] of this.poolUnwatched) {
      if (now - since < this.env.ctx.options.requestTimeoutTicks) break;
      this.poolUnwatched.delete(key);
      this.instance.expect(`batch:${key}`);
    }
  }

  /** Exactly a certified batch, whose certificate proves it: its region's commits for exactly its digest, every one valid. */
  certificateValid(b: CertifiedBatch): boolean {
    if (!isCertifiedBatch(b) || b.epoch !== this.epochs.structure.epoch || b.region < 0 || b.region >= this.epochs.layout.k) return false;
    if (!validBatch(b.batch.requests, this.env.ctx.options.batchSize)) return false;
    const verifier = this.epochs.regionVerifier(b.region);
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
   * As top primary: every pooled batch not in flight yet (in flight: proposed, or in the log
   * above the executed position), oldest first and regions in turn, with the requests
   * already ordered skipped. Runs after every input (`DrkpbftNode.flush`) when `dirty`.
   */
  propose(): void {
    const top = this.instance;
    if (!this.dirty || !top?.isPrimary) return;
    this.dirty = false;
    if (this.pool.size === 0) return;
    const inFlight = new Set<string>();
    const ordered = new Set<string>();
    for (const e of [...top.undecidedProposals(), ...this.inTopLog.values()]) {
      inFlight.add(`${e.batch.region}:${e.batch.regionSeq}`);
      for (const r of keptRequests(e)) ordered.add(requestKey(r));
    }
    const k = this.epochs.layout.k;
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
      this.absorb(top.propose({ batch, skip, signers: certificateSigners(batch.certificate) }));
    }
  }

  /** The log executed position `seq` of the term: entries up to it are no longer in flight. */
  executedUpTo(seq: number): void {
    for (const s of this.inTopLog.keys()) if (s <= seq) this.inTopLog.delete(s);
  }

  /** The log executed region batch `regionSeq` of `region`: no longer to order or wait on. */
  batchExecuted(region: number, regionSeq: number): void {
    this.pool.delete(`${region}:${regionSeq}`);
    this.poolUnwatched.delete(`${region}:${regionSeq}`);
    this.instance?.satisfied(`batch:${region}:${regionSeq}`);
  }

  /**
   * A top backup accepts exactly a top entry (`isTopEntry`: well-formed skips among others)
   * whose region certificate is valid and whose signers are the certificate's. Validity must
   * not depend on the replica's state (a new view's re-proposals must stay acceptable
   * wherever the replica's execution is), so a batch's place in its region's order is the
   * log's business: the log executes each region batch once, in whatever position the top
   * layer gave it.
   */
  private validate(entry: TopEntry, seq: number): boolean {
    if (!isTopEntry(entry) || !this.certificateValid(entry.batch)) return false;
    if (entry.signers.join() !== certificateSigners(entry.batch.certificate).join()) return false;
    this.inTopLog.set(seq, entry);
    return true;
  }

  /** A certified batch this seat holder holds: pooled, or in an entry of the top log. */
  private batchFor(key: string): CertifiedBatch | undefined {
    return this.pool.get(key) ?? [...this.inTopLog.values()].find((e) => batchKey(e.batch) === key)?.batch;
  }

  private absorb(out: PbftOutput<TopEntry>): void {
    // Its own proposals go out naming their batches, which the seat holders have (`TopEntryRef`).
    const refs = new Map<PbftInstanceMessage<TopEntry>, DrkMessage>();
    for (const { to, message: m } of out.messages) {
      if (m.type !== 'pre-prepare' || m.sender !== this.env.id || m.payload === null) {
        this.env.out.send(to, m);
        continue;
      }
      this.inTopLog.set(m.seq, m.payload);
      let ref = refs.get(m);
      if (ref === undefined) refs.set(m, (ref = { ...m, payload: entryRef(m.payload) }));
      this.env.out.send(to, ref);
    }
    if (out.state) {
      this.state = out.state;
      this.env.out.changed();
    }
    const group = this.instance?.group;
    for (const d of out.decisions) if (group !== undefined) this.decided({ group, entry: d });
    if (out.installedView !== undefined) this.dirty = true;
  }
}
