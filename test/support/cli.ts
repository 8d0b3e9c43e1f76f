/** The real `emr` and `network` CLIs as built (`node client/dist/cli/emr.js`, as `npm run emr` runs it), for the live-network tests. */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { stateDir } from '../../network/src/paths';

export const root = path.resolve(__dirname, '../..');
export const emrScript = path.join(root, 'client/dist/cli/emr.js');
export const networkScript = path.join(root, 'network/dist/cli.js');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a built script with node; resolves with its exit code and output (never rejects on a non-zero exit). */
export function node(script: string, args: string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, [script, ...args], { cwd: root, env: { ...process.env, EMR_NETWORK_DIR: stateDir }, maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (err, stdout, stderr) => {
      if (err && typeof err.code !== 'number') return reject(new Error(`${path.basename(script)} ${args.join(' ')}: ${err.message}\n${stderr}`));
      resolve({ code: err ? (err.code as number) : 0, stdout, stderr });
    });
  });
}

/** `emr --org <org> --user <user> <args…>`; with `ok`, a non-zero exit fails the test showing stderr. */
export async function emr(org: string, user: string, args: string[], ok = true): Promise<Run> {
  const r = await node(emrScript, ['--org', org, '--user', user, ...args]);
  if (ok && r.code !== 0) throw new Error(`emr --org ${org} --user ${user} ${args.join(' ')} exited ${r.code}:\n${r.stderr}${r.stdout}`);
  return r;
}

/** The same with --json: the one JSON document it prints. */
export async function emrJson<T = any>(org: string, user: string, args: string[], ok = true): Promise<{ code: number; doc: T; stderr: string }> {
  const r = await emr(org, user, ['--json', ...args], ok);
  return { code: r.code, doc: JSON.parse(r.stdout) as T, stderr: r.stderr };
}

/** Fails with the reason when the CLIs were not built. */
export function requireBuiltClis(): void {
  for (const script of [emrScript, networkScript]) {
    if (!existsSync(script)) throw new Error(`${path.relative(root, script)} is missing: run \`npm run build\` first`);
  }
}
