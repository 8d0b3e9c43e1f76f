/** DRKPBFT, flat PBFT and the Raft model behind one contract, the simulator and the TCP runner. */
export * from './core/types';
export { batchDigest, canonical, requestKey, sha256 } from './core/digest';
export { simAuthenticators } from './core/sim-auth';
export { createPbft, type PbftMessage, type PbftState } from './pbft/protocol';
export { PbftInstance, type PbftInstanceConfig, type Decision } from './pbft/instance';
export { verifyCertificate } from './pbft/verifier';
export { createDrkpbft, type DrkMessage, type DrkState, type DrkpbftOptions } from './drkpbft/protocol';
export { clusterRegions, regionCount } from './drkpbft/kmedoids';
export { createRaft, type RaftMessage, type RaftOptions, type RaftState } from './raft';
export { simulate, Simulation, type SimulationOptions, type SimulationResult } from './sim/simulator';
export { Network, type NetworkOptions } from './sim/network';
export { randomScenario, runScenario, shrinkScenario, reproCommand } from './sim/scenario';
export { simProtocolFactory } from './sim/protocols';
export { soak } from './sim/soak';
export { runCluster, type RunClusterOptions, type ClusterResult } from './net/cluster';
