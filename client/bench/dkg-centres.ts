/**
 * Runs a DKG among n key centres on the live network's chain, each its own process
 * (dkg-centre.ts, the real KeyGenerationCentreService), the last one honest or cheating as
 * told. For `npm run bench:dkg` and the soak test of a cheating centre. Centres 1–3 are the
 * orgs' `kgc` identities, 4 and 5 a second kgc identity (`kgc-dkg`) of HospitalA and
 * HospitalB, enrolled on first use. A fresh DKG id each run: the consortium's own centres
 * and their DKG are not touched.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import type { DkgOutcome } from '../src/services/dkg-round';
import { loadProfile } from '../src/fabric/profile';

export const CHEATS = ['inconsistent-shares', 'wrong-feldman', 'silent'] as const;
export type Cheat = (typeof CHEATS)[number];

export interface CentreConfig {
  dkgId: string;
  index: number;
  n: number;
  threshold: number;
  org: string;
  user: string;
  port: number;
  /** index → [base URL, identity `enrollmentId@MSP`] of every centre. */
  members: [number, string, string][];
  stateDir: string;
  phaseMs: number;
  /** Epoch ms when every centre starts dealing (the processes start at different speeds). */
  startAt: number;
  cheat?: Cheat;
}

export interface CentreResult {
  index: number;
  outcome?: DkgOutcome;
  /** The centre's real A_0 = f(0)·G: the oracle for the right mpk. */
  realA0?: string;
  ms?: number;
  error?: string;
}

export interface DkgRun {
  dkgId: string;
  honest: CentreResult[];
  /** The last centre's result (a silent one is stopped once the others finished). */
  last: CentreResult;
  /** From the common start to the slowest honest centre's outcome. */
  ms: number;
}

const ROOT = path.resolve(__dirname, '..', '..');
const ORGS = ['HospitalA', 'HospitalB', 'ResearchInstitute'];
export const SECOND_KGC = 'kgc-dkg';
export const centreIdentity = (i: number) => ({ org: ORGS[(i - 1) % 3]!, user: i <= 3 ? 'kgc' : SECOND_KGC });
/** The orgs that need a second kgc identity for n centres. */
export const secondKgcOrgs = (n: number) => ORGS.slice(0, Math.max(0, n - 3));

/** Enrolls the second kgc identities n centres need (`network enroll`), once. */
export function enrollSecondKgc(n: number, networkDir: string): void {
  const profile = loadProfile(networkDir);
  for (const org of secondKgcOrgs(n)) {
    if (profile.orgs[org]!.users[SECOND_KGC]) continue;
    execFileSync(process.execPath, [path.join(ROOT, 'network/dist/cli.js'), 'enroll', '--org', org, '--user', SECOND_KGC, '--role', 'kgc'], { cwd: ROOT, env: { ...process.env, EMR_NETWORK_DIR: networkDir }, stdio: 'pipe' });
  }
}

const running = new Set<ChildProcess>();
/** Kills every centre process still running (a caller's cleanup). */
export const stopCentres = () => running.forEach((p) => p.kill('SIGKILL'));

function spawnCentre(config: CentreConfig, networkDir: string): { child: ChildProcess; result: Promise<CentreResult> } {
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'client/bench/dkg-centre.ts'), JSON.stringify(config)], {
    cwd: ROOT,
    env: { ...process.env, EMR_NETWORK_DIR: networkDir },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  let out = '';
  let err = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const result = new Promise<CentreResult>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '') as CentreResult);
      } catch {
        resolve({ index: config.index, error: `exited ${code ?? signal}: ${err.slice(-2000)}` });
      }
    }),
  );
  return { child, result };
}

export interface DkgRunOptions {
  networkDir: string;
  /** Where the centres keep their state (a directory per run is made under it). */
  workDir: string;
  /** First HTTP port; centre i listens on basePort + i. */
  basePort: number;
  phaseMs: number;
  /** How long the processes get to start before dealing together. */
  startMs: number;
}

/** One DKG among n centres with threshold t; the last centre cheats as told (or is honest). */
export async function runDkgProcesses(n: number, t: number, cheat: Cheat | undefined, o: DkgRunOptions): Promise<DkgRun> {
  const dkgId = `${cheat ?? 'honest'}-${n}-${randomUUID().slice(0, 8)}`;
  const profile = loadProfile(o.networkDir);
  const members: [number, string, string][] = Array.from({ length: n }, (_, k) => {
    const { org, user } = centreIdentity(k + 1);
    return [k + 1, `http://127.0.0.1:${o.basePort + k + 1}`, `${user}@${profile.orgs[org]!.mspId}`];
  });
  const startAt = Date.now() + o.startMs;
  const centres = members.map(([i]) =>
    spawnCentre({ dkgId, index: i, n, threshold: t, ...centreIdentity(i), port: o.basePort + i, members, stateDir: path.join(o.workDir, dkgId, String(i)), phaseMs: o.phaseMs, startAt, ...(i === n && cheat ? { cheat } : {}) }, o.networkDir),
  );
  const honest = await Promise.all(centres.slice(0, n - 1).map((c) => c.result));
  if (cheat === 'silent') centres[n - 1]!.child.kill('SIGKILL'); // still waiting after its commitments
  const last = await centres[n - 1]!.result;
  const done = cheat === undefined ? [...honest, last] : honest;
  return { dkgId, honest, last, ms: Math.max(...done.map((r) => r.ms ?? 0)) };
}
