import type { ClientRequest, NodeId } from '../core/types';

/**
 * A scheduled membership change; times are simulated ms from the start of the run.
 * - `join`: a brand-new node (id ≥ n, placed by the network as an extra node) starts at
 *   `atMs` and a `join:<id>` request goes to a current member;
 * - `leave`: a `leave:<id>` request goes to a current member; the node runs on until it
 *   commits its own removal, then stops for good.
 * Both protocols that reconfigure (Raft, DRKPBFT) read these operation strings.
 */
export type MembershipEvent = { kind: 'join'; node: NodeId; atMs: number } | { kind: 'leave'; node: NodeId; atMs: number };

/** The client that submits membership requests (ordinary clients are `c0`, `c1`, …). */
export const MEMBERSHIP_CLIENT = 'membership';

/** The request that asks for `event`; the `index`-th event of a run has timestamp index + 1. */
export function membershipRequest(event: MembershipEvent, index: number): ClientRequest {
  return { client: MEMBERSHIP_CLIENT, timestamp: index + 1, operation: `${event.kind}:${event.node}` };
}

/** How many nodes past the `n` genesis ones the network must place for these events' joiners. */
export function extraNodesFor(events: readonly MembershipEvent[], n: number): number {
  let highest = n - 1;
  for (const event of events) if (event.kind === 'join') highest = Math.max(highest, event.node);
  return highest - (n - 1);
}

/** A one-line description for logs. */
export const describeMembershipEvent = (event: MembershipEvent): string => `${event.kind} ${event.node} @${event.atMs}ms`;
