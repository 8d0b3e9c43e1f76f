/**
 * A voter's part in its region (docs/consensus.md, "Layers" 1 and 4): the region's
 * `PbftInstance`, and as region primary the queue of the region's requests, batching, and
 * handing each batch the region decides (a `CertifiedBatch`) to the seat holders. Every
 * member watches the certified batches the log has not executed, so a primary that keeps
 * one from the top layer is replaced.
 */
import { requestKey } from '../core/digest';
import type { ExecutedRequests } from '../core/executed';
import { validBatch } from '../core/requests';
import type { ClientRequest } from '../core/types';
import { PbftInstance, type Decision, type PbftInstanceState, type PbftOutput } from '../pbft/instance';
import type { CommitMessage, PbftInstanceMessage } from '../pbft/messages';
import { isRegionBatch, REGION_NULL_DIGEST, regionDigest, type CertifiedBatch, type RegionBatch } from './batches';
import type { NodeEnv } from './env';
import type { Epochs } from './epochs';
import { signOwn, type CertifiedMessage } from './messages';

/** How the region role reaches the rest of its node (wired by `DrkpbftNode`). */
export interface RegionLinks {
  /** The region instance's output, for the coordinator to route (`DrkpbftNode.absorbRegion`): a decision may execute. */
  absorb(out: PbftOutput<RegionBatch>): void;
  /** A certified batch for this node's own seat (a region primary that holds or claims it): `TopSeat.pooled`. */
  pool(batch: CertifiedBatch): void;
}

export class RegionRole {
  /** The region's instance: set while this node votes in the structure. */
  instance: PbftInstance<RegionBatch> | undefined;
  /** The instance's persisted state. */
  state: PbftInstanceState<RegionBatch> | undefined;
  /** This region's decided batches not executed yet, by region sequence number (persisted). */
  readonly certified = new Map<number, CertifiedBatch>();
  /** Primary: requests waiting to be batched, and those already in a proposal or a decided batch. */
  private readonly queue = new Map<string, ClientRequest>();
  private queueSince = 0;
  /** When this node last proposed as primary (`batchTimeoutFromLastProposal`). */
  private lastProposal = Number.NEGATIVE_INFINITY;
  private readonly batched = new Set<string>();
  /** When each certified batch was decided, and which ones the region now waits on (its primary did not get them ordered). */
  private readonly certifiedAt = new Map<number, number>();
  private readonly watched = new Set<number>();
  /** Primary: decided batches to send to the seat holders at the next tick. */
  private readonly unsent = new Set<number>();
  private lastCertifiedSend = 0;

  constructor(
    private readonly env: NodeEnv,
    private readonly epochs: Epochs,
    private readonly executed: ExecutedRequests,
    private readonly links: RegionLinks,
    persisted?: { certified: CertifiedBatch[]; region?: PbftInstanceState<RegionBatch> },
  ) {
    for (const b of persisted?.certified ?? []) this.certified.set(b.regionSeq, b);
    this.state = persisted?.region;
  }

  get isPrimary(): boolean {
    return this.instance?.isPrimary === true;
  }

  /** A new structure: the batching state starts over, and a voter starts (or restores) its region's instance. */
  enterStructure(): void {
    const now = this.env.now();
    this.certifiedAt.clear();
    this.unsent.clear();
    for (const regionSeq of this.certified.keys()) this.certifiedAt.set(regionSeq, now);
    this.watched.clear();
    this.queue.clear();
    this.batched.clear();
    this.instance = undefined;
    const { layout, shape, structure } = this.epochs;
    if (!layout.voters.has(this.env.id)) return;
    const options = this.env.ctx.options;
    this.instance = new PbftInstance<RegionBatch>({
      self: this.env.id,
      group: shape.regionGroup(),
      members: structure.regions[shape.myRegion],
      primaryOrder: layout.leaderOrders[shape.myRegion],
      options,
      auth: this.env.auth,
      digest: regionDigest,
      wellFormed: isRegionBatch,
      nullDigest: REGION_NULL_DIGEST,
      validate: (batch) => !!batch && validBatch(batch.requests, options.batchSize),
      persisted: this.state,
      lateCommit: (c) => this.lateCommit(c),
    });
  }

  /** The structure is replaced: its decided batches are dropped (their requests are learnt again) and its instance starts afresh. */
  drop(): void {
    this.certified.clear();
    this.state = undefined;
  }

  step(message: PbftInstanceMessage<RegionBatch>, from: number): PbftOutput<RegionBatch> {
    return (this.instance as PbftInstance<RegionBatch>).step(message, from);
  }

  saveState(state: PbftInstanceState<RegionBatch> | undefined): void {
    if (!state) return;
    this.state = state;
    this.env.out.changed();
  }

  /** Whether the request is in a proposal or a decided batch of this region. */
  isBatched(key: string): boolean {
    return this.batched.has(key);
  }

  /** As region primary: a request of this region to batch. */
  enqueue(r: ClientRequest): void {
    const key = requestKey(r);
    if (!this.epochs.shape.isHome(r) || this.executed.has(r) || this.queue.has(key) || this.batched.has(key)) return;
    if (this.queue.size === 0) this.queueSince = this.env.now();
    this.queue.set(key, r);
  }

  /** As region primary: full batches at once, a partial one after the batch timeout; `force`: one now, even empty. */
  batchQueued(timedOut: boolean, force = false): void {
    const region = this.instance;
    if (!region?.isPrimary) return;
    const { batchSize, batchTimeoutTicks, partialBatchesWhenIdle, batchTimeoutFromLastProposal } = this.env.ctx.options;
    // With partialBatchesWhenIdle a partial batch waits for the proposals in flight and fills
    // meanwhile, as under SmartBFT's one proposal at a time: fewer, fuller batches under load
    // (under Fabric, fewer blocks to sign, write and validate); a lone request still leaves at the timeout.
    // The timeout runs from the first request queued, or with batchTimeoutFromLastProposal from
    // the last proposal: a steady cadence, and a lone request after a quiet spell leaves at once.
    const since = () => (batchTimeoutFromLastProposal ? this.lastProposal : this.queueSince);
    const partialDue = () => this.queue.size > 0 && timedOut && this.env.now() - since() >= batchTimeoutTicks && !(partialBatchesWhenIdle && region.undecidedProposals().length > 0);
    while (this.queue.size >= batchSize || partialDue() || force) {
      force = false;
      const requests: ClientRequest[] = [];
      for (const [key, r] of this.queue) {
        if (requests.length >= batchSize) break;
        this.queue.delete(key);
        this.batched.add(key);
        requests.push(r);
      }
      this.queueSince = this.env.now();
      this.lastProposal = this.env.now();
      this.links.absorb(region.propose({ requests }));
    }
  }

  /**
   * A batch the region decided, under a top layer: kept until the log executes it, and as
   * primary sent to the seat holders at the next tick. From here on the region waits on the
   * batch (`watchCertified`), not on its requests. Returns it (undefined: executed already).
   */
  certify(d: Decision<RegionBatch>): CertifiedBatch | undefined {
    const myRegion = this.epochs.shape.myRegion;
    if (this.epochs.hasExecuted(myRegion, d.seq)) return undefined;
    const batch: CertifiedBatch = {
      epoch: this.epochs.structure.epoch,
      region: myRegion,
      regionSeq: d.seq,
      view: d.view,
      batch: d.payload ?? { requests: [] },
      certificate: d.certificate,
    };
    this.certified.set(d.seq, batch);
    this.certifiedAt.set(d.seq, this.env.now());
    this.env.out.changed();
    for (const r of batch.batch.requests) {
      const key = requestKey(r);
      this.batched.add(key);
      this.queue.delete(key);
      this.instance?.satisfied(key);
    }
    // Sent at the next tick, with the commits that arrive meanwhile (see `lateCommit`).
    if (this.instance?.isPrimary) this.unsent.add(d.seq);
    return batch;
  }

  /**
   * A new region view: the queue starts over and what is certified or proposed counts as
   * batched. Returns which of `known` are in no batch (for the new primary to batch or
   * relay, or for the others to forward).
   */
  newView(known: readonly ClientRequest[]): ClientRequest[] {
    const region = this.instance as PbftInstance<RegionBatch>;
    this.queue.clear();
    this.batched.clear();
    for (const b of this.certified.values()) for (const r of b.batch.requests) this.batched.add(requestKey(r));
    for (const p of region.undecidedProposals()) for (const r of p.requests) this.batched.add(requestKey(r));
    return known.filter((r) => !this.batched.has(requestKey(r)));
  }

  /**
   * As the new primary of a region view: a batch certified in this view is what moves the
   * seat, so one is proposed now (even empty) when the seat must be claimed; and every
   * certified batch goes to the seat holders again.
   */
  takeOver(): void {
    const claim = this.epochs.shape.claimsSeat((this.instance as PbftInstance<RegionBatch>).view, this.epochs.seats);
    this.batchQueued(true, claim);
    this.sendCertified([...this.certified.values()]);
  }

  /** As region primary, at each tick: the batches decided since the last one go to the seat holders. */
  sendDecided(): void {
    if (this.unsent.size === 0) return;
    const batches = [...this.unsent].map((seq) => this.certified.get(seq)).filter((b) => b !== undefined);
    this.unsent.clear();
    if (this.isPrimary) this.sendCertified(batches);
  }

  /** Certified batches to every seat holder (this node's own seat takes them directly). */
  sendCertified(batches: readonly CertifiedBatch[]): void {
    if (batches.length === 0) return;
    this.lastCertifiedSend = this.env.now();
    for (const batch of batches) {
      const message = signOwn<CertifiedMessage>({ type: 'certified', batch }, this.env.auth);
      for (const seat of this.epochs.seats) {
        if (seat.holder === this.env.id) this.links.pool(batch);
        else this.env.out.send(seat.holder, message);
      }
    }
  }

  /** Region primary: batches not ordered a request timeout after they were sent go to the seat holders again. */
  resendCertified(): void {
    if (!this.isPrimary || this.certified.size === 0) return;
    if (this.env.now() - this.lastCertifiedSend >= this.env.ctx.options.requestTimeoutTicks) this.sendCertified([...this.certified.values()]);
  }

  /**
   * A batch the log has not executed two request timeouts after its region decided it: the
   * region starts waiting on it, so a primary that keeps it from the top layer is replaced.
   * (The top layer waits on it from one timeout after it was pooled, so its clock runs out
   * first when its own primary is at fault.)
   */
  watchCertified(): void {
    if (!this.instance) return;
    const now = this.env.now();
    for (const [regionSeq, at] of this.certifiedAt) {
      if (this.watched.has(regionSeq) || now - at < 2 * this.env.ctx.options.requestTimeoutTicks) continue;
      this.watched.add(regionSeq);
      this.instance.expect(`certified:${regionSeq}`);
    }
  }

  /** The log executed this region's batch `regionSeq`: nothing to wait on or resend. */
  batchExecuted(regionSeq: number): void {
    this.certified.delete(regionSeq);
    this.certifiedAt.delete(regionSeq);
    if (this.watched.delete(regionSeq)) this.instance?.satisfied(`certified:${regionSeq}`);
  }

  /** The log executed a request: not to batch, nor to wait on. */
  requestExecuted(key: string): void {
    this.queue.delete(key);
    this.instance?.satisfied(key);
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
}
