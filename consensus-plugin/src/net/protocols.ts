/** The protocols a replica process can run, by name. */
import type { ClusterOptions, NodeId, Protocol } from '../core/types';
import { createDrkpbft } from '../drkpbft/protocol';
import { createPbft } from '../pbft/protocol';
import { createRaft } from '../raft/protocol';

export type ProtocolName = 'pbft' | 'drkpbft' | 'raft';

/** ClusterOptions plus what some protocols need beyond them. */
export interface NetProtocolOptions extends ClusterOptions {
  /** DRKPBFT: the genesis latency matrix, in ticks. */
  latency?: number[][];
  /** Raft: seeds the election-timeout draws. */
  seed?: string;
}

/** The configured protocol; the transport treats its messages and state as opaque JSON. */
export function createProtocol(name: ProtocolName, members: readonly NodeId[], options: NetProtocolOptions): Protocol<unknown, unknown> {
  switch (name) {
    case 'pbft':
      return createPbft(members, options);
    case 'raft':
      return createRaft([...members], { ...options, seed: options.seed ?? 'net' });
    case 'drkpbft':
      return createDrkpbft(members, options);
  }
}
