import { simAuthenticators } from '../core/sim-auth';
import { DEFAULT_OPTIONS, type ClusterOptions, type Protocol } from '../core/types';
import { createDrkpbft } from '../drkpbft/protocol';
import { createPbft } from '../pbft/protocol';
import { createRaft } from '../raft/protocol';
import type { ClusterSpec, ProtocolFactory } from './scenario';

/** Protocols the simulator can build by name. */
export const SIM_PROTOCOLS = ['pbft', 'drkpbft', 'raft'] as const;
export type SimProtocolName = (typeof SIM_PROTOCOLS)[number];

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
  return (spec) => ({ protocol: build(name, cluster, spec), authenticators: simAuthenticators(spec.n + (spec.extraNodes ?? 0), spec.seed) });
}

function build(name: SimProtocolName, cluster: ClusterOptions, { n, extraNodes = 0, network, seed, tickMs }: ClusterSpec): Protocol<unknown, unknown> {
  const members = Array.from({ length: n }, (_, i) => i);
  switch (name) {
    case 'pbft':
      return createPbft(members, cluster) as Protocol<unknown, unknown>;
    case 'raft':
      return createRaft(members, { ...cluster, seed }) as Protocol<unknown, unknown>;
    case 'drkpbft': {
      const latency = network.latencyMatrix(n + extraNodes).map((row) => row.map((ms) => ms / tickMs));
      return createDrkpbft(members, { ...cluster, latency }) as Protocol<unknown, unknown>;
    }
  }
}
