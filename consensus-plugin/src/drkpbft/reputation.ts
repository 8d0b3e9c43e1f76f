import type { NodeId } from '../core/types';

/**
 * Reputation (docs/consensus.md, "Reputation"): a function of committed evidence only, so
 * every honest node computes the same values and agrees on leaders without extra rounds.
 */

/** Weight of the old reputation in each epoch's update. */
export const DECAY = 0.8;
/** Every node's reputation in the genesis epoch and a joiner's on arrival. */
export const GENESIS_REPUTATION = 0.5;
/** Below this a node cannot lead a region or hold a top seat. */
export const LEAD_THRESHOLD = 0.4;
/** Below this a node loses its vote from the next epoch on. */
export const VOTE_THRESHOLD = 0.2;
/** Subtracted from the participation share of a node that lost a region leadership by view change. */
export const VIEW_CHANGE_PENALTY = 0.5;

/** Reputation by node id. */
export type Reputations = Readonly<Record<NodeId, number>>;

/** One epoch's committed evidence. */
export interface EpochEvidence {
  /** Each committed region batch of the epoch: its region (index) and the signers of its region certificate. */
  regionBatches: readonly { region: number; signers: readonly NodeId[] }[];
  /** Nodes that lost a region or top leadership by a committed view change this epoch. */
  deposedLeaders: readonly NodeId[];
  /** Nodes with a committed proof of equivocation. */
  equivocators: readonly NodeId[];
}

export const emptyEvidence = (): EpochEvidence => ({ regionBatches: [], deposedLeaders: [], equivocators: [] });

const clamp = (r: number): number => Math.min(1, Math.max(0, r));

/**
 * The next epoch's reputations of the nodes in `regions` (one list of voters per region)
 * and of `others` (members without a vote): r ← λ·r + (1 − λ)·(s − penalty), clamped to
 * [0, 1]. s is the share of the node's region's batches whose certificate it signed; a node
 * with no such evidence (a region that certified nothing, a member without a vote) keeps
 * s = r, so only penalties move it. An equivocator drops to 0.
 */
export function updateReputations(previous: Reputations, regions: readonly (readonly NodeId[])[], others: readonly NodeId[], evidence: EpochEvidence): Record<NodeId, number> {
  const batches = regions.map(() => 0);
  const signed = new Map<NodeId, number>();
  for (const { region, signers } of evidence.regionBatches) {
    if (region < 0 || region >= regions.length) continue;
    batches[region]++;
    for (const s of new Set(signers)) signed.set(s, (signed.get(s) ?? 0) + 1);
  }
  const deposed = new Set(evidence.deposedLeaders);
  const equivocators = new Set(evidence.equivocators);
  const next: Record<NodeId, number> = {};
  const update = (node: NodeId, total: number): void => {
    const r = previous[node] ?? GENESIS_REPUTATION;
    if (equivocators.has(node)) {
      next[node] = 0;
      return;
    }
    const share = total === 0 ? r : (signed.get(node) ?? 0) / total;
    const penalty = deposed.has(node) ? VIEW_CHANGE_PENALTY : 0;
    next[node] = clamp(DECAY * r + (1 - DECAY) * (share - penalty));
  };
  regions.forEach((members, region) => members.forEach((node) => update(node, batches[region])));
  for (const node of others) if (!(node in next)) update(node, 0);
  return next;
}

/** Highest reputation first, ties by lower id. */
export function rankByReputation(nodes: readonly NodeId[], reputations: Reputations): NodeId[] {
  const r = (node: NodeId): number => reputations[node] ?? GENESIS_REPUTATION;
  return [...nodes].sort((a, b) => r(b) - r(a) || a - b);
}

/**
 * The order in which `nodes` lead (primary of view w = entry w mod length): the nodes at or
 * above τ_lead by rank, then, so that a region whose trusted nodes have all failed can
 * still make progress, the others by rank.
 */
export function leaderOrder(nodes: readonly NodeId[], reputations: Reputations): NodeId[] {
  const ranked = rankByReputation(nodes, reputations);
  const r = (node: NodeId): number => reputations[node] ?? GENESIS_REPUTATION;
  return [...ranked.filter((n) => r(n) >= LEAD_THRESHOLD), ...ranked.filter((n) => r(n) < LEAD_THRESHOLD)];
}
