/** The protocols by name: the one place the simulator, the replica processes and the bench build them. */
import type { ClusterOptions, NodeId, Protocol } from './core/types';
import { createDrkpbft } from './drkpbft/protocol';
import { createPbft } from './pbft/protocol';
import type { RaftOptions } from './raft/options';
import { createRaft } from './raft/protocol';

export const PROTOCOL_NAMES = ['pbft', 'drkpbft', 'raft'] as const;
export type ProtocolName = (typeof PROTOCOL_NAMES)[number];

/** ClusterOptions plus what some protocols need beyond them (the others ignore it). */
export interface NetProtocolOptions extends ClusterOptions, Partial<Pick<RaftOptions, 'electionTimeoutTicks' | 'heartbeatTicks'>> {
  /** DRKPBFT: the genesis latency matrix, in ticks. */
  latency?: number[][];
  /** DRKPBFT: how long a client's request waits before a non-primary forwards it (DrkpbftOptions). */
  forwardDelayTicks?: number;
  /** DRKPBFT: a partial batch waits while a proposal is undecided (DrkpbftOptions). */
  partialBatchesWhenIdle?: boolean;
  /** DRKPBFT: the batch timeout runs from the last proposal (DrkpbftOptions). */
  batchTimeoutFromLastProposal?: boolean;
  /** Raft: seeds the election-timeout draws. */
  seed?: string;
}

/** The configured protocol; the transport and the simulator treat its messages and state as opaque. */
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
