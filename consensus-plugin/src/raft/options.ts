import type { ClusterOptions } from '../core/types';
import type { Membership } from './membership';

/** What `createRaft` accepts: the cluster's tunables plus Raft's own. */
export interface RaftOptions extends ClusterOptions {
  /** Seeds every node's election-timeout generator (together with the node id). */
  seed: string;
  /** A follower campaigns after a random number of ticks in [min, max] without hearing from a leader. Default [10, 20]. */
  electionTimeoutTicks?: [number, number];
  /**
   * Each election round (pre-vote or vote) that ends without a leader doubles the next
   * timeout range, up to 2^this times; hearing from or becoming a leader resets it. Default 2.
   */
  electionBackoffLimit?: number;
  /** The leader's heartbeat period. Default 2. */
  heartbeatTicks?: number;
  /** AppendEntries a leader pipelines to one follower before waiting for answers. Default 8. */
  maxInflight?: number;
  /** Entries per AppendEntries. Default 64. */
  maxEntriesPerAppend?: number;
}

/** Everything a Raft node reads, defaults filled in. */
export interface RaftSettings extends Required<RaftOptions> {
  genesis: Membership;
  /**
   * Called with every configuration a node commits; returns the one instance all nodes
   * share (n = 1000 nodes need not hold 1000 copies of a 1000-member list), and lets the
   * protocol answer `quorumFor`.
   */
  adopt(membership: Membership): Membership;
}

export const RAFT_DEFAULTS = { electionTimeoutTicks: [10, 20] as [number, number], electionBackoffLimit: 2, heartbeatTicks: 2, maxInflight: 8, maxEntriesPerAppend: 64, dedupWindow: 0 };

export function resolveSettings(genesis: Membership, options: RaftOptions, adopt: (membership: Membership) => Membership): RaftSettings {
  const settings: RaftSettings = { ...RAFT_DEFAULTS, ...stripUndefined(options), genesis, adopt };
  const [min, max] = settings.electionTimeoutTicks;
  if (!(min >= 1 && max >= min)) throw new Error(`raft: electionTimeoutTicks must be 1 ≤ min ≤ max, got [${min}, ${max}]`);
  if (settings.heartbeatTicks >= min) throw new Error('raft: heartbeatTicks must be below the minimum election timeout');
  if (!(Number.isInteger(settings.electionBackoffLimit) && settings.electionBackoffLimit >= 0)) throw new Error('raft: electionBackoffLimit must be a non-negative integer');
  if (settings.batchSize < 1 || settings.maxInflight < 1 || settings.maxEntriesPerAppend < 1) throw new Error('raft: batchSize, maxInflight and maxEntriesPerAppend must be at least 1');
  return settings;
}

const stripUndefined = <T extends object>(value: T): T => Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
