/**
 * docker-compose.yaml for users who have Docker: the same topology, with the official
 * Hyperledger images and the same node settings as the native network (from the same
 * override objects, flattened to environment variables). `npm run compose` rewrites
 * the file; a unit test checks the committed file against this generator.
 *
 * Crypto material is mounted from network/.run/crypto, as enrolled by the native CAs
 * (`npm run network -- up`), so both deployments share one set of identities.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import YAML from 'yaml';
import { ordererOverrides, peerOverrides, toEnv, type Placement } from './fabric-config';
import { repoRoot } from './paths';
import { caHostnameOf, hostnameOf, topology, type OrgSpec } from './topology';

export const IMAGES = {
  ca: 'hyperledger/fabric-ca:1.5.21',
  orderer: 'hyperledger/fabric-orderer:3.1.1',
  peer: 'hyperledger/fabric-peer:3.1.1',
  chaincode: 'node:20-bookworm-slim',
} as const;

const CRYPTO = '/etc/hyperledger/crypto';
const containerPlacement: Placement = {
  listenHost: '0.0.0.0',
  advertisedHost: (node, org) => hostnameOf(node, org),
  mspDir: (org, id) => `${CRYPTO}/${org.name}/identities/${id}/msp`,
  orgMspDir: (org) => `${CRYPTO}/${org.name}/msp`,
  tlsDir: (org, id) => `${CRYPTO}/${org.name}/identities/${id}/tls`,
  caCert: (org) => `${CRYPTO}/${org.name}/ca.pem`,
  dataDir: () => '/var/hyperledger/production',
  // The peer image ships Fabric's own ccaas builder here.
  builderDir: '/opt/hyperledger/ccaas_builder',
};

const publish = (...ports: number[]) => ports.map((p) => `${topology.host}:${p}:${p}`);
const cryptoVolume = `./network/.run/crypto:${CRYPTO}:ro`;

function caService(org: OrgSpec) {
  return {
    image: IMAGES.ca,
    container_name: caHostnameOf(org),
    // The CA's home (keys, config, registry) as created by the native `network up`.
    command: `fabric-ca-server start --port ${org.ca.port} --ca.name ${org.ca.name} --tls.enabled`,
    environment: { FABRIC_CA_SERVER_HOME: '/etc/hyperledger/fabric-ca-server', FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS: `0.0.0.0:${org.ca.operationsPort}` },
    ports: publish(org.ca.port, org.ca.operationsPort),
    volumes: [`./network/.run/crypto/${org.name}/ca-server:/etc/hyperledger/fabric-ca-server`],
    networks: ['emr'],
  };
}

export function composeDocument(): Record<string, unknown> {
  const services: Record<string, unknown> = {};
  const volumes: Record<string, null> = {};
  for (const org of [topology.ordererOrg, ...topology.members]) {
    services[caHostnameOf(org)] = caService(org);
  }
  for (const o of topology.ordererOrg.orderers) {
    const name = hostnameOf(o, topology.ordererOrg);
    services[name] = {
      image: IMAGES.orderer,
      container_name: name,
      environment: toEnv('ORDERER', ordererOverrides(o, containerPlacement, topology.ordering)),
      ports: publish(o.port, o.adminPort, o.operationsPort),
      volumes: [cryptoVolume, `${name}:/var/hyperledger/production`],
      networks: ['emr'],
    };
    volumes[name] = null;
  }
  for (const m of topology.members) {
    const name = hostnameOf(m.peer, m);
    const ccName = hostnameOf({ name: 'chaincode' }, m);
    services[name] = {
      image: IMAGES.peer,
      container_name: name,
      environment: toEnv('CORE', peerOverrides(m, containerPlacement)),
      command: 'peer node start',
      ports: publish(m.peer.port, m.peer.operationsPort),
      volumes: [cryptoVolume, `${name}:/var/hyperledger/production`],
      depends_on: topology.ordererOrg.orderers.map((o) => hostnameOf(o, topology.ordererOrg)),
      networks: ['emr'],
    };
    volumes[name] = null;
    const tls = containerPlacement.tlsDir(m, 'chaincode');
    services[ccName] = {
      image: IMAGES.chaincode,
      container_name: ccName,
      working_dir: '/srv/emr',
      // The package id is known once the org's ccaas package is built (see docs/operations.md).
      command: [
        'node', 'node_modules/fabric-shim/cli.js', 'server',
        '--chaincode-address', `0.0.0.0:${m.chaincodePort}`,
        '--chaincode-id', `\${${m.name.toUpperCase()}_CHAINCODE_ID:?set ${m.name.toUpperCase()}_CHAINCODE_ID}`,
        '--chaincode-tls-cert-file', `${tls}/cert.pem`,
        '--chaincode-tls-key-file', `${tls}/key.pem`,
        '--module-path', '/srv/emr/chaincode',
      ],
      ports: publish(m.chaincodePort),
      volumes: ['.:/srv/emr:ro', cryptoVolume],
      networks: ['emr'],
    };
  }
  return { name: 'emr-fabric', services, volumes, networks: { emr: { name: 'emr' } } };
}

export const renderCompose = (): string => composeHeader + YAML.stringify(composeDocument(), { lineWidth: 0 });

export const composeFile = path.join(repoRoot, 'docker-compose.yaml');
export const composeHeader = '# Generated from network/src/topology.ts by `npm run compose`; do not edit by hand.\n';

if (require.main === module) {
  writeFileSync(composeFile, renderCompose());
  console.log(`wrote ${composeFile}`);
}
