/**
 * The one configuration every simulated run of the benchmark uses: cluster options, Raft's
 * timers, the load and the network. Fixed here, the same for every protocol and every n, and
 * printed with the results; nothing is tuned per protocol or per size.
 */
import { simAuthenticators } from '../src/core/sim-auth';
import { DEFAULT_OPTIONS, type Authenticator, type ClusterOptions, type NodeId, type Protocol } from '../src/core/types';
import { createProtocol, type ProtocolName } from '../src/protocols';
import type { LoadOptions } from '../src/sim/clients';
import { DEFAULT_NETWORK, Network, type NetworkOptions } from '../src/sim/network';

export type { ProtocolName };
export const PROTOCOLS: readonly ProtocolName[] = ['drkpbft', 'pbft', 'raft'];

/** Simulated milliseconds per protocol tick. */
export const TICK_MS = 10;

/**
 * The package defaults (batches of 100, a partial batch after 2 ticks) with two changes for
 * a saturated WAN: a checkpoint every 64 batches (128 in flight; with the default 16, both
 * BFT protocols stall on the 32-batch window long before their CPUs are busy: Castro and
 * Liskov used 128), and a 2 s request timeout, above the queueing delay a saturated
 * cluster builds, so that load alone does not trigger view changes.
 */
export const CLUSTER: ClusterOptions = { ...DEFAULT_OPTIONS, checkpointInterval: 64, requestTimeoutTicks: 200 };

/** etcd's default timers (100 ms heartbeat, 1 s election timeout, randomised up to 2 s), in ticks. */
export const RAFT_TIMERS = { heartbeatTicks: 10, electionTimeoutTicks: [100, 200] as [number, number] };

/**
 * Saturating closed-loop load: 8192 requests outstanding. By Little's law a closed loop
 * commits at most outstanding / latency, so at the ~0.2–0.5 s commit latency of this WAN it
 * takes this many for the busiest CPU or uplink, not the clients, to set the throughput up
 * to ~16–40k requests/s. A request not committed after 4 s is re-sent to every node.
 */
export const SATURATING_LOAD: Partial<LoadOptions> = { clients: 64, window: 128, retryMs: 4000, operationBytes: 64 };

/** One request at a time from each of three clients: latency without queueing. */
export const LIGHT_LOAD: Partial<LoadOptions> = { clients: 3, window: 1, retryMs: 4000, operationBytes: 64 };

/** The simulator's default WAN model: 3 zones, 1–5 ms inside one, 20–80 ms between, 1 Gbit/s, 0.05 ms CPU per message. */
export const NETWORK: NetworkOptions = DEFAULT_NETWORK;

/** A protocol and its nodes' signers, for one simulated cluster. */
export interface SimCluster {
  protocol: Protocol<unknown, unknown>;
  network: Network;
  authenticators: Authenticator[];
}

/**
 * `name` for nodes 0 … n − 1 on a network of `networkSize` ≥ n nodes built from `seed`.
 * DRKPBFT clusters on the network's mean RTT matrix in ticks, as the simulator's own factory does.
 */
export function simCluster(name: ProtocolName, n: number, seed: string, networkSize = n): SimCluster {
  const network = new Network(networkSize, seed, NETWORK);
  const members: NodeId[] = Array.from({ length: n }, (_, i) => i);
  const protocol = buildProtocol(name, members, network, seed);
  return { protocol, network, authenticators: simAuthenticators(networkSize, seed) };
}

function buildProtocol(name: ProtocolName, members: NodeId[], network: Network, seed: string): Protocol<unknown, unknown> {
  // Each protocol reads what it needs: Raft its timers and seed, DRKPBFT the latency matrix.
  const latency = name === 'drkpbft' ? network.latencyMatrix().map((row) => row.map((ms) => ms / TICK_MS)) : undefined;
  return createProtocol(name, members, { ...CLUSTER, ...RAFT_TIMERS, seed, latency });
}
