/**
 * The channel's ordering service: which consensus and how many orderers. One setting for
 * the topology, `network up --ordering … --orderers …`, the tests (EMR_ORDERING,
 * EMR_ORDERERS) and CI; the running network records its setting in the run state.
 */
export const ORDERINGS = ['etcdraft', 'bft', 'drkpbft'] as const;
export type Ordering = (typeof ORDERINGS)[number];

export interface OrderingSetting {
  ordering: Ordering;
  orderers: number;
  /**
   * Orderer-to-orderer traffic goes through delaying relays that put the orderers in three
   * emulated WAN zones (network/src/wan/, docs/ordering.md); clients and peers stay direct.
   */
  wan: boolean;
  /**
   * A deliver proxy (network/src/deliver-proxy/) stands in front of each orderer's client port
   * for the peers, so that the fault tests can make one orderer serve the peers byzantine
   * blocks; orderer-to-orderer traffic and every other client stay direct.
   */
  deliverProxies: boolean;
}

/**
 * 4 for every mode: the BFT modes need 3f + 1 with f = 1, and benchmarks compare modes
 * at the same n, so etcdraft runs 4 too.
 */
export const DEFAULT_ORDERING: OrderingSetting = { ordering: 'etcdraft', orderers: 4, wan: false, deliverProxies: false };
/** The port plan (topology.ts) has room for 10 orderers; the 11th would take peer ports. */
export const MAX_ORDERERS = 10;

/** Both BFT modes present themselves to peers as Fabric's consensus type `BFT`. */
export const isBft = (ordering: Ordering): boolean => ordering !== 'etcdraft';

export function parseOrdering(value: string, source: string): Ordering {
  const found = ORDERINGS.find((o) => o === value);
  if (!found) throw new Error(`${source}: unknown ordering '${value}'; choose one of ${ORDERINGS.join(', ')}`);
  return found;
}

export function parseOrdererCount(value: string, source: string): number {
  const n = Number(value);
  if (!/^\d+$/.test(value) || n < 1 || n > MAX_ORDERERS) throw new Error(`${source}: '${value}' is not an orderer count; give a whole number from 1 to ${MAX_ORDERERS}`);
  return n;
}

/** Checks that the mode can run with that many orderers. */
export function checkSetting(s: OrderingSetting): OrderingSetting {
  if (isBft(s.ordering) && s.orderers < 4) {
    throw new Error(`ordering '${s.ordering}' needs at least 4 orderers (3f + 1 with f = 1); ${s.orderers} was asked`);
  }
  return s;
}

/** What was asked for: either part may be left open (an `up` on a running network keeps what runs). */
export type OrderingRequest = Partial<OrderingSetting>;

/** A 0/1 switch (EMR_WAN, EMR_DELIVER_PROXIES). */
export function parseWan(value: string, source: string): boolean {
  if (value !== '0' && value !== '1') throw new Error(`${source}: '${value}' is not 0 or 1`);
  return value === '1';
}

/** EMR_ORDERING, EMR_ORDERERS, EMR_WAN and EMR_DELIVER_PROXIES, as the tests and CI set them. */
export function orderingFromEnv(env: NodeJS.ProcessEnv = process.env): OrderingRequest {
  return {
    ...(env.EMR_ORDERING ? { ordering: parseOrdering(env.EMR_ORDERING, 'EMR_ORDERING') } : {}),
    ...(env.EMR_ORDERERS ? { orderers: parseOrdererCount(env.EMR_ORDERERS, 'EMR_ORDERERS') } : {}),
    ...(env.EMR_WAN ? { wan: parseWan(env.EMR_WAN, 'EMR_WAN') } : {}),
    ...(env.EMR_DELIVER_PROXIES ? { deliverProxies: parseWan(env.EMR_DELIVER_PROXIES, 'EMR_DELIVER_PROXIES') } : {}),
  };
}

/** The setting to start with: what was asked, the defaults for the rest. */
export const settingFor = (req: OrderingRequest): OrderingSetting => checkSetting({ ...DEFAULT_ORDERING, ...req });

/** True when the running setting satisfies the request (unasked parts match anything). */
export const satisfies = (running: OrderingSetting, req: OrderingRequest): boolean =>
  (req.ordering === undefined || req.ordering === running.ordering) && (req.orderers === undefined || req.orderers === running.orderers) && (req.wan === undefined || req.wan === running.wan) &&
  (req.deliverProxies === undefined || req.deliverProxies === running.deliverProxies);

export const describeSetting = (s: OrderingSetting): string =>
  `${s.ordering}, ${s.orderers} orderers${s.wan ? ', orderers in 3 emulated WAN zones' : ''}${s.deliverProxies ? ', peers deliver through proxies' : ''}`;

const UP_OPTIONS = new Set(['--ordering', '--orderers']);
const UP_FLAGS = new Set(['--wan', '--deliver-proxies']);

/**
 * `network up`'s arguments over the environment (the flags win over EMR_ORDERING, EMR_ORDERERS,
 * EMR_WAN, EMR_DELIVER_PROXIES). Refuses what `up` does not know, naming it: a typo must not
 * start a network other than the one asked for.
 */
export function upRequest(args: string[], env: NodeJS.ProcessEnv = process.env): OrderingRequest {
  const request: OrderingRequest = { ...orderingFromEnv(env) };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const next = args[i + 1];
    if (UP_OPTIONS.has(a)) {
      if (next === undefined || next.startsWith('--')) throw new Error(`${a} needs a value`);
      if (a === '--ordering') request.ordering = parseOrdering(next, a);
      else request.orderers = parseOrdererCount(next, a);
      i++;
    } else if (UP_FLAGS.has(a)) {
      if (next !== undefined && !next.startsWith('--')) throw new Error(`${a} takes no value ('${next}' was given); leave it out to switch it off`);
      if (a === '--wan') request.wan = true;
      else request.deliverProxies = true;
    } else throw new Error(`up: unknown argument '${a}'; up takes ${[...UP_OPTIONS].map((x) => `${x} <value>`).join(', ')}, ${[...UP_FLAGS].join(', ')}`);
  }
  return request;
}
