/**
 * npm run bench:subtree [-- --records 500] [--leaves 20] [--depth 5] [--runs 5] [--json] [--profile DIR]
 *
 * Category subtrees (docs/crypto.md) on the live network (`network up`), each figure beside
 * its reference in the same run:
 *  - upload against depth: a record's data key encapsulated to its category and every
 *    ancestor (d + 1 capsules with the root) against one capsule (the scheme before), in
 *    process; and the whole upload of 1 KiB at depth 1…D against depth 1;
 *  - a grant against the patient's unrelated records: a consent on an empty category (one
 *    grant, made without reading the records) with 10 and with --records records, beside the
 *    listing of every record the grant made before (extendGrants reads them all);
 *  - a consent over a category with records in --leaves leaves: one grant, beside one grant
 *    per leaf (a consent naming one record per leaf, as every category consent was made before).
 * A fresh patient (enrolled at HospitalA's CA) per run of the script.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { encodeCapsule, encrypt, toBase64url } from '@emr/crypto';
import type { ConsentInput } from '@emr/protocol';
import type { EmrClient } from '../src';
import { fmtMs, median, timed } from './e2e-measure';
import { freshPatient, liveOptions } from './live-options';

const { json, networkDir, intOption, log } = liveOptions();
const records = intOption('records', 500);
const leaves = intOption('leaves', 20);
const maxDepth = intOption('depth', 5);
const runs = intOption('runs', 5);
const hour = 3_600_000;

/** `depth` segments under a prefix: d1/d2/…/dN. */
const categoryAt = (prefix: string, depth: number) => [prefix, ...Array.from({ length: depth - 1 }, (_, i) => `d${i + 2}`)].join('/');

async function uploadAll(doctor: EmrClient, patientPseudonym: string, categories: string[], concurrency = 8): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < categories.length; i += concurrency) {
    const batch = await Promise.all(categories.slice(i, i + concurrency).map((category) => doctor.uploadRecord({ patientPseudonym, category, source: randomBytes(1024) })));
    ids.push(...batch.map((b) => b.record.recordId));
  }
  return ids;
}

async function main(): Promise<void> {
  const { sdk, user, connect } = await freshPatient(networkDir, 'bench-subtree');
  const doctor = connect('HospitalA', 'doctor1');
  const patient = connect('HospitalA', user);
  const researcher = connect('ResearchInstitute', 'researcher1');
  try {
    await patient.registerPatient();
    await researcher.registerIdentity();
    const pseudonym = patient.ownPseudonym();
    const consent = (scope: ConsentInput['scope']) => ({
      patientPseudonym: pseudonym,
      grantee: { kind: 'identity' as const, mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
      scope,
      purpose: 'research' as const,
      validFrom: new Date(Date.now() - hour).toISOString(),
      validUntil: new Date(Date.now() + 24 * hour).toISOString(),
      maxAccesses: 10,
      hopLimit: 1,
    });
    log(`network ${networkDir}; patient ${user} (${pseudonym.slice(0, 12)}…)`);

    // 1. Upload against depth.
    const { params } = await sdk.loadConsortium(doctor.connection);
    const encapsulation: { depth: number; capsules: number; ms: number; oneCapsuleMs: number }[] = [];
    const uploads: { depth: number; ms: number }[] = [];
    for (let depth = 1; depth <= maxDepth; depth++) {
      const category = categoryAt(`depth${depth}`, depth);
      const key = randomBytes(32);
      const all: number[] = [];
      const one: number[] = [];
      for (let i = 0; i < 50; i++) {
        all.push((await timed(async () => sdk.encapsulateForCategory(params, pseudonym, 'sharable', category, key))).ms);
        one.push((await timed(async () => toBase64url(encodeCapsule(encrypt(params, { owner: pseudonym, type: 'sharable', condition: category }, key))))).ms);
      }
      encapsulation.push({ depth, capsules: depth + 1, ms: median(all), oneCapsuleMs: median(one) });
      const live: number[] = [];
      for (let i = 0; i < runs; i++) live.push((await timed(() => doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: randomBytes(1024) }))).ms);
      uploads.push({ depth, ms: median(live) });
      log(`depth ${depth}: ${depth + 1} capsules ${fmtMs(median(all))} ms (one capsule ${fmtMs(median(one))} ms); upload 1 KiB ${fmtMs(median(live))} ms`);
    }

    // 2. A grant against the patient's unrelated records.
    const grants: { records: number; grantMs: number; listingMs: number; grantsMade: number }[] = [];
    let indexed = maxDepth * runs;
    for (const target of [10, records]) {
      if (target > indexed) {
        await uploadAll(doctor, pseudonym, Array.from({ length: target - indexed }, (_, i) => `history/visit${i % 7}`));
        indexed = target;
      }
      const grantMs: number[] = [];
      const listingMs: number[] = [];
      let made = 0;
      for (let i = 0; i < runs; i++) {
        const g = await timed(() => patient.grantConsent(consent({ category: `empty${randomUUID().slice(0, 8)}` })));
        made = g.value.grants.length;
        grantMs.push(g.ms);
        listingMs.push((await timed(() => patient.extendGrants(g.value.consent))).ms);
      }
      grants.push({ records: indexed, grantMs: median(grantMs), listingMs: median(listingMs), grantsMade: made });
      log(`${indexed} records: a grant on an empty category ${fmtMs(median(grantMs))} ms (${made} grant); listing them all as the grant did before ${fmtMs(median(listingMs))} ms`);
    }

    // 3. A consent over a category with records in many leaves.
    const dept = `dept${randomUUID().slice(0, 8)}`;
    const leafIds = await uploadAll(doctor, pseudonym, Array.from({ length: leaves }, (_, i) => `${dept}/leaf${i}`));
    const subtree = await timed(() => patient.grantConsent(consent({ category: dept })));
    const perLeaf = await timed(() => patient.grantConsent(consent({ recordIds: leafIds })));
    log(`${leaves} leaves: one consent on '${dept}' ${fmtMs(subtree.ms)} ms (${subtree.value.grants.length} grant); per-leaf grants ${fmtMs(perLeaf.ms)} ms (${perLeaf.value.grants.length} grants), ${(perLeaf.ms / subtree.ms).toFixed(1)}×`);
    const result = {
      encapsulation,
      uploads: uploads.map((u) => ({ ...u, vsDepth1: u.ms / uploads[0]!.ms })),
      grants,
      leaves: { leaves, subtreeMs: subtree.ms, subtreeGrants: subtree.value.grants.length, perLeafMs: perLeaf.ms, perLeafGrants: perLeaf.value.grants.length },
    };
    if (json) console.log(JSON.stringify(result, null, 2));
  } finally {
    for (const c of [doctor, patient, researcher]) c.close();
  }
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? (err.stack ?? err.message) : err);
  process.exit(1);
});
