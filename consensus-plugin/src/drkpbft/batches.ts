/**
 * What the two PBFT layers of DRKPBFT order, their digests and their group names.
 *
 * A region orders `RegionBatch`es of client requests. A region batch its region decided is a
 * `CertifiedBatch`: the batch, where it sits in its region's log and the commit certificate
 * that proves it. The top layer orders `TopEntry`s: one certified batch each, plus the
 * positions of the requests the top primary found already ordered (`skip`), so what a
 * decided entry executes is a function of the entry alone.
 */
import { batchDigest, canonical, sha256 } from '../core/digest';
import type { ClientRequest, NodeId } from '../core/types';
import type { CommitMessage } from '../pbft/messages';

export interface RegionBatch {
  requests: ClientRequest[];
}

/** A region batch with the region certificate that decided it. */
export interface CertifiedBatch {
  epoch: number;
  region: number;
  /** Its sequence number in the region's log (1, 2, … per epoch). */
  regionSeq: number;
  /** The region view of the certificate: its primary (the seat claimant) is `leaderOrder[view mod m]`. */
  view: number;
  batch: RegionBatch;
  certificate: CommitMessage[];
}

/** One top-layer proposal: a certified region batch and the requests of it not to execute again. */
export interface TopEntry {
  batch: CertifiedBatch;
  /** Increasing indices into `batch.batch.requests` of requests already ordered. */
  skip: number[];
  /**
   * The certificate's signers, increasing (what reputation counts). Once the top layer has
   * decided the entry its certificate has done its job: what a seat holder passes on to its
   * region keeps the signers and drops the certificate (`withoutCertificate`), digest unchanged.
   */
  signers: NodeId[];
}

/**
 * The region that batches a request: its key hashed (FNV-1a) onto the `regions` regions.
 * Each request has one home region, so a request a client re-sends to every node is still
 * batched once, and the load spreads evenly whichever nodes the clients talk to.
 */
export function homeRegion(key: string, regions: number): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) hash = Math.imul(hash ^ key.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % regions;
}

/**
 * A top entry as the top primary's pre-prepare carries it: the certified batch named, not
 * carried. Every seat holder got the batch from its region primary; a backup fills it in
 * from there (`withBatch`) before its replica sees the proposal, so the top primary's
 * uplink carries each batch once (to its region) instead of once per seat.
 */
export interface TopEntryRef {
  ref: { epoch: number; region: number; regionSeq: number; view: number; digest: string };
  skip: number[];
  signers: NodeId[];
}

export const isTopEntryRef = (p: unknown): p is TopEntryRef => typeof p === 'object' && p !== null && 'ref' in p;

/** The key of a certified batch in a seat holder's pool. */
export const batchKey = (b: { region: number; regionSeq: number }): string => `${b.region}:${b.regionSeq}`;

export function entryRef(entry: TopEntry): TopEntryRef {
  const b = entry.batch;
  return { ref: { epoch: b.epoch, region: b.region, regionSeq: b.regionSeq, view: b.view, digest: regionDigest(b.batch) }, skip: entry.skip, signers: entry.signers };
}

/** The entry `r` names, given the certified batch it names (undefined when `batch` is another). */
export function withBatch(r: TopEntryRef, batch: CertifiedBatch): TopEntry | undefined {
  const { ref } = r;
  if (batch.epoch !== ref.epoch || batch.region !== ref.region || batch.regionSeq !== ref.regionSeq || batch.view !== ref.view || regionDigest(batch.batch) !== ref.digest) return undefined;
  return { batch, skip: r.skip, signers: r.signers };
}

const regionDigests = new WeakMap<RegionBatch, string>();
const topDigests = new WeakMap<TopEntry, string>();

/** A region batch's digest is its requests' `batchDigest`: with one region it is the global order's digest. */
export function regionDigest(batch: RegionBatch): string {
  let digest = regionDigests.get(batch);
  if (digest === undefined) {
    digest = batchDigest(batch.requests);
    regionDigests.set(batch, digest);
  }
  return digest;
}

/** The requests a top entry executes (before duplicates ordered elsewhere are dropped at execution). */
export function keptRequests(entry: TopEntry): ClientRequest[] {
  if (entry.skip.length === 0) return entry.batch.batch.requests;
  const skip = new Set(entry.skip);
  return entry.batch.batch.requests.filter((_, i) => !skip.has(i));
}

// ---- shapes ----------------------------------------------------------------------------
// A digest covers only some of a payload's fields: a region batch's only its requests, a top
// entry's everything but its region certificate. A payload must therefore be exactly its
// kind, or replicas could hold different payloads under one digest (and a region batch
// carrying a top entry's fields could pass for one). Its groups refuse any other shape as if
// its digest did not match (`wellFormed` of the PBFT verifier), and the global log reads a
// decision by the group that decided it (log.ts), never by its fields.

const isRecord = (p: unknown): p is Record<string, unknown> => typeof p === 'object' && p !== null && !Array.isArray(p);

/** Whether `o` has exactly the own keys `keys`. */
function hasExactly(o: object, keys: readonly string[]): boolean {
  const own = Object.keys(o);
  return own.length === keys.length && keys.every((k) => Object.hasOwn(o, k));
}

const REGION_BATCH_KEYS = ['requests'];
const CERTIFIED_BATCH_KEYS = ['epoch', 'region', 'regionSeq', 'view', 'batch', 'certificate'];
const TOP_ENTRY_KEYS = ['batch', 'skip', 'signers'];

/** Exactly a region batch: its `requests` (an array) and nothing else. */
export function isRegionBatch(p: unknown): p is RegionBatch {
  return isRecord(p) && hasExactly(p, REGION_BATCH_KEYS) && Array.isArray(p.requests);
}

/** A region batch as its group decided it: the requests only (whatever else a copy carried is dropped). */
export const regionBatchOf = (p: RegionBatch): RegionBatch => (hasExactly(p, REGION_BATCH_KEYS) ? p : { requests: p.requests });

/** Exactly a certified batch: its position (integers), an exact region batch and a certificate (an array; checked elsewhere). */
export function isCertifiedBatch(b: unknown): b is CertifiedBatch {
  if (!isRecord(b) || !hasExactly(b, CERTIFIED_BATCH_KEYS) || !isRegionBatch(b.batch) || !Array.isArray(b.certificate)) return false;
  return Number.isInteger(b.epoch) && Number.isInteger(b.region) && Number.isInteger(b.regionSeq) && Number.isInteger(b.view);
}

/** Skips of a batch of `length` requests: increasing indices into it. */
export function validSkip(skip: unknown, length: number): skip is number[] {
  if (!Array.isArray(skip)) return false;
  let previous = -1;
  for (const i of skip) {
    if (!Number.isInteger(i) || i <= previous || i >= length) return false;
    previous = i as number;
  }
  return true;
}

/** Exactly a top entry: an exact certified batch, well-formed skips into it and integer signers. */
export function isTopEntry(p: unknown): p is TopEntry {
  if (!isRecord(p) || !hasExactly(p, TOP_ENTRY_KEYS) || !isCertifiedBatch(p.batch) || !Array.isArray(p.signers)) return false;
  return p.signers.every((s) => Number.isInteger(s)) && validSkip(p.skip, p.batch.batch.requests.length);
}

/** The distinct signers of a certificate, increasing. */
export const certificateSigners = (certificate: readonly CommitMessage[]): NodeId[] => [...new Set(certificate.map((c) => c.sender))].sort((a, b) => a - b);

/**
 * A top entry's digest: `batchDigest(kept requests)` (what the global log commits, so a top
 * commit vote is a vote for the committed batch), then ':' and a hash binding the rest —
 * region, position, view, the whole batch, the skips and the certificate's signers (which
 * reputation counts, so replicas must agree on them too).
 */
export function topDigest(entry: TopEntry): string {
  let digest = topDigests.get(entry);
  if (digest === undefined) {
    const b = entry.batch;
    const binding = canonical(['drkpbft/top/v1', b.epoch, b.region, b.regionSeq, b.view, regionDigest(b.batch), entry.skip, entry.signers]);
    digest = `${batchDigest(keptRequests(entry))}:${sha256(binding)}`;
    topDigests.set(entry, digest);
  }
  return digest;
}

/** The committed batch's digest inside a top digest (a region or flat digest is returned as is). */
export const committedDigest = (digest: string): string => {
  const colon = digest.indexOf(':');
  return colon < 0 ? digest : digest.slice(0, colon);
};

/** The null request of the top layer: commits an empty batch. */
export const TOP_NULL_DIGEST = `${batchDigest([])}:null`;
/** The null request of a region: an empty batch, which the top layer orders like any other. */
export const REGION_NULL_DIGEST = batchDigest([]);

/** The same decided entry without the region certificate inside its payload (its digest does not change). */
export function withoutCertificate(entry: TopEntry): TopEntry {
  return { ...entry, batch: { ...entry.batch, certificate: [] } };
}

// ---- group names -----------------------------------------------------------------------
// A region's group orders region batches only. The global log is ordered by the top group of
// the current term (or, with a single region, by that region's `order` group); its name
// carries the global sequence number before its first entry, so a vote seen on the wire maps
// to a global position without any state.

export const regionGroup = (epoch: number, region: number): string => `region:${region}@e${epoch}`;
export const orderGroup = (epoch: number, offset: number): string => `order@e${epoch}/${offset}`;
export const topGroup = (epoch: number, term: number, offset: number): string => `top@e${epoch}.t${term}/${offset}`;

const LOG_GROUP = /^(?:order@e\d+|top@e\d+\.t\d+)\/(\d+)$/;
const offsets = new Map<string, number | undefined>();

/** The global sequence number before the first entry of a global-log group; undefined for a region group. */
export function logOffset(group: string): number | undefined {
  if (offsets.has(group)) return offsets.get(group);
  const match = LOG_GROUP.exec(group);
  const offset = match ? Number(match[1]) : undefined;
  if (offsets.size > 10_000) offsets.clear();
  offsets.set(group, offset);
  return offset;
}

/** Whether `group` orders top entries (rather than region batches). */
export const isTopGroup = (group: string): boolean => group.startsWith('top@');
