/**
 * What every node of one DRKPBFT cluster shares: the options, the latency the regions are
 * clustered on, and the derived forms of each epoch's configuration. The configurations are
 * pure functions of the committed log, so computing one once per process (not once per
 * node: K-medoids over 1000 nodes takes a while) changes nothing but the time it takes.
 */
import { canonical, sha256 } from '../core/digest';
import type { ClusterOptions, NodeId } from '../core/types';
import { quorumSize } from '../pbft/quorum';
import { genesisConfig, matrixLatency, nextEpoch, type EpochConfig, type Latency, type MembershipChange } from './configuration';
import { leaderOrder, type EpochEvidence } from './reputation';

/** Options of `createDrkpbft`. */
export interface DrkpbftOptions extends ClusterOptions {
  /** Round-trip times between nodes (ticks), indexed by node id; uniform when absent. */
  latency?: number[][];
  /** An epoch ends after this many global sequence numbers (default 64). */
  epochLength?: number;
  /** A client's request reaching a non-primary is forwarded after this many ticks, unless batched by then (default 0: at once); see intake.ts. */
  forwardDelayTicks?: number;
  /**
   * A region primary proposes a batch short of `batchSize` only while none of its proposals
   * is undecided (default false: at `batchTimeoutTicks` whatever is in flight); see region.ts.
   */
  partialBatchesWhenIdle?: boolean;
  /**
   * A partial batch is due `batchTimeoutTicks` after the primary's last proposal, as
   * SmartBFT's batcher times each batch from the previous one, so a request waits half the
   * timeout on average (default false: after the first request queued, as Fabric's block
   * cutter does); see region.ts.
   */
  batchTimeoutFromLastProposal?: boolean;
}

export const DEFAULT_EPOCH_LENGTH = 64;

/** An epoch's configuration in the forms a node looks things up in. */
export class EpochLayout {
  /** Number of regions. */
  readonly k: number;
  /** Region of every member, voter or listener. */
  readonly regionOf: ReadonlyMap<NodeId, number>;
  readonly voters: ReadonlySet<NodeId>;
  readonly members: ReadonlySet<NodeId>;
  /** Per region, its voters in leadership order (primary of region view w = entry w mod length). */
  readonly leaderOrders: readonly (readonly NodeId[])[];

  constructor(readonly config: EpochConfig) {
    this.k = config.regions.length;
    const regionOf = new Map<NodeId, number>();
    config.regions.forEach((voters, r) => voters.forEach((v) => regionOf.set(v, r)));
    config.listeners.forEach((listeners, r) => listeners.forEach((l) => regionOf.set(l, r)));
    this.regionOf = regionOf;
    this.voters = new Set(config.voters);
    this.members = new Set(config.members);
    this.leaderOrders = config.regions.map((voters) => leaderOrder(voters, config.reputations));
  }

  /** The voters and listeners of region `r`. */
  regionMembers(r: number): NodeId[] {
    return [...this.config.regions[r], ...this.config.listeners[r]];
  }
}

/** The shared context of one cluster's nodes. */
export class DrkContext {
  readonly epochLength: number;
  readonly latency: Latency;
  readonly genesis: EpochConfig;
  private readonly layouts = new WeakMap<EpochConfig, EpochLayout>();
  private readonly hashes = new WeakMap<EpochConfig, string>();
  private readonly successors = new Map<string, EpochConfig>();
  /** Voters of the group whose certificates commit the global log, per epoch: K seats, or the single region's voters. */
  private readonly logGroupSizes = new Map<number, number>();

  constructor(members: readonly NodeId[], readonly options: DrkpbftOptions) {
    this.epochLength = options.epochLength ?? DEFAULT_EPOCH_LENGTH;
    this.latency = matrixLatency(options.latency ?? []);
    this.genesis = genesisConfig(members, this.latency);
    this.note(this.genesis);
  }

  layout(config: EpochConfig): EpochLayout {
    let layout = this.layouts.get(config);
    if (layout === undefined) {
      layout = new EpochLayout(config);
      this.layouts.set(config, layout);
      this.note(config);
    }
    return layout;
  }

  /** The configuration after `config` (the same object for the same inputs, on every node of the process). */
  next(config: EpochConfig, evidence: EpochEvidence, changes: readonly MembershipChange[]): EpochConfig {
    const key = `${this.hash(config)}/${sha256(canonical([evidence, changes]))}`;
    let next = this.successors.get(key);
    if (next === undefined) {
      next = nextEpoch(config, evidence, this.latency, changes);
      this.successors.set(key, next);
      this.note(next);
    }
    return next;
  }

  /** How many matching commit votes decide a global position in `epoch`. */
  quorumFor(epoch: number): number {
    return quorumSize(this.logGroupSizes.get(epoch) ?? this.logGroupSize(this.genesis));
  }

  private logGroupSize(config: EpochConfig): number {
    return config.regions.length === 1 ? config.regions[0].length : config.regions.length;
  }

  private note(config: EpochConfig): void {
    this.logGroupSizes.set(config.epoch, this.logGroupSize(config));
  }

  private hash(config: EpochConfig): string {
    let hash = this.hashes.get(config);
    if (hash === undefined) {
      hash = sha256(canonical(config));
      this.hashes.set(config, hash);
    }
    return hash;
  }
}
