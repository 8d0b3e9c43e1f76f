/**
 * The Fabric CAs: one per org. Every identity of the topology (nodes, admins, users) is
 * registered through its org's CA with a `role` attribute and enrolled; the resulting
 * MSP folders, TLS material and the SDK wallet are laid out under state/crypto and state/wallet.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { binDir, state } from './paths';
import { logFile, run, startDaemon, waitFor } from './processes';
import { copyKey, withoutSecrets } from './secret-files';
import { caHostnameOf, hostnameOf, topology, type IdentityType, type OrgSpec, type Topology, type UserSpec } from './topology';

export const orgDir = (org: OrgSpec): string => path.join(state.crypto, org.name);
/** The org's CA certificate: the trust root of its MSP and of its TLS certificates. */
export const caCertOf = (org: OrgSpec): string => path.join(orgDir(org), 'ca.pem');
/** The org's channel MSP (CA certs and NodeOU config, no keys). */
export const orgMspDir = (org: OrgSpec): string => path.join(orgDir(org), 'msp');
export const identityDir = (org: OrgSpec, id: string): string => path.join(orgDir(org), 'identities', id);
/** TLS material of an identity: cert.pem, key.pem. */
export const tlsDirOf = (org: OrgSpec, id: string): string => path.join(identityDir(org, id), 'tls');
export const mspDirOf = (org: OrgSpec, id: string): string => path.join(identityDir(org, id), 'msp');
export const walletEntryDir = (org: OrgSpec, id: string): string => path.join(state.wallet, org.name, id);

const caServerHome = (org: OrgSpec) => path.join(orgDir(org), 'ca-server');
const registrarHome = (org: OrgSpec) => path.join(orgDir(org), 'registrar');
const caUrl = (org: OrgSpec, cred = '') => `https://${cred}${topology.host}:${org.ca.port}`;
const bin = (name: string) => path.join(binDir(), name);

/** The registrar's password lives only in the state directory, for the life of the network. */
function registrarSecret(org: OrgSpec): string {
  const file = path.join(orgDir(org), 'registrar.secret');
  if (!existsSync(file)) {
    mkdirSync(orgDir(org), { recursive: true });
    writeFileSync(file, randomBytes(18).toString('base64url'), { mode: 0o600 });
  }
  return readFileSync(file, 'utf8');
}

export function startCa(org: OrgSpec): void {
  // Owner-only: Fabric CA writes its config (the registrar's password, in clear) 0644 here, and its keys.
  mkdirSync(caServerHome(org), { recursive: true, mode: 0o700 });
  chmodSync(caServerHome(org), 0o700);
  startDaemon({
    name: org.ca.name,
    command: bin('fabric-ca-server'),
    args: [
      'start',
      '--home', caServerHome(org),
      '--boot', `ca-admin:${registrarSecret(org)}`,
      '--address', topology.host,
      '--port', String(org.ca.port),
      '--ca.name', org.ca.name,
      '--csr.cn', caHostnameOf(org),
      '--csr.hosts', `${caHostnameOf(org)},localhost,${topology.host}`,
      '--tls.enabled',
    ],
    env: { ...process.env, FABRIC_CA_SERVER_OPERATIONS_LISTENADDRESS: `${topology.host}:${org.ca.operationsPort}` },
  });
}

export async function waitForCa(org: OrgSpec, timeoutMs = 30000): Promise<void> {
  await waitFor(`${org.ca.name} health on :${org.ca.operationsPort}`, async () => {
    const res = await fetch(`http://${topology.host}:${org.ca.operationsPort}/healthz`);
    return res.ok && existsSync(path.join(caServerHome(org), 'ca-cert.pem'));
  }, timeoutMs, logFile(org.ca.name));
  copyFileSync(path.join(caServerHome(org), 'ca-cert.pem'), caCertOf(org));
}

/** A failed call's error quotes its command line, so the enrolment secrets in it are blanked. */
const client = (org: OrgSpec, home: string, args: string[]) =>
  run(bin('fabric-ca-client'), [...args, '--home', home, '--caname', org.ca.name, '--tls.certfiles', caCertOf(org)]).catch((err: Error) => {
    throw new Error(withoutSecrets(err.message, args));
  });

/** NodeOUs: the identity type Fabric CA writes as the certificate's OU decides its MSP role. */
function writeNodeOuConfig(mspDir: string): void {
  const ou = (name: string) => `  ${name}:\n    Certificate: cacerts/ca.pem\n    OrganizationalUnitIdentifier: ${name.replace(/OUIdentifier$/, '').toLowerCase()}\n`;
  writeFileSync(
    path.join(mspDir, 'config.yaml'),
    `NodeOUs:\n  Enable: true\n${ou('ClientOUIdentifier')}${ou('PeerOUIdentifier')}${ou('AdminOUIdentifier')}${ou('OrdererOUIdentifier')}`,
  );
}

/** Rewrites an enrolled MSP folder to fixed file names: cacerts/ca.pem, signcerts/cert.pem, keystore/key.pem. */
function normalizeMsp(mspDir: string): void {
  const only = (dir: string) => {
    const files = readdirSync(path.join(mspDir, dir));
    if (files.length !== 1) throw new Error(`expected one file in ${path.join(mspDir, dir)}, found ${files.length}`);
    return path.join(mspDir, dir, files[0]!);
  };
  const key = only('keystore');
  const ca = only('cacerts');
  renameSync(key, path.join(mspDir, 'keystore', 'key.pem'));
  renameSync(ca, path.join(mspDir, 'cacerts', 'ca.pem'));
  writeNodeOuConfig(mspDir);
}

/** Registers and enrols one identity; only users get a `role` attribute (nodes and services never act as users). */
async function registerAndEnroll(org: OrgSpec, user: Omit<UserSpec, 'role'> & { role?: UserSpec['role'] }, tlsHosts?: string[]): Promise<void> {
  const secret = randomBytes(12).toString('base64url');
  const name = user.enrollmentId ?? user.id;
  await client(org, registrarHome(org), [
    'register', '-u', caUrl(org),
    '--id.name', name, '--id.secret', secret, '--id.type', user.type,
    ...(user.role ? ['--id.attrs', `role=${user.role}:ecert`] : []),
  ]);
  const home = identityDir(org, user.id);
  await client(org, home, ['enroll', '-u', caUrl(org, `${name}:${secret}@`), '-M', mspDirOf(org, user.id), '--csr.cn', name]);
  normalizeMsp(mspDirOf(org, user.id));
  // Admins also get a TLS client certificate (the orderer admin API requires mutual TLS).
  const hosts = tlsHosts ?? (user.type === 'admin' ? [user.id] : undefined);
  if (hosts) {
    const tmp = path.join(home, 'tls-enroll');
    await client(org, home, [
      'enroll', '-u', caUrl(org, `${user.id}:${secret}@`), '-M', tmp,
      '--enrollment.profile', 'tls', '--csr.cn', hosts[0]!, '--csr.hosts', hosts.join(','),
    ]);
    const [key] = readdirSync(path.join(tmp, 'keystore'));
    copyKey(path.join(tmp, 'keystore', key!), path.join(tlsDirOf(org, user.id), 'key.pem'));
    copyFileSync(path.join(tmp, 'signcerts', 'cert.pem'), path.join(tlsDirOf(org, user.id), 'cert.pem'));
    rmSync(tmp, { recursive: true });
  }
}

/** A patient's enrollment id: random, so it names nobody. The home hospital's CA keeps who it is. */
export const opaquePatientId = (): string => `pt-${randomBytes(12).toString('hex')}`;

/** Registers a user at the org's CA (its registrar enrolled by `up`), enrolls him, and puts him in the SDK wallet. */
export async function enrollUser(org: OrgSpec, user: UserSpec): Promise<void> {
  // A patient's certificate is in every transaction he submits, and his pseudonym derives from
  // its key: a name as its enrollment id would tie the pseudonym to him (docs/privacy.md). So a
  // patient is enrolled under an opaque id; his wallet entry keeps the name he goes by.
  await registerAndEnroll(org, user.role === 'patient' ? { ...user, enrollmentId: opaquePatientId() } : user);
  const wallet = walletEntryDir(org, user.id);
  copyKey(path.join(mspDirOf(org, user.id), 'keystore', 'key.pem'), path.join(wallet, 'key.pem'));
  copyFileSync(path.join(mspDirOf(org, user.id), 'signcerts', 'cert.pem'), path.join(wallet, 'cert.pem'));
}

export interface OrgIdentities {
  org: OrgSpec;
  /** Users to put in the SDK wallet. */
  users: UserSpec[];
  /** Nodes (peers, orderers) and services that need TLS server certificates. */
  nodes: { id: string; type: IdentityType; hosts: string[] }[];
}

/** Enrolls the registrar, then registers and enrolls every identity of the org (sequentially: one sqlite CA). */
export async function enrollOrg({ org, users, nodes }: OrgIdentities): Promise<void> {
  await client(org, registrarHome(org), ['enroll', '-u', caUrl(org, `ca-admin:${registrarSecret(org)}@`)]);
  for (const node of nodes) await registerAndEnroll(org, node, node.hosts);
  for (const user of users) await enrollUser(org, user);
  // The org MSP that goes into the channel configuration: CA certs and NodeOUs, no keys.
  for (const dir of ['cacerts', 'tlscacerts']) {
    mkdirSync(path.join(orgMspDir(org), dir), { recursive: true });
    copyFileSync(caCertOf(org), path.join(orgMspDir(org), dir, 'ca.pem'));
  }
  writeNodeOuConfig(orgMspDir(org));
}

/** The identities each org enrolls, derived from the topology (one per orderer it runs). */
export function identitiesOf(t: Topology): OrgIdentities[] {
  const hostsOf = (name: string, org: OrgSpec) => [hostnameOf({ name }, org), 'localhost', t.host];
  const orderer = t.ordererOrg;
  return [
    {
      org: orderer,
      users: [{ id: 'admin', type: 'admin', role: 'admin' }],
      nodes: orderer.orderers.map((o) => ({ id: o.name, type: 'orderer' as const, hosts: hostsOf(o.name, orderer) })),
    },
    ...t.members.map((m) => ({
      org: m,
      users: m.users,
      nodes: [
        { id: m.peer.name, type: 'peer' as const, hosts: hostsOf(m.peer.name, m) },
        { id: 'chaincode', type: 'client' as const, hosts: hostsOf('chaincode', m) },
      ],
    })),
  ];
}
