/** bench:e2e's summary (p50s and ratios per size, the share breakdown) and its Markdown tables. */
import type { Timings } from '../src';
import { MiB, fmt, fmtMs, fmtRate, median, mibPerS, table } from './e2e-measure';
import type { ShareRun, SizeResult } from './e2e-runs';

const TIMING_PARTS = ['chain', 'keys', 'proxies', 'crypto', 'ipfs'] as const;
const partsMedian = (all: Timings[]) => Object.fromEntries(TIMING_PARTS.map((p) => [p, median(all.map((t) => t[p] ?? 0))])) as Record<(typeof TIMING_PARTS)[number], number>;

type Side = { ms: number; cpuMs: number; peakRssMiB: number };

/** One direction (upload or fetch) of a size: p50s of ours and the reference, their ratio, where our time went. */
function direction(bytes: number, runs: { ours: Side & { timings: Timings }; reference: Side }[]) {
  const ours = median(runs.map((r) => r.ours.ms));
  const reference = median(runs.map((r) => r.reference.ms));
  return {
    oursMsP50: ours,
    referenceMsP50: reference,
    oursMiBps: mibPerS(bytes, ours),
    referenceMiBps: mibPerS(bytes, reference),
    ratio: reference / ours,
    oursTimingsP50: partsMedian(runs.map((r) => r.ours.timings)),
    oursClientCpuMsP50: median(runs.map((r) => r.ours.cpuMs)),
    referenceClientCpuMsP50: median(runs.map((r) => r.reference.cpuMs)),
    oursPeakRssMiB: Math.max(...runs.map((r) => r.ours.peakRssMiB)),
    referencePeakRssMiB: Math.max(...runs.map((r) => r.reference.peakRssMiB)),
  };
}

/** Per size: both directions; and the share runs' p50s. */
export function summarise(results: SizeResult[], share: ShareRun[]) {
  const transfer = results.map((s) => {
    const upload = direction(s.bytes, s.uploads);
    /** Until a second org's node pinned the replica as well. */
    const untilReplicated = median(s.uploads.map((u) => u.ours.untilReplicatedMs));
    return {
      bytes: s.bytes,
      label: s.label,
      runs: s.uploads.length,
      upload: { ...upload, oursUntilReplicatedMsP50: untilReplicated, ratioUntilReplicated: upload.referenceMsP50 / untilReplicated },
      fetch: { servedBy: [...new Set(s.fetches.map((f) => f.ours.servedBy))], ...direction(s.bytes, s.fetches) },
    };
  });
  const shareSummary = share.length
    ? { runs: share.length, totalMsP50: median(share.map((r) => r.totalMs)), grantMsP50: median(share.map((r) => r.grantMs)), fetchMsP50: median(share.map((r) => r.fetchMs)), fetchTimingsP50: partsMedian(share.map((r) => r.timings)) }
    : undefined;

  return { transfer, share: shareSummary };
}

export type Summary = ReturnType<typeof summarise>;

/** What the warm-up and the clean-up took (printed under the tables). */
export interface Extras {
  warmUpload: { ms: number };
  consentGrantMs: number;
  warmFetch: { ms: number; keysMs: number };
  cleanup: { records: number; referenceCids: number; ms: number };
}

/** The tables, as the docs paste them. */
export function printReport({ transfer, share: shareSummary }: Summary, extras: Extras): void {
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
    console.log(`\nwarm-up (cold, excluded): upload ${fmtMs(extras.warmUpload.ms)} ms, first consent grant ${fmtMs(extras.consentGrantMs)} ms, first fetch ${fmtMs(extras.warmFetch.ms)} ms (keys ${fmtMs(extras.warmFetch.keysMs)} ms)`);
    console.log(`clean-up: ${extras.cleanup.records} record(s) erased, ${extras.cleanup.referenceCids} reference CID(s) unpinned in ${fmtMs(extras.cleanup.ms)} ms; peak RSS ${fmt(process.resourceUsage().maxRSS / 1024, 0)} MiB`);
}
