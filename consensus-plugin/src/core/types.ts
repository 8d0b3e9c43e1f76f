/**
 * The contract every protocol in this package keeps (flat PBFT, DRKPBFT, the Raft model):
 * a node is a pure state machine in the style of etcd's raft library. A message, a tick or
 * a client request goes in; a `Ready` comes out: state to persist, messages to send,
 * batches committed. No I/O, clock or randomness inside; signatures go through an injected
 * `Authenticator`. The simulator and the TCP transport drive the same machines.
 */

/** A node's identity: its index in the genesis membership; joiners get fresh numbers. */
export type NodeId = number;

/** A client request. A client numbers its requests; each (client, timestamp) runs at most once. */
export interface ClientRequest {
  client: string;
  timestamp: number;
  operation: string;
}

/** A batch committed at a position of the global order. */
export interface Commit {
  /** Position in the global order: 1, 2, 3, … with no gaps on any node. */
  seq: number;
  /** The digest of the batch as ordered (protocol-specific encoding; identical on every honest node). */
  digest: string;
  /** The requests executed: the ordered batch minus requests already executed earlier. */
  requests: ClientRequest[];
  /** The nodes whose signed commit votes this node counted for this batch (the simulator checks them). */
  quorum: NodeId[];
  /** Membership epoch the batch was ordered in (0 for protocols without epochs). */
  epoch: number;
}

export interface Outbound<M> {
  to: NodeId;
  message: M;
}

/** What one input produced: persist `state` (when set) first, then send `messages`, then apply `commits`. */
export interface Ready<M, S> {
  messages: Outbound<M>[];
  commits: Commit[];
  state?: S;
}

export interface ConsensusNode<M, S> {
  readonly id: NodeId;
  /** A message that arrived from the network (`from` is the transport's claim; trust only signatures). */
  step(from: NodeId, message: M): Ready<M, S>;
  /** One logical clock tick; every timeout is counted in ticks. */
  tick(): Ready<M, S>;
  /** A client request that reached this node. */
  submit(request: ClientRequest): Ready<M, S>;
  /** Who this node believes leads (operators' status and metrics; no input to the protocol). */
  leaderView(): LeaderView;
}

/** A node's belief about leadership, as the orderer's metrics report it. */
export interface LeaderView {
  /** The node that orders new requests: PBFT's primary, Raft's leader, DRKPBFT's region primary; undefined while unknown. */
  leader: NodeId | undefined;
  /** The view (PBFT, DRKPBFT's region) or term (Raft) the belief belongs to. */
  view: number;
  /** DRKPBFT: the seat holders of the top layer, one per region. */
  seats?: NodeId[];
}

/** Signs as this node, verifies others; Ed25519 on real processes, a keyed hash in the simulator. */
export interface Authenticator {
  readonly id: NodeId;
  sign(payload: string): string;
  verify(node: NodeId, payload: string, signature: string): boolean;
}

/** A commit vote carried by a message, signed by `voter`. */
export interface Vote {
  voter: NodeId;
  seq: number;
  digest: string;
  /** Raft's acknowledgement: a vote for every entry up to `seq` of the voter's log (digest is ignored). */
  upTo?: boolean;
}

/** Validly signed variants a Byzantine node sends (the simulator's manglers use them). */
export interface Mutations<M> {
  /** The same proposal for a different batch, or undefined when `message` is not a proposal. */
  equivocate(message: M, auth: Authenticator): M | undefined;
  /** A vote for a different digest, or undefined when `message` is not a vote. */
  conflictingVote(message: M, auth: Authenticator): M | undefined;
  /** The same message with a broken signature. */
  badSignature(message: M): M;
}

/** One protocol, configured for one cluster: what the simulator, the transport and the bench need. */
export interface Protocol<M, S> {
  readonly name: 'pbft' | 'drkpbft' | 'raft';
  /** The genesis members. */
  readonly members: readonly NodeId[];
  /** A fresh node, or a restarted one from the last `Ready.state` it produced. */
  createNode(id: NodeId, auth: Authenticator, persisted?: S): ConsensusNode<M, S>;
  /** Bytes of the message on the wire (canonical JSON). */
  wireSize(message: M): number;
  /** The commit votes a message carries ([] for every other message). */
  votes(message: M): Vote[];
  /** How many distinct voters an honest node needs before it commits `commit`. */
  quorumFor(commit: Commit): number;
  /** How many Byzantine nodes the configuration tolerates (for the fault injector's budget). */
  maxFaulty(): number;
  readonly mutations: Mutations<M>;
}

/** Tunables every protocol reads; timeouts are in ticks. */
export interface ClusterOptions {
  /** Requests per batch. */
  batchSize: number;
  /** A partial batch is proposed after this many ticks. */
  batchTimeoutTicks: number;
  /** A replica that waits this long for a request it knows of to commit suspects the leader. */
  requestTimeoutTicks: number;
  /** PBFT: a checkpoint every this many sequence numbers; the watermark window is 2× this. */
  checkpointInterval: number;
  /**
   * Duplicate suppression forgets a one-shot client's record this many global positions after
   * its request executed (`ExecutedRequests`); undefined or 0 keeps every record. Must exceed
   * how long a request can stay in flight, by far (docs/consensus.md, "Duplicates").
   */
  dedupWindow?: number;
}

export const DEFAULT_OPTIONS: ClusterOptions = { batchSize: 100, batchTimeoutTicks: 2, requestTimeoutTicks: 50, checkpointInterval: 16 };
