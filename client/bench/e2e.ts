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
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { useBackend, type BackendName } from '@emr/crypto';
import type * as Sdk from '../src';
import type { EmrClient, FetchResult, Timings, UploadResult } from '../src';

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

const KiB = 1024;
const MiB = 1024 * KiB;
const UNITS: Record<string, number> = { b: 1, kib: KiB, kb: 1000, mib: MiB, mb: 1e6, gib: 1024 * MiB, gb: 1e9 };
function parseSize(s: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$/i.exec(s.trim());
  if (!m) throw new Error(`bad size '${s}' (e.g. 1KiB, 1MiB, 100MiB)`);
  const bytes = Math.round(Number(m[1]) * UNITS[(m[2] ?? 'b').toLowerCase()]!);
  if (bytes < 1) throw new Error(`size '${s}' is empty`);
  return bytes;
}
function sizeLabel(bytes: number): string {
  for (const [unit, n] of [['GiB', 1024 * MiB], ['MiB', MiB], ['KiB', KiB]] as const) if (bytes >= n && bytes % n === 0) return `${bytes / n} ${unit}`;
  return `${bytes} B`;
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
/** Above this, fetches (ours and the reference) stream to a temp file instead of memory. */
const IN_MEMORY_MAX = 8 * MiB;

const log = (...a: unknown[]) => {
  if (!json) console.log(...a);
};

// ---------------------------------------------------------------- helpers

const UPLOADER = { org: 'HospitalA', user: 'doctor1' };
const PATIENT = { org: 'HospitalA', user: 'patient1' };
const READER = { org: 'ResearchInstitute', user: 'researcher1' };
const READER_PARTY = { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' };
/** The SDK's add options for records (client/src/sharing/ipfs-store.ts). */
const ADD_OPTIONS = { cidVersion: 1, rawLeaves: true, chunker: 'size-1048576', pin: true } as const;

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The highest resident set size seen since the last reset (sampled every 25 ms while idle). */
const rss = {
  peak: 0,
  timer: undefined as NodeJS.Timeout | undefined,
  sample() {
    this.peak = Math.max(this.peak, process.memoryUsage.rss());
  },
  reset() {
    this.peak = 0;
    this.sample();
    this.timer ??= setInterval(() => this.sample(), 25).unref();
  },
};

interface Measured<T> {
  ms: number;
  /** CPU time of this process (user + system) meanwhile: the client's share of the work. */
  cpuMs: number;
  peakRssMiB: number;
  value: T;
}
async function timed<T>(f: () => Promise<T>): Promise<Measured<T>> {
  rss.reset();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const value = await f();
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  rss.sample();
  return { ms, cpuMs: (cpu.user + cpu.system) / 1000, peakRssMiB: rss.peak / MiB, value };
}

/** Writes `size` random bytes to `file` in 1 MiB pieces; returns their SHA-256 (hex). */
async function writeRandomFile(file: string, size: number): Promise<string> {
  const hash = createHash('sha256');
  let left = size;
  await pipeline(
    new Readable({
      read() {
        if (left === 0) return void this.push(null);
        const piece = randomBytes(Math.min(left, MiB));
        left -= piece.length;
        hash.update(piece);
        this.push(piece);
      },
    }),
    createWriteStream(file),
  );
  return hash.digest('hex');
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file, { highWaterMark: MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

const mibPerS = (bytes: number, ms: number) => bytes / MiB / (ms / 1000);
const fmt = (x: number, digits = 1) => (Number.isFinite(x) ? x.toFixed(digits) : '—');
const fmtMs = (x: number) => (Number.isFinite(x) ? (x >= 100 ? x.toFixed(0) : x.toFixed(1)) : '—');
const fmtRate = (x: number) => (Number.isFinite(x) ? (x >= 10 ? x.toFixed(1) : x >= 0.1 ? x.toFixed(2) : x.toPrecision(2)) : '—');
/** A markdown table (the docs paste them as they are). */
function table(head: string[], rows: (string | number)[][], right = head.map((_, i) => i > 0)): string {
  const cells = rows.map((r) => r.map(String));
  const width = head.map((h, i) => Math.max(h.length, ...cells.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => (right[i] ? c.padStart(width[i]!) : c.padEnd(width[i]!))).join(' | ')} |`;
  return [line(head), `| ${width.map((w, i) => (right[i] ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`, ...cells.map(line)].join('\n');
}

const TIMING_PARTS = ['chain', 'keys', 'proxies', 'crypto', 'ipfs'] as const;
const partsMedian = (all: Timings[]) => Object.fromEntries(TIMING_PARTS.map((p) => [p, median(all.map((t) => t[p] ?? 0))])) as Record<(typeof TIMING_PARTS)[number], number>;

/**
 * kubo-rpc-client is ESM-only, and so are its own dependencies (e.g. cborg exports `import`
 * only). Node 20 require()s it natively, but tsx rewrites an ESM package that is require()d
 * into CommonJS, whose require() of those dependencies then fails. So: load it natively with
 * import(), put that module in the require cache where the SDK's require() finds it, and only
 * then load the SDK.
 */
async function loadModules(): Promise<{ kubo: typeof import('kubo-rpc-client'); sdk: typeof Sdk }> {
  const kubo = await import('kubo-rpc-client');
  const file = require.resolve('kubo-rpc-client');
  require.cache[file] ??= { id: file, filename: file, path: path.dirname(file), loaded: true, exports: kubo, children: [], paths: [] } as unknown as NodeJS.Module;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { kubo, sdk: require('../src') as typeof Sdk };
}

// ---------------------------------------------------------------- the run

interface UploadRun {
  run: number;
  first: 'ours' | 'reference';
  sha256: string;
  ours: { ms: number; cpuMs: number; peakRssMiB: number; timings: Timings; recordId: string; cid: string; pinnedOn: string[]; untilReplicatedMs: number };
  reference: { ms: number; cpuMs: number; peakRssMiB: number; cid: string; node: string };
}
interface FetchRun {
  run: number;
  first: 'ours' | 'reference';
  ours: { ms: number; cpuMs: number; peakRssMiB: number; timings: Timings; servedBy: string; bytes: number; intact: boolean; toFile: boolean };
  reference: { ms: number; cpuMs: number; peakRssMiB: number; node: string; bytes: number; intact: boolean; toFile: boolean };
}
interface SizeResult {
  bytes: number;
  label: string;
  uploads: UploadRun[];
  fetches: FetchRun[];
}
interface ShareRun {
  run: number;
  category: string;
  consentId: string;
  grants: number;
  grantMs: number;
  fetchMs: number;
  totalMs: number;
  timings: Timings;
  intact: boolean;
}

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

    // The first node, in the reader's order, that has the content pinned: the one its fetch reads from.
    const servingNode = async (cid: string): Promise<string> => {
      for (const org of readerNodes) if (await researcher.ipfs.holds({ org, api: profile.orgs[org]!.ipfsApi }, cid)) return org;
      throw new Error(`no node holds ${cid}`);
    };

    // The patient's pseudonym is bound to his own key: he registers it once, it stays across runs.
    const pseudonym = patient.ownPseudonym();
    await patient.registerPatient().catch((err: unknown) => {
      if (!(err instanceof ConflictError)) throw err;
    });
    log(`network ${networkDir} (Kubo ${kuboVersion}), crypto backend ${backendName}; patient pseudonym ${pseudonym.slice(0, 16)}…`);

    const ours = async (source: string | Uint8Array, category: string): Promise<Measured<UploadResult> & { untilReplicatedMs: number; pinnedOn: string[] }> => {
      const r = await timed(() => doctor.uploadRecord({ patientPseudonym: pseudonym, category, source }));
      recordIds.push(r.value.record.recordId);
      // The replica is pinned in the background; also time the upload until it is there.
      const t0 = performance.now();
      const replication = await r.value.replicated;
      if (replication.error) throw replication.error;
      return { ...r, untilReplicatedMs: r.ms + (performance.now() - t0), pinnedOn: replication.pinnedOn };
    };
    const reference = async (file: string) => {
      const r = await timed(() => uploaderKubo.add(createReadStream(file, { highWaterMark: MiB }), ADD_OPTIONS));
      referenceCids.add(r.value.cid.toString());
      return { ms: r.ms, cpuMs: r.cpuMs, peakRssMiB: r.peakRssMiB, cid: r.value.cid.toString() };
    };

    // Warm-up (excluded from the runs): the first upload loads the consortium's parameters
    // and hashes the new slot; the first fetch extracts the reader's identity key.
    log('warm-up ...');
    const warmFile = path.join(tmp, 'warm-up');
    const warmSha = await writeRandomFile(warmFile, KiB);
    const warmUpload = await ours(warmFile, 'bench/e2e');
    await reference(warmFile);

    // 1. Uploads, ours and the reference alternating which goes first.
    const results: SizeResult[] = [];
    for (const bytes of sizes) {
      const size: SizeResult = { bytes, label: sizeLabel(bytes), uploads: [], fetches: [] };
      results.push(size);
      for (let run = 0; run < runsFor(bytes); run++) {
        const file = path.join(tmp, `in-${bytes}-${run}`);
        const sha = await writeRandomFile(file, bytes);
        const first = run % 2 === 0 ? 'ours' : 'reference';
        let o: Awaited<ReturnType<typeof ours>> | undefined;
        let ref: Awaited<ReturnType<typeof reference>> | undefined;
        for (const which of first === 'ours' ? ['ours', 'reference'] : ['reference', 'ours']) {
          if (which === 'ours') o = await ours(file, 'bench/e2e');
          else ref = await reference(file);
        }
        rmSync(file);
        const u: UploadRun = {
          run,
          first,
          sha256: sha,
          ours: { ms: o!.ms, cpuMs: o!.cpuMs, peakRssMiB: o!.peakRssMiB, timings: o!.value.timings, recordId: o!.value.record.recordId, cid: o!.value.record.cid, pinnedOn: o!.pinnedOn, untilReplicatedMs: o!.untilReplicatedMs },
          reference: { ms: ref!.ms, cpuMs: ref!.cpuMs, peakRssMiB: ref!.peakRssMiB, cid: ref!.cid, node: UPLOADER.org },
        };
        size.uploads.push(u);
        log(`upload ${size.label} #${run + 1}: ours ${fmtMs(u.ours.ms)} ms (${fmtRate(mibPerS(bytes, u.ours.ms))} MiB/s, pinned on ${u.ours.pinnedOn.join('+')}), reference ${fmtMs(u.reference.ms)} ms (${fmtRate(mibPerS(bytes, u.reference.ms))} MiB/s)`);
      }
    }

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

    // 2. Fetches: ours by the researcher, the reference `cat` on the node ours read from.
    for (const size of results) {
      const toFile = size.bytes > IN_MEMORY_MAX;
      for (const u of size.uploads) {
        const servedBy = await servingNode(u.ours.cid);
        const outOurs = path.join(tmp, `out-ours-${size.bytes}-${u.run}`);
        const outRef = path.join(tmp, `out-ref-${size.bytes}-${u.run}`);
        let o: Measured<FetchResult> | undefined;
        let ref: Measured<Buffer | undefined> | undefined;
        const first = u.run % 2 === 0 ? 'ours' : 'reference';
        for (const which of first === 'ours' ? ['ours', 'reference'] : ['reference', 'ours']) {
          if (which === 'ours') {
            o = await timed(() => researcher.fetchRecord(u.ours.recordId, { consentId }, { purpose: 'research', ...(toFile ? { to: outOurs } : {}) }));
          } else {
            ref = await timed(async () => {
              const stream = kuboOf(servedBy).cat(u.reference.cid as never);
              // A 1 MiB write buffer: with the default 16 KiB one, every pause of the file sink
              // stalls Kubo's HTTP response for ~10 ms per 16 KiB chunk (100 MiB took 65-77 s).
              if (toFile) return void (await pipeline(Readable.from(stream), createWriteStream(outRef, { highWaterMark: MiB })));
              const chunks: Buffer[] = [];
              for await (const c of stream) chunks.push(Buffer.from(c));
              return Buffer.concat(chunks);
            });
          }
        }
        const oursSha = toFile ? await sha256File(outOurs) : sha256(o!.value.data!);
        const refSha = toFile ? await sha256File(outRef) : sha256(ref!.value!);
        const refBytes = toFile ? size.bytes : ref!.value!.length;
        rmSync(outOurs, { force: true });
        rmSync(outRef, { force: true });
        const f: FetchRun = {
          run: u.run,
          first,
          ours: { ms: o!.ms, cpuMs: o!.cpuMs, peakRssMiB: o!.peakRssMiB, timings: o!.value.timings, servedBy, bytes: o!.value.bytes, intact: oursSha === u.sha256, toFile },
          reference: { ms: ref!.ms, cpuMs: ref!.cpuMs, peakRssMiB: ref!.peakRssMiB, node: servedBy, bytes: refBytes, intact: refSha === u.sha256, toFile },
        };
        if (!f.ours.intact || !f.reference.intact) throw new Error(`fetch ${size.label} #${u.run + 1}: bytes differ from the upload (ours ${f.ours.intact}, reference ${f.reference.intact})`);
        size.fetches.push(f);
        log(`fetch ${size.label} #${u.run + 1} from ${servedBy}: ours ${fmtMs(f.ours.ms)} ms (${fmtRate(mibPerS(size.bytes, f.ours.ms))} MiB/s), reference ${fmtMs(f.reference.ms)} ms (${fmtRate(mibPerS(size.bytes, f.reference.ms))} MiB/s)`);
      }
    }

    // 3. Share: a fresh 1 KiB record in a fresh category, then grant → read.
    const share: ShareRun[] = [];
    for (let i = 1; i <= shareRuns; i++) {
      const category = `bench/share-${i}`;
      const content = new Uint8Array(randomBytes(KiB));
      const up = await ours(content, category);
      const grant = await timed(() => patient.grantConsent({ ...consentInput, scope: { category } }));
      const read = await timed(() => researcher.fetchRecord(up.value.record.recordId, { consentId: grant.value.consent.consentId }, { purpose: 'research' }));
      const r: ShareRun = {
        run: i,
        category,
        consentId: grant.value.consent.consentId,
        grants: grant.value.grants.length,
        grantMs: grant.ms,
        fetchMs: read.ms,
        totalMs: grant.ms + read.ms,
        timings: read.value.timings,
        intact: Buffer.from(read.value.data!).equals(Buffer.from(content)),
      };
      if (!r.intact) throw new Error(`share run ${i}: the researcher read other bytes`);
      share.push(r);
      log(`share #${i}: grant ${fmtMs(r.grantMs)} ms + read ${fmtMs(r.fetchMs)} ms = ${fmtMs(r.totalMs)} ms`);
    }

    // Summaries.
    const transfer = results.map((s) => {
      const up = { ours: median(s.uploads.map((u) => u.ours.ms)), reference: median(s.uploads.map((u) => u.reference.ms)) };
      const down = { ours: median(s.fetches.map((f) => f.ours.ms)), reference: median(s.fetches.map((f) => f.reference.ms)) };
      return {
        bytes: s.bytes,
        label: s.label,
        runs: s.uploads.length,
        upload: {
          oursMsP50: up.ours,
          referenceMsP50: up.reference,
          oursMiBps: mibPerS(s.bytes, up.ours),
          referenceMiBps: mibPerS(s.bytes, up.reference),
          ratio: up.reference / up.ours,
          /** Until a second org's node pinned the replica as well. */
          oursUntilReplicatedMsP50: median(s.uploads.map((u) => u.ours.untilReplicatedMs)),
          ratioUntilReplicated: up.reference / median(s.uploads.map((u) => u.ours.untilReplicatedMs)),
          oursTimingsP50: partsMedian(s.uploads.map((u) => u.ours.timings)),
          oursClientCpuMsP50: median(s.uploads.map((u) => u.ours.cpuMs)),
          referenceClientCpuMsP50: median(s.uploads.map((u) => u.reference.cpuMs)),
          oursPeakRssMiB: Math.max(...s.uploads.map((u) => u.ours.peakRssMiB)),
          referencePeakRssMiB: Math.max(...s.uploads.map((u) => u.reference.peakRssMiB)),
        },
        fetch: {
          servedBy: [...new Set(s.fetches.map((f) => f.ours.servedBy))],
          oursMsP50: down.ours,
          referenceMsP50: down.reference,
          oursMiBps: mibPerS(s.bytes, down.ours),
          referenceMiBps: mibPerS(s.bytes, down.reference),
          ratio: down.reference / down.ours,
          oursTimingsP50: partsMedian(s.fetches.map((f) => f.ours.timings)),
          oursClientCpuMsP50: median(s.fetches.map((f) => f.ours.cpuMs)),
          referenceClientCpuMsP50: median(s.fetches.map((f) => f.reference.cpuMs)),
          oursPeakRssMiB: Math.max(...s.fetches.map((f) => f.ours.peakRssMiB)),
          referencePeakRssMiB: Math.max(...s.fetches.map((f) => f.reference.peakRssMiB)),
        },
      };
    });
    const shareSummary = share.length
      ? { runs: share.length, totalMsP50: median(share.map((r) => r.totalMs)), grantMsP50: median(share.map((r) => r.grantMs)), fetchMsP50: median(share.map((r) => r.fetchMs)), fetchTimingsP50: partsMedian(share.map((r) => r.timings)) }
      : undefined;

    cleanup = await cleanUp();
    result = {
      benchmark: 'e2e',
      date: new Date().toISOString(),
      machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version, memoryGiB: Math.round(os.totalmem() / 2 ** 30) },
      network: { dir: networkDir, kubo: kuboVersion, uploader: `${UPLOADER.user}@${UPLOADER.org}`, reader: `${READER.user}@${READER.org}`, referenceAddOptions: ADD_OPTIONS },
      config: { sizes, runs: Object.fromEntries(sizes.map((b) => [sizeLabel(b), runsFor(b)])), shareRuns, backend: backendName, inMemoryFetchMaxBytes: IN_MEMORY_MAX },
      warmup: { uploadMs: warmUpload.ms, uploadTimings: warmUpload.value.timings, consentGrantMs: granted.ms, consentGrants: granted.value.grants.length, fetchMs: warmFetch.ms, fetchTimings: warmFetch.value.timings },
      summary: { transfer, share: shareSummary, targetUploadAndFetchRatioAt100MiB: 0.7 },
      runs: { transfer: results, share },
      cleanup,
      maxRssMiB: process.resourceUsage().maxRSS / 1024,
    };

    if (!json) {
      console.log(`\nTransfer (p50 over the runs; ratio = ours / reference throughput; reference = plain Kubo add/cat on the same node)\n`);
      console.log(
        table(
          ['size', 'runs', 'upload ours MiB/s', 'upload ref MiB/s', 'upload ratio', 'ratio until replica pinned', 'fetch ours MiB/s', 'fetch ref MiB/s', 'fetch ratio', 'fetch read from'],
          transfer.map((t) => [t.label, t.runs, fmtRate(t.upload.oursMiBps), fmtRate(t.upload.referenceMiBps), `${fmt(t.upload.ratio, 3)}×`, `${fmt(t.upload.ratioUntilReplicated, 3)}×`, fmtRate(t.fetch.oursMiBps), fmtRate(t.fetch.referenceMiBps), `${fmt(t.fetch.ratio, 3)}×`, t.fetch.servedBy.join(', ')]),
          [false, true, true, true, true, true, true, true, true, false],
        ),
      );
      console.log(`\nLatency p50 (ms)\n`);
      console.log(
        table(
          ['size', 'upload ours', 'upload ref', 'fetch ours', 'fetch ref'],
          transfer.map((t) => [t.label, fmtMs(t.upload.oursMsP50), fmtMs(t.upload.referenceMsP50), fmtMs(t.fetch.oursMsP50), fmtMs(t.fetch.referenceMsP50)]),
        ),
      );
      console.log(`\nWhere our time goes, p50 (ms): upload ipfs = streamed encryption + add to two nodes; fetch ipfs = cat + SHA-256 + decryption\n`);
      console.log(
        table(
          ['size', 'upload keys', 'upload ipfs', 'upload chain', 'fetch chain', 'fetch keys', 'fetch proxies', 'fetch crypto', 'fetch ipfs'],
          transfer.map((t) => [t.label, fmtMs(t.upload.oursTimingsP50.keys), fmtMs(t.upload.oursTimingsP50.ipfs), fmtMs(t.upload.oursTimingsP50.chain), fmtMs(t.fetch.oursTimingsP50.chain), fmtMs(t.fetch.oursTimingsP50.keys), fmtMs(t.fetch.oursTimingsP50.proxies), fmtMs(t.fetch.oursTimingsP50.crypto), fmtMs(t.fetch.oursTimingsP50.ipfs)]),
        ),
      );
      console.log(`\nThis process (the client): CPU time p50 (ms) and peak RSS (MiB, whole process) during the operation\n`);
      console.log(
        table(
          ['size', 'upload ours CPU', 'upload ref CPU', 'fetch ours CPU', 'fetch ref CPU', 'peak RSS ours up/fetch', 'peak RSS ref up/fetch'],
          transfer.map((t) => [t.label, fmtMs(t.upload.oursClientCpuMsP50), fmtMs(t.upload.referenceClientCpuMsP50), fmtMs(t.fetch.oursClientCpuMsP50), fmtMs(t.fetch.referenceClientCpuMsP50), `${fmt(t.upload.oursPeakRssMiB, 0)} / ${fmt(t.fetch.oursPeakRssMiB, 0)}`, `${fmt(t.upload.referencePeakRssMiB, 0)} / ${fmt(t.fetch.referencePeakRssMiB, 0)}`]),
        ),
      );
      const big = transfer.find((t) => t.bytes === 100 * MiB);
      if (big) console.log(`\ntarget at 100 MiB: ours ≥ 0.7× the reference — upload ${fmt(big.upload.ratio, 2)}× (${big.upload.ratio >= 0.7 ? 'met' : 'MISSED'}), fetch ${fmt(big.fetch.ratio, 2)}× (${big.fetch.ratio >= 0.7 ? 'met' : 'MISSED'})`);
      if (shareSummary) {
        console.log(`\nShare of a 1 KiB record, grant → read, p50 over ${shareSummary.runs} runs (each part's own p50)\n`);
        const p = shareSummary.fetchTimingsP50;
        console.log(
          table(
            ['part', 'p50 ms'],
            [
              ['grant (consent + re-encryption key to the proxies + registration)', fmtMs(shareSummary.grantMsP50)],
              ['read: chain (record, access request, grant, receipt)', fmtMs(p.chain)],
              ['read: keys', fmtMs(p.keys)],
              ['read: proxies (fragments)', fmtMs(p.proxies)],
              ['read: crypto (verify, combine, decrypt key)', fmtMs(p.crypto)],
              ['read: ipfs (cat, SHA-256, decrypt)', fmtMs(p.ipfs)],
              ['read total', fmtMs(shareSummary.fetchMsP50)],
              ['**total (grant + read)**', fmtMs(shareSummary.totalMsP50)],
            ],
          ),
        );
      }
      console.log(`\nwarm-up (cold, excluded): upload ${fmtMs(warmUpload.ms)} ms, first consent grant ${fmtMs(granted.ms)} ms, first fetch ${fmtMs(warmFetch.ms)} ms (keys ${fmtMs(warmFetch.value.timings.keys ?? 0)} ms)`);
      console.log(`clean-up: ${cleanup.records} record(s) erased, ${cleanup.referenceCids} reference CID(s) unpinned in ${fmtMs(cleanup.ms)} ms; peak RSS ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MiB`);
    }
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
