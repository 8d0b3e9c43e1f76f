/**
 * Node configuration derived from the topology. The same override objects configure
 * the native processes (merged over the pinned Fabric's default core.yaml/orderer.yaml)
 * and the docker-compose services (flattened to CORE_* / ORDERER_* variables).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { topology, hostnameOf, type MemberOrgSpec, type OrdererSpec, type OrgSpec } from './topology';

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

export function peerOverrides(org: MemberOrgSpec, at: Placement): Overrides {
  const { peer } = org;
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

export function ordererOverrides(orderer: OrdererSpec, at: Placement): Overrides {
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
      // Raft traffic shares the client listener; it authenticates with the same TLS pair.
      Cluster: { ClientCertificate: cert, ClientPrivateKey: key },
      BootstrapMethod: 'none',
      LocalMSPDir: at.mspDir(org, orderer.name),
      LocalMSPID: org.mspId,
    },
    FileLedger: { Location: at.dataDir(org, orderer.name) },
    Consensus: { WALDir: `${at.dataDir(org, orderer.name)}/etcdraft/wal`, SnapDir: `${at.dataDir(org, orderer.name)}/etcdraft/snapshot` },
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

/** The channel's configtx.yaml (one profile: the `emr` application channel on Raft). */
export function configtx(at: Placement): object {
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
  const ordererOrg = topology.ordererOrg;
  const endpoint = (o: OrdererSpec) => `${at.advertisedHost(o, ordererOrg)}:${o.port}`;
  const ordererOrgDef = {
    Name: ordererOrg.mspId,
    ID: ordererOrg.mspId,
    MSPDir: at.orgMspDir(ordererOrg),
    Policies: orgPolicies(ordererOrg, 'orderer'),
    OrdererEndpoints: ordererOrg.orderers.map(endpoint),
  };
  const memberDefs = topology.members.map((m) => ({
    Name: m.mspId,
    ID: m.mspId,
    MSPDir: at.orgMspDir(m),
    Policies: orgPolicies(m, 'peer'),
    AnchorPeers: [{ Host: at.advertisedHost(m.peer, m), Port: m.peer.port }],
  }));
  return {
    Profiles: {
      EmrChannel: {
        Policies: { Readers: implicit('ANY Readers'), Writers: implicit('ANY Writers'), Admins: implicit('MAJORITY Admins') },
        Capabilities: { V3_0: true },
        Orderer: {
          OrdererType: 'etcdraft',
          BatchTimeout: topology.batchTimeout,
          BatchSize: { MaxMessageCount: 100, AbsoluteMaxBytes: '10 MB', PreferredMaxBytes: '2 MB' },
          EtcdRaft: {
            Consenters: ordererOrg.orderers.map((o) => ({
              Host: at.advertisedHost(o, ordererOrg),
              Port: o.port,
              ClientTLSCert: `${at.tlsDir(ordererOrg, o.name)}/cert.pem`,
              ServerTLSCert: `${at.tlsDir(ordererOrg, o.name)}/cert.pem`,
            })),
            Options: { TickInterval: '200ms', ElectionTick: 10, HeartbeatTick: 1, MaxInflightBlocks: 5, SnapshotIntervalSize: '16 MB' },
          },
          Organizations: [ordererOrgDef],
          Policies: {
            Readers: implicit('ANY Readers'),
            Writers: implicit('ANY Writers'),
            Admins: implicit('MAJORITY Admins'),
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
