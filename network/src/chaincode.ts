/**
 * Chaincode as a service: each member org packages a connection.json pointing at its
 * own chaincode process, installs it on its peer, approves the definition; then the
 * definition is committed with endorsements from every org.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { caCertOf, tlsDirOf } from './ca';
import { peerAdminEnv, ordererTlsArgs } from './node-env';
import { binDir, repoRoot, state } from './paths';
import { logFile, portInUse, run, startDaemon, waitFor } from './processes';
import { topology, type MemberOrgSpec } from './topology';

const binPeer = () => path.join(binDir(), 'peer');

export const chaincodeLabel = `${topology.chaincode.name}_${topology.chaincode.version}`;

/** Builds the org's ccaas package and returns its path and package id (label:sha256). */
export async function packageChaincode(org: MemberOrgSpec): Promise<{ file: string; packageId: string }> {
  const dir = path.join(state.chaincode, org.name);
  mkdirSync(dir, { recursive: true });
  const connection = {
    address: `${topology.host}:${org.chaincodePort}`,
    dial_timeout: '10s',
    tls_required: true,
    client_auth_required: false,
    root_cert: readFileSync(caCertOf(org), 'utf8'),
  };
  writeFileSync(path.join(dir, 'connection.json'), JSON.stringify(connection, null, 2));
  writeFileSync(path.join(dir, 'metadata.json'), JSON.stringify({ type: 'ccaas', label: chaincodeLabel }));
  await run('tar', ['-czf', 'code.tar.gz', 'connection.json'], undefined, dir);
  const file = path.join(dir, `${chaincodeLabel}.tar.gz`);
  await run('tar', ['-czf', file, 'metadata.json', 'code.tar.gz'], undefined, dir);
  const packageId = `${chaincodeLabel}:${createHash('sha256').update(readFileSync(file)).digest('hex')}`;
  return { file, packageId };
}

export const chaincodeServiceName = (org: MemberOrgSpec): string => `chaincode-${org.name}`;

/** Starts the org's chaincode process (TLS server). */
export function startChaincodeService(org: MemberOrgSpec, packageId: string): void {
  const tls = tlsDirOf(org, 'chaincode');
  startDaemon({
    name: chaincodeServiceName(org),
    command: process.execPath,
    args: [
      path.join(repoRoot, 'node_modules', 'fabric-shim', 'cli.js'),
      'server',
      '--chaincode-address', `${topology.host}:${org.chaincodePort}`,
      '--chaincode-id', packageId,
      '--chaincode-tls-cert-file', path.join(tls, 'cert.pem'),
      '--chaincode-tls-key-file', path.join(tls, 'key.pem'),
      '--module-path', path.join(repoRoot, 'chaincode'),
    ],
    env: { ...process.env, CORE_CHAINCODE_LOGGING_LEVEL: 'info' },
  });
}

const lifecycleArgs = (org: MemberOrgSpec): string[] => [
  '--channelID', topology.channel,
  '--name', topology.chaincode.name,
  '--version', topology.chaincode.version,
  '--sequence', String(topology.chaincode.sequence),
  ...ordererTlsArgs(),
  '--peerAddresses', `${topology.host}:${org.peer.port}`,
  '--tlsRootCertFiles', caCertOf(org),
];

export async function deployChaincode(): Promise<void> {
  const packages = await Promise.all(topology.members.map(async (org) => ({ org, ...(await packageChaincode(org)) })));
  await Promise.all(packages.map(({ org, file }) => run(binPeer(), ['lifecycle', 'chaincode', 'install', file], peerAdminEnv(org))));
  for (const { org, packageId } of packages) {
    startChaincodeService(org, packageId);
    await waitFor(`${chaincodeServiceName(org)} on :${org.chaincodePort}`, () => portInUse(org.chaincodePort), 30000, logFile(chaincodeServiceName(org)));
  }
  await Promise.all(
    packages.map(({ org, packageId }) =>
      run(binPeer(), ['lifecycle', 'chaincode', 'approveformyorg', ...lifecycleArgs(org), '--package-id', packageId], peerAdminEnv(org)),
    ),
  );
  const [first] = topology.members;
  await run(binPeer(), [
    'lifecycle', 'chaincode', 'commit', ...lifecycleArgs(first!),
    ...topology.members.slice(1).flatMap((m) => ['--peerAddresses', `${topology.host}:${m.peer.port}`, '--tlsRootCertFiles', caCertOf(m)]),
  ], peerAdminEnv(first!));
}
