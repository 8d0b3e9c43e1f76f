import type { NodeId } from '../core/types';

/**
 * What a Byzantine node does to its outgoing traffic:
 * - `equivocate`: proposals to half the nodes are swapped for `mutations.equivocate` (another batch, validly signed);
 * - `conflicting-votes`: votes to half the nodes are swapped for `mutations.conflictingVote`;
 * - `silent`: sends nothing;
 * - `bad-signatures`: every message goes out through `mutations.badSignature`;
 * - `twins`: two instances run with the same id and key, each talking to its own half of the network.
 */
export type ByzantineBehaviour = 'equivocate' | 'conflicting-votes' | 'silent' | 'bad-signatures' | 'twins';

export const BYZANTINE_BEHAVIOURS: readonly ByzantineBehaviour[] = ['equivocate', 'conflicting-votes', 'silent', 'bad-signatures', 'twins'];

/** One entry of a fault schedule; times are simulated ms from the start of the run. */
export type Fault =
  /** Byzantine for the whole run. */
  | { kind: 'byzantine'; node: NodeId; behaviour: ByzantineBehaviour }
  /** Stops at `atMs`, losing its memory; restarts from its last persisted state at `restartAtMs` (never when absent). */
  | { kind: 'crash'; node: NodeId; atMs: number; restartAtMs?: number }
  /** `side` and the rest cannot reach each other between `atMs` and `healAtMs` (forever when absent). */
  | { kind: 'partition'; side: NodeId[]; atMs: number; healAtMs?: number }
  /** Each message is lost with `probability`. */
  | { kind: 'loss'; probability: number; fromMs: number; untilMs: number }
  /** Each message is delivered a second time with `probability` (with its own latency). */
  | { kind: 'duplicate'; probability: number; fromMs: number; untilMs: number }
  /** Each message is held back up to `maxDelayMs` extra with `probability`, overtaking others. */
  | { kind: 'reorder'; probability: number; maxDelayMs: number; fromMs: number; untilMs: number };

export type NetworkFault = Extract<Fault, { kind: 'loss' | 'duplicate' | 'reorder' }>;
export type Partition = Extract<Fault, { kind: 'partition' }>;

/**
 * When the network is stable: every crashed node that restarts has restarted, every
 * partition has healed and every lossy window has closed (Infinity if a partition never
 * heals). Byzantine nodes and nodes that never restart stay faulty and do not delay it.
 */
export function stableAtMs(faults: readonly Fault[]): number {
  let stable = 0;
  for (const fault of faults) {
    switch (fault.kind) {
      case 'byzantine':
        break;
      case 'crash':
        if (fault.restartAtMs !== undefined) stable = Math.max(stable, fault.restartAtMs);
        break;
      case 'partition':
        stable = Math.max(stable, fault.healAtMs ?? Infinity);
        break;
      default:
        stable = Math.max(stable, fault.untilMs);
    }
  }
  return stable;
}

/** Nodes that are faulty for good: Byzantine, or crashed without restart. */
export function permanentlyFaulty(faults: readonly Fault[]): Set<NodeId> {
  const nodes = new Set<NodeId>();
  for (const fault of faults) {
    if (fault.kind === 'byzantine' || (fault.kind === 'crash' && fault.restartAtMs === undefined)) nodes.add(fault.node);
  }
  return nodes;
}

/** The Byzantine behaviour of each Byzantine node. */
export function byzantineNodes(faults: readonly Fault[]): Map<NodeId, ByzantineBehaviour> {
  const nodes = new Map<NodeId, ByzantineBehaviour>();
  for (const fault of faults) if (fault.kind === 'byzantine') nodes.set(fault.node, fault.behaviour);
  return nodes;
}

/** A one-line description for logs. */
export function describeFault(fault: Fault): string {
  switch (fault.kind) {
    case 'byzantine':
      return `node ${fault.node} ${fault.behaviour}`;
    case 'crash':
      return `crash ${fault.node} @${fault.atMs}ms${fault.restartAtMs === undefined ? '' : ` → restart @${fault.restartAtMs}ms`}`;
    case 'partition':
      return `partition [${fault.side.join(',')}] @${fault.atMs}ms${fault.healAtMs === undefined ? '' : ` → heal @${fault.healAtMs}ms`}`;
    case 'reorder':
      return `reorder p=${fault.probability} ≤${fault.maxDelayMs}ms ${fault.fromMs}–${fault.untilMs}ms`;
    default:
      return `${fault.kind} p=${fault.probability} ${fault.fromMs}–${fault.untilMs}ms`;
  }
}
