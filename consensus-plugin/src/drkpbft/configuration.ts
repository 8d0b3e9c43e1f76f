import type { NodeId } from '../core/types';
import { clusterRegions } from './kmedoids';
import { GENESIS_REPUTATION, LEAD_THRESHOLD, updateReputations, VOTE_THRESHOLD, type EpochEvidence, type Reputations } from './reputation';

/**
 * An epoch's configuration (docs/consensus.md, "Epochs and reconfiguration"): who is a
 * member, who votes, the regions and the reputations that order their leaders. Every
 * honest node derives it from the same committed log, so they all switch to the same one.
 */
export interface EpochConfig {
  readonly epoch: number;
  /** Every member, increasing id. */
  readonly members: readonly NodeId[];
  /** Members at or above τ_vote, increasing id: the only ones that sign region and top votes. */
  readonly voters: readonly NodeId[];
  /** The voters of each region, increasing id; regions ordered by their smallest member. */
  readonly regions: readonly (readonly NodeId[])[];
  /** Members without a vote, attached to the region that sends them decisions (same indices as `regions`). */
  readonly listeners: readonly (readonly NodeId[])[];
  /** Every node ever seen, including departed ones (a node that leaves and rejoins keeps its record). */
  readonly reputations: Reputations;
}

/** Round-trip time between two nodes in ticks. */
export type Latency = (a: NodeId, b: NodeId) => number;

/**
 * A {@link Latency} from a matrix indexed by node id. A pair the matrix lacks (a joiner
 * nobody has measured) counts as the largest latency in it: far from everyone.
 */
export function matrixLatency(matrix: readonly (readonly number[])[]): Latency {
  let farthest = 0;
  for (const row of matrix) for (const d of row) if (Number.isFinite(d)) farthest = Math.max(farthest, d);
  return (a, b) => (a === b ? 0 : matrix[a]?.[b] ?? matrix[b]?.[a] ?? farthest);
}

/** The region (index) `node` belongs to, as voter or listener; −1 for a non-member. */
export function regionOf(config: EpochConfig, node: NodeId): number {
  const voting = config.regions.findIndex((r) => r.includes(node));
  return voting >= 0 ? voting : config.listeners.findIndex((r) => r.includes(node));
}

const sorted = (nodes: Iterable<NodeId>): NodeId[] => [...new Set(nodes)].sort((a, b) => a - b);

function mean(values: number[]): number {
  return values.reduce((s, v) => s + v, 0) / values.length;
}

function configure(epoch: number, members: NodeId[], reputations: Record<NodeId, number>, latency: Latency): EpochConfig {
  const votingMembers = members.filter((m) => (reputations[m] ?? GENESIS_REPUTATION) >= VOTE_THRESHOLD);
  // Should every member fall below τ_vote, nobody could order anything: all keep their vote.
  const voters = votingMembers.length > 0 ? votingMembers : members;
  const regions = clusterRegions(voters, latency);
  const listeners: NodeId[][] = regions.map(() => []);
  const voterSet = new Set(voters);
  for (const node of members) {
    if (voterSet.has(node)) continue;
    let best = 0;
    let bestDistance = Infinity;
    regions.forEach((region, i) => {
      const d = mean(region.map((v) => latency(node, v)));
      if (d < bestDistance) {
        bestDistance = d;
        best = i;
      }
    });
    listeners[best].push(node);
  }
  return { epoch, members, voters, regions, listeners, reputations };
}

/** Epoch 0: every member votes with reputation 0.5; regions by K-medoids over `latency`. */
export function genesisConfig(members: readonly NodeId[], latency: Latency): EpochConfig {
  const ids = sorted(members);
  if (ids.length === 0) throw new RangeError('no members');
  const reputations: Record<NodeId, number> = {};
  for (const id of ids) reputations[id] = GENESIS_REPUTATION;
  return configure(0, ids, reputations, latency);
}

/** A committed join or leave request. */
export interface MembershipChange {
  kind: 'join' | 'leave';
  node: NodeId;
}

/**
 * The configuration after `previous`: reputations updated from the epoch's evidence, joins
 * added (a returning node keeps its old reputation, a new one starts at 0.5), leaves
 * removed (a leave that would empty the membership is ignored), voters re-selected and
 * regions re-clustered. `changes` are the epoch's committed joins and leaves in commit
 * order; a node changed twice ends as its last change left it.
 */
export function nextEpoch(previous: EpochConfig, evidence: EpochEvidence, latency: Latency, changes: readonly MembershipChange[]): EpochConfig {
  const updated = updateReputations(previous.reputations, previous.regions, previous.listeners.flat(), evidence);
  const reputations: Record<NodeId, number> = { ...previous.reputations, ...updated };
  const members = new Set(previous.members);
  for (const { kind, node } of changes) {
    if (kind === 'join') {
      members.add(node);
      if (!(node in reputations)) reputations[node] = GENESIS_REPUTATION;
    } else if (members.size > 1) members.delete(node);
  }
  return configure(previous.epoch + 1, sorted(members), reputations, latency);
}

const sameIds = (a: readonly NodeId[], b: readonly NodeId[]): boolean => a.length === b.length && a.every((id, i) => id === b[i]);
const sameGroups = (a: readonly (readonly NodeId[])[], b: readonly (readonly NodeId[])[]): boolean => a.length === b.length && a.every((g, i) => sameIds(g, b[i]));

/**
 * Whether the groups built from `structure` may go on under `next` (docs/consensus.md,
 * "Epochs and reconfiguration"): the same members, voters, regions and listeners, and every
 * sitting leader (`leaders`: the seat holders) still at or above τ_lead. Reputations move a
 * little every epoch; restarting every group for that would drop the batches in flight
 * several times a second under load, so leader orders are refreshed only when the structure
 * changes or a sitting leader is no longer trusted.
 */
export function keepsStructure(structure: EpochConfig, next: EpochConfig, leaders: readonly NodeId[]): boolean {
  if (!sameIds(structure.members, next.members) || !sameIds(structure.voters, next.voters)) return false;
  if (!sameGroups(structure.regions, next.regions) || !sameGroups(structure.listeners, next.listeners)) return false;
  return leaders.every((leader) => (next.reputations[leader] ?? GENESIS_REPUTATION) >= LEAD_THRESHOLD);
}
