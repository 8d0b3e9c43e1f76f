/**
 * The three measured phases of bench:e2e, each ours beside the reference (plain Kubo on the
 * same nodes) in the same run, the order alternating per repetition.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, rmSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { KuboRPCClient } from 'kubo-rpc-client';
import type { EmrClient, FetchResult, Timings, UploadResult } from '../src';
import { KiB, MiB, fmtMs, fmtRate, mibPerS, sha256, sha256File, sizeLabel, timed, writeRandomFile, type Measured } from './e2e-measure';

/** The SDK's add options for records (client/src/sharing/ipfs-store.ts). */
export const ADD_OPTIONS = { cidVersion: 1, rawLeaves: true, chunker: 'size-1048576', pin: true } as const;
/** Above this, fetches (ours and the reference) stream to a temp file instead of memory. */
export const IN_MEMORY_MAX = 8 * MiB;

export interface UploadRun {
  run: number;
  first: 'ours' | 'reference';
  sha256: string;
  ours: { ms: number; cpuMs: number; peakRssMiB: number; timings: Timings; recordId: string; cid: string; pinnedOn: string[]; untilReplicatedMs: number };
  reference: { ms: number; cpuMs: number; peakRssMiB: number; cid: string; node: string };
}
export interface FetchRun {
  run: number;
  first: 'ours' | 'reference';
  ours: { ms: number; cpuMs: number; peakRssMiB: number; timings: Timings; servedBy: string; bytes: number; intact: boolean; toFile: boolean };
  reference: { ms: number; cpuMs: number; peakRssMiB: number; node: string; bytes: number; intact: boolean; toFile: boolean };
}
export interface SizeResult {
  bytes: number;
  label: string;
  uploads: UploadRun[];
  fetches: FetchRun[];
}
export interface ShareRun {
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

/** Our upload, timed until the SDK answered and until the replica was pinned on a second org's node. */
export type OursUpload = Measured<UploadResult> & { untilReplicatedMs: number; pinnedOn: string[] };

/** What the phases work with: the three parties, the nodes, a scratch directory and the two ways to upload. */
export interface Bench {
  doctor: EmrClient;
  patient: EmrClient;
  researcher: EmrClient;
  pseudonym: string;
  tmp: string;
  /** The org whose node the uploads (ours and the reference) go to. */
  uploaderOrg: string;
  kuboOf(org: string): KuboRPCClient;
  /** The first node, in the reader's order, that has the content pinned: the one its fetch reads from. */
  servingNode(cid: string): Promise<string>;
  ours(source: string | Uint8Array, category: string): Promise<OursUpload>;
  reference(file: string): Promise<{ ms: number; cpuMs: number; peakRssMiB: number; cid: string }>;
  log(line: string): void;
}

/** Runs both in the order `first` says. */
async function inOrder(first: 'ours' | 'reference', ours: () => Promise<void>, reference: () => Promise<void>): Promise<void> {
  for (const which of first === 'ours' ? [ours, reference] : [reference, ours]) await which();
}

/** 1. Uploads of fresh random files of each size, ours and the reference. */
export async function measureUploads(b: Bench, sizes: number[], runsFor: (bytes: number) => number): Promise<SizeResult[]> {
  const results: SizeResult[] = [];
  for (const bytes of sizes) {
    const size: SizeResult = { bytes, label: sizeLabel(bytes), uploads: [], fetches: [] };
    results.push(size);
    for (let run = 0; run < runsFor(bytes); run++) {
      const file = path.join(b.tmp, `in-${bytes}-${run}`);
      const sha = await writeRandomFile(file, bytes);
      const first = run % 2 === 0 ? 'ours' : 'reference';
      let o: OursUpload | undefined;
      let ref: Awaited<ReturnType<Bench['reference']>> | undefined;
      await inOrder(
        first,
        async () => void (o = await b.ours(file, 'bench/e2e')),
        async () => void (ref = await b.reference(file)),
      );
      rmSync(file);
      const u: UploadRun = {
        run,
        first,
        sha256: sha,
        ours: { ms: o!.ms, cpuMs: o!.cpuMs, peakRssMiB: o!.peakRssMiB, timings: o!.value.timings, recordId: o!.value.record.recordId, cid: o!.value.record.cid, pinnedOn: o!.pinnedOn, untilReplicatedMs: o!.untilReplicatedMs },
        reference: { ms: ref!.ms, cpuMs: ref!.cpuMs, peakRssMiB: ref!.peakRssMiB, cid: ref!.cid, node: b.uploaderOrg },
      };
      size.uploads.push(u);
      b.log(`upload ${size.label} #${run + 1}: ours ${fmtMs(u.ours.ms)} ms (${fmtRate(mibPerS(bytes, u.ours.ms))} MiB/s, pinned on ${u.ours.pinnedOn.join('+')}), reference ${fmtMs(u.reference.ms)} ms (${fmtRate(mibPerS(bytes, u.reference.ms))} MiB/s)`);
    }
  }
  return results;
}

/** 2. Fetches of every upload: ours by the researcher, the reference `cat` on the node ours read from. */
export async function measureFetches(b: Bench, results: SizeResult[], consentId: string): Promise<void> {
  for (const size of results) {
    const toFile = size.bytes > IN_MEMORY_MAX;
    for (const u of size.uploads) {
      const servedBy = await b.servingNode(u.ours.cid);
      const outOurs = path.join(b.tmp, `out-ours-${size.bytes}-${u.run}`);
      const outRef = path.join(b.tmp, `out-ref-${size.bytes}-${u.run}`);
      let o: Measured<FetchResult> | undefined;
      let ref: Measured<Buffer | undefined> | undefined;
      const first = u.run % 2 === 0 ? 'ours' : 'reference';
      await inOrder(
        first,
        async () => void (o = await timed(() => b.researcher.fetchRecord(u.ours.recordId, { consentId }, { purpose: 'research', ...(toFile ? { to: outOurs } : {}) }))),
        async () =>
          void (ref = await timed(async () => {
            const stream = b.kuboOf(servedBy).cat(u.reference.cid as never);
            // A 1 MiB write buffer: with the default 16 KiB one, every pause of the file sink
            // stalls Kubo's HTTP response for ~10 ms per 16 KiB chunk (100 MiB took 65-77 s).
            if (toFile) return void (await pipeline(Readable.from(stream), createWriteStream(outRef, { highWaterMark: MiB })));
            const chunks: Buffer[] = [];
            for await (const c of stream) chunks.push(Buffer.from(c));
            return Buffer.concat(chunks);
          })),
      );
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
      b.log(`fetch ${size.label} #${u.run + 1} from ${servedBy}: ours ${fmtMs(f.ours.ms)} ms (${fmtRate(mibPerS(size.bytes, f.ours.ms))} MiB/s), reference ${fmtMs(f.reference.ms)} ms (${fmtRate(mibPerS(size.bytes, f.reference.ms))} MiB/s)`);
    }
  }
}

/** 3. Share: per run a fresh 1 KiB record in a fresh category, then the patient's grant and the researcher's read. */
export async function measureShares(b: Bench, runs: number, consentInput: Parameters<EmrClient['grantConsent']>[0]): Promise<ShareRun[]> {
  const share: ShareRun[] = [];
  for (let i = 1; i <= runs; i++) {
    const category = `bench/share-${i}`;
    const content = new Uint8Array(randomBytes(KiB));
    const up = await b.ours(content, category);
    const grant = await timed(() => b.patient.grantConsent({ ...consentInput, scope: { category } }));
    const read = await timed(() => b.researcher.fetchRecord(up.value.record.recordId, { consentId: grant.value.consent.consentId }, { purpose: 'research' }));
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
    b.log(`share #${i}: grant ${fmtMs(r.grantMs)} ms + read ${fmtMs(r.fetchMs)} ms = ${fmtMs(r.totalMs)} ms`);
  }
  return share;
}

/** The reference upload: a plain `ipfs add` of the file, with the SDK's add options. */
export async function referenceAdd(kubo: KuboRPCClient, file: string) {
  return timed(() => kubo.add(createReadStream(file, { highWaterMark: MiB }), ADD_OPTIONS));
}
