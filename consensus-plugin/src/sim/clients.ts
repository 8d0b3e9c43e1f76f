import type { ClientRequest, NodeId } from '../core/types';
import type { Network } from './network';
import type { Rng } from './random';

/** The client load. Closed loop: each client keeps `window` requests outstanding. Open loop: Poisson arrivals at `ratePerSec`. */
export interface LoadOptions {
  mode: 'closed' | 'open';
  clients: number;
  /** Closed loop: outstanding requests per client. */
  window: number;
  /** Open loop: requests per simulated second, all clients together. */
  ratePerSec: number;
  /** `nearest`: a random node of the client's own zone; `random`: any node. Fixed per client. */
  target: 'nearest' | 'random';
  /** Size of each request's operation string. */
  operationBytes: number;
  /** A request not completed after this long is re-sent to every node (as a PBFT client does), and again after each further period. */
  retryMs: number;
  /** Clients submit new requests only in [startMs, stopMs). */
  startMs: number;
  stopMs: number;
  /** Each request comes from a client of its own with timestamp 1, as a Fabric transaction (client `fabric:<tx id>`) does. */
  oneShot: boolean;
}

export const DEFAULT_LOAD: LoadOptions = {
  mode: 'closed',
  clients: 4,
  window: 2,
  ratePerSec: 1000,
  target: 'nearest',
  operationBytes: 64,
  retryMs: 1000,
  startMs: 0,
  stopMs: Infinity,
  oneShot: false,
};

/** One simulated client: where it sits, whom it asks, how it numbers its requests. */
export interface SimClient {
  readonly name: string;
  readonly zone: number;
  readonly target: NodeId;
  lastTimestamp: number;
  outstanding: number;
}

/** Clients placed round-robin over the zones, each with its target node. */
export function placeClients(load: LoadOptions, network: Network, members: readonly NodeId[], rng: Rng): SimClient[] {
  const zones = network.options.zones;
  return Array.from({ length: load.clients }, (_, i) => {
    const zone = i % zones;
    const local = members.filter((node) => network.zoneOf[node] === zone);
    const target = load.target === 'nearest' && local.length > 0 ? rng.pick(local) : rng.pick(members);
    return { name: `c${i}`, zone, target, lastTimestamp: 0, outstanding: 0 };
  });
}

/** The client's next request (`oneShot`: as client `<name>.<n>`, timestamp 1); the operation is padded to `operationBytes`. */
export function nextRequest(client: SimClient, operationBytes: number, oneShot = false): ClientRequest {
  const timestamp = ++client.lastTimestamp;
  const label = `op ${client.name} ${timestamp}`;
  const request = oneShot ? { client: `${client.name}.${timestamp}`, timestamp: 1 } : { client: client.name, timestamp };
  return { ...request, operation: label.padEnd(operationBytes, '.') };
}
