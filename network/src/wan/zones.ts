/**
 * An emulated wide-area network: nodes placed in zones, and a one-way delay for every pair of
 * zones. The kernel here has no `tc netem`, so the delay is applied by relays in user space
 * (relay.ts) that every orderer-to-orderer connection passes through.
 */

export interface WanPlan {
  /** The zone of each node, by name. */
  zoneOf: Record<string, number>;
  /** One-way delay in milliseconds from zone i to zone j (symmetric; the diagonal is inside a zone). */
  oneWayMs: number[][];
}

/**
 * Three zones, with one-way delays of the order seen between cloud regions on one continent
 * (20, 30 and 40 ms between the pairs, 1 ms inside a zone); nodes are dealt round-robin, so
 * n = 4 puts two nodes in the first zone and n = 7 puts 3, 2, 2.
 */
export const THREE_ZONES_MS: number[][] = [
  [1, 20, 40],
  [20, 1, 30],
  [40, 30, 1],
];

export function wanPlan(nodes: readonly string[], oneWayMs: number[][] = THREE_ZONES_MS): WanPlan {
  const zones = oneWayMs.length;
  if (zones === 0 || oneWayMs.some((row) => row.length !== zones)) throw new Error(`the delay matrix must be square, got ${JSON.stringify(oneWayMs)}`);
  for (let i = 0; i < zones; i++) {
    for (let j = 0; j < zones; j++) {
      const d = oneWayMs[i]![j]!;
      if (!Number.isFinite(d) || d < 0) throw new Error(`delay from zone ${i} to zone ${j} must be a non-negative number of ms, got ${d}`);
      if (d !== oneWayMs[j]![i]) throw new Error(`delays must be symmetric: zone ${i}→${j} is ${d} ms but ${j}→${i} is ${oneWayMs[j]![i]} ms`);
    }
  }
  return { zoneOf: Object.fromEntries(nodes.map((name, i) => [name, i % zones])), oneWayMs };
}

/** The one-way delay from `from` to `to`; 0 when either is not in the plan (a client, not an orderer). */
export function delayMs(plan: WanPlan | undefined, from: string | undefined, to: string): number {
  if (plan === undefined || from === undefined) return 0;
  const a = plan.zoneOf[from];
  const b = plan.zoneOf[to];
  return a === undefined || b === undefined ? 0 : plan.oneWayMs[a]![b]!;
}
