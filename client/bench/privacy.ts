/**
 * npm run bench:privacy [-- --runs 9] [--json] [--profile DIR]
 *
 * What blinded categories cost (docs/privacy.md), on the live network (`network up`), each
 * beside the clear flow in the same run, alternated:
 *  - a 1 KiB upload by another hospital's doctor, the path blinded by the patient's home
 *    hospital's key centre, against the same upload in the clear;
 *  - a consent with its grant, the category blinded with the patient's own key, against the clear one;
 *  - the researcher's 1 KiB read of the blinded record under the blinded consent, against the clear pair.
 * A fresh patient of HospitalB per run of the script (HospitalB has no approval policies on a fresh network).
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { ready } from '@emr/crypto';
import type { EmrClient } from '../src';
import { fmtMs, median, timed } from './e2e-measure';
import { enrollPatient, liveOptions } from './live-options';
import { loadModules } from './sdk-modules';

const { json, networkDir, intOption, log } = liveOptions();
const runs = intOption('runs', 9);
const hour = 3_600_000;

async function main(): Promise<void> {
  const { sdk } = await loadModules();
  await ready();
  const user = `bench-privacy-${randomUUID().slice(0, 8)}`;
  enrollPatient(networkDir, user, 'HospitalB');
  const connect = (org: string, who: string) => sdk.EmrClient.connect({ org, user: who, profile: networkDir });
  const clients: EmrClient[] = [connect('HospitalA', 'doctor1'), connect('HospitalB', user), connect('ResearchInstitute', 'researcher1')];
  const [doctor, patient, researcher] = clients as [EmrClient, EmrClient, EmrClient];
  try {
    await patient.registerPatient();
    await researcher.registerIdentity();
    const pseudonym = patient.ownPseudonym();
    log(`network ${networkDir}; patient ${user} of HospitalB (${pseudonym.slice(0, 12)}…); ${runs} runs each`);
    const upload = (blindCategory: boolean, category: string) => doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: randomBytes(1024), blindCategory });
    const consent = (blindCategory: boolean, category: string) =>
      patient.grantConsent({
        patientPseudonym: pseudonym,
        grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
        scope: { category },
        blindCategory,
        purpose: 'research',
        validFrom: new Date(Date.now() - hour).toISOString(),
        validUntil: new Date(Date.now() + 24 * hour).toISOString(),
        maxAccesses: 10 * runs,
        hopLimit: 1,
      });
    const m = { upload: { blinded: [] as number[], clear: [] as number[] }, grant: { blinded: [] as number[], clear: [] as number[] }, read: { blinded: [] as number[], clear: [] as number[] } };
    for (let i = 0; i < runs; i++) {
      const category = `dept${i}/notes`;
      for (const blind of [true, false] as const) {
        const key = blind ? 'blinded' : 'clear';
        const up = await timed(() => upload(blind, category));
        const granted = await timed(() => consent(blind, `dept${i}`));
        const read = await timed(() => researcher.fetchRecord(up.value.record.recordId, { consentId: granted.value.consent.consentId }, { purpose: 'research' }));
        m.upload[key].push(up.ms);
        m.grant[key].push(granted.ms);
        m.read[key].push(read.ms);
      }
    }
    const rows = (['upload', 'grant', 'read'] as const).map((k) => ({ what: k, blindedMs: median(m[k].blinded), clearMs: median(m[k].clear), ratio: median(m[k].blinded) / median(m[k].clear) }));
    for (const r of rows) log(`${r.what.padEnd(6)} blinded ${fmtMs(r.blindedMs)} ms, clear ${fmtMs(r.clearMs)} ms (${r.ratio.toFixed(2)}×)`);
    if (json) console.log(JSON.stringify({ runs, rows }, null, 2));
  } finally {
    for (const c of clients) c.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
