/**
 * The network, described once. Everything that starts, configures, documents or
 * connects to the network (native launcher, docker-compose.yaml, SDK connection
 * profile, tests) reads this file. Every port binds 127.0.0.1.
 */
import type { Role } from '@emr/protocol';
import { DEFAULT_ORDERING, type Ordering, type OrderingSetting } from './ordering';

/** Fabric CA identity types; with NodeOUs they become the certificate's OU. */
export type IdentityType = 'admin' | 'client' | 'peer' | 'orderer';

export interface UserSpec {
  /** The wallet entry name; also the enrollment id at the org's CA unless `enrollmentId` says otherwise. */
  id: string;
  /** The enrollment id at the CA when it is not the wallet name (a patient's is opaque: ca.ts enrollUser). */
  enrollmentId?: string;
  type: IdentityType;
  /** Value of the `role` attribute in the enrollment certificate. */
  role: Role;
}

export interface CaSpec {
  name: string;
  port: number;
  operationsPort: number;
}

export interface OrdererSpec {
  name: string;
  /** The BFT consenter id (1-based position); also in the name. */
  consenterId: number;
  /** Client and cluster (consensus) traffic share this port. */
  port: number;
  adminPort: number;
  operationsPort: number;
}

export interface PeerSpec {
  name: string;
  port: number;
  chaincodeListenPort: number;
  operationsPort: number;
}

export interface OrgSpec {
  name: string;
  mspId: string;
  /** DNS suffix used in certificate SANs and docker-compose service names. */
  domain: string;
  ca: CaSpec;
}

export interface OrdererOrgSpec extends OrgSpec {
  orderers: OrdererSpec[];
}

export interface MemberOrgSpec extends OrgSpec {
  peer: PeerSpec;
  /** Port of this org's chaincode-as-a-service process. */
  chaincodePort: number;
  /** The org's Kubo node: RPC API, libp2p swarm (TCP only, private network) and HTTP gateway. */
  ipfs: { apiPort: number; swarmPort: number; gatewayPort: number };
  /** The org's re-encryption proxy service (HTTP). */
  proxyPort: number;
  /** The org's key generation centre service (HTTP); its DKG index is the org's position. */
  kgcPort: number;
  users: UserSpec[];
}

export interface Topology {
  host: '127.0.0.1';
  channel: string;
  /** The channel's ordering service; `ordererOrg.orderers` are its consenters. */
  ordering: Ordering;
  /** Orderers dial each other through the WAN relays (relayPorts); see OrderingSetting.wan. */
  wan: boolean;
  /** Peers reach the orderers through the deliver proxies (deliverProxyPort); see OrderingSetting.deliverProxies. */
  deliverProxies: boolean;
  chaincode: { name: string; version: string; sequence: number };
  /** BatchTimeout (SmartBFT: RequestBatchMaxInterval); short so tests and lifecycle steps do not idle. */
  batchTimeout: string;
  /** Key generation centres needed to extract a key (t of the n member orgs). */
  kgcThreshold: number;
  /** Proxies elected per grant, and how many of them must answer (t of n). */
  grantProxies: { n: number; threshold: number };
  ordererOrg: OrdererOrgSpec;
  members: MemberOrgSpec[];
}

const staff = (extra: UserSpec[]): UserSpec[] => [
  { id: 'admin', type: 'admin', role: 'admin' },
  { id: 'proxy', type: 'client', role: 'proxy' },
  { id: 'kgc', type: 'client', role: 'kgc' },
  ...extra,
];

/**
 * Orderer k (from 1): client port 7050 + 100(k - 1) for the first three, then one row
 * further up (the 73xx row holds the proxies, key centres and ca-research), so orderer4
 * is 7450 … orderer10 8050; admin port + 3; operations 8443 + 100(k - 1) (up to 9343).
 */
export function ordererSpecs(n: number): OrdererSpec[] {
  return Array.from({ length: n }, (_, i) => {
    const k = i + 1;
    const port = 7050 + 100 * (k <= 3 ? k - 1 : k);
    return { name: `orderer${k}`, consenterId: k, port, adminPort: port + 3, operationsPort: 8443 + 100 * (k - 1) };
  });
}

/** The DRKPBFT replica beside orderer k (--ordering drkpbft): 11050 + 100 (k − 1) for its peers, + 1 for load clients, + 2 for its orderer's chain. */
export function replicaPorts(o: OrdererSpec): { port: number; clientPort: number; hostLinkPort: number } {
  const base = 11050 + 100 * (o.consenterId - 1);
  return { port: base, clientPort: base + 1, hostLinkPort: base + 2 };
}

/**
 * With `wan`: the relay ports in front of orderer k (12050 + 100 (k − 1)) and, under drkpbft,
 * in front of its replica (+ 1); the other orderers dial these. The relays' stats: 12000.
 */
export function relayPorts(o: OrdererSpec): { orderer: number; replica: number } {
  const base = 12050 + 100 * (o.consenterId - 1);
  return { orderer: base, replica: base + 1 };
}
export const RELAY_STATS_PORT = 12000;

/**
 * With `deliverProxies`: the port of the deliver proxy in front of orderer k's client port,
 * 12500 + 100 (k − 1), which the peers dial instead of the orderer (fault tests,
 * network/src/deliver-proxy/). The proxies' control port (modes): 12490.
 */
export const deliverProxyPort = (o: OrdererSpec): number => 12500 + 100 * (o.consenterId - 1);
export const DELIVER_PROXY_CONTROL_PORT = 12490;

/** The network with the default ordering setting (docker-compose.yaml, docs); a running network's is `runningTopology()`. */
export const topology: Topology = {
  host: '127.0.0.1',
  channel: 'emr',
  ordering: DEFAULT_ORDERING.ordering,
  wan: DEFAULT_ORDERING.wan,
  deliverProxies: DEFAULT_ORDERING.deliverProxies,
  chaincode: { name: 'emr', version: '1.0', sequence: 1 },
  batchTimeout: '250ms',
  kgcThreshold: 2,
  grantProxies: { n: 3, threshold: 2 },
  ordererOrg: {
    name: 'OrdererOrg',
    mspId: 'OrdererMSP',
    domain: 'orderer.emr',
    ca: { name: 'ca-orderer', port: 7054, operationsPort: 17054 },
    orderers: ordererSpecs(DEFAULT_ORDERING.orderers),
  },
  members: [
    {
      name: 'HospitalA',
      mspId: 'HospitalAMSP',
      domain: 'hospitala.emr',
      ca: { name: 'ca-hospitala', port: 7154, operationsPort: 17154 },
      peer: { name: 'peer0', port: 7051, chaincodeListenPort: 7052, operationsPort: 9443 },
      chaincodePort: 7999,
      ipfs: { apiPort: 5001, swarmPort: 4001, gatewayPort: 8080 },
      proxyPort: 7350,
      kgcPort: 7360,
      users: staff([
        { id: 'doctor1', type: 'client', role: 'doctor' },
        { id: 'doctor2', type: 'client', role: 'doctor' },
        { id: 'patient1', type: 'client', role: 'patient' },
      ]),
    },
    {
      name: 'HospitalB',
      mspId: 'HospitalBMSP',
      domain: 'hospitalb.emr',
      ca: { name: 'ca-hospitalb', port: 7254, operationsPort: 17254 },
      peer: { name: 'peer0', port: 8051, chaincodeListenPort: 8052, operationsPort: 9543 },
      chaincodePort: 8999,
      ipfs: { apiPort: 5101, swarmPort: 4101, gatewayPort: 8180 },
      proxyPort: 7351,
      kgcPort: 7361,
      users: staff([
        { id: 'doctor1', type: 'client', role: 'doctor' },
        { id: 'specialist1', type: 'client', role: 'doctor' },
        { id: 'patient1', type: 'client', role: 'patient' },
      ]),
    },
    {
      name: 'ResearchInstitute',
      mspId: 'ResearchInstituteMSP',
      domain: 'research.emr',
      ca: { name: 'ca-research', port: 7354, operationsPort: 17354 },
      peer: { name: 'peer0', port: 9051, chaincodeListenPort: 9052, operationsPort: 9643 },
      chaincodePort: 9999,
      ipfs: { apiPort: 5201, swarmPort: 4201, gatewayPort: 8280 },
      proxyPort: 7352,
      kgcPort: 7362,
      users: staff([{ id: 'researcher1', type: 'client', role: 'researcher' }]),
    },
  ],
};

/** The topology for an ordering setting: the same orgs, members and ports, its own orderers. */
export const topologyFor = (s: OrderingSetting): Topology => ({
  ...topology,
  ordering: s.ordering,
  wan: s.wan,
  deliverProxies: s.deliverProxies,
  ordererOrg: { ...topology.ordererOrg, orderers: ordererSpecs(s.orderers) },
});

export const hostnameOf = (node: { name: string }, org: OrgSpec): string => `${node.name}.${org.domain}`;
export const caHostnameOf = (org: OrgSpec): string => `ca.${org.domain}`;

export const memberOrg = (name: string): MemberOrgSpec => {
  const org = topology.members.find((m) => m.name === name);
  if (!org) throw new Error(`unknown org '${name}'; the topology has ${topology.members.map((m) => m.name).join(', ')}`);
  return org;
};

/** Every TCP port the network binds, with what binds it (for status, docs and port checks). */
export function allPorts(t: Topology = topology): { port: number; owner: string }[] {
  const ports: { port: number; owner: string }[] = [];
  for (const org of [t.ordererOrg, ...t.members]) {
    ports.push({ port: org.ca.port, owner: `${org.ca.name}` }, { port: org.ca.operationsPort, owner: `${org.ca.name} operations` });
  }
  for (const o of t.ordererOrg.orderers) {
    ports.push({ port: o.port, owner: o.name }, { port: o.adminPort, owner: `${o.name} admin` }, { port: o.operationsPort, owner: `${o.name} operations` });
    if (t.wan) {
      ports.push({ port: relayPorts(o).orderer, owner: `${o.name} WAN relay` });
      if (t.ordering === 'drkpbft') ports.push({ port: relayPorts(o).replica, owner: `${o.name} DRKPBFT replica WAN relay` });
    }
    if (t.deliverProxies) ports.push({ port: deliverProxyPort(o), owner: `${o.name} deliver proxy` });
    if (t.ordering === 'drkpbft') {
      const r = replicaPorts(o);
      ports.push({ port: r.port, owner: `${o.name} DRKPBFT replica` }, { port: r.clientPort, owner: `${o.name} DRKPBFT replica clients` }, { port: r.hostLinkPort, owner: `${o.name} DRKPBFT host link` });
    }
  }
  for (const m of t.members) {
    const p = hostnameOf(m.peer, m);
    ports.push(
      { port: m.peer.port, owner: p },
      { port: m.peer.chaincodeListenPort, owner: `${p} chaincode listener` },
      { port: m.peer.operationsPort, owner: `${p} operations` },
      { port: m.chaincodePort, owner: `${m.name} chaincode service` },
      { port: m.ipfs.apiPort, owner: `ipfs-${m.name} RPC API` },
      { port: m.ipfs.swarmPort, owner: `ipfs-${m.name} swarm` },
      { port: m.ipfs.gatewayPort, owner: `ipfs-${m.name} gateway` },
      { port: m.proxyPort, owner: `proxy-${m.name}` },
      { port: m.kgcPort, owner: `kgc-${m.name}` },
    );
  }
  if (t.wan) ports.push({ port: RELAY_STATS_PORT, owner: 'WAN relays stats' });
  if (t.deliverProxies) ports.push({ port: DELIVER_PROXY_CONTROL_PORT, owner: 'deliver proxies control' });
  return ports;
}
