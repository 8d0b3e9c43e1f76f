/** Brings the native network up and down, and reports on it. */
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import YAML from 'yaml';
import { ConsortiumSettingsClient, DirectoryClient, KeyCentreRegistry, ProxyRegistry, connectGateway, type ConnectionProfile } from '@emr/client';
import { caCertOf, enrollOrg, enrollUser, identitiesOf, startCa, tlsDirOf, waitForCa, walletEntryDir } from './ca';
import { chaincodeServiceName, deployChaincode } from './chaincode';
import { channelConfigDir, configtxObject, NODE_LOGGING_SPEC, ordererConfigDir, peerAdminEnv, peerConfigDir, writeAllNodeConfigs } from './node-env';
import { initKubo, kuboApi, kuboHealthy, kuboName, startKubo, waitForKubo } from './kubo';
import { binDir, kuboBin, repoRoot, state, stateDir } from './paths';
import { startRelays, RELAYS_NAME } from './wan/launch';
import { replicaName, startReplica, waitForReplicas, writeReplicaCluster } from './drkpbft-replicas';
import { killDaemon, logFile, portInUse, recordedDaemons, recordedNames, restartDaemon, run, startDaemon, stopAllDaemons, stopDaemon, waitFor } from './processes';
import { PROXIES_NAME, startDeliverProxies } from './deliver-proxy/launch';
import { checkSetting, DEFAULT_ORDERING, describeSetting, isBft, orderingFromEnv, satisfies, type Ordering, type OrderingRequest, type OrderingSetting } from './ordering';
import { recordSetting, runningSetting, runningTopology } from './run-state';
import { allPorts, DELIVER_PROXY_CONTROL_PORT, hostnameOf, RELAY_STATS_PORT, replicaPorts, topology, topologyFor, type MemberOrgSpec, type OrgSpec, type Topology, type UserSpec } from './topology';
import { DEFAULT_CIPHER_SUITE, HOME_ORG, OTHER_MEMBERS, ROLES, type Role } from '@emr/protocol';

const bin = (name: string) => path.join(binDir(), name);
const upMarker = () => path.join(stateDir, 'up.json');
const channelBlock = () => path.join(channelConfigDir(), `${topology.channel}.block`);

/** GET over TLS, trusting the org's CA; resolves with status code and body. */
function httpsGet(url: string, org: OrgSpec, clientTlsDir?: string): Promise<{ status: number; body: string }> {
  const client = clientTlsDir ? { cert: readFileSync(path.join(clientTlsDir, 'cert.pem')), key: readFileSync(path.join(clientTlsDir, 'key.pem')) } : {};
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: readFileSync(caCertOf(org)), timeout: 2000, ...client }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
  });
}

const healthy = async (port: number, org: OrgSpec) => (await httpsGet(`https://${topology.host}:${port}/healthz`, org)).status === 200;

/** Every node's operations endpoint, for waiting and for `status`. */
function healthEndpoints(t: Topology): { name: string; check: () => Promise<boolean> }[] {
  const oo = t.ordererOrg;
  return [
    ...[oo, ...t.members].map((org) => ({
      name: org.ca.name,
      check: async () => (await fetch(`http://${t.host}:${org.ca.operationsPort}/healthz`)).ok,
    })),
    ...oo.orderers.map((o) => ({ name: o.name, check: () => healthy(o.operationsPort, oo) })),
    ...(t.ordering === 'drkpbft' ? oo.orderers.map((o) => ({ name: replicaName(o), check: () => portInUse(replicaPorts(o).hostLinkPort) })) : []),
    ...(t.wan ? [{ name: RELAYS_NAME, check: () => portInUse(RELAY_STATS_PORT) }] : []),
    ...(t.deliverProxies ? [{ name: PROXIES_NAME, check: () => portInUse(DELIVER_PROXY_CONTROL_PORT) }] : []),
    ...t.members.map((m) => ({ name: hostnameOf(m.peer, m), check: () => healthy(m.peer.operationsPort, m) })),
    ...t.members.map((m) => ({ name: chaincodeServiceName(m), check: () => portInUse(m.chaincodePort) })),
    ...t.members.map((m) => ({ name: kuboName(m), check: () => kuboHealthy(m) })),
    ...t.members.map((m) => ({ name: `kgc-${m.name}`, check: async () => (await fetch(`${serviceUrl(m.kgcPort)}/v1/health`)).ok })),
    ...t.members.map((m) => ({ name: `proxy-${m.name}`, check: async () => (await fetch(`${serviceUrl(m.proxyPort)}/v1/health`)).ok })),
  ];
}

export interface OrdererConsensus {
  name: string;
  consenterId: number;
  /** Its /metrics answered. */
  reachable: boolean;
  clusterSize?: number;
  isLeader?: boolean;
  /** BFT modes: the consenter id of the leader this orderer follows (DRKPBFT: its replica's region primary). */
  leaderId?: number;
  committedBlock?: number;
  /** SmartBFT: the view it runs (consensus_smartbft_view_number). DRKPBFT: its replica's view; whether that replica holds a top-layer seat, and whether the chain is linked to it. */
  view?: number;
  seatHolder?: boolean;
  replicaLinked?: boolean;
}

export interface ConsensusView {
  /** Our setting; `consensusType` is what the channel config says (both BFT modes say BFT). */
  ordering: Ordering;
  consensusType: 'etcdraft' | 'BFT';
  orderers: OrdererConsensus[];
  /** The leader every orderer agrees on (etcdraft: the one orderer reporting itself leader). */
  leader?: string;
  /** Every orderer reports the channel's consensus with the whole cluster and that one leader. */
  ready: boolean;
}

/** Each mode's gauge prefix on the orderers' /metrics. */
const GAUGES: Record<Ordering, string> = { etcdraft: 'consensus_etcdraft_', bft: 'consensus_BFT_', drkpbft: 'consensus_drkpbft_' };

/**
 * Each orderer's own consensus gauges for the channel: Fabric's `consensus_etcdraft_*`
 * (cluster_size, is_leader, committed_block_number), `consensus_BFT_*` (the same and
 * leader_id; orderer/consensus/smartbft/metrics.go) or our chain's `consensus_drkpbft_*`
 * (the same, view, is_seat_holder, replica_linked; fabric-orderer/drkpbft/metrics.go).
 * /metrics needs an orderer-org client certificate: the admin's TLS pair.
 */
export async function consensusView(t: Topology): Promise<ConsensusView> {
  const oo = t.ordererOrg;
  const gauge = new RegExp(`^${GAUGES[t.ordering]}([a-z_]+)\\{channel="${t.channel}"\\} (\\S+)$`, 'gm');
  // The SmartBFT library's own gauge: the view a node runs. A restarted leader keeps its old view
  // (and leader id) until it hears of the new one, so agreement on the leader alone is not enough.
  const smartBftView = new RegExp(`^consensus_smartbft_view_number\\{channel="${t.channel}"\\} (\\S+)$`, 'm');
  const orderers = await Promise.all(
    oo.orderers.map(async (o): Promise<OrdererConsensus> => {
      const id = { name: o.name, consenterId: o.consenterId };
      const res = await httpsGet(`https://${t.host}:${o.operationsPort}/metrics`, oo, tlsDirOf(oo, 'admin')).catch(() => undefined);
      if (res?.status !== 200) return { ...id, reachable: false };
      const g = new Map([...res.body.matchAll(gauge)].map((m) => [m[1]!, Number(m[2])]));
      const bftView = t.ordering === 'bft' ? smartBftView.exec(res.body) : null;
      if (bftView) g.set('view', Number(bftView[1]));
      return {
        ...id,
        reachable: true,
        ...(g.has('cluster_size') ? { clusterSize: g.get('cluster_size')! } : {}),
        ...(g.has('is_leader') ? { isLeader: g.get('is_leader') === 1 } : {}),
        ...(g.has('leader_id') ? { leaderId: g.get('leader_id')! } : {}),
        ...(g.has('committed_block_number') ? { committedBlock: g.get('committed_block_number')! } : {}),
        ...(g.has('view') ? { view: g.get('view')! } : {}),
        ...(g.has('is_seat_holder') ? { seatHolder: g.get('is_seat_holder') === 1 } : {}),
        ...(g.has('replica_linked') ? { replicaLinked: g.get('replica_linked') === 1 } : {}),
      };
    }),
  );
  const whole =
    orderers.every((o) => o.clusterSize === oo.orderers.length && (t.ordering !== 'drkpbft' || o.replicaLinked === true)) &&
    (t.ordering !== 'bft' || new Set(orderers.map((o) => o.view)).size === 1);
  const claimants = orderers.filter((o) => o.isLeader);
  let leader: OrdererConsensus | undefined;
  if (isBft(t.ordering)) {
    const ids = new Set(orderers.map((o) => o.leaderId));
    const [id] = ids;
    leader = ids.size === 1 ? orderers.find((o) => o.consenterId === id) : undefined;
    if (leader && !leader.isLeader) leader = undefined;
  } else if (claimants.length === 1) leader = claimants[0];
  return {
    ordering: t.ordering,
    consensusType: isBft(t.ordering) ? 'BFT' : 'etcdraft',
    orderers,
    ...(leader ? { leader: leader.name } : {}),
    ready: whole && claimants.length === 1 && leader !== undefined,
  };
}

/**
 * The daemons that make up one orderer, in start order: under drkpbft its replica, then the
 * orderer. Throws, naming the orderers, for a name the topology does not have.
 */
export function ordererDaemons(t: Topology, name: string): string[] {
  const o = t.ordererOrg.orderers.find((x) => x.name === name);
  if (!o) throw new Error(`unknown orderer '${name}'; this network's orderers are ${t.ordererOrg.orderers.map((x) => x.name).join(', ')}`);
  return t.ordering === 'drkpbft' ? [replicaName(o), o.name] : [o.name];
}

/**
 * Crashes one orderer of the running network (fault tests): SIGKILL to its process, by its
 * recorded pid, and under drkpbft to its DRKPBFT replica as well (one node). Returns the
 * daemons killed.
 */
export async function killOrderer(name: string): Promise<string[]> {
  const daemons = ordererDaemons(runningTopology(), name);
  for (const d of [...daemons].reverse()) await killDaemon(d);
  return daemons;
}

/**
 * Restarts a killed orderer with the daemon specs it was first started with (and its replica
 * first, under drkpbft), on its ledger and state as the crash left them; waits until its
 * operations endpoint is healthy. Catching up is the orderer's business: see the fault tests.
 */
export async function restartOrderer(name: string): Promise<void> {
  const daemons = ordererDaemons(runningTopology(), name);
  const alive = recordedDaemons().filter((d) => daemons.includes(d.name) && d.alive);
  if (alive.length > 0) throw new Error(`${alive.map((d) => `${d.name} (pid ${d.pid})`).join(', ')} still running: kill ${name} before restarting it`);
  await startNode(name);
}

/**
 * The daemons one node name stands for, in start order: a daemon's own name, or that name
 * without its domain (`peer0.hospitala` for `peer0.hospitala.emr`); an orderer under
 * drkpbft is its replica and itself.
 */
export function nodeDaemons(t: Topology, name: string): string[] {
  const all = startOrder(t);
  const match = all.includes(name) ? [name] : all.filter((d) => d.startsWith(`${name}.`));
  if (match.length !== 1) {
    throw new Error(`${match.length ? `'${name}' could be any of ${match.join(', ')}` : `no node named '${name}'`}; this network's nodes are ${all.join(', ')}`);
  }
  const orderer = t.ordererOrg.orderers.find((o) => o.name === match[0]);
  return orderer ? ordererDaemons(t, orderer.name) : match;
}

/** Stops one node (SIGTERM, then SIGKILL after 10 s); it stays stopped, keeping its data, until `startNode`. Returns the daemons stopped. */
export async function stopNode(name: string): Promise<string[]> {
  const daemons = nodeDaemons(runningTopology(), name);
  for (const d of [...daemons].reverse()) await stopDaemon(d, 10_000);
  return daemons;
}

/** Starts a stopped node again on its data, as it was first started, and waits until it is healthy (a peer: until every gateway can endorse again). A no-op for parts that run. */
export const startNode = (name: string): Promise<string[]> => startNodes([name]);

/**
 * As startNode, for several nodes at once, in start order: the nodes first (a peer needs its
 * chaincode service before it can endorse), then, once every gateway can endorse again, the
 * key centres and proxies, which talk to the chain as they start. `nodesUp` runs once the
 * nodes are healthy, before the endorsers are waited for. Returns the daemons started.
 */
export async function startNodes(names: string[], opts: { timeoutMs?: number; nodesUp?: () => Promise<void> } = {}): Promise<string[]> {
  const { timeoutMs = 60_000, nodesUp } = opts;
  const t = runningTopology();
  const running = new Set(recordedDaemons().filter((d) => d.alive).map((d) => d.name));
  const wanted = [...new Set(names.flatMap((n) => nodeDaemons(t, n)))];
  const isService = (d: string) => d.startsWith('kgc-') || d.startsWith('proxy-');
  const started: string[] = [];
  const stage = async (daemons: string[]) => {
    for (const d of daemons.filter((x) => !running.has(x))) {
      await restartDaemon(d);
      started.push(d);
      // Under drkpbft an orderer's chain links to its replica at start: the replica must listen first.
      if (d.endsWith('-drkpbft')) await waitHealthy(t, [d], timeoutMs);
    }
    await waitHealthy(t, daemons, timeoutMs);
  };
  const nodes = wanted.filter((d) => !isService(d));
  await stage(nodes);
  await nodesUp?.();
  // A restarted peer serves at once, but gateways endorse through it only once gossip has
  // spread its membership again.
  if (t.members.some((m) => started.includes(hostnameOf(m.peer, m)))) await waitForEndorsers(t);
  await stage(wanted.filter(isService));
  return started;
}

/** Every daemon of a network with this topology, in the order `up` starts them. */
export function startOrder(t: Topology): string[] {
  const oo = t.ordererOrg;
  return [
    ...[oo, ...t.members].map((org) => org.ca.name),
    ...t.members.map(kuboName),
    ...(t.wan ? [RELAYS_NAME] : []),
    ...(t.ordering === 'drkpbft' ? oo.orderers.map(replicaName) : []),
    ...oo.orderers.map((o) => o.name),
    ...(t.deliverProxies ? [PROXIES_NAME] : []),
    ...t.members.map((m) => hostnameOf(m.peer, m)),
    ...t.members.map(chaincodeServiceName),
    ...t.members.map((m) => `kgc-${m.name}`),
    ...t.members.map((m) => `proxy-${m.name}`),
  ];
}

/** Logs each finished step with the seconds it took, and keeps them for the result. */
function stepTimer(log: (line: string) => void): { steps: UpResult['steps']; step: (name: string) => void } {
  const steps: UpResult['steps'] = [];
  let last = Date.now();
  const step = (name: string) => {
    const now = Date.now();
    steps.push({ step: name, seconds: (now - last) / 1000 });
    log(`  ✓ ${name} (${((now - last) / 1000).toFixed(1)} s)`);
    last = now;
  };
  return { steps, step };
}

/** Every port of the topology is free; a port a killed process is still letting go of gets a few seconds. */
async function requireFreePorts(t: Topology, graceMs = 10_000): Promise<void> {
  const deadline = Date.now() + graceMs;
  for (;;) {
    const busy = [];
    for (const p of allPorts(t)) if (await portInUse(p.port)) busy.push(`${p.port} (${p.owner})`);
    if (busy.length === 0) return;
    if (Date.now() > deadline) throw new Error(`ports already in use on ${topology.host}: ${busy.join(', ')}; stop whatever holds them`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/** Waits until each named daemon's health check passes; on timeout the error quotes its log. */
async function waitHealthy(t: Topology, names: string[], timeoutMs: number): Promise<void> {
  const checks = new Map(healthEndpoints(t).map((h) => [h.name, h.check]));
  await Promise.all(names.map((n) => waitFor(`${n} to be healthy`, checks.get(n)!, timeoutMs, logFile(n))));
}

export interface UpResult {
  alreadyUp: boolean;
  /** Set when an existing network was resumed: the daemons started again. */
  resumed?: string[];
  seconds: number;
  steps: { step: string; seconds: number }[];
}

/** What keeps the network from being up: nothing when every process we started runs, every node is healthy and the chaincode was committed. */
export async function whyNotUp(): Promise<string[]> {
  if (!existsSync(upMarker())) return ['it was not started, or its start did not finish'];
  const daemons = recordedDaemons();
  if (daemons.length === 0) return ['no process is recorded'];
  const dead = daemons.filter((d) => !d.alive).map((d) => `${d.name} is not running`);
  if (dead.length > 0) return dead;
  const endpoints = healthEndpoints(runningTopology());
  const checks = await Promise.all(endpoints.map((h) => h.check().catch(() => false)));
  return endpoints.filter((_, i) => !checks[i]).map((h) => `${h.name} is not healthy`);
}

export const isUp = async (): Promise<boolean> => (await whyNotUp()).length === 0;

/**
 * Starts the network with the requested ordering (EMR_ORDERING / EMR_ORDERERS unless told
 * otherwise; parts left open take the defaults, or, when nothing is asked, what ran last).
 * A no-op when a healthy network already runs a setting that satisfies the request. A
 * network that was started before resumes on its data (`resume`), whatever stopped it;
 * only a first start that never finished, which holds nothing a user stored, starts afresh.
 */
export async function up(log: (line: string) => void = console.log, request: OrderingRequest = orderingFromEnv()): Promise<UpResult> {
  const t0 = Date.now();
  const previous = runningSetting();
  const setting = checkSetting({ ...(Object.keys(request).length === 0 && previous ? previous : DEFAULT_ORDERING), ...request });
  if (existsSync(upMarker())) {
    const made = previous ? describeSetting(previous) : 'an unrecorded ordering';
    if (!previous || !satisfies(previous, request)) {
      throw new Error(`this network's state was made for ${made}, not ${describeSetting(setting)}; keep it with \`up\` (no options), or delete it with \`reset --yes\` and start again`);
    }
    if (await isUp()) {
      log(`network is already up (${made}; nothing to do)`);
      return { alreadyUp: true, seconds: 0, steps: [] };
    }
    return resume(runningTopology(), log, t0);
  }
  if (existsSync(stateDir)) {
    log('a previous start did not finish (nothing was stored in it): starting afresh');
    await reset(() => undefined);
  }
  const t = topologyFor(setting);
  const ordererBin = bin('orderer');
  for (const file of [ordererBin, ...['peer', 'configtxgen', 'osnadmin', 'fabric-ca-server', 'fabric-ca-client'].map(bin), kuboBin()]) {
    if (!existsSync(file)) throw new Error(`missing binary ${file}: run 'npm run install:binaries' first`);
  }
  await requireFreePorts(t);

  const { steps, step } = stepTimer(log);
  mkdirSync(stateDir, { recursive: true });
  recordSetting(setting);
  log(`ordering service: ${describeSetting(setting)}`);
  const orgs = [t.ordererOrg, ...t.members];

  for (const org of orgs) startCa(org);
  const [, peerIds] = await Promise.all([Promise.all(orgs.map((org) => waitForCa(org))), initKubo()]);
  step(`${orgs.length} Fabric CAs started; ${topology.members.length} IPFS repositories made (private swarm key)`);
  for (const m of topology.members) startKubo(m);

  await Promise.all(identitiesOf(t).map(enrollOrg));
  step('identities registered and enrolled through the CAs');

  writeAllNodeConfigs(t);
  mkdirSync(channelConfigDir(), { recursive: true });
  writeFileSync(path.join(channelConfigDir(), 'configtx.yaml'), YAML.stringify(configtxObject(t)));
  await run(bin('configtxgen'), ['-configPath', channelConfigDir(), '-profile', 'EmrChannel', '-channelID', topology.channel, '-outputBlock', channelBlock()]);
  step(`genesis block of channel '${topology.channel}' created`);

  const oo = t.ordererOrg;
  if (t.wan) {
    await startRelays(t);
    step(`relays between the orderers, in 3 emulated WAN zones`);
  }
  if (t.ordering === 'drkpbft') {
    // Each orderer's chain links to its own replica: replicas first.
    writeReplicaCluster(t);
    oo.orderers.forEach(startReplica);
    await waitForReplicas(t);
    step(`${oo.orderers.length} DRKPBFT replicas listening for their orderers`);
  }
  for (const o of oo.orderers) startDaemon({ name: o.name, command: ordererBin, args: [], env: { ...process.env, FABRIC_CFG_PATH: ordererConfigDir(o), FABRIC_LOGGING_SPEC: NODE_LOGGING_SPEC } });
  if (t.deliverProxies) {
    // The peers dial the orderers through them from their first deliver on.
    await startDeliverProxies(t);
    step(`${oo.orderers.length} deliver proxies in front of the orderers for the peers`);
  }
  for (const m of topology.members) {
    startDaemon({ name: hostnameOf(m.peer, m), command: bin('peer'), args: ['node', 'start'], env: { ...process.env, FABRIC_CFG_PATH: peerConfigDir(m), FABRIC_LOGGING_SPEC: NODE_LOGGING_SPEC } });
  }
  await Promise.all([
    ...oo.orderers.map((o) => waitFor(`${o.name} health`, () => healthy(o.operationsPort, oo), 30000, logFile(o.name))),
    ...topology.members.map((m) => waitFor(`${hostnameOf(m.peer, m)} health`, () => healthy(m.peer.operationsPort, m), 30000, logFile(hostnameOf(m.peer, m)))),
  ]);
  await Promise.all(topology.members.map((m) => waitForKubo(m, peerIds)));
  step(`${oo.orderers.length} orderers and ${topology.members.length} peers healthy; ${topology.members.length} IPFS nodes joined the private swarm`);

  const adminTls = tlsDirOf(oo, 'admin');
  await Promise.all(
    oo.orderers.map((o) =>
      run(bin('osnadmin'), [
        'channel', 'join', '--channelID', topology.channel, '--config-block', channelBlock(),
        '-o', `${topology.host}:${o.adminPort}`, '--ca-file', caCertOf(oo),
        '--client-cert', path.join(adminTls, 'cert.pem'), '--client-key', path.join(adminTls, 'key.pem'),
      ]),
    ),
  );
  await waitFor(`every orderer to report the ${t.ordering} consensus of the channel up, with one agreed leader`, async () => (await consensusView(t)).ready, 30000, logFile(oo.orderers[0]!.name));
  await Promise.all(topology.members.map((m) => run(bin('peer'), ['channel', 'join', '-b', channelBlock()], peerAdminEnv(m))));
  step(`channel joined by ${oo.orderers.length} orderers (osnadmin) and ${topology.members.length} peers`);

  await deployChaincode();
  step(`chaincode '${topology.chaincode.name}' installed, approved by ${topology.members.length} orgs and committed`);

  writeFileSync(state.profile, JSON.stringify(connectionProfile(), null, 2));
  await Promise.all(topology.members.map((m) => waitForEndorsementPlan(m.name)));
  step('every gateway can gather endorsements (gossip and discovery converged)');

  const [, listed] = await Promise.all([startServices(), registerDirectory(), adoptConsortiumSettings()]);
  step(`${topology.members.length} key centres ran the DKG and published the master public key; ${topology.members.length} proxies registered and staked; ${listed} staff identities listed in the directory; the consortium's first settings adopted`);
  const seconds = (Date.now() - t0) / 1000;
  writeFileSync(upMarker(), JSON.stringify({ startedAt: new Date().toISOString(), seconds, steps }, null, 2));
  log(`network up in ${seconds.toFixed(1)} s`);
  return { alreadyUp: false, seconds, steps };
}

/** Waits until every member's gateway can gather endorsements again (after a peer restarted). */
export async function waitForEndorsers(t: Topology = runningTopology()): Promise<void> {
  await Promise.all(t.members.map((m) => waitForEndorsementPlan(m.name)));
}

/**
 * Waits until the org's gateway finds peers satisfying the chaincode's endorsement policy:
 * discovery needs gossip to have spread membership and installed chaincodes across orgs.
 * Endorses (never submits) the read-only WhoAmI transaction.
 */
async function waitForEndorsementPlan(org: string): Promise<void> {
  const connection = connectGateway({ org, user: 'admin', profile: connectionProfile() });
  try {
    await waitFor(`${org}'s gateway to find endorsers in every org`, async () => {
      await connection.contract.newProposal('emr:WhoAmI').endorse();
      return true;
    }, 60000);
  } finally {
    connection.close();
  }
}

const serviceUrl = (port: number) => `http://${topology.host}:${port}`;
const serviceMain = () => path.join(repoRoot, 'client', 'dist', 'services', 'main.js');

/** Starts (or, after a stop, restarts from its persisted state) one org's key centre or proxy. */
function startService(kind: 'kgc' | 'proxy', m: MemberOrgSpec): void {
  const env = { ...process.env, EMR_NETWORK_DIR: stateDir };
  const args = [serviceMain(), kind, '--org', m.name, '--state', path.join(state.services, `${kind}-${m.name}`), ...(kind === 'kgc' ? ['--threshold', String(topology.kgcThreshold)] : [])];
  startDaemon({ name: `${kind}-${m.name}`, command: process.execPath, args, env });
}

/**
 * The key centres (they run the DKG among themselves and register the outcome), then the
 * proxies (they fetch their identity keys and register); each org's admin stakes the proxies.
 */
async function startServices(): Promise<void> {
  for (const m of topology.members) startService('kgc', m);
  const admin = (org: string) => connectGateway({ org, user: 'admin', profile: connectionProfile() });
  const first = admin(topology.members[0]!.name);
  try {
    await waitFor('the key centres to publish agreeing parameters', async () => {
      const centres = await new KeyCentreRegistry(first).list();
      return centres.length === topology.members.length && new Set(centres.map((c) => c.mpk)).size === 1;
    }, 120000, logFile(`kgc-${topology.members[0]!.name}`));
    for (const m of topology.members) startService('proxy', m);
    await waitFor('every proxy to register on chain', async () => (await new ProxyRegistry(first).list()).length >= topology.members.length, 60000, logFile(`proxy-${topology.members[0]!.name}`));
    await Promise.all(topology.members.map((m) => waitFor(`proxy-${m.name} health`, async () => (await fetch(`${serviceUrl(m.proxyPort)}/v1/health`)).ok, 30000, logFile(`proxy-${m.name}`))));
  } finally {
    first.close();
  }
  // Every org's admin stakes every member's proxy (30 of its budget of 100 each).
  for (const voter of topology.members) {
    const c = admin(voter.name);
    try {
      for (const m of topology.members) await new ProxyRegistry(c).voteStake({ mspId: m.mspId, enrollmentId: 'proxy' }, 30);
    } finally {
      c.close();
    }
  }
}

/** Roles listed in the on-chain directory (consents can name them); patients never are. */
const listed = (role: Role) => role === 'doctor' || role === 'researcher' || role === 'admin';

/** Each enrolled doctor, researcher and admin registers himself in the directory, with his own key. */
async function registerDirectory(): Promise<number> {
  const staff = topology.members.flatMap((m) => m.users.filter((u) => listed(u.role)).map((u) => ({ org: m.name, user: u.id })));
  await Promise.all(staff.map(({ org, user }) => registerIdentity(org, user, connectionProfile())));
  return staff.length;
}

/**
 * The consortium's first settings (`emr consortium show`): every member org, AES-256-GCM as
 * the default suite, any department path as a category, three areas (the patient's own
 * hospital's doctors, other hospitals' doctors, researchers) and one default: the own
 * hospital's doctors for treatment. The first admin proposes, every other admin approves, as the first
 * settings need (docs/chaincode.md); a change later is `emr consortium propose`.
 */
async function adoptConsortiumSettings(): Promise<void> {
  const asAdmin = async <T>(org: string, work: (s: ConsortiumSettingsClient) => Promise<T>): Promise<T> => {
    const c = connectGateway({ org, user: 'admin', profile: connectionProfile() });
    try {
      return await work(new ConsortiumSettingsClient(c));
    } finally {
      c.close();
    }
  };
  const [first, ...others] = topology.members;
  const researchOrgs = topology.members.filter((m) => m.users.some((u) => u.role === 'researcher')).map((m) => m.mspId);
  const settings = {
    members: topology.members.map((m) => m.mspId),
    defaultCipherSuite: DEFAULT_CIPHER_SUITE,
    categories: [],
    areas: [
      { name: 'own-hospital', members: [{ org: HOME_ORG, roles: ['doctor' as const] }] },
      { name: 'other-hospitals', members: [{ org: OTHER_MEMBERS, roles: ['doctor' as const] }] },
      { name: 'research', members: researchOrgs.map((org) => ({ org, roles: ['researcher' as const] })) },
    ],
    // Seed 004's example: the patient's own hospital treats him; everything else needs his consent (or his own rule).
    areaDefaults: [{ area: 'own-hospital', purposes: ['treatment' as const] }],
  };
  await asAdmin(first!.name, (s) => s.propose(FIRST_SETTINGS, settings));
  for (const m of others) await asAdmin(m.name, (s) => s.approve(FIRST_SETTINGS));
}
const FIRST_SETTINGS = 'consortium-v1';

async function registerIdentity(org: string, user: string, profile: ConnectionProfile): Promise<void> {
  const c = connectGateway({ org, user, profile });
  try {
    await new DirectoryClient(c).registerIdentity();
  } finally {
    c.close();
  }
}

/**
 * Onboards a new user of a member org on the running network: registered and enrolled at
 * the org's Fabric CA, put in the SDK wallet and the connection profile, and (staff only)
 * listed in the on-chain directory. A patient then registers his pseudonym himself. A kgc
 * identity runs a further key centre (a new DKG, or a test's).
 */
export async function enroll(orgName: string, id: string, roleName: string): Promise<{ org: string; user: string; role: Role; mspId: string; listed: boolean }> {
  const org = topology.members.find((m) => m.name === orgName);
  if (!org) throw new Error(`--org: unknown org '${orgName}'; the members are ${topology.members.map((m) => m.name).join(', ')}`);
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/.test(id)) throw new Error(`--user: '${id}' must be 1-64 characters of A-Z a-z 0-9 . _ - starting with a letter or digit`);
  const enrollable = ROLES.filter((r) => r === 'patient' || r === 'kgc' || listed(r));
  const role = enrollable.find((r) => r === roleName);
  if (!role) throw new Error(`--role: must be one of ${enrollable.join(', ')}`);
  const why = existsSync(state.profile) ? await whyNotUp() : ['it has no connection profile'];
  if (why.length > 0) throw new Error(`the network is not up (${why.join('; ')}): run \`network up\` first`);
  const profile = JSON.parse(readFileSync(state.profile, 'utf8')) as ConnectionProfile;
  const users = profile.orgs[org.name]!.users;
  if (users[id]) throw new Error(`--user: '${id}' is already enrolled at ${org.name} (as ${users[id]!.role})`);
  const user: UserSpec = { id, type: role === 'admin' ? 'admin' : 'client', role };
  await enrollUser(org, user);
  users[id] = { role, dir: walletEntryDir(org, id) };
  // Written aside and renamed: a crash mid-write never leaves a torn profile.
  writeFileSync(`${state.profile}.tmp`, JSON.stringify(profile, null, 2));
  renameSync(`${state.profile}.tmp`, state.profile);
  if (listed(role)) await registerIdentity(org.name, id, profile);
  return { org: org.name, user: id, role, mspId: org.mspId, listed: listed(role) };
}

/** What the SDK needs to connect as any enrolled identity. */
export function connectionProfile(): ConnectionProfile {
  return {
    channel: topology.channel,
    chaincode: topology.chaincode.name,
    orgs: Object.fromEntries(
      topology.members.map((m) => [
        m.name,
        {
          mspId: m.mspId,
          peerEndpoint: `${topology.host}:${m.peer.port}`,
          peerHostAlias: hostnameOf(m.peer, m),
          tlsRootCertPath: caCertOf(m),
          caCertPath: caCertOf(m),
          ipfsApi: kuboApi(m),
          proxyEndpoint: serviceUrl(m.proxyPort),
          kgcEndpoint: serviceUrl(m.kgcPort),
          users: Object.fromEntries(m.users.map((u) => [u.id, { role: u.role, dir: walletEntryDir(m, u.id) }])),
        },
      ]),
    ),
  };
}

/**
 * Stops every process we started (by pid) and checks their ports are free. Every ledger,
 * IPFS repository, key share and identity stays: `up` resumes the network on them.
 */
export async function down(log: (line: string) => void = console.log): Promise<{ stopped: string[]; seconds: number }> {
  const t0 = Date.now();
  const ports = allPorts(runningTopology());
  const stopped = await stopAllDaemons();
  if (stopped.length === 0) {
    const held: number[] = [];
    for (const p of ports) if (await portInUse(p.port)) held.push(p.port);
    if (held.length > 0) {
      throw new Error(`nothing of the network in ${stateDir} was running, yet ports ${held.slice(0, 5).join(', ')}${held.length > 5 ? ', …' : ''} are taken: by a network of another directory (the tests' is network/.test-run: set EMR_NETWORK_DIR to it) or by other processes`);
    }
  }
  await waitFor('all network ports to be released', async () => {
    for (const p of ports) if (await portInUse(p.port)) return false;
    return true;
  }, 15000);
  const seconds = (Date.now() - t0) / 1000;
  const kept = existsSync(stateDir) ? `; its state stays in ${stateDir} (\`up\` resumes it, \`reset --yes\` deletes it)` : '';
  log(`${stopped.length ? `stopped ${stopped.length} processes (${stopped.join(', ')}) in ${seconds.toFixed(1)} s` : 'nothing was running'}${kept}`);
  return { stopped, seconds };
}

/** What `reset` deletes, in words an operator can check before saying yes. */
export function resetScope(): string[] {
  if (!existsSync(stateDir)) return [];
  const t = runningTopology();
  const n = t.members.length;
  return [
    `the ledgers of ${t.ordererOrg.orderers.length} orderers${t.ordering === 'drkpbft' ? ' and their DRKPBFT replicas' : ''} and ${n} peers: every record index, consent, grant and access-log entry`,
    `${n} IPFS repositories: the encrypted content of every stored record`,
    `${n} key centres' DKG shares: no identity key can be extracted for this network again`,
    `${n} proxies' re-encryption key shares and event checkpoints`,
    `${t.members.length + 1} Fabric CAs' databases and every enrolled identity in the wallet`,
    `the logs, in ${stateDir}`,
  ];
}

/** Stops the network and deletes all its state (`resetScope` says what that is). Never implied by another command. */
export async function reset(log: (line: string) => void = console.log): Promise<{ stopped: string[]; deleted: string[] }> {
  const deleted = resetScope();
  const { stopped } = await down(() => undefined);
  rmSync(stateDir, { recursive: true, force: true });
  log(deleted.length ? `deleted:\n${deleted.map((d) => `  - ${d}`).join('\n')}` : `nothing to delete (no state in ${stateDir})`);
  return { stopped, deleted };
}

/**
 * Brings a network that was started before back on its data, after `down`, a crash of any
 * of its processes, a SIGKILL of all of them or a reboot: every node that does not run is
 * started again as it was first started, in the order `up` starts them, and waited for.
 * Nothing is made anew: no enrolment, channel, chaincode install or DKG.
 */
async function resume(t: Topology, log: (line: string) => void, t0: number): Promise<UpResult> {
  const order = startOrder(t);
  const recorded = new Set(recordedNames());
  const missing = order.filter((n) => !recorded.has(n));
  if (missing.length > 0) throw new Error(`the network's state has no start record for ${missing.join(', ')} (${state.pids}): it cannot be resumed as it was made`);
  const { steps, step } = stepTimer(log);
  if (!recordedDaemons().some((d) => d.alive)) await requireFreePorts(t);
  log(`resuming the network (${describeSetting(runningSetting()!)}) on its state in ${stateDir}`);
  const restarted = await startNodes(order, {
    timeoutMs: 120_000,
    nodesUp: async () => {
      await waitFor(`every orderer to report the ${t.ordering} consensus of the channel up, with one agreed leader`, async () => (await consensusView(t)).ready, 120_000, logFile(t.ordererOrg.orderers[0]!.name));
      step('CAs, IPFS nodes, orderers, peers and chaincode services running; the ordering service agrees on a leader');
    },
  });
  step('every gateway can gather endorsements; key centres and proxies running on their persisted shares');
  const seconds = (Date.now() - t0) / 1000;
  log(`network resumed in ${seconds.toFixed(1)} s (${restarted.length ? `started again: ${restarted.join(', ')}` : 'everything was running'})`);
  return { alreadyUp: false, resumed: restarted, seconds, steps };
}

export interface StatusLine {
  name: string;
  pid?: number;
  process: 'running' | 'stopped' | 'not started';
  healthy: boolean;
}

export interface NetworkStatus {
  up: boolean;
  /** The recorded setting and what the orderers report; absent when no network state exists. */
  consensus?: ConsensusView & { setting: OrderingSetting };
  lines: StatusLine[];
}

export async function status(): Promise<NetworkStatus> {
  const daemons = new Map(recordedDaemons().map((d) => [d.name, d]));
  const known = new Set(recordedNames());
  const setting = runningSetting();
  const t = runningTopology();
  const consensus = setting ? { setting, ...(await consensusView(t)) } : undefined;
  const lines: StatusLine[] = await Promise.all(
    healthEndpoints(t).map(async (h) => {
      const d = daemons.get(h.name);
      return {
        name: h.name,
        ...(d?.alive ? { pid: d.nodePid ?? d.pid } : {}),
        process: d?.alive ? 'running' : known.has(h.name) ? 'stopped' : 'not started',
        healthy: await h.check().catch(() => false),
      } as StatusLine;
    }),
  );
  return { up: await isUp(), ...(consensus ? { consensus } : {}), lines };
}
