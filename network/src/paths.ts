import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import path from 'node:path';

/** Repository root (this file compiles to network/dist/paths.js). */
export const repoRoot = path.resolve(__dirname, '..', '..');
export const networkPackageDir = path.join(repoRoot, 'network');

/** Where `npm run network` keeps the network's state unless EMR_NETWORK_DIR says otherwise. */
export const defaultStateDir = path.join(networkPackageDir, '.run');
/** All runtime state (crypto material, ledgers, logs, pid files, wallet); kept by `down`, deleted only by `reset`. */
export const stateDir = path.resolve(process.env.EMR_NETWORK_DIR ?? defaultStateDir);

/** Pinned binaries, outside git; the hash of the pins names the directory (see install-binaries.sh). */
export function binDir(): string {
  const pins = ['fabric', 'fabric-ca'].map((m) => readFileSync(path.join(networkPackageDir, 'tools', m, 'go.mod')));
  const hash = createHash('sha256').update(Buffer.concat(pins)).digest('hex').slice(0, 12);
  return path.join(process.env.EMR_CACHE_DIR ?? path.join(homedir(), '.cache', 'emr-fabric'), 'bin', hash);
}

/** The pinned Kubo binary, in its own directory named by the hash of its pin (install-binaries.sh). */
export function kuboBin(): string {
  const hash = createHash('sha256').update(readFileSync(path.join(networkPackageDir, 'tools', 'kubo', 'go.mod'))).digest('hex').slice(0, 12);
  return path.join(process.env.EMR_CACHE_DIR ?? path.join(homedir(), '.cache', 'emr-fabric'), 'bin', `kubo-${hash}`, 'ipfs');
}

export const builderDir = path.join(networkPackageDir, 'builders', 'ccaas');

/** A daemon's compiled entry point under network/dist, also when `up` runs from the TypeScript sources (tests, benches). */
export function compiledDaemon(relative: string): string {
  const file = path.join(networkPackageDir, 'dist', relative);
  if (!existsSync(file)) throw new Error(`missing ${file}: run 'npm run build' first`);
  return file;
}

export const state = {
  pids: path.join(stateDir, 'pids'),
  logs: path.join(stateDir, 'logs'),
  crypto: path.join(stateDir, 'crypto'),
  wallet: path.join(stateDir, 'wallet'),
  ledgers: path.join(stateDir, 'ledgers'),
  config: path.join(stateDir, 'config'),
  chaincode: path.join(stateDir, 'chaincode'),
  /** One Kubo repository per member org. */
  ipfs: path.join(stateDir, 'ipfs'),
  /** The proxy and key-centre services' persisted state (shares, checkpoints, DKG share). */
  services: path.join(stateDir, 'services'),
  /** The ordering setting the network was started with (run-state.ts). */
  ordering: path.join(stateDir, 'ordering.json'),
  /** The SDK's connection profile, written when the network is up. */
  profile: path.join(stateDir, 'network.json'),
};
