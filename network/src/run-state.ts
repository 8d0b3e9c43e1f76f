/**
 * What the running network was started with, recorded in its state directory by `up`, so
 * that `status`, `down`, the demo and the tests read it instead of guessing.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { checkSetting, DEFAULT_ORDERING, parseOrdererCount, parseOrdering, type OrderingSetting } from './ordering';
import { state } from './paths';
import { topologyFor, type Topology } from './topology';

export function recordSetting(s: OrderingSetting): void {
  writeFileSync(state.ordering, JSON.stringify(s, null, 2));
}

/** The recorded setting, or undefined when no network state exists. */
export function runningSetting(): OrderingSetting | undefined {
  if (!existsSync(state.ordering)) return undefined;
  const raw = JSON.parse(readFileSync(state.ordering, 'utf8')) as { ordering: string; orderers: number; wan?: boolean; deliverProxies?: boolean };
  return checkSetting({ ordering: parseOrdering(raw.ordering, state.ordering), orderers: parseOrdererCount(String(raw.orderers), state.ordering), wan: raw.wan === true, deliverProxies: raw.deliverProxies === true });
}

/** The running network's topology; the default one when nothing runs. */
export const runningTopology = (): Topology => topologyFor(runningSetting() ?? DEFAULT_ORDERING);
