/**
 * The one place that tells the two shapes of a DRKPBFT structure apart, decided when a node
 * enters the structure (`Epochs.enterStructure`):
 * - one region (K = 1, below 16 nodes): no top layer. The region's decisions are the global
 *   log, every request is the region's own, and the region primary tells the listeners.
 * - K regions under a top layer: each request has a home region, the seat holders order
 *   certified region batches, and each seat holder tells its region what the log holds.
 * The roles ask this object; none of them tests K itself.
 */
import { requestKey } from '../core/digest';
import type { ClientRequest, NodeId } from '../core/types';
import type { GroupRules } from '../pbft/verifier';
import { homeRegion, orderGroup, REGION_NULL_DIGEST, regionGroup, TOP_NULL_DIGEST, topGroup } from './batches';
import type { EpochConfig } from './configuration';
import type { EpochLayout } from './context';

/** A region's seat: its holder and the region view whose certificate gave it the seat. */
export interface Seat {
  holder: NodeId;
  view: number;
}

/** What a log verifier needs besides the group name and the signer (see `Epochs.logVerifier`). */
export type LogGroupSetup = Pick<GroupRules<unknown>, 'members' | 'primaryOrder' | 'nullDigest' | 'window'>;

export class Shape {
  /** Region batches go through a top layer; false: the region's decisions are the log. */
  readonly topLayer: boolean;
  /** This node's region (-1: not a member of the structure). */
  readonly myRegion: number;

  constructor(
    private readonly id: NodeId,
    private readonly structure: EpochConfig,
    private readonly structureStart: number,
    private readonly layout: EpochLayout,
    private readonly checkpointInterval: number,
  ) {
    this.topLayer = layout.k > 1;
    this.myRegion = layout.regionOf.get(id) ?? -1;
  }

  /** The region that batches the request with this key. */
  homeOf(key: string): number {
    return this.topLayer ? homeRegion(key, this.layout.k) : 0;
  }

  /** Whether this node's region is the request's home region. */
  isHome(r: ClientRequest): boolean {
    return !this.topLayer || this.homeOf(requestKey(r)) === this.myRegion;
  }

  /** The group name of this node's region instance. */
  regionGroup(): string {
    return this.topLayer ? regionGroup(this.structure.epoch, this.myRegion) : orderGroup(this.structure.epoch, this.structureStart - 1);
  }

  /** The group that orders the log in `term`, which started at global position `termStart`. */
  logGroup(term: number, termStart: number): string {
    return this.topLayer ? topGroup(this.structure.epoch, term, termStart - 1) : orderGroup(this.structure.epoch, this.structureStart - 1);
  }

  /** Members, primaries, null digest and window of the group that orders the log. */
  logGroupSetup(seats: readonly Seat[], topOrder: readonly NodeId[]): LogGroupSetup {
    if (!this.topLayer) return { members: this.structure.regions[0], primaryOrder: this.layout.leaderOrders[0], nullDigest: REGION_NULL_DIGEST, window: undefined };
    return { members: seats.map((s) => s.holder).sort((a, b) => a - b), primaryOrder: topOrder, nullDigest: TOP_NULL_DIGEST, window: this.topWindow() };
  }

  /**
   * The top layer orders the batches of all K regions, so its log moves K times as fast as a
   * region's: its watermark window is K times a region's, or it, not the seat holders' CPUs
   * and links, would cap throughput (at ~2·interval slots per WAN round).
   */
  topWindow(): number {
    return 2 * this.checkpointInterval * this.layout.k;
  }

  /** Whether this node sits in the top group of a term with these seats. */
  sitsAtTop(seats: readonly Seat[]): boolean {
    return this.topLayer && seats.some((s) => s.holder === this.id);
  }

  /** A new primary of region view `view` that does not hold its region's seat yet must claim it (with a batch certified in its view). */
  claimsSeat(view: number, seats: readonly Seat[]): boolean {
    return this.topLayer && view > 0 && seats[this.myRegion].holder !== this.id;
  }

  /** The nodes that serve the log to this one (those that may be asked for a page). */
  logServers(seats: readonly Seat[]): readonly NodeId[] {
    return this.topLayer ? seats.map((s) => s.holder) : this.structure.regions[0];
  }

  /**
   * Whom this node tells what the log executed (DECIDE): a seat holder its region, the single
   * region's primary the members without a vote; nobody otherwise.
   */
  decideAudience(isRegionPrimary: boolean, seats: readonly Seat[]): readonly NodeId[] {
    if (this.myRegion < 0) return [];
    if (!this.topLayer) return isRegionPrimary ? this.structure.listeners[0] : [];
    return seats[this.myRegion].holder === this.id ? this.layout.regionMembers(this.myRegion) : [];
  }
}
