/**
 * npm run bench:privacy [-- --runs 9] [--json] [--profile DIR]
 *
 * What metadata privacy costs (docs/privacy.md), on the live network (`network up`), each
 * flow three ways in the same run, alternated: today's (clear path, no padding), private
 * (blinded category, padded content) and private and unlinked (also filed under a record
 * pseudonym):
 *  - a 1 KiB upload by another hospital's doctor, the path blinded (and a record pseudonym
 *    drawn) by the patient's home hospital's key centre, the content padded to its 4 KiB class;
 *  - a consent with its grant, the category blinded with the patient's own key;
 *  - the researcher's read of that record under that consent (for an unlinked record, with
 *    its link from the home hospital's key centre).
 * A fresh patient of HospitalB per run of the script (HospitalB has no approval policies on a fresh network).
 */
import { randomBytes } from 'node:crypto';
import type { EmrClient } from '../src';
import { fmtMs, median, timed } from './e2e-measure';
import { freshPatient, liveOptions } from './live-options';

const { json, networkDir, intOption, log } = liveOptions();
const runs = intOption('runs', 9);
const hour = 3_600_000;

async function main(): Promise<void> {
  const { user, connect } = await freshPatient(networkDir, 'bench-privacy', 'HospitalB');
  const clients: EmrClient[] = [connect('HospitalA', 'doctor1'), connect('HospitalB', user), connect('ResearchInstitute', 'researcher1')];
  const [doctor, patient, researcher] = clients as [EmrClient, EmrClient, EmrClient];
  try {
    await patient.registerPatient();
    await researcher.registerIdentity();
    const pseudonym = patient.ownPseudonym();
    log(`network ${networkDir}; patient ${user} of HospitalB (${pseudonym.slice(0, 12)}…); ${runs} runs each`);
    const upload = (hidden: boolean, unlinked: boolean, category: string) => doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: randomBytes(1024), blindCategory: hidden, padSize: hidden, unlinked });
    const consent = (hidden: boolean, category: string) =>
      patient.grantConsent({
        patientPseudonym: pseudonym,
        grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
        scope: { category },
        blindCategory: hidden,
        purpose: 'research',
        validFrom: new Date(Date.now() - hour).toISOString(),
        validUntil: new Date(Date.now() + 24 * hour).toISOString(),
        maxAccesses: 10 * runs,
        hopLimit: 1,
      });
    const modes = { private: { hidden: true, unlinked: false }, unlinked: { hidden: true, unlinked: true }, today: { hidden: false, unlinked: false } } as const;
    const samples = () => ({ private: [] as number[], unlinked: [] as number[], today: [] as number[] });
    const m = { upload: samples(), grant: samples(), read: samples() };
    for (let i = 0; i < runs; i++) {
      for (const [key, { hidden, unlinked }] of Object.entries(modes) as [keyof typeof modes, (typeof modes)[keyof typeof modes]][]) {
        const dept = `dept${i}${key}`;
        const up = await timed(() => upload(hidden, unlinked, `${dept}/notes`));
        const granted = await timed(() => consent(hidden, dept));
        const read = await timed(() => researcher.fetchRecord(up.value.record.recordId, { consentId: granted.value.consent.consentId }, { purpose: 'research' }));
        m.upload[key].push(up.ms);
        m.grant[key].push(granted.ms);
        m.read[key].push(read.ms);
      }
    }
    const rows = (['upload', 'grant', 'read'] as const).map((k) => {
      const [privateMs, unlinkedMs, todayMs] = [median(m[k].private), median(m[k].unlinked), median(m[k].today)];
      return { what: k, privateMs, unlinkedMs, todayMs, ratio: privateMs / todayMs, unlinkedRatio: unlinkedMs / todayMs };
    });
    for (const r of rows) log(`${r.what.padEnd(6)} blinded and padded ${fmtMs(r.privateMs)} ms (${r.ratio.toFixed(2)}×), also unlinked ${fmtMs(r.unlinkedMs)} ms (${r.unlinkedRatio.toFixed(2)}×), today's ${fmtMs(r.todayMs)} ms`);
    if (json) console.log(JSON.stringify({ runs, rows }, null, 2));
  } finally {
    for (const c of clients) c.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
