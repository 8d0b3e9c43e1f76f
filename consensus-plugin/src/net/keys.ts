/**
 * Ed25519 identities for real processes: one key pair per node, written once per cluster
 * into a key directory. Each replica reads its own private key and every node's public key.
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify, type KeyObject } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Authenticator, NodeId } from '../core/types';

/** Where a cluster's keys live: `node-<id>.key` (PKCS#8 PEM, mode 0600) and `public.json` ({ id: SPKI PEM }). */
export interface ClusterKeyFiles {
  publicKeys: string;
  privateKey(id: NodeId): string;
}

export function clusterKeyFiles(dir: string): ClusterKeyFiles {
  return { publicKeys: path.join(dir, 'public.json'), privateKey: (id) => path.join(dir, `node-${id}.key`) };
}

/** Signs and verifies with Ed25519; signatures are base64url over the UTF-8 payload. */
export class Ed25519Authenticator implements Authenticator {
  constructor(
    readonly id: NodeId,
    private readonly privateKey: KeyObject,
    private readonly publicKeys: ReadonlyMap<NodeId, KeyObject>,
  ) {}

  sign(payload: string): string {
    return sign(null, Buffer.from(payload, 'utf8'), this.privateKey).toString('base64url');
  }

  verify(node: NodeId, payload: string, signature: string): boolean {
    const key = this.publicKeys.get(node);
    if (key === undefined || typeof signature !== 'string') return false;
    const bytes = Buffer.from(signature, 'base64url');
    // Ed25519 signatures are 64 bytes; anything else is garbage (verify would throw or fail).
    if (bytes.length !== 64) return false;
    return verify(null, Buffer.from(payload, 'utf8'), key, bytes);
  }
}

/** Fresh key pairs for `ids`, in memory (tests and single-process use). */
export function generateAuthenticators(ids: readonly NodeId[]): Map<NodeId, Ed25519Authenticator> {
  const pairs = ids.map((id) => [id, generateKeyPairSync('ed25519')] as const);
  const publicKeys = new Map(pairs.map(([id, pair]) => [id, pair.publicKey]));
  return new Map(pairs.map(([id, pair]) => [id, new Ed25519Authenticator(id, pair.privateKey, publicKeys)]));
}

/** Generates a key pair per node and writes them under `dir`. */
export function writeClusterKeys(dir: string, ids: readonly NodeId[]): ClusterKeyFiles {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const files = clusterKeyFiles(dir);
  const publicKeys: Record<string, string> = {};
  for (const id of ids) {
    const { privateKey, publicKey } = generateKeyPairSync('ed25519');
    writeFileSync(files.privateKey(id), privateKey.export({ type: 'pkcs8', format: 'pem' }), { mode: 0o600 });
    publicKeys[id] = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  }
  writeFileSync(files.publicKeys, JSON.stringify(publicKeys, null, 2));
  return files;
}

/** Node `id`'s authenticator from its private key file and the cluster's public keys. */
export function loadAuthenticator(id: NodeId, privateKeyPath: string, publicKeysPath: string): Ed25519Authenticator {
  const privateKey = createPrivateKey(readFileSync(privateKeyPath));
  const pems = JSON.parse(readFileSync(publicKeysPath, 'utf8')) as Record<string, string>;
  const publicKeys = new Map(Object.entries(pems).map(([node, pem]) => [Number(node), createPublicKey(pem)]));
  const own = publicKeys.get(id);
  if (own === undefined || !createPublicKey(privateKey).equals(own)) {
    throw new Error(`node ${id}: private key does not match its public key in ${publicKeysPath}`);
  }
  return new Ed25519Authenticator(id, privateKey, publicKeys);
}
