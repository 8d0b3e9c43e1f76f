/** The cluster configuration file every replica process reads, and the client wire format. */
import type { ClientRequest, NodeId } from '../core/types';
import type { NetProtocolOptions, ProtocolName } from '../protocols';
import type { TransportStats } from './transport';

export interface ReplicaEntry {
  id: NodeId;
  host: string;
  /** Replica-to-replica port. */
  port: number;
  /** Where the other replicas dial this one when not `port` (a relay in front of it). */
  dialPort?: number;
  /** Port where load drivers submit requests and hear of their commits. */
  clientPort: number;
  privateKey: string;
  /** Loopback port of the Fabric host link (`src/fabric/host-link.ts`); absent: no Fabric orderer uses this replica. */
  hostLinkPort?: number;
  /** Holds `state.log` (the persisted state), `commits.log` and the process log. */
  dataDir: string;
}

export interface ClusterConfig {
  protocol: ProtocolName;
  members: NodeId[];
  options: NetProtocolOptions;
  replicas: ReplicaEntry[];
  /** Path of the JSON map from node id to SPKI PEM public key. */
  publicKeys: string;
  /** Milliseconds per protocol tick. */
  tickMs: number;
  /** fsync the state file before renaming it into place (durable across power loss, slower). */
  fsync: boolean;
}

/** Client → replica: run this request. */
export interface SubmitFrame {
  request: ClientRequest;
}

/** Replica → client: the request with this key committed at global position `seq`. */
export interface CommittedFrame {
  client: string;
  timestamp: number;
  seq: number;
}

/** Each replica's committed log, one line per batch: `<seq> <digest> <requests>`. */
export const COMMIT_LOG = 'commits.log';

/** What a replica reports to the driver when asked. */
export interface ReplicaStats extends TransportStats {
  id: NodeId;
  /** Highest position this process has committed (0 until its first commit after a restart). */
  committedSeq: number;
  committedRequests: number;
}

/** Driver → replica over IPC. */
export type DriverMessage = { type: 'stats' };
/** Replica → driver over IPC. */
export type ReplicaMessage = { type: 'ready' } | { type: 'stats'; stats: ReplicaStats };
