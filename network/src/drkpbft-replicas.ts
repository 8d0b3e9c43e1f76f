/**
 * `--ordering drkpbft`: one DRKPBFT replica process beside each orderer (docs/ordering.md,
 * "Running it"). The orderer's chain links to its own replica over the host link; the
 * replicas order among themselves over their authenticated peer transport. Keys (Ed25519,
 * separate from the orderers' MSP keys), the shared cluster.json and every replica's data
 * directory live in the network's run state, so a restarted replica resumes where it was.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { ClusterConfig, ReplicaEntry } from '@emr/consensus-plugin/dist/net/config';
import { netProtocolOptions } from '@emr/consensus-plugin/dist/net/cluster';
import { writeClusterKeys } from '@emr/consensus-plugin/dist/net/keys';
import { repoRoot, state } from './paths';
import { logFile, portInUse, startDaemon, waitFor } from './processes';
import { relayPorts, replicaPorts, type OrdererSpec, type Topology } from './topology';

/** Milliseconds per protocol tick. */
const TICK_MS = 10;
/** A request a replica knows of and the primary has not ordered after this long makes it suspect the primary (SmartBFT's forward timeout here is 2 s). */
const REQUEST_TIMEOUT_MS = 2000;
/** The channel's MaxMessageCount: a full batch is one block. */
const BATCH = 100;
/**
 * A partial batch leaves after the channel's BatchTimeout, as etcdraft cuts a block and
 * SmartBFT proposes (RequestBatchMaxInterval) after it: every batch is a block each peer
 * validates and commits, so the modes must cut blocks alike to differ only in consensus.
 * The timeout runs from the primary's last proposal (`batchTimeoutFromLastProposal`), as
 * SmartBFT's batcher times each batch from the previous one; timed from the first queued
 * request, as before, blocks came every 310 ms instead of SmartBFT's 270 at 10 tx/s.
 */
export function durationMs(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s)$/.exec(text);
  if (!m) throw new Error(`'${text}' is not a duration like 250ms or 2s`);
  return Number(m[1]) * (m[2] === 's' ? 1000 : 1);
}
/**
 * The gateway sends each transaction to every orderer, so the primary's replica has it from
 * the start; the others forward it only if it is still not batched after this long (the
 * `peer` CLI's lifecycle transactions, sent to one orderer, wait this long once).
 */
const FORWARD_DELAY_MS = 500;

/*
 * Partial batches wait while a proposal is undecided (`partialBatchesWhenIdle`): every batch
 * is a block that each orderer signs and writes and each peer validates, so under load fewer,
 * fuller batches are what the channel can carry.
 */

export const replicaName = (o: OrdererSpec): string => `${o.name}-drkpbft`;
const replicaDir = () => path.join(state.config, 'drkpbft');
const clusterFile = () => path.join(replicaDir(), 'cluster.json');
/** DRKPBFT node ids are 0-based positions; consenter ids in the channel config are 1-based. */
const nodeId = (o: OrdererSpec) => o.consenterId - 1;

/** Writes keys and cluster.json for the topology's orderers (once per network; `down` removes them). */
export function writeReplicaCluster(t: Topology): string {
  const orderers = t.ordererOrg.orderers;
  const ids = orderers.map(nodeId);
  const keys = writeClusterKeys(path.join(replicaDir(), 'keys'), ids);
  const replicas: ReplicaEntry[] = orderers.map((o) => ({
    id: nodeId(o),
    host: t.host,
    ...replicaPorts(o),
    ...(t.wan ? { dialPort: relayPorts(o).replica } : {}),
    privateKey: keys.privateKey(nodeId(o)),
    dataDir: path.join(state.ledgers, replicaName(o)),
  }));
  const options = {
    ...netProtocolOptions('drkpbft', orderers.length, BATCH, TICK_MS, REQUEST_TIMEOUT_MS),
    batchTimeoutTicks: Math.max(1, Math.round(durationMs(t.batchTimeout) / TICK_MS)),
    forwardDelayTicks: FORWARD_DELAY_MS / TICK_MS,
    partialBatchesWhenIdle: true,
    batchTimeoutFromLastProposal: true,
  };
  const config: ClusterConfig = { protocol: 'drkpbft', members: ids, options, replicas, publicKeys: keys.publicKeys, tickMs: TICK_MS, fsync: true };
  mkdirSync(replicaDir(), { recursive: true });
  writeFileSync(clusterFile(), JSON.stringify(config, null, 2));
  return clusterFile();
}

/** Starts (or restarts from its data directory) the replica beside orderer `o`. */
export function startReplica(o: OrdererSpec): void {
  if (!existsSync(clusterFile())) throw new Error(`no DRKPBFT cluster configuration at ${clusterFile()}: the network was not started with --ordering drkpbft`);
  const script = path.join(repoRoot, 'consensus-plugin', 'dist', 'net', 'replica-process.js');
  startDaemon({ name: replicaName(o), command: process.execPath, args: [script, clusterFile(), String(nodeId(o))] });
}

/** Waits until every replica listens for its orderer's chain (a probe without `hello` leaves the link alone). */
export async function waitForReplicas(t: Topology): Promise<void> {
  await Promise.all(
    t.ordererOrg.orderers.map((o) => waitFor(`DRKPBFT replica ${replicaName(o)} to listen on ${replicaPorts(o).hostLinkPort}`, () => portInUse(replicaPorts(o).hostLinkPort), 30000, logFile(replicaName(o)))),
  );
}
