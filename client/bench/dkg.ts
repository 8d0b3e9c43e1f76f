/**
 * npm run bench:dkg [-- --json]   (on a running network: `npm run network -- up` first)
 * The key centres' DKG on the chain with one cheating centre among 3 (t = 2) and among 5
 * (t = 3), each centre its own process (dkg-centres.ts), beside an honest DKG of the same
 * size in the same run (the reference). Time from the common start to the last honest
 * centre's outcome; a silent centre costs the phases that wait for it (`--phase-ms`).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CHEATS, enrollSecondKgc, runDkgProcesses, stopCentres, type Cheat } from './dkg-centres';

const json = process.argv.includes('--json');
const option = (name: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : undefined;
};
const networkDir = path.resolve(option('profile') ?? process.env.EMR_NETWORK_DIR ?? path.join(__dirname, '..', '..', 'network', '.run'));
const phaseMs = Number(option('phase-ms') ?? 4_000);

async function main() {
  const work = mkdtempSync(path.join(tmpdir(), 'emr-bench-dkg-'));
  const rows: { n: number; t: number; cheat: Cheat | 'none (reference)'; ms: number; ratio: number; qual: number[]; faults: string }[] = [];
  try {
    enrollSecondKgc(5, networkDir);
    for (const [n, t] of [
      [3, 2],
      [5, 3],
    ] as const) {
      let reference = 0;
      for (const cheat of [undefined, ...CHEATS]) {
        if (!json) console.log(`n = ${n}, t = ${t}, ${cheat ?? 'all honest'} ...`);
        const run = await runDkgProcesses(n, t, cheat, { networkDir, workDir: work, basePort: 17400, phaseMs, startMs: 8_000 });
        const failed = run.honest.find((r) => r.error);
        if (failed) throw new Error(`centre ${failed.index} failed: ${failed.error}`);
        if (!cheat) reference = run.ms;
        const o = run.honest[0]!.outcome!;
        rows.push({ n, t, cheat: cheat ?? 'none (reference)', ms: run.ms, ratio: run.ms / reference, qual: o.qual, faults: o.faults.map((f) => `${f.index}: ${f.fault}`).join(', ') || '-' });
      }
    }
  } finally {
    stopCentres();
    rmSync(work, { recursive: true, force: true });
  }
  if (json) {
    console.log(JSON.stringify({ phaseMs, rows }, null, 2));
    return;
  }
  console.log(`\nDKG on the chain, each centre its own process; a phase waits ${phaseMs / 1000} s for a silent centre`);
  console.log('  n  t  the last centre          time s   × honest  QUAL        faults');
  for (const r of rows) console.log(`  ${r.n}  ${r.t}  ${String(r.cheat).padEnd(24)} ${(r.ms / 1000).toFixed(1).padStart(6)}  ${r.ratio.toFixed(2).padStart(8)}  ${`{${r.qual.join(',')}}`.padEnd(11)} ${r.faults}`);
}

main().catch((err: Error) => {
  console.error(err.message);
  process.exit(1);
});
