/**
 * npm run bench:areas [-- --runs 9] [--json] [--profile DIR]
 *
 * Keys for groups (docs/crypto.md) on the live network (`network up`), each figure beside its
 * reference in the same run, the two alternated so drift hits both alike:
 *  - key extraction: an area's key (each centre checks membership against the settings it
 *    read from its peer) beside the caller's own identity key (a certificate check only);
 *  - grants: the patient's standing grants, one per area, beside one grant of an identity consent;
 *  - a 1 KiB read by area (RequestAreaAccess, the standing grant, the area's key) beside the
 *    same doctor's read under an identity consent, keys cached as in steady use.
 * A fresh patient (enrolled at HospitalA's CA) per run of the script.
 */
import { randomBytes } from 'node:crypto';
import { fmtMs, median, timed } from './e2e-measure';
import { freshPatient, liveOptions } from './live-options';

const { json, networkDir, intOption, log } = liveOptions();
const runs = intOption('runs', 9);
const hour = 3_600_000;

/** Medians of two alternated measurements. */
async function sideBySide(a: () => Promise<unknown>, b: () => Promise<unknown>): Promise<{ a: number; b: number }> {
  const as: number[] = [];
  const bs: number[] = [];
  for (let i = 0; i < runs; i++) {
    as.push((await timed(a)).ms);
    bs.push((await timed(b)).ms);
  }
  return { a: median(as), b: median(bs) };
}

async function main(): Promise<void> {
  const { sdk, user, connect } = await freshPatient(networkDir, 'bench-areas');
  const doctor = connect('HospitalA', 'doctor1');
  const patient = connect('HospitalA', user);
  try {
    await patient.registerPatient();
    await doctor.registerIdentity();
    const pseudonym = patient.ownPseudonym();
    log(`network ${networkDir}; patient ${user} (${pseudonym.slice(0, 12)}…); ${runs} runs each`);

    // 1. Key extraction: the area's key against the doctor's own.
    const consortium = await sdk.loadConsortium(doctor.connection);
    const keys = await sideBySide(
      () => sdk.extractKey(consortium, 'area:own-hospital@HospitalAMSP', doctor.connection),
      () => sdk.extractKey(consortium, 'doctor1@HospitalAMSP', doctor.connection),
    );
    log(`key extraction: the own-hospital area's key ${fmtMs(keys.a)} ms, his own ${fmtMs(keys.b)} ms (${(keys.a / keys.b).toFixed(2)}×)`);

    // 2. The standing grants (one per area) against one grant of an identity consent.
    const areas = (await patient.settings.read()).areas.length;
    const standing = await timed(() => patient.makeAreaGrants());
    const consent = await timed(() =>
      patient.grantConsent({
        patientPseudonym: pseudonym,
        grantee: { kind: 'identity', mspId: 'HospitalAMSP', enrollmentId: 'doctor1' },
        scope: { category: 'cardiology' }, // a hospital's approval policy could hold a consent on every category pending
        purpose: 'treatment',
        validFrom: new Date(Date.now() - hour).toISOString(),
        validUntil: new Date(Date.now() + 24 * hour).toISOString(),
        maxAccesses: 10 * runs,
        hopLimit: 1,
      }),
    );
    const perStanding = standing.ms / standing.value.length;
    log(`grants: ${standing.value.length} standing grants (${areas} areas) ${fmtMs(standing.ms)} ms, ${fmtMs(perStanding)} ms each; one identity consent with its grant ${fmtMs(consent.ms)} ms (${(perStanding / consent.ms).toFixed(2)}× per grant)`);

    // 3. A read by area against a read under the consent, same doctor, same record, keys cached.
    const { record } = await doctor.uploadRecord({ patientPseudonym: pseudonym, category: 'cardiology/echo', source: randomBytes(1024) });
    const byArea = () => doctor.fetchRecord(record.recordId, { area: true }, { purpose: 'treatment' });
    const byConsent = () => doctor.fetchRecord(record.recordId, { consentId: consent.value.consent.consentId }, { purpose: 'treatment' });
    await byArea(); // the area's key and the grant keys, once
    await byConsent();
    const reads = await sideBySide(byArea, byConsent);
    log(`1 KiB read: by area ${fmtMs(reads.a)} ms, under an identity consent ${fmtMs(reads.b)} ms (${(reads.a / reads.b).toFixed(2)}×)`);

    if (json) {
      console.log(
        JSON.stringify(
          {
            runs,
            keyExtraction: { areaMs: keys.a, ownMs: keys.b, ratio: keys.a / keys.b },
            grants: { standingGrants: standing.value.length, standingMs: standing.ms, perStandingMs: perStanding, identityConsentMs: consent.ms },
            read1KiB: { byAreaMs: reads.a, byConsentMs: reads.b, ratio: reads.a / reads.b },
          },
          null,
          2,
        ),
      );
    }
  } finally {
    for (const c of [doctor, patient]) c.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
