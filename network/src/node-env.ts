/** Native placement of the nodes, their generated config files and the CLI environments. */
import path from 'node:path';
import { caCertOf, mspDirOf, orgMspDir, tlsDirOf } from './ca';
import { configtx, ordererOverrides, peerOverrides, writeNodeConfig, type Placement } from './fabric-config';
import { binDir, builderDir, state } from './paths';
import { topology, type MemberOrgSpec, type OrdererSpec, type Topology } from './topology';

export const nativePlacement: Placement = {
  listenHost: topology.host,
  advertisedHost: () => topology.host,
  mspDir: mspDirOf,
  orgMspDir,
  tlsDir: tlsDirOf,
  caCert: caCertOf,
  dataDir: (org, id) => path.join(state.ledgers, org.name, id),
  builderDir,
};

/** Node log level: gRPC's connection chatter hides what matters. */
export const NODE_LOGGING_SPEC = 'info:grpc=warn:gossip.discovery=warn';

export const peerConfigDir = (org: MemberOrgSpec): string => path.join(state.config, org.name, 'peer');
export const ordererConfigDir = (o: OrdererSpec): string => path.join(state.config, topology.ordererOrg.name, o.name);
export const channelConfigDir = (): string => path.join(state.config, 'channel');

export function writeAllNodeConfigs(t: Topology): void {
  const defaults = path.join(binDir(), 'config');
  for (const org of t.members) writeNodeConfig(path.join(defaults, 'core.yaml'), peerOverrides(org, nativePlacement, t), peerConfigDir(org));
  for (const o of t.ordererOrg.orderers) writeNodeConfig(path.join(defaults, 'orderer.yaml'), ordererOverrides(o, nativePlacement, t.ordering), ordererConfigDir(o));
}

export const configtxObject = (t: Topology): object => configtx(nativePlacement, t);

/** Environment for `peer` CLI commands run as the org's admin against its own peer. */
export function peerAdminEnv(org: MemberOrgSpec): NodeJS.ProcessEnv {
  return {
    ...process.env,
    FABRIC_CFG_PATH: peerConfigDir(org),
    FABRIC_LOGGING_SPEC: 'warn',
    CORE_PEER_LOCALMSPID: org.mspId,
    CORE_PEER_MSPCONFIGPATH: mspDirOf(org, 'admin'),
    CORE_PEER_ADDRESS: `${topology.host}:${org.peer.port}`,
    CORE_PEER_TLS_ENABLED: 'true',
    CORE_PEER_TLS_ROOTCERT_FILE: caCertOf(org),
  };
}

/**
 * Arguments that point a `peer` CLI command at the first orderer over TLS (every mode has
 * one; under BFT it is the first leader, so the request needs no forwarding).
 */
export function ordererTlsArgs(): string[] {
  const [o] = topology.ordererOrg.orderers;
  return ['--orderer', `${topology.host}:${o!.port}`, '--tls', '--cafile', caCertOf(topology.ordererOrg)];
}
