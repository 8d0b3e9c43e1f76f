/**
 * One member org's own state, backed up and restored by the org alone: its peer's ledger,
 * its IPFS repository, its key centre's share, its proxy's shares and checkpoint, its CA's
 * database and identities, and its wallet. A cold copy: the org's nodes stop for the copy
 * (the rest of the network keeps running), so every file is consistent with the others. A
 * restored peer catches up on the blocks it missed from the ordering service.
 */
import { createHash } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { kuboName } from './kubo';
import { chaincodeServiceName } from './chaincode';
import { nodeDaemons, startNodes, stopNode } from './network';
import { networkPackageDir, stateDir } from './paths';
import { recordedDaemons, run } from './processes';
import { runningTopology } from './run-state';
import { hostnameOf, type MemberOrgSpec, type Topology } from './topology';

export const backupsDir = path.join(networkPackageDir, 'backups');

/** What a backup says about itself (backup.json, first in the archive). */
export interface BackupManifest {
  org: string;
  mspId: string;
  /** The channel's genesis block hash: a backup restores only into the network it came from. */
  network: string;
  takenAt: string;
  /** Paths under the state directory. */
  paths: string[];
}

function memberOf(t: Topology, org: string): MemberOrgSpec {
  const m = t.members.find((x) => x.name === org);
  if (!m) throw new Error(`unknown org '${org}'; the member orgs are ${t.members.map((x) => x.name).join(', ')}`);
  return m;
}

/** The org's state, as paths under the state directory. */
const orgPaths = (m: MemberOrgSpec): string[] =>
  [path.join('crypto', m.name), path.join('ledgers', m.name), path.join('ipfs', m.name), path.join('services', `kgc-${m.name}`), path.join('services', `proxy-${m.name}`), path.join('wallet', m.name)];

/** The org's nodes, in start order: what stops for a backup or a restore. */
const orgNodes = (m: MemberOrgSpec): string[] => [m.ca.name, kuboName(m), hostnameOf(m.peer, m), chaincodeServiceName(m), `kgc-${m.name}`, `proxy-${m.name}`];

const genesisHash = (t: Topology): string => createHash('sha256').update(readFileSync(path.join(stateDir, 'config', 'channel', `${t.channel}.block`))).digest('hex');

/** Runs `f` with the org's running nodes stopped, then starts them again (and waits until they serve). */
async function withOrgStopped<T>(m: MemberOrgSpec, f: () => Promise<T>): Promise<T> {
  const t = runningTopology();
  const running = new Set(recordedDaemons().filter((d) => d.alive).map((d) => d.name));
  const nodes = orgNodes(m).filter((n) => nodeDaemons(t, n).every((d) => running.has(d)));
  for (const n of [...nodes].reverse()) await stopNode(n);
  try {
    return await f();
  } finally {
    await startNodes(nodes);
  }
}

/** Backs up the org's state to a 0600 archive (it holds the org's keys and key shares); answers its path. */
export async function backup(org: string, to?: string): Promise<{ file: string; manifest: BackupManifest; seconds: number }> {
  const t0 = Date.now();
  const t = runningTopology();
  const m = memberOf(t, org);
  if (!existsSync(path.join(stateDir, 'up.json'))) throw new Error(`no network in ${stateDir} to back up`);
  const file = path.resolve(to ?? path.join(backupsDir, `${m.name}-${new Date().toISOString().replace(/[:.]/g, '-')}.tar.gz`));
  if (existsSync(file)) throw new Error(`${file} already exists; a backup never overwrites a file`);
  mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
  const manifest: BackupManifest = { org: m.name, mspId: m.mspId, network: genesisHash(t), takenAt: new Date().toISOString(), paths: orgPaths(m) };
  const work = mkdtempSync(path.join(tmpdir(), 'emr-backup-'));
  try {
    writeFileSync(path.join(work, 'backup.json'), JSON.stringify(manifest, null, 2));
    // Written aside, then renamed: a failed backup leaves no half archive that looks whole.
    const partial = `${file}.partial`;
    writeFileSync(partial, '', { mode: 0o600 });
    await withOrgStopped(m, () => run('tar', ['-czf', partial, '-C', work, 'backup.json', '-C', stateDir, ...manifest.paths]));
    chmodSync(partial, 0o600);
    renameSync(partial, file);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  return { file, manifest, seconds: (Date.now() - t0) / 1000 };
}

/** Reads and checks an archive's manifest without touching the network; throws naming what is wrong. */
export async function readBackup(file: string): Promise<BackupManifest> {
  if (!existsSync(file)) throw new Error(`no backup at ${file}`);
  const listing = await run('tar', ['-tzf', file]).catch((e: Error) => {
    throw new Error(`${file} is not a readable backup archive: ${e.message.split('\n')[0]}`);
  });
  if (!listing.split('\n').includes('backup.json')) throw new Error(`${file} holds no backup.json: not a backup made by \`network backup\``);
  const manifest = JSON.parse(await run('tar', ['-xzOf', file, 'backup.json'])) as BackupManifest;
  for (const p of manifest.paths) {
    if (!listing.split('\n').some((l) => l === p || l === `${p}/` || l.startsWith(`${p}/`))) throw new Error(`${file} lacks ${p}, which its manifest lists`);
  }
  return manifest;
}

/**
 * Restores an org's state from its backup into the running network: its nodes stop, its
 * current state is moved aside (never deleted: `<path>.replaced-<time>`), the backup is
 * unpacked, and its nodes start again; the peer then catches up from the ordering service.
 */
export async function restore(org: string, file: string): Promise<{ manifest: BackupManifest; movedAside: string[]; seconds: number }> {
  const t0 = Date.now();
  const t = runningTopology();
  const m = memberOf(t, org);
  const manifest = await readBackup(path.resolve(file));
  if (manifest.org !== m.name) throw new Error(`${file} is a backup of ${manifest.org}, not of ${m.name}`);
  if (manifest.network !== genesisHash(t)) throw new Error(`${file} was taken on another network (its channel's genesis block differs): it cannot be restored into this one`);
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const movedAside: string[] = [];
  await withOrgStopped(m, async () => {
    for (const p of manifest.paths) {
      const abs = path.join(stateDir, p);
      if (!existsSync(abs)) continue;
      renameSync(abs, `${abs}.replaced-${stamp}`);
      movedAside.push(p);
    }
    try {
      await run('tar', ['-xzf', path.resolve(file), '-C', stateDir, ...manifest.paths]);
    } catch (err) {
      // Back as it was: what was unpacked goes (the archive still has it), what was moved aside returns.
      for (const p of manifest.paths) rmSync(path.join(stateDir, p), { recursive: true, force: true });
      for (const p of movedAside) renameSync(path.join(stateDir, `${p}.replaced-${stamp}`), path.join(stateDir, p));
      throw err;
    }
  });
  return { manifest, movedAside: movedAside.map((p) => `${p}.replaced-${stamp}`), seconds: (Date.now() - t0) / 1000 };
}
