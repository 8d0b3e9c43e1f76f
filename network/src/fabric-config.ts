/**
 * Node configuration derived from the topology. The same override objects configure
 * the native processes (merged over the pinned Fabric's default core.yaml/orderer.yaml)
 * and the docker-compose services (flattened to CORE_* / ORDERER_* variables).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { isBft, type Ordering } from './ordering';
import { topology, deliverProxyPort, hostnameOf, relayPorts, replicaPorts, type MemberOrgSpec, type OrdererSpec, type OrgSpec, type Topology } from './topology';

/** Where a node's files are and which addresses it listens on and advertises. */
export interface Placement {
  /** Address a server binds, e.g. 127.0.0.1 natively, 0.0.0.0 in a container. */
  listenHost: string;
  /** Address other nodes and clients reach a node at. */
  advertisedHost(node: { name: string }, org: OrgSpec): string;
  mspDir(org: OrgSpec, id: string): string;
  /** The org's channel MSP: CA certificates and NodeOU config, no keys. */
  orgMspDir(org: OrgSpec): string;
  tlsDir(org: OrgSpec, id: string): string;
  caCert(org: OrgSpec): string;
  dataDir(org: OrgSpec, id: string): string;
  builderDir: string;
}

export type Overrides = { [key: string]: string | number | boolean | string[] | object[] | Overrides };

/**
 * Under BFT a peer pulls blocks from one orderer and block headers with their signatures from
 * the others; when a header is ahead of the blocks for this long it suspects censorship and
 * pulls blocks from another orderer (Fabric's default: 30 s). Short, so that a withholding
 * orderer stalls a peer for seconds, not half a minute; long enough that a block receiver
 * behind by a batch on a loaded 2-core machine is not suspected.
 */
export const BLOCK_CENSORSHIP_TIMEOUT = '5s';

/**
 * The peers' `addressOverrides`: under `deliverProxies`, every orderer endpoint of the channel
 * config is reached through its deliver proxy (same TLS root: the proxy serves the orderer's
 * own certificate). Fabric applies the overrides to the deliver client and to the gateway alike.
 */
export function deliverOverrides(at: Placement, t: Topology): { from: string; to: string; caCertsFile: string }[] {
  if (!t.deliverProxies) return [];
  const oo = t.ordererOrg;
  return oo.orderers.map((o) => ({ from: `${at.advertisedHost(o, oo)}:${o.port}`, to: `${at.advertisedHost(o, oo)}:${deliverProxyPort(o)}`, caCertsFile: at.caCert(oo) }));
}

export function peerOverrides(org: MemberOrgSpec, at: Placement, t: Topology = topology): Overrides {
  const { peer } = org;
  const overrides = deliverOverrides(at, t);
  const self = `${at.advertisedHost(peer, org)}:${peer.port}`;
  const tls = at.tlsDir(org, peer.name);
  return {
    peer: {
      id: hostnameOf(peer, org),
      networkId: 'emr',
      listenAddress: `${at.listenHost}:${peer.port}`,
      address: self,
      chaincodeListenAddress: `${at.listenHost}:${peer.chaincodeListenPort}`,
      chaincodeAddress: `${at.advertisedHost(peer, org)}:${peer.chaincodeListenPort}`,
      localMspId: org.mspId,
      mspConfigPath: at.mspDir(org, peer.name),
      fileSystemPath: at.dataDir(org, peer.name),
      gossip: {
        bootstrap: self,
        endpoint: self,
        externalEndpoint: self,
        useLeaderElection: false,
        orgLeader: true,
        // A small consortium: spread membership and installed chaincodes quickly.
        publishStateInfoInterval: '1s',
        requestStateInfoInterval: '1s',
        pullInterval: '1s',
        // Peers start before they join the channel, so their first handshakes with other
        // orgs fail; retry in seconds, not the default 25 s.
        reconnectInterval: '2s',
        aliveTimeInterval: '2s',
        aliveExpirationTimeout: '10s',
      },
      tls: {
        enabled: true,
        clientAuthRequired: false,
        cert: { file: `${tls}/cert.pem` },
        key: { file: `${tls}/key.pem` },
        rootcert: { file: at.caCert(org) },
      },
      gateway: { enabled: true },
      deliveryclient: { blockCensorshipTimeoutKey: BLOCK_CENSORSHIP_TIMEOUT, ...(overrides.length > 0 ? { addressOverrides: overrides } : {}) },
    },
    // External builders only: no Docker.
    vm: { endpoint: '' },
    chaincode: { externalBuilders: [{ name: 'ccaas', path: at.builderDir, propagateEnvironment: ['PATH'] }] },
    operations: {
      listenAddress: `${at.listenHost}:${peer.operationsPort}`,
      tls: {
        enabled: true,
        cert: { file: `${tls}/cert.pem` },
        key: { file: `${tls}/key.pem` },
        clientAuthRequired: false,
        clientRootCAs: { files: [at.caCert(org)] },
      },
    },
    metrics: { provider: 'prometheus' },
  };
}

/**
 * The orderer's free-form `Consensus` section: each consenter reads its own keys.
 * For drkpbft, our orderer build reads `BFTImplementation` to run DRKPBFT under consensus
 * type `BFT` and `DRKPBFTLink` to find its own replica (drkpbft-replicas.ts); the channel
 * config is the same as `bft`'s (docs/ordering.md).
 */
export function consensusSection(ordering: Ordering, dataDir: string, orderer: OrdererSpec, host: string): Overrides {
  if (ordering === 'etcdraft') return { WALDir: `${dataDir}/etcdraft/wal`, SnapDir: `${dataDir}/etcdraft/snapshot` };
  const smartBft = { WALDir: `${dataDir}/smartbft/wal`, SnapDir: `${dataDir}/smartbft/snapshot` };
  return ordering === 'drkpbft' ? { ...smartBft, BFTImplementation: 'drkpbft', DRKPBFTLink: `${host}:${replicaPorts(orderer).hostLinkPort}` } : smartBft;
}

export function ordererOverrides(orderer: OrdererSpec, at: Placement, ordering: Ordering): Overrides {
  const org = topology.ordererOrg;
  const tls = at.tlsDir(org, orderer.name);
  const cert = `${tls}/cert.pem`;
  const key = `${tls}/key.pem`;
  const allCas = [org, ...topology.members].map((o) => at.caCert(o));
  return {
    General: {
      ListenAddress: at.listenHost,
      ListenPort: orderer.port,
      TLS: { Enabled: true, PrivateKey: key, Certificate: cert, RootCAs: allCas, ClientAuthRequired: false },
      // Cluster (consensus) traffic shares the client listener; it authenticates with the same TLS pair.
      Cluster: { ClientCertificate: cert, ClientPrivateKey: key },
      BootstrapMethod: 'none',
      LocalMSPDir: at.mspDir(org, orderer.name),
      LocalMSPID: org.mspId,
    },
    FileLedger: { Location: at.dataDir(org, orderer.name) },
    Consensus: consensusSection(ordering, at.dataDir(org, orderer.name), orderer, topology.host),
    Operations: {
      ListenAddress: `${at.listenHost}:${orderer.operationsPort}`,
      TLS: { Enabled: true, Certificate: cert, PrivateKey: key, ClientAuthRequired: false, ClientRootCAs: [at.caCert(org)] },
    },
    Metrics: { Provider: 'prometheus' },
    Admin: {
      ListenAddress: `${at.listenHost}:${orderer.adminPort}`,
      TLS: { Enabled: true, Certificate: cert, PrivateKey: key, ClientAuthRequired: true, ClientRootCAs: [at.caCert(org)] },
    },
    ChannelParticipation: { Enabled: true },
  };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep merge; arrays and scalars from `over` replace those in `base`. */
export function mergeConfig(base: unknown, over: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(over)) return over;
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) out[k] = mergeConfig(base[k], v);
  return out;
}

/** Writes `<dir>/<file>`: the pinned default config with the overrides applied. */
export function writeNodeConfig(defaultsFile: string, overrides: Overrides, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const merged = mergeConfig(YAML.parse(readFileSync(defaultsFile, 'utf8')), overrides);
  writeFileSync(path.join(dir, path.basename(defaultsFile)), YAML.stringify(merged));
}

/**
 * Flattens overrides to Fabric's environment variables (PREFIX_SECTION_KEY). String lists
 * use each binary's syntax (the orderer's `[a,b]`, the peer's space-separated); lists of
 * objects (external builders) cannot be expressed and are left to the image's file.
 */
export function toEnv(prefix: 'CORE' | 'ORDERER', overrides: Overrides): Record<string, string> {
  const env: Record<string, string> = {};
  const walk = (node: Overrides, keys: string[]) => {
    for (const [k, v] of Object.entries(node)) {
      const name = [prefix, ...keys, k].join('_').toUpperCase();
      if (Array.isArray(v)) {
        if (v.every((x) => typeof x === 'string')) env[name] = prefix === 'ORDERER' ? `[${v.join(',')}]` : v.join(' ');
      } else if (isPlainObject(v)) walk(v as Overrides, [...keys, k]);
      else env[name] = String(v);
    }
  };
  walk(overrides, []);
  return env;
}

/**
 * SmartBFT options for a small loopback cluster: batches as often as Raft's BatchTimeout;
 * a follower forwards a request it holds to the leader after 2 s and complains after 10 s
 * more; the leader sends a heartbeat every second and is suspected after 10 s of silence.
 * Short enough that a dead leader is replaced in seconds, long enough that a busy 2-core
 * machine does not trigger view changes. Leader rotation stays off (Fabric requires it).
 * Batch size limits come from BatchSize, as Fabric overrides them.
 */
export const smartBftOptions = (batchTimeout: string) => ({
  RequestBatchMaxInterval: batchTimeout,
  RequestForwardTimeout: '2s',
  RequestComplainTimeout: '10s',
  RequestAutoRemoveTimeout: '1m',
  ViewChangeResendInterval: '2s',
  ViewChangeTimeout: '10s',
  LeaderHeartbeatTimeout: '10s',
  LeaderHeartbeatCount: 10,
  CollectTimeout: '1s',
  IncomingMessageBufferSize: 200,
  RequestPoolSize: 10000,
});

/**
 * The channel's configtx.yaml (one profile: the `emr` application channel). The orderer
 * section is etcdraft's Consenters, or, for both BFT modes alike, `BFT` with a
 * ConsenterMapping; configtxgen then replaces BlockValidation with a quorum
 * (⌈(n + f + 1)/2⌉) of the consenters' enrolment certificates.
 */
export function configtx(at: Placement, t: Topology = topology): object {
  const sig = (mspId: string, roles: string[]) => ({
    Type: 'Signature',
    Rule: `OR(${roles.map((r) => `'${mspId}.${r}'`).join(', ')})`,
  });
  const implicit = (rule: string) => ({ Type: 'ImplicitMeta', Rule: rule });
  const orgPolicies = (org: OrgSpec, kind: 'peer' | 'orderer') => ({
    Readers: sig(org.mspId, ['admin', kind, 'client']),
    // Orderers sign blocks, so they are writers of their org (BlockValidation = ANY Writers).
    Writers: sig(org.mspId, kind === 'orderer' ? ['admin', 'client', 'orderer'] : ['admin', 'client']),
    Admins: sig(org.mspId, ['admin']),
    ...(kind === 'peer' ? { Endorsement: sig(org.mspId, ['peer']) } : {}),
  });
  const ordererOrg = t.ordererOrg;
  const endpoint = (o: OrdererSpec) => `${at.advertisedHost(o, ordererOrg)}:${o.port}`;
  const ordererOrgDef = {
    Name: ordererOrg.mspId,
    ID: ordererOrg.mspId,
    MSPDir: at.orgMspDir(ordererOrg),
    Policies: orgPolicies(ordererOrg, 'orderer'),
    OrdererEndpoints: ordererOrg.orderers.map(endpoint),
  };
  const memberDefs = t.members.map((m) => ({
    Name: m.mspId,
    ID: m.mspId,
    MSPDir: at.orgMspDir(m),
    Policies: orgPolicies(m, 'peer'),
    AnchorPeers: [{ Host: at.advertisedHost(m.peer, m), Port: m.peer.port }],
  }));
  // Under `wan` the other orderers dial a consenter through its relay; clients use OrdererEndpoints.
  const consenter = (o: OrdererSpec) => ({
    Host: at.advertisedHost(o, ordererOrg),
    Port: t.wan ? relayPorts(o).orderer : o.port,
    ClientTLSCert: `${at.tlsDir(ordererOrg, o.name)}/cert.pem`,
    ServerTLSCert: `${at.tlsDir(ordererOrg, o.name)}/cert.pem`,
  });
  const consensus = isBft(t.ordering)
    ? {
        OrdererType: 'BFT',
        ConsenterMapping: ordererOrg.orderers.map((o) => ({
          ID: o.consenterId,
          ...consenter(o),
          MSPID: ordererOrg.mspId,
          Identity: `${at.mspDir(ordererOrg, o.name)}/signcerts/cert.pem`,
        })),
        SmartBFT: smartBftOptions(t.batchTimeout),
      }
    : {
        OrdererType: 'etcdraft',
        EtcdRaft: {
          Consenters: ordererOrg.orderers.map(consenter),
          Options: { TickInterval: '200ms', ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: '16 MB' },
        },
      };
  return {
    Profiles: {
      EmrChannel: {
        Policies: { Readers: implicit('ANY Readers'), Writers: implicit('ANY Writers'), Admins: implicit('MAJORITY Admins') },
        Capabilities: { V3_0: true },
        Orderer: {
          BatchTimeout: t.batchTimeout,
          BatchSize: { MaxMessageCount: 100, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '2 MB' },
          ...consensus,
          Organizations: [ordererOrgDef],
          Policies: {
            Readers: implicit('ANY Readers'),
            Writers: implicit('ANY Writers'),
            Admins: implicit('MAJORITY Admins'),
            // etcdraft's; configtxgen requires it for BFT too, then replaces it with the quorum.
            BlockValidation: implicit('ANY Writers'),
          },
          Capabilities: { V2_0: true },
        },
        Application: {
          Organizations: memberDefs,
          Policies: {
            Readers: implicit('ANY Readers'),
            Writers: implicit('ANY Writers'),
            Admins: implicit('MAJORITY Admins'),
            LifecycleEndorsement: implicit('MAJORITY Endorsement'),
            Endorsement: implicit('MAJORITY Endorsement'),
          },
          Capabilities: { V2_5: true },
        },
      },
    },
  };
}
