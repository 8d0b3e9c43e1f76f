/**
 * Epochs, terms and seats of one DRKPBFT node (docs/consensus.md, "Epochs and
 * reconfiguration"): the configuration and the structure the groups were built from, the
 * term and its top primary order, each region's seat, the region batches the log executed,
 * and the evidence the next epoch's reputations are computed from. Everything here is a
 * function of the executed log, so every honest node holds the same.
 */
import type { NodeId } from '../core/types';
import { Verifier } from '../pbft/verifier';
import { isRegionBatch, REGION_NULL_DIGEST, regionDigest, regionGroup, type RegionBatch } from './batches';
import { keepsStructure, type EpochConfig, type MembershipChange } from './configuration';
import type { EpochLayout } from './context';
import type { NodeEnv } from './env';
import { groupPosition, hasExecuted, logRules, withExecuted, type BatchProgress } from './log';
import type { LogPayload } from './messages';
import { emptyEvidence, rankByReputation, type EpochEvidence } from './reputation';
import { Shape, type Seat } from './shape';

const MEMBERSHIP_OP = /^(join|leave):(\d+)$/;

export class Epochs {
  /** The current epoch's configuration: its reputations feed the next one. */
  config: EpochConfig;
  /** First global position of the epoch. */
  epochStart: number;
  /** The configuration the groups were built from: the last epoch that changed the structure (see `keepsStructure`), and its first position. */
  structure: EpochConfig;
  structureStart: number;
  term: number;
  /** First global position of the term. */
  termStart: number;
  /** Per region: the region batches the log executed in this structure. */
  progress: BatchProgress[];
  seats: Seat[];
  /** The top primaries of the term in view order (see `termOrder`). */
  topOrder: NodeId[];
  evidence: EpochEvidence;
  changes: MembershipChange[];

  layout!: EpochLayout;
  /** Set with the structure: which shape it has and this node's region in it. */
  shape!: Shape;
  private regionVerifiers: (Verifier<RegionBatch> | undefined)[] = [];
  private logVerifierCache: Verifier<LogPayload> | undefined;

  constructor(
    private readonly env: NodeEnv,
    persisted?: EpochsState,
  ) {
    const genesis = env.ctx.genesis;
    this.config = persisted?.config ?? genesis;
    this.epochStart = persisted?.epochStart ?? 1;
    this.structure = persisted?.structure ?? genesis;
    this.structureStart = persisted?.structureStart ?? 1;
    this.term = persisted?.term ?? 0;
    this.termStart = persisted?.termStart ?? 1;
    this.evidence = persisted?.evidence ?? emptyEvidence();
    this.changes = persisted?.changes ?? [];
    this.progress = persisted?.progress ?? [];
    this.seats = persisted?.seats ?? [];
    this.topOrder = persisted?.topOrder ?? [];
  }

  /** Derived state of the current structure; `fresh`: its batch progress and seats start over. */
  enterStructure(fresh: boolean): void {
    this.layout = this.env.ctx.layout(this.structure);
    this.shape = new Shape(this.env.id, this.structure, this.structureStart, this.layout, this.env.ctx.options.checkpointInterval);
    if (fresh) {
      this.progress = this.structure.regions.map(() => ({ upTo: 0, above: [] }));
      this.seats = this.layout.leaderOrders.map((order) => ({ holder: order[0], view: 0 }));
    }
    this.regionVerifiers = [];
    this.env.out.changed();
  }

  /** The term's groups change; `fresh`: a new term, whose primary order is fixed now. */
  enterTerm(fresh: boolean): void {
    this.logVerifierCache = undefined;
    if (fresh) this.topOrder = this.termOrder(this.holders());
  }

  /**
   * The next epoch's configuration, after position `executedSeq`. Returns whether the
   * structure changes (a join, a leave, a vote lost or a leader no longer trusted): then a
   * new structure starts at term 0 and the owner enters it; otherwise every group goes on.
   */
  nextEpoch(executedSeq: number): boolean {
    this.config = this.env.ctx.next(this.config, this.evidence, this.changes);
    this.epochStart = executedSeq + 1;
    this.evidence = emptyEvidence();
    this.changes = [];
    this.env.out.changed();
    if (keepsStructure(this.structure, this.config, this.holders())) return false;
    this.structure = this.config;
    this.structureStart = this.epochStart;
    this.term = 0;
    this.termStart = this.epochStart;
    return true;
  }

  /** A seat moved at position `executedSeq`: the next term starts after it. */
  nextTerm(executedSeq: number): void {
    this.term++;
    this.termStart = executedSeq + 1;
  }

  /** Whether the epoch ends at global position `seq`. */
  endsAt(seq: number): boolean {
    return seq - this.epochStart + 1 >= this.env.ctx.epochLength;
  }

  holders(): NodeId[] {
    return this.seats.map((s) => s.holder);
  }

  /** The group that orders the next position. */
  logGroup(): string {
    return this.shape.logGroup(this.term, this.termStart);
  }

  /** Checks decisions of the group that orders the next position, for entries from DECIDE and log answers. */
  logVerifier(): Verifier<LogPayload> {
    if (this.logVerifierCache === undefined) {
      const group = this.logGroup();
      this.logVerifierCache = new Verifier<LogPayload>({
        group,
        ...this.shape.logGroupSetup(this.seats, this.topOrder),
        ...logRules(group),
        auth: this.env.auth,
        checkpointInterval: this.env.ctx.options.checkpointInterval,
      });
    }
    return this.logVerifierCache;
  }

  /** Checks the certificates of `region`'s batches in this structure. */
  regionVerifier(region: number): Verifier<RegionBatch> {
    let verifier = this.regionVerifiers[region];
    if (verifier === undefined) {
      verifier = new Verifier<RegionBatch>({
        group: regionGroup(this.structure.epoch, region),
        members: this.structure.regions[region],
        primaryOrder: this.layout.leaderOrders[region],
        auth: this.env.auth,
        digest: regionDigest,
        wellFormed: isRegionBatch,
        nullDigest: REGION_NULL_DIGEST,
        checkpointInterval: this.env.ctx.options.checkpointInterval,
      });
      this.regionVerifiers[region] = verifier;
    }
    return verifier;
  }

  /** A group of a later epoch or term: this node has not executed far enough to join it yet. */
  isFuture(group: string): boolean {
    const position = groupPosition(group);
    if (position === undefined) return false;
    return position.epoch > this.structure.epoch || (position.epoch === this.structure.epoch && group.startsWith('top@') && position.term > this.term);
  }

  hasExecuted(region: number, regionSeq: number): boolean {
    return hasExecuted(this.progress[region], regionSeq);
  }

  /** The log executed region batch `regionSeq` of `region`. */
  batchExecuted(region: number, regionSeq: number): void {
    this.progress = this.progress.map((p, r) => (r === region ? withExecuted(p, regionSeq) : p));
  }

  /** A region batch executed with these certificate signers: evidence for the next reputations. */
  noteRegionBatch(region: number, signers: NodeId[]): void {
    this.evidence = { ...this.evidence, regionBatches: [...this.evidence.regionBatches, { region, signers }] };
  }

  /** Top entries decided in view v > 0: the term's primaries of the views before it lost the lead. */
  noteTopView(view: number): void {
    const order = this.topOrder;
    const leader = order[view % order.length];
    const deposed = new Set(this.evidence.deposedLeaders);
    const before = deposed.size;
    for (let w = 0; w < Math.min(view, order.length); w++) if (order[w] !== leader) deposed.add(order[w]);
    if (deposed.size > before) this.evidence = { ...this.evidence, deposedLeaders: [...deposed].sort((a, b) => a - b) };
  }

  /** A batch certified in a later region view gives the seat to that view's primary; the primaries in between lost it. True when the holder changed. */
  moveSeat(region: number, view: number): boolean {
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

  /** A join or leave that changes the membership; the epoch ends after its batch. */
  noteMembership(operation: string): boolean {
    const match = MEMBERSHIP_OP.exec(operation);
    if (!match) return false;
    const change: MembershipChange = { kind: match[1] as 'join' | 'leave', node: Number(match[2]) };
    let member = this.layout.members.has(change.node);
    for (const c of this.changes) if (c.node === change.node) member = c.kind === 'join';
    if ((change.kind === 'join') === member) return false;
    this.changes = [...this.changes, change];
    return true;
  }

  snapshot(): EpochsState {
    return {
      config: this.config,
      epochStart: this.epochStart,
      structure: this.structure,
      structureStart: this.structureStart,
      term: this.term,
      termStart: this.termStart,
      progress: this.progress,
      seats: this.seats,
      topOrder: this.topOrder,
      evidence: this.evidence,
      changes: this.changes,
    };
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
}

/** What `Epochs` persists (part of `DrkState`): its fields of those names. */
export type EpochsState = Pick<Epochs, 'config' | 'epochStart' | 'structure' | 'structureStart' | 'term' | 'termStart' | 'progress' | 'seats' | 'topOrder' | 'evidence' | 'changes'>;
