/** The Raft model: the reference Fabric orders with, in the same simulated network as PBFT and DRKPBFT. */
export { createRaft } from './protocol';
export type { RaftProtocol } from './protocol';
export type { RaftOptions } from './options';
export { RAFT_DEFAULTS } from './options';
export { RaftNode } from './node';
export type { RaftRole, RaftStatus } from './node';
export { joinOperation, leaveOperation, parseMembershipChange } from './membership';
export type { MembershipChange } from './membership';
export type { AppendEntries, AppendResponse, CommitQuorum, EntryKind, Forward, Heartbeat, HeartbeatResponse, LogEntry, RaftMessage, RaftState, VoteRequest, VoteResponse } from './messages';
