/**
 * Type-and-condition, unidirectional, multi-hop, threshold proxy re-encryption of data
 * keys (docs/crypto.md). The pairing is used to deliver keys to identities; the proxies'
 * hot path (ReEncrypt, fragment proofs) is pairing-free scalar multiplication in G1.
 */
import { DST, G1, G2, frame, hash, hashToG2, invSecret, pairingFixedG2, pairingsEqual, randomScalar, systemRng, type G1Point, type G2Point, type Rng } from './group';
import { proveDleqFor, verifyDleq, type DleqProof } from './dleq';
import { CryptoError, open, openWith, readSealed, seal, writeSealed, type PublicParams, type Sealed } from './ibe';
import { Reader, Writer } from './encoding';
import { Polynomial, commitmentAt, lagrangeAtZero } from './shamir';

// The chaincode's RECORD_TYPES, repeated: @emr/crypto imports nothing from the Fabric side.
export const RECORD_KEY_TYPES = ['sharable', 'non-sharable'] as const;
export type KeyType = (typeof RECORD_KEY_TYPES)[number];

/** What a capsule is encrypted to: the patient's identity, a type and a condition. */
export interface Slot {
  owner: string;
  type: KeyType;
  condition: string;
}

/** The IBE identity of a slot; the centres extract its key only for the slot's owner. */
export function slotIdentity(slot: Slot): string {
  if (!slot.owner) throw new CryptoError('slot owner (an identity) is required');
  if (!(RECORD_KEY_TYPES as readonly string[]).includes(slot.type)) throw new CryptoError(`slot type must be one of ${RECORD_KEY_TYPES.join(', ')}`);
  if (!slot.condition) throw new CryptoError('slot condition is required');
  return `emr-slot:v1:${JSON.stringify([slot.owner, slot.type, slot.condition])}`;
}

export const DATA_KEY_BYTES = 32;

/**
 * Share and fragment indices run from 1 to 2^32 − 1: the wire's 32-bit field, and far below
 * r, so that indices distinct as integers stay distinct mod r (r + 1 would pass for 1).
 */
export const MAX_SHARE_INDEX = 0xffffffffn;
const isShareIndex = (i: unknown): i is bigint => typeof i === 'bigint' && i >= 1n && i <= MAX_SHARE_INDEX;
function assertShareIndex(i: bigint, what: string): void {
  if (!isShareIndex(i)) throw new CryptoError(`${what} index must be an integer from 1 to ${MAX_SHARE_INDEX}, got ${String(i)}`);
}

/**
 * An encapsulated data key. `u0`, `w`, `v` never change; `u` is the current
 * (re-encrypted) first component and `hops` how many re-encryptions it went through.
 * `hops` is bookkeeping set by whoever combined the fragments, not authenticated by design:
 * decryption does not depend on it, and a proxy re-encrypts only with a grant for hop
 * `hops + 1`, binding the value into its fragment proof, so a false count buys nothing
 * (docs/crypto.md, "What the capsule binds").
 */
export interface Capsule {
  slot: Slot;
  u0: G1Point;
  w: Uint8Array;
  v: Uint8Array;
  u: G1Point;
  hops: number;
}

const capsuleContext = (slot: Slot) => frame('capsule', slotIdentity(slot));

/** Encrypt: encapsulates a 32-byte data key to (owner, type, condition) with the public parameters only. */
export function encrypt(params: PublicParams, slot: Slot, dataKey: Uint8Array, rng: Rng = systemRng): Capsule {
  if (dataKey.length !== DATA_KEY_BYTES) throw new CryptoError(`data key must be ${DATA_KEY_BYTES} bytes, got ${dataKey.length}`);
  const sealed = seal(params, slotIdentity(slot), dataKey, capsuleContext(slot), rng);
  return { slot, u0: sealed.u, w: sealed.w, v: sealed.v, u: sealed.u, hops: 0 };
}

const sealedOf = (c: Capsule): Sealed => ({ u: c.u0, w: c.w, v: c.v });

/** Decrypt (original): the slot's owner opens with the slot key d_slot. */
export function decrypt(capsule: Capsule, slotKey: G2Point): Uint8Array {
  if (capsule.hops !== 0) throw new CryptoError(`capsule was re-encrypted ${capsule.hops} times; open it with decryptReEncrypted`);
  return open(sealedOf(capsule), slotIdentity(capsule.slot), slotKey, capsuleContext(capsule.slot));
}

/** What the chain registers for a grant: enough to check every proxy's fragment, no secret. */
export interface GrantPublic {
  grantId: string;
  slot: Slot;
  delegatee: string;
  /** 1 for the patient's own grant; parent's hop + 1 for a re-delegation. */
  hop: number;
  threshold: number;
  /** Feldman commitments to the re-encryption polynomial f, f(0) = ρ. */
  commitments: G1Point[];
  /** The grant key X = ρ⁻¹·(delegator's key), sealed to the delegatee's identity. */
  sealedGrantKey: Sealed;
  /**
   * From hop 2 on: A_h = ρ_h·A_{h−1} = ρ_h⋯ρ_1·G1 with a proof that its factor is the ρ_h of
   * commitments[0] (A_1 is commitments[0] itself). The delegatee's key satisfies
   * e(A_h, X) = e(mpk, H_Q(slot)), which anyone can check. Absent only in grants made
   * before it existed.
   */
  anchor?: { point: G1Point; proof: DleqProof };
}

/** A_h of a grant (`GrantPublic.anchor`), or undefined for a re-delegation made before anchors. */
export const grantAnchor = (g: GrantPublic): G1Point | undefined => (g.hop === 1 ? g.commitments[0] : g.anchor?.point);

const anchorContext = (g: { grantId: string; slot: Slot; delegatee: string; hop: number }) =>
  frame('grant-anchor', g.grantId, slotIdentity(g.slot), g.delegatee, String(g.hop));

/**
 * Whether a grant's anchor is its parent's times the ρ it committed to (true at hop 1,
 * whose anchor is its commitment). The chain checks this when a re-delegation registers.
 */
export function verifyGrantAnchor(grant: GrantPublic, parent: GrantPublic | undefined): boolean {
  if (grant.hop === 1) return true;
  if (!grant.anchor || !parent || parent.hop !== grant.hop - 1 || slotIdentity(parent.slot) !== slotIdentity(grant.slot)) return false;
  const parentAnchor = grantAnchor(parent);
  return !!parentAnchor && verifyDleq(grant.anchor.proof, G1.BASE, grant.commitments[0]!, parentAnchor, grant.anchor.point, anchorContext(grant));
}

/** A proxy's share f(index), sealed to that proxy's identity. */
export interface ProxyShare {
  proxy: string;
  index: bigint;
  sealed: Sealed;
}

export interface ReKeyGenInput {
  grantId: string;
  slot: Slot;
  /** The delegator's key for the slot: the slot key, or for a re-delegation the grant key received. */
  delegatorKey: G2Point;
  delegatee: string;
  hop: number;
  /** Proxy identities; proxy i (1-based) gets share f(i). */
  proxies: string[];
  threshold: number;
  /** The grant being re-delegated (from hop 2 on): its anchor is carried forward. */
  parent?: GrantPublic;
}

const grantKeyContext = (g: { grantId: string; slot: Slot; delegatee: string; hop: number }) =>
  frame('grant-key', g.grantId, slotIdentity(g.slot), g.delegatee, String(g.hop));
const shareContext = (grantId: string, index: bigint) => frame('rekey-share', grantId, index.toString());

/**
 * ReKeyGen: made by the delegator alone from the delegatee's identity (non-interactive,
 * unidirectional). ρ is random; X = ρ⁻¹·key goes to the delegatee; ρ is Shamir-shared
 * among the proxies so t−1 of them learn nothing about it.
 */
export function reKeyGen(params: PublicParams, input: ReKeyGenInput, rng: Rng = systemRng): { grant: GrantPublic; shares: ProxyShare[] } {
  const n = input.proxies.length;
  if (!Number.isInteger(input.threshold) || input.threshold < 1 || input.threshold > n) {
    throw new CryptoError(`threshold must be between 1 and the number of proxies (${n}), got ${input.threshold}`);
  }
  if (!Number.isInteger(input.hop) || input.hop < 1) throw new CryptoError(`hop must be an integer ≥ 1, got ${input.hop}`);
  if (BigInt(n) > MAX_SHARE_INDEX) throw new CryptoError(`at most ${MAX_SHARE_INDEX} proxies, got ${n}`);
  const parentAnchor = input.hop === 1 ? undefined : input.parent && grantAnchor(input.parent);
  if (input.hop > 1 && (!parentAnchor || input.parent!.hop !== input.hop - 1 || slotIdentity(input.parent!.slot) !== slotIdentity(input.slot))) {
    throw new CryptoError(`a hop-${input.hop} grant needs its parent: the hop-${input.hop - 1} grant of the same slot, with an anchor`);
  }
  const rho = randomScalar(rng);
  const grantKey = input.delegatorKey.multiply(invSecret(rho)); // the blinding need not come from `rng`: the inverse is the same
  const f = Polynomial.random(input.threshold, rho, rng);
  const base = { grantId: input.grantId, slot: input.slot, delegatee: input.delegatee, hop: input.hop };
  const commitments = f.commitments();
  const grant: GrantPublic = {
    ...base,
    threshold: input.threshold,
    commitments,
    sealedGrantKey: seal(params, input.delegatee, grantKey.toBytes(), grantKeyContext(base), rng),
  };
  if (parentAnchor) {
    const point = parentAnchor.multiply(rho);
    grant.anchor = { point, proof: proveDleqFor(rho, G1.BASE, commitments[0]!, parentAnchor, point, anchorContext(base), rng) };
  }
  const shares = input.proxies.map((proxy, i) => {
    const index = BigInt(i + 1);
    const share = new Writer('reKeyShare').scalar(f.evaluate(index)).finish();
    return { proxy, index, sealed: seal(params, proxy, share, shareContext(input.grantId, index), rng) };
  });
  return { grant, shares };
}

/**
 * A proxy opens its share with its identity key and checks it against the grant's Feldman
 * commitments, f(j)·G = Σ C_k·j^k: a bad share is refused here, before it can make
 * fragments that get the proxy reported.
 */
export function openShare(share: ProxyShare, grant: GrantPublic, proxyKey: G2Point): bigint {
  assertShareIndex(share.index, 'share');
  const r = new Reader(open(share.sealed, share.proxy, proxyKey, shareContext(grant.grantId, share.index)), 'reKeyShare');
  const s = r.scalar('share');
  r.end();
  if (!G1.BASE.multiply(s).equals(commitmentAt(grant.commitments, share.index))) {
    throw new CryptoError(`share ${share.index} of grant '${grant.grantId}' does not match the grant's commitments: the delegator sent a bad share`);
  }
  return s;
}

/** Whether X is the key of this grant: e(A_h, X) = e(mpk, H_Q(slot)). False without an anchor. */
export function grantKeyMatches(params: PublicParams, grant: GrantPublic, x: G2Point): boolean {
  const anchor = grantAnchor(grant);
  return !!anchor && pairingsEqual(anchor, x, params.mpk, hashToG2(slotIdentity(grant.slot)));
}

/**
 * The delegatee opens its grant key X with its identity key and checks it against the
 * grant: e(A_h, X) = e(mpk, H_Q(slot)) (`GrantPublic.anchor`). A bad key is refused here,
 * with the grant named, instead of failing every later decryption.
 */
export function openGrantKey(params: PublicParams, grant: GrantPublic, delegateeKey: G2Point): G2Point {
  const bytes = open(grant.sealedGrantKey, grant.delegatee, delegateeKey, grantKeyContext(grant));
  let x: G2Point;
  try {
    x = G2.fromBytes(bytes);
  } catch {
    throw new CryptoError('grant key is not a G2 point');
  }
  if (grantAnchor(grant) && !grantKeyMatches(params, grant, x)) {
    throw new CryptoError(`the key sealed in grant '${grant.grantId}' does not match its commitments (e(A, X) ≠ e(mpk, H_Q(slot))): the delegator sent a bad key`);
  }
  return x;
}

/** One proxy's re-encryption: U_j = f(j)·U with a proof that f(j) is the committed share. */
export interface Fragment {
  grantId: string;
  index: bigint;
  u: G1Point;
  proof: DleqProof;
}

/** Binds a fragment's proof to its grant, its index and the exact capsule it transforms. */
function fragmentContext(grantId: string, index: bigint, capsule: Capsule): Uint8Array {
  return hash(DST.challenge, 'fragment', grantId, index.toString(), slotIdentity(capsule.slot), capsule.u0.toBytes(), capsule.w, capsule.v, String(capsule.hops));
}

function checkGrantFits(capsule: Capsule, grant: GrantPublic): void {
  if (slotIdentity(capsule.slot) !== slotIdentity(grant.slot)) throw new CryptoError(`grant '${grant.grantId}' is for another type or condition than this capsule`);
  if (grant.hop !== capsule.hops + 1) throw new CryptoError(`grant '${grant.grantId}' is for hop ${grant.hop}, the capsule is at hop ${capsule.hops}`);
}

/** ReEncrypt: proxy `index` applies its share to the capsule's current U. Pairing-free. */
export function reEncrypt(capsule: Capsule, grant: GrantPublic, index: bigint, share: bigint, rng: Rng = systemRng): Fragment {
  checkGrantFits(capsule, grant);
  assertShareIndex(index, 'fragment');
  const u = capsule.u.multiply(share);
  const publicShare = G1.BASE.multiply(share);
  return { grantId: grant.grantId, index, u, proof: proveDleqFor(share, G1.BASE, publicShare, capsule.u, u, fragmentContext(grant.grantId, index, capsule), rng) };
}

/** Checks one fragment against the grant's commitments: anyone can run this. */
export function verifyFragment(capsule: Capsule, grant: GrantPublic, fragment: Fragment): boolean {
  if (fragment.grantId !== grant.grantId || !isShareIndex(fragment.index)) return false;
  const publicShare = commitmentAt(grant.commitments, fragment.index);
  return verifyDleq(fragment.proof, G1.BASE, publicShare, capsule.u, fragment.u, fragmentContext(grant.grantId, fragment.index, capsule));
}

/** Thrown when fragments cannot be combined; names the fragments that failed their proofs. */
export class FragmentError extends CryptoError {
  constructor(
    message: string,
    /** Positions, in the list given, of the fragments that failed their proofs. */
    readonly rejected: number[],
  ) {
    super(message);
    this.name = 'FragmentError';
  }
}

/**
 * Verifies every fragment, then combines t good ones with distinct indices:
 * U' = Σ λ_j U_j = ρ·U. A fragment's index is only a claim until its proof verifies, so
 * duplicates are dropped among verified fragments only: a forged fragment claiming proxy
 * j's index cannot push out proxy j's good one. Rejected fragments are reported by their
 * position in `fragments` (the caller knows where each came from), even when enough good
 * ones remain.
 */
export function combineFragments(capsule: Capsule, grant: GrantPublic, fragments: Fragment[]): { capsule: Capsule; rejected: number[] } {
  checkGrantFits(capsule, grant);
  const good = new Map<bigint, Fragment>();
  const rejected: number[] = [];
  fragments.forEach((f, position) => {
    if (!verifyFragment(capsule, grant, f)) rejected.push(position);
    else if (!good.has(f.index)) good.set(f.index, f);
  });
  if (good.size < grant.threshold) {
    throw new FragmentError(
      `need ${grant.threshold} valid fragments with distinct indices for grant '${grant.grantId}', have ${good.size}` +
        (rejected.length ? `; the fragments at positions ${rejected.join(', ')} (claiming indices ${rejected.map((i) => fragments[i]!.index).join(', ')}) fail their proofs` : ''),
      rejected,
    );
  }
  const chosen = [...good.values()].slice(0, grant.threshold);
  const xs = chosen.map((f) => f.index);
  const u = G1.sumOfProducts(
    chosen.map((f) => f.u),
    chosen.map((f) => lagrangeAtZero(xs, f.index)),
  );
  return { capsule: { ...capsule, u, hops: capsule.hops + 1 }, rejected };
}

/** Decrypt after h hops: e(ρ_h⋯ρ_1·U, ρ_h⁻¹⋯ρ_1⁻¹·d_slot) = e(U, d_slot). */
export function decryptReEncrypted(capsule: Capsule, grantKey: G2Point): Uint8Array {
  if (capsule.hops < 1) throw new CryptoError('capsule was never re-encrypted; its owner opens it with decrypt');
  return openWith(sealedOf(capsule), slotIdentity(capsule.slot), pairingFixedG2(capsule.u, grantKey), capsuleContext(capsule.slot));
}

/** Type switch: the owner re-encapsulates the same data key under another type (content unchanged). */
export function switchType(params: PublicParams, capsule: Capsule, slotKey: G2Point, type: KeyType, rng: Rng = systemRng): Capsule {
  return encrypt(params, { ...capsule.slot, type }, decrypt(capsule, slotKey), rng);
}

// ---- encodings ----

const writeSlot = (w: Writer, s: Slot) => w.string(s.owner).string(s.type).string(s.condition);
function readSlot(r: Reader): Slot {
  const owner = r.string('slot.owner');
  const type = r.string('slot.type');
  const condition = r.string('slot.condition');
  const slot = { owner, type: type as KeyType, condition };
  slotIdentity(slot); // validates
  return slot;
}

export const encodeCapsule = (c: Capsule): Uint8Array => writeSlot(new Writer('capsule'), c.slot).g1(c.u0).bytes(c.w).bytes(c.v).g1(c.u).u32(c.hops).finish();

export function decodeCapsule(bytes: Uint8Array): Capsule {
  const r = new Reader(bytes, 'capsule');
  const slot = readSlot(r);
  const c = { slot, u0: r.g1('u0'), w: r.bytes('w', 32), v: r.bytes('v', 64), u: r.g1('u'), hops: r.u32('hops') };
  r.end();
  if (c.w.length !== 32 || c.v.length !== DATA_KEY_BYTES) throw new CryptoError('capsule has wrong field lengths');
  if (c.hops === 0 && !c.u.equals(c.u0)) throw new CryptoError('capsule at hop 0 must have u = u0');
  return c;
}

export function encodeFragment(f: Fragment): Uint8Array {
  assertShareIndex(f.index, 'fragment');
  return new Writer('fragment').string(f.grantId).u32(Number(f.index)).g1(f.u).scalar(f.proof.c).scalar(f.proof.z).finish();
}

export function decodeFragment(bytes: Uint8Array): Fragment {
  const r = new Reader(bytes, 'fragment');
  const f = { grantId: r.string('grantId'), index: BigInt(r.u32('index')), u: r.g1('u'), proof: { c: r.scalar('proof.c'), z: r.scalar('proof.z') } };
  r.end();
  if (f.index < 1n) throw new CryptoError('fragment index must be ≥ 1');
  return f;
}

export const encodeGrant = (g: GrantPublic): Uint8Array => {
  const w = writeSlot(new Writer('grantKey').string(g.grantId), g.slot).string(g.delegatee).u32(g.hop).u32(g.threshold).u32(g.commitments.length);
  for (const c of g.commitments) w.g1(c);
  writeSealed(w, g.sealedGrantKey);
  if (g.anchor) w.g1(g.anchor.point).scalar(g.anchor.proof.c).scalar(g.anchor.proof.z);
  return w.finish();
};

export function decodeGrant(bytes: Uint8Array): GrantPublic {
  const r = new Reader(bytes, 'grantKey');
  const grantId = r.string('grantId');
  const slot = readSlot(r);
  const delegatee = r.string('delegatee');
  const hop = r.u32('hop');
  const threshold = r.u32('threshold');
  const count = r.u32('commitments');
  if (count !== threshold) throw new CryptoError(`grant has ${count} commitments for threshold ${threshold}`);
  const commitments = Array.from({ length: count }, (_, i) => r.g1(`commitments[${i}]`));
  const sealedGrantKey = readSealed(r, 'sealedGrantKey');
  // The anchor follows from hop 2 on (absent in grants made before anchors existed).
  const anchor = hop > 1 && !r.atEnd() ? { point: r.g1('anchor'), proof: { c: r.scalar('anchor.proof.c'), z: r.scalar('anchor.proof.z') } } : undefined;
  r.end();
  if (hop < 1) throw new CryptoError('grant hop must be ≥ 1');
  return { grantId, slot, delegatee, hop, threshold, commitments, sealedGrantKey, ...(anchor ? { anchor } : {}) };
}

/** A proxy's sealed share as it travels from the delegator to that proxy. */
export function encodeProxyShare(s: ProxyShare): Uint8Array {
  assertShareIndex(s.index, 'share');
  return writeSealed(new Writer('proxyShare').string(s.proxy).u32(Number(s.index)), s.sealed).finish();
}

export function decodeProxyShare(bytes: Uint8Array): ProxyShare {
  const r = new Reader(bytes, 'proxyShare');
  const proxy = r.string('proxy');
  const index = BigInt(r.u32('index'));
  const sealed = readSealed(r, 'sealed');
  r.end();
  if (index < 1n) throw new CryptoError('share index must be ≥ 1');
  return { proxy, index, sealed };
}
