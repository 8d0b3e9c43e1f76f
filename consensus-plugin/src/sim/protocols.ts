import { simAuthenticators } from '../core/sim-auth';
import { DEFAULT_OPTIONS, type ClusterOptions } from '../core/types';
import { createProtocol, PROTOCOL_NAMES, type ProtocolName } from '../protocols';
import type { ProtocolFactory } from './scenario';

/** Protocols the simulator can build by name. */
export const SIM_PROTOCOLS = PROTOCOL_NAMES;
export type SimProtocolName = ProtocolName;

/** Cluster options for soak runs: small batches, and a 200 ms request timeout (at 10 ms ticks) so view changes fit in short runs. */
export const SIM_CLUSTER_OPTIONS: ClusterOptions = { ...DEFAULT_OPTIONS, batchSize: 10, requestTimeoutTicks: 20 };

/**
 * A factory building `name` for nodes 0 … n−1 with simulator signatures keyed by the run's
 * seed (for the `extraNodes` joiners too). Raft's election timeouts are seeded from it too;
 * DRKPBFT gets the network's mean RTT matrix in ticks as its measured latency, joiners
 * included, so that it can place them in regions when they join.
 */
export function simProtocolFactory(name: SimProtocolName, options: Partial<ClusterOptions> = {}): ProtocolFactory {
  const cluster = { ...SIM_CLUSTER_OPTIONS, ...options };
  return ({ n, extraNodes = 0, network, seed, tickMs }) => {
    // Only DRKPBFT reads the matrix; at n = 1000 it is a million entries.
    const latency = name === 'drkpbft' ? network.latencyMatrix(n + extraNodes).map((row) => row.map((ms) => ms / tickMs)) : undefined;
    const members = Array.from({ length: n }, (_, i) => i);
    return { protocol: createProtocol(name, members, { ...cluster, seed, ...(latency ? { latency } : {}) }), authenticators: simAuthenticators(n + extraNodes, seed) };
  };
}
