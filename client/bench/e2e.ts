/**
 * npm run bench:e2e [-- --json] [--write] [--sizes 1KiB,1MiB,100MiB] [--runs N] [--share-runs N]
 *                      [--backend noble|mcl] [--profile DIR] [--keep]
 *
 * End to end on the live network (`network up`), through the SDK's EmrClient, beside plain
 * Kubo on the same nodes in the same run:
 *  - upload: HospitalA's doctor1 uploads a record (streamed encryption → two Kubo nodes →
 *    index on chain) vs a plain `ipfs add` of the same bytes on HospitalA's node (same add
 *    options as the SDK: CIDv1, raw leaves, 1 MiB chunks, pinned);
 *  - fetch: ResearchInstitute's researcher1 reads it under a consent (access on chain →
 *    proxy fragments → data key → IPFS → SHA-256 → decryption → receipt on chain) vs a plain
 *    `ipfs cat` of the reference CID on the node our fetch read from;
 *  - share: a fresh 1 KiB record per run, then the patient's grant and the researcher's read,
 *    timed together, with their breakdown.
 * Ours and the reference alternate which goes first per repetition. Every repetition uses
 * fresh random bytes (so Kubo never deduplicates the reference against an earlier run), in a
 * temp file that is streamed, never read whole. At the end the reference CIDs are unpinned
 * and the records it made are erased (--keep keeps them).
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { useBackend, type BackendName } from '@emr/crypto';
import type { EmrClient } from '../src';
import { KiB, MiB, fmtMs, parseSize, sha256, sizeLabel, timed, writeRandomFile } from './e2e-measure';
import { printReport, summarise } from './e2e-report';
import { loadModules } from './sdk-modules';
import { ADD_OPTIONS, IN_MEMORY_MAX, measureFetches, measureShares, measureUploads, referenceAdd, type Bench, type OursUpload } from './e2e-runs';

// ---------------------------------------------------------------- options

const argv = process.argv.slice(2);
const flag = (name: string) => argv.includes(`--${name}`);
function option(name: string): string | undefined {
  const i = argv.findIndex((a) => a === `--${name}` || a.startsWith(`--${name}=`));
  if (i < 0) return undefined;
  const a = argv[i]!;
  const value = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[i + 1];
  if (value === undefined || value.startsWith('--')) throw new Error(`--${name} needs a value`);
  return value;
}
function intOption(name: string): number | undefined {
  const v = option(name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < 1) throw new Error(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

const json = flag('json');
const write = flag('write');
const keep = flag('keep');
const sizes = (option('sizes') ?? '1KiB,1MiB,100MiB').split(',').filter(Boolean).map(parseSize);
const runsOption = intOption('runs');
const runsFor = (size: number) => runsOption ?? (size <= MiB ? 5 : 2);
const shareRuns = intOption('share-runs') ?? 10;
const backendName = (option('backend') ?? 'noble') as BackendName;
if (backendName !== 'noble' && backendName !== 'mcl') throw new Error(`--backend must be noble or mcl, got '${String(backendName)}'`);
const networkDir = path.resolve(option('profile') ?? process.env.EMR_NETWORK_DIR ?? path.join(__dirname, '..', '..', 'network', '.run'));

const log = (line: string) => {
  if (!json) console.log(line);
};

const UPLOADER = { org: 'HospitalA', user: 'doctor1' };
const PATIENT = { org: 'HospitalA', user: 'patient1' };
const READER = { org: 'ResearchInstitute', user: 'researcher1' };
const READER_PARTY = { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' };

// ---------------------------------------------------------------- the run

async function main(): Promise<void> {
  const { kubo: { create }, sdk: { ConflictError, EmrClient, loadProfile } } = await loadModules();
  await useBackend(backendName);
  const profile = loadProfile(networkDir);
  for (const who of [UPLOADER, PATIENT, READER]) {
    if (!profile.orgs[who.org]?.users[who.user]) throw new Error(`the network at ${networkDir} has no ${who.user}@${who.org}`);
  }
  const kubo = new Map<string, KuboRPCClient>(Object.entries(profile.orgs).map(([org, o]) => [org, create({ url: `${o.ipfsApi}/api/v0`, timeout: 600_000 })]));
  const kuboOf = (org: string) => kubo.get(org)!;
  const uploaderKubo = kuboOf(UPLOADER.org);
  /** The order the reader's IpfsStore tries nodes in: its own org's first, then the profile's order. */
  const readerNodes = [READER.org, ...Object.keys(profile.orgs).filter((o) => o !== READER.org)];
  const kuboVersion = (await uploaderKubo.id()).agentVersion;

  const tmp = mkdtempSync(path.join(os.tmpdir(), 'emr-bench-e2e-'));
  const clients: EmrClient[] = [];
  const connect = (who: { org: string; user: string }) => {
    const c = EmrClient.connect({ ...who, profile });
    clients.push(c);
    return c;
  };
  const referenceCids = new Set<string>();
  const recordIds: string[] = [];
  let cleanup: { records: number; referenceCids: number; ms: number } | undefined;
  let patientClient: EmrClient | undefined;
  /**
   * The reference CIDs unpinned; our records erased (capsule off the world state, ciphertext
   * unpinned and collected on every node) unless --keep. Also after a failure, best effort.
   */
  const cleanUp = async () => {
    const t0 = performance.now();
    const ids = keep ? [] : recordIds.splice(0);
    const cids = [...referenceCids];
    referenceCids.clear();
    for (const cid of cids) await kuboOf(UPLOADER.org).pin.rm(cid as never).catch(() => undefined);
    if (ids.length > 0) for (const id of ids) await patientClient!.eraseRecord(id);
    else for await (const _ of kuboOf(UPLOADER.org).repo.gc()) void _;
    return { records: ids.length, referenceCids: cids.length, ms: performance.now() - t0 };
  };
  let result: unknown;
  try {
    const doctor = connect(UPLOADER);
    const patient = (patientClient = connect(PATIENT));
    const researcher = connect(READER);
    // The patient's pseudonym is bound to his own key: he registers it once, it stays across runs.
    const pseudonym = patient.ownPseudonym();
    await patient.registerPatient().catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
    log(`network ${networkDir} (Kubo ${kuboVersion}), crypto backend ${backendName}; patient pseudonym ${pseudonym.slice(0, 16)}…`);

    const bench: Bench = {
      doctor,
      patient,
      researcher,
      pseudonym,
      tmp,
      uploaderOrg: UPLOADER.org,
      kuboOf,
      log,
      async servingNode(cid) {
        for (const org of readerNodes) if (await researcher.ipfs.holds({ org, api: profile.orgs[org]!.ipfsApi }, cid)) return org;
        throw new Error(`no node holds ${cid}`);
      },
      async ours(source, category): Promise<OursUpload> {
        const r = await timed(() => doctor.uploadRecord({ patientPseudonym: pseudonym, category, source }));
        recordIds.push(r.value.record.recordId);
        // The replica is pinned in the background; also time the upload until it is there.
        const t0 = performance.now();
        const replication = await r.value.replicated;
        if (replication.error) throw replication.error;
        return { ...r, untilReplicatedMs: r.ms + (performance.now() - t0), pinnedOn: replication.pinnedOn };
      },
      async reference(file) {
        const r = await referenceAdd(uploaderKubo, file);
        referenceCids.add(r.value.cid.toString());
        return { ms: r.ms, cpuMs: r.cpuMs, peakRssMiB: r.peakRssMiB, cid: r.value.cid.toString() };
      },
    };

    // Warm-up (excluded from the runs): the first upload loads the consortium's parameters
    // and hashes the new slot; the first fetch extracts the reader's identity key.
    log('warm-up ...');
    const warmFile = path.join(tmp, 'warm-up');
    const warmSha = await writeRandomFile(warmFile, KiB);
    const warmUpload = await bench.ours(warmFile, 'bench/e2e');
    await bench.reference(warmFile);

    const results = await measureUploads(bench, sizes, runsFor);

    // The patient's consent, after the uploads: its grants cover the slots of existing records.
    const window = { validFrom: new Date(Date.now() - 60_000).toISOString(), validUntil: new Date(Date.now() + 86_400_000).toISOString() };
    const consentInput = { patientPseudonym: pseudonym, grantee: { kind: 'identity' as const, ...READER_PARTY }, scope: { category: 'bench' }, purpose: 'research' as const, ...window, maxAccesses: 1_000_000, hopLimit: 1 };
    const granted = await timed(() => patient.grantConsent(consentInput));
    const consentId = granted.value.consent.consentId;
    if (granted.value.consent.status !== 'active') throw new Error(`consent ${consentId} is ${granted.value.consent.status}, not active`);
    log(`consent ${consentId}: ${granted.value.grants.length} grant(s) in ${fmtMs(granted.ms)} ms`);

    const warmFetch = await timed(() => researcher.fetchRecord(warmUpload.value.record.recordId, { consentId }, { purpose: 'research' }));
    if (sha256(warmFetch.value.data!) !== warmSha) throw new Error('the warm-up fetch returned other bytes');
    rmSync(warmFile);

    await measureFetches(bench, results, consentId);
    const share = await measureShares(bench, shareRuns, consentInput);
    const summary = summarise(results, share);

    cleanup = await cleanUp();
    result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
      network: { dir: networkDir, kubo: kuboVersion, uploader: `${UPLOADER.user}@${UPLOADER.org}`, reader: `${READER.user}@${READER.org}`, referenceAddOptions: ADD_OPTIONS },
      config: { sizes, runs: Object.fromEntries(sizes.map((b) => [sizeLabel(b), runsFor(b)])), shareRuns, backend: backendName, inMemoryFetchMaxBytes: IN_MEMORY_MAX },
      warmup: { uploadMs: warmUpload.ms, uploadTimings: warmUpload.value.timings, consentGrantMs: granted.ms, consentGrants: granted.value.grants.length, fetchMs: warmFetch.ms, fetchTimings: warmFetch.value.timings },
      summary: { ...summary, targetUploadAndFetchRatioAt100MiB: 0.7 },
      runs: { transfer: results, share },
      cleanup,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };
    if (!json) printReport(summary, { warmUpload, consentGrantMs: granted.ms, warmFetch: { ms: warmFetch.ms, keysMs: warmFetch.value.timings.keys ?? 0 }, cleanup });
  } finally {
    if (!cleanup && (recordIds.length > 0 || referenceCids.size > 0) && patientClient) {
      await cleanUp().catch((err: Error) => console.error(`clean-up after the failure failed: ${err.message}`));
    }
    for (const c of clients) c.close();
    rmSync(tmp, { recursive: true, force: true });
  }
  if (json) console.log(JSON.stringify(result, null, 2));
  if (write) {
    const out = path.join(__dirname, '..', '..', 'docs', 'bench-e2e.json');
    mkdirSync(path.dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
    log(`wrote ${path.relative(process.cwd(), out)}`);
  }
}

main().then(
  // Kubo's HTTP keep-alive sockets would hold the process open.
  () => process.exit(0),
  (err) => {
    console.error(err);
    process.exit(1);
  },
);
