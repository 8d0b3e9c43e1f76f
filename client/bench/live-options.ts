/** What the benchmarks on a live network share: their options, where the network is, and a fresh patient. */
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { ready } from '@emr/crypto';
import { loadModules } from './sdk-modules';

export const ROOT = path.resolve(__dirname, '..', '..');

export function liveOptions(argv = process.argv.slice(2)) {
  const json = argv.includes('--json');
  const profileIndex = argv.indexOf('--profile');
  return {
    json,
    /** `--profile DIR`, else $EMR_NETWORK_DIR, else the main network's. */
    networkDir: path.resolve(profileIndex >= 0 ? argv[profileIndex + 1]! : (process.env.EMR_NETWORK_DIR ?? path.join(ROOT, 'network', '.run'))),
    /** `--<name> n`, a positive integer. */
    intOption(name: string, fallback: number): number {
      const i = argv.findIndex((a) => a === `--${name}`);
      if (i < 0) return fallback;
      const n = Number(argv[i + 1]);
      if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${argv[i + 1]}'`);
      return n;
    },
    /** A progress line, unless the output is JSON. */
    log(line: string): void {
      if (!json) console.log(line);
    },
  };
}

/** Enrolls a patient at an org's CA, HospitalA's unless named (`network enroll`). */
export function enrollPatient(networkDir: string, user: string, org = 'HospitalA'): void {
  execFileSync(process.execPath, [path.join(ROOT, 'network/dist/cli.js'), 'enroll', '--org', org, '--user', user, '--role', 'patient'], { cwd: ROOT, env: { ...process.env, EMR_NETWORK_DIR: networkDir }, stdio: 'pipe' });
}

/**
 * The SDK loaded with its crypto backend ready, a fresh patient `<prefix>-<random>` enrolled
 * at `org`, and a way to connect anyone of the network (its profile read once).
 */
export async function freshPatient(networkDir: string, prefix: string, org = 'HospitalA') {
  const { sdk } = await loadModules();
  await ready();
  const user = `${prefix}-${randomUUID().slice(0, 8)}`;
  enrollPatient(networkDir, user, org);
  const profile = sdk.loadProfile(networkDir);
  return { sdk, user, connect: (atOrg: string, who: string) => sdk.EmrClient.connect({ org: atOrg, user: who, profile }) };
}
