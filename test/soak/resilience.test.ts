/**
 * Issue 18, point 3: faults under load. While the SDK uploads, grants, requests access and
 * reads (sdk-load.ts), each kind of node that holds state is killed with SIGKILL (supervisor
 * included, so it stays down), held down, and started again on its data: the Raft leader,
 * then a follower orderer; a peer, then the patients' home hospital's peer, whose endorsement
 * every write needs; a Kubo node; a proxy; a key centre; then every process of the network at
 * once, and `up` resumes it. After each:
 * - every transaction of every operation the SDK reported committed is VALID on every peer;
 * - every record uploaded in the phase reads back with the SHA-256 of what was uploaded;
 * - nothing is half-written: each of the load's index entries has its content pinned, and no
 *   content the run pinned lacks an index entry;
 * - every failed operation failed with an SDK error class that names the cause.
 * The load runs through each phase and stops before its checks, so they see a still ledger.
 * The report (attempted, committed, failed, lost, time to recover) goes to
 * test-results/soak-resilience.json and the console.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { common, peer } from '@hyperledger/fabric-protos';
import { connectGateway, EmrClient, type EmrConnection } from '../../client/src';
import { kuboRpc } from '../../network/src/kubo';
import { consensusView, nodeDaemons, startNode, up } from '../../network/src/network';
import { repoRoot, stateDir } from '../../network/src/paths';
import { killDaemon, recordedDaemons } from '../../network/src/processes';
import { runningTopology } from '../../network/src/run-state';
import { txsOf } from '../support/ledgers';
import { newPatient } from '../support/network';
import { OP_KINDS, SdkLoad, type Op } from './sdk-load';

jest.setTimeout(900_000);

const t = runningTopology();
const CONCURRENCY = 2;
/** Load before the fault, and how long a killed node stays down. */
const BEFORE_MS = 1_000;
const HOLD_MS = 3_000;
/** After the node is back: every kind of operation must succeed again within this. */
const RECOVERY_LIMIT_MS = 90_000;
const AFTER_MS = 1_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const seconds = (ms: number) => Math.round(ms / 100) / 10;

interface Fault {
  name: string;
  /** The nodes to kill (`network stop/start` names); none for the whole network. */
  nodes: () => Promise<string[]>;
}

const FAULTS: Fault[] = [
  { name: 'orderer, the Raft leader', nodes: async () => [(await consensusView(t)).leader!] },
  {
    name: 'orderer, a follower',
    nodes: async () => {
      const { leader } = await consensusView(t);
      return [[...t.ordererOrg.orderers].reverse().find((o) => o.name !== leader)!.name];
    },
  },
  { name: 'peer of HospitalB', nodes: async () => ['peer0.hospitalb.emr'] },
  { name: "peer of HospitalA, the patients' home hospital", nodes: async () => ['peer0.hospitala.emr'] },
  { name: 'Kubo node of HospitalA', nodes: async () => ['ipfs-HospitalA'] },
  { name: 'proxy of HospitalA', nodes: async () => ['proxy-HospitalA'] },
  { name: 'key centre of HospitalA', nodes: async () => ['kgc-HospitalA'] },
  { name: 'the whole network', nodes: async () => [] },
];

interface PhaseReport {
  fault: string;
  killed: string[];
  attempted: number;
  committed: number;
  failed: number;
  /** Committed operations whose transactions or content are gone: must be 0. */
  lost: number;
  /** From the kill until every kind of operation started after the last failure succeeded. */
  recoveryS: number;
  failures: Record<string, number>;
  /** The first message of each kind of failure, as the SDK gave it. */
  samples: Record<string, string>;
}

let load: SdkLoad;
const clients: EmrClient[] = [];
const admins: EmrConnection[] = [];
const reports: PhaseReport[] = [];
/** What every Kubo node had pinned before the load began. */
let pinsBefore: Map<string, Set<string>>;
/** The block the load's transactions start after (the network holds the earlier projects' history). */
let fromBlock = 0;

const pinsOf = async (org: string): Promise<Set<string>> =>
  new Set(Object.keys((await kuboRpc<{ Keys: Record<string, unknown> | null }>(t.members.find((m) => m.name === org)!, 'pin/ls', { type: 'recursive' })).Keys ?? {}));

beforeAll(async () => {
  const patients = [];
  for (let i = 0; i < 2; i++) {
    const p = await newPatient('HospitalA', 'soak-patient');
    const client = EmrClient.connect({ org: 'HospitalA', user: p.user, profile: stateDir });
    clients.push(client);
    patients.push({ client, pseudonym: p.pseudonym });
  }
  const doctor = EmrClient.connect({ org: 'HospitalA', user: 'doctor1', profile: stateDir });
  const researcher = EmrClient.connect({ org: 'ResearchInstitute', user: 'researcher1', profile: stateDir });
  clients.push(doctor, researcher);
  for (const m of t.members) admins.push(connectGateway({ org: m.name, user: 'admin', profile: stateDir }));
  pinsBefore = new Map(await Promise.all(t.members.map(async (m) => [m.name, await pinsOf(m.name)] as const)));
  fromBlock = Math.max(0, (await heightOf(admins[0]!)) - 1);
  load = new SdkLoad(doctor, researcher, patients, { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' });
  await load.prepare();
});

afterAll(async () => {
  await load?.stop();
  for (const c of clients) c.close();
  for (const a of admins) a.close();
  if (reports.length > 0) {
    const dir = path.join(repoRoot, 'test-results');
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, 'soak-resilience.json'), JSON.stringify({ ordering: t.ordering, concurrency: CONCURRENCY, holdMs: HOLD_MS, reports }, null, 2));
    console.log(
      `faults under load (${t.ordering}, ${CONCURRENCY} SDK workers, each node held down ${seconds(HOLD_MS)} s):\n` +
        reports.map((r) => `  ${r.fault.padEnd(46)} attempted ${r.attempted}, committed ${r.committed}, failed ${r.failed}, lost ${r.lost}; recovered in ${r.recoveryS} s${r.failed ? ` (${Object.entries(r.failures).map(([k, n]) => `${k} ×${n}`).join(', ')})` : ''}`).join('\n'),
    );
  }
});

/** The org's peer's height (its newest block's number + 1). */
async function heightOf(admin: EmrConnection): Promise<number> {
  const info = common.BlockchainInfo.deserializeBinary(await admin.gateway.getNetwork(t.channel).getContract('qscc').evaluateTransaction('GetChainInfo', t.channel));
  return info.getHeight();
}

/** Every transaction id the org's peer holds VALID from block `fromBlock` on, read through its own Deliver service. */
async function validOn(admin: EmrConnection): Promise<Set<string>> {
  const height = await heightOf(admin);
  const valid = new Set<string>();
  if (height <= fromBlock) return valid;
  const blocks = await admin.gateway.getNetwork(t.channel).getBlockEvents({ startBlock: BigInt(fromBlock) });
  try {
    for await (const b of blocks) {
      const block = b as unknown as common.Block;
      for (const [txId, code] of txsOf(block)) if (code === peer.TxValidationCode.VALID) valid.add(txId);
      if (block.getHeader()!.getNumber() >= height - 1) break;
    }
  } finally {
    blocks.close();
  }
  return valid;
}

/** Committed operations some transaction of which is not VALID on some peer (waits up to `timeoutMs` for the peers to catch up first). */
async function missingOnPeers(ops: Op[], timeoutMs = 60_000): Promise<string[]> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const held = await Promise.all(admins.map((a) => validOn(a).catch(() => new Set<string>())));
    const missing = ops.flatMap((op) => op.txIds.flatMap((txId) => admins.filter((_, i) => !held[i]!.has(txId)).map((a) => `${op.kind} tx ${txId} is not VALID on ${a.org}'s peer`)));
    if (missing.length === 0 || Date.now() > deadline) return missing;
    await sleep(1000);
  }
}

/** Uploads whose content does not read back as uploaded (their patient reads each, four at a time). */
async function unreadable(ops: Op[]): Promise<string[]> {
  const problems: string[] = [];
  for (let i = 0; i < ops.length; i += 4) {
    await Promise.all(
      ops.slice(i, i + 4).map(async (op) => {
        const u = op.upload!;
        const read = await clients[u.patient]!.fetchRecord(u.recordId, undefined, { purpose: 'treatment' }).catch((e: Error) => e);
        if (read instanceof Error) problems.push(`${u.recordId}: ${read.name}: ${read.message.split('\n')[0]}`);
        else if (createHash('sha256').update(read.data!).digest('hex') !== u.sha256) problems.push(`${u.recordId}: content differs from what was uploaded`);
      }),
    );
  }
  return problems;
}

/** Index entries of the load's patients without their content pinned on their owner's node, and content the run pinned without an index entry. */
async function halfWritten(): Promise<string[]> {
  const records = (await Promise.all(clients.slice(0, 2).map((c) => c.index.allRecordsByPatient(c.ownPseudonym())))).flat();
  const pins = new Map(await Promise.all(t.members.map(async (m) => [m.name, await pinsOf(m.name)] as const)));
  const indexed = new Set(records.map((r) => r.cid));
  const problems = records.filter((r) => !pins.get(r.ownerMsp.replace(/MSP$/, ''))?.has(r.cid)).map((r) => `record ${r.recordId}: content ${r.cid} is not pinned on ${r.ownerMsp}'s node`);
  for (const [org, set] of pins) for (const cid of set) if (!pinsBefore.get(org)!.has(cid) && !indexed.has(cid)) problems.push(`${org}'s node pins ${cid}, which no index entry names`);
  return problems;
}

/** From `from`, when every kind of operation had succeeded once after its last failure (ms since `from`); undefined while one has not. */
function recoveredAfter(ops: Op[], from: number): number | undefined {
  let at = from;
  for (const kind of OP_KINDS) {
    const mine = ops.filter((o) => o.kind === kind && o.endedAt !== undefined);
    const lastFailure = Math.max(from, ...mine.filter((o) => !o.ok).map((o) => o.startedAt));
    const success = mine.filter((o) => o.ok && o.startedAt >= lastFailure).map((o) => o.endedAt!);
    if (success.length === 0) return undefined;
    at = Math.max(at, Math.min(...success));
  }
  return at - from;
}

describe.each(FAULTS.map((f) => [f.name, f] as const))('killed with SIGKILL under load: %s', (_, fault) => {
  it('loses nothing committed, leaves nothing half-written, names every failure, and recovers', async () => {
    const phaseStart = Date.now();
    load.start(CONCURRENCY);
    await sleep(BEFORE_MS);
    const nodes = await fault.nodes();
    const killedAt = Date.now();
    let killed: string[];
    if (nodes.length === 0) {
      killed = recordedDaemons().map((d) => d.name);
      for (const d of killed) await killDaemon(d);
      await sleep(HOLD_MS);
      await up(() => undefined);
    } else {
      killed = nodes.flatMap((n) => nodeDaemons(t, n));
      for (const d of [...killed].reverse()) await killDaemon(d);
      await sleep(HOLD_MS);
      for (const n of nodes) await startNode(n);
    }
    const deadline = Date.now() + RECOVERY_LIMIT_MS;
    let recovery: number | undefined;
    while ((recovery = recoveredAfter(load.ops, killedAt)) === undefined && Date.now() < deadline) await sleep(500);
    await sleep(AFTER_MS);
    // The checks look at a still ledger: operations in flight finish first (an upload whose
    // index write is unsettled asks the ledger for up to 30 s before it unpins).
    await load.stop();
    const phaseEnd = Date.now();

    const phase = load.ops.filter((o) => o.startedAt >= phaseStart && o.startedAt < phaseEnd && o.endedAt !== undefined);
    const committed = load.ops.filter((o) => o.ok);
    const lostTxs = await missingOnPeers(committed);
    const lostContent = await unreadable(nodes.length === 0 ? load.committedUploads() : phase.filter((o) => o.ok && o.upload));
    const half = await halfWritten();
    const failures: Record<string, number> = {};
    const samples: Record<string, string> = {};
    for (const o of phase.filter((x) => !x.ok)) {
      const key = `${o.kind}: ${o.error!.class}`;
      failures[key] = (failures[key] ?? 0) + 1;
      samples[key] ??= o.error!.message;
    }
    reports.push({
      fault: fault.name,
      killed,
      attempted: phase.length,
      committed: phase.filter((o) => o.ok).length,
      failed: phase.filter((o) => !o.ok).length,
      lost: lostTxs.length + lostContent.length,
      recoveryS: recovery === undefined ? NaN : seconds(recovery),
      failures,
      samples,
    });

    expect(recovery).toBeDefined();
    expect(phase.filter((o) => o.ok).length).toBeGreaterThan(0);
    expect(lostTxs).toEqual([]);
    expect(lostContent).toEqual([]);
    expect(load.integrityViolations).toEqual([]);
    expect(half).toEqual([]);
    expect(phase.filter((o) => !o.ok && !o.error!.named).map((o) => `${o.kind}: ${o.error!.class}: ${o.error!.message}`)).toEqual([]);
    // Nothing here tampers with content: a crash must never be reported as a failed integrity check.
    expect(phase.filter((o) => o.error?.class === 'IntegrityError').map((o) => `${o.kind}: ${o.error!.message}`)).toEqual([]);
  });
});
