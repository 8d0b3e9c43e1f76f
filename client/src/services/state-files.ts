/**
 * The services' state holds key shares (a centre's s_j, a proxy's f(j)): owner-only on disk
 * whatever the umask, and never quoted in an error or a log line (docs/operations.md,
 * "Secrets at rest"). JSON.parse and BigInt quote their input when they fail, so secret
 * files and scalars are only read through here.
 */
import { chmodSync, mkdirSync, readFileSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/** Creates `dir` 0700; one an older version made with the umask's mode is tightened. */
export function privateDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
}

/** Tightens every file in `dir` to 0600 (state an older version wrote with the umask's mode). */
export function tightenFiles(dir: string): void {
  for (const f of readdirSync(dir, { withFileTypes: true })) if (f.isFile()) chmodSync(path.join(dir, f.name), 0o600);
}

/** Writes aside, then renames: the file is whole or absent, and 0600 from its creation. */
export function writePrivate(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  rmSync(tmp, { force: true }); // a crash's leftover keeps its old mode; 'wx' creates afresh
  writeFileSync(tmp, JSON.stringify(value), { mode: 0o600, flag: 'wx' });
  renameSync(tmp, file);
}

/** A secret JSON file; a damaged one is named, its content never shown. */
export function readPrivate<T>(file: string): T {
  const text = readFileSync(file, 'utf8');
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new Error(`${file} is not valid JSON (damaged; its content is secret and not shown)`);
  }
}

/** A scalar kept as lowercase hex; anything else is refused without quoting it. */
export function hexScalar(hex: unknown, what: string): bigint {
  if (typeof hex !== 'string' || !/^[0-9a-f]{1,64}$/.test(hex)) throw new Error(`${what} is not a hex scalar (its value is secret and not shown)`);
  return BigInt(`0x${hex}`);
}
