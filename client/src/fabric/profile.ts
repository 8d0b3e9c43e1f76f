import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Role } from '@emr/protocol';

/** Where one org's gateway peer is and which wallet entries it has. Written by `network up`. */
export interface OrgProfile {
  mspId: string;
  /** host:port of the org's peer (its Fabric Gateway). */
  peerEndpoint: string;
  /** TLS server name of the peer. */
  peerHostAlias: string;
  /** PEM file of the CA that signed the peer's TLS certificate. */
  tlsRootCertPath: string;
  /** PEM file of the org's CA (it issues enrollment certificates): services check callers against it. */
  caCertPath: string;
  /** The org's Kubo RPC API, e.g. http://127.0.0.1:5001. */
  ipfsApi: string;
  /** The org's proxy service and key generation centre service (HTTP base URLs). */
  proxyEndpoint: string;
  kgcEndpoint: string;
  /** Wallet entries: enrollment id → role and a directory holding cert.pem and key.pem. */
  users: Record<string, { role: Role; dir: string }>;
}

/** The SDK's connection profile: `<network dir>/network.json`. */
export interface ConnectionProfile {
  channel: string;
  chaincode: string;
  orgs: Record<string, OrgProfile>;
}

/** Reads the connection profile from `dir` (default: $EMR_NETWORK_DIR). */
export function loadProfile(dir = process.env.EMR_NETWORK_DIR): ConnectionProfile {
  if (!dir) throw new Error('no network directory: pass one or set EMR_NETWORK_DIR (the directory `network up` wrote network.json to)');
  const file = path.join(dir, 'network.json');
  try {
    return JSON.parse(readFileSync(file, 'utf8')) as ConnectionProfile;
  } catch (err) {
    throw new Error(`cannot read connection profile ${file}: ${(err as Error).message} (is the network up?)`);
  }
}
