/**
 * Accountability (seed 004): a leaked grant key X = ρ⁻¹·key names the grant it was issued
 * under, because e(A_h, X) = e(mpk, H_Q(slot)) holds for that grant's anchor only
 * (docs/crypto.md, "Tracing a leaked key"). Whoever finds X proves so on chain without
 * putting X there: a proof of knowledge of X for that equation, bound to the reporter.
 */
import { backend } from './backend';
import { DST, Fr, G2, frame, gtEquals, gtToBytes, hashToG2, hashToScalar, pairing, pairingProduct, randomScalar, systemRng, type G2Point, type Gt, type Rng } from './group';
import { CryptoError, type PublicParams } from './ibe';
import { EncodingError, Reader, Writer } from './encoding';
import { grantAnchor, slotIdentity, type GrantPublic } from './pre';

/**
 * Names the grant a leaked grant key X was issued under: the one of `grants` whose anchor
 * satisfies e(A, X) = e(mpk, H_Q(slot)) (see openGrantKey). Only that grant's can: another
 * grant's anchor carries independent ρs, or another slot's H_Q. X's line functions are
 * computed once and e(mpk, H_Q(slot)) once per slot, so each candidate costs one Miller
 * loop and one final exponentiation. Undefined when none matches (a key that was never
 * issued, or one from a grant made before anchors at hop ≥ 2).
 */
export function traceGrantKey(params: PublicParams, x: G2Point, grants: Iterable<GrantPublic>): GrantPublic | undefined {
  const withX = backend().pairingWith(x);
  const targets = new Map<string, Gt>();
  try {
    for (const g of grants) {
      const anchor = grantAnchor(g);
      if (!anchor) continue;
      const id = slotIdentity(g.slot);
      let target = targets.get(id);
      if (!target) targets.set(id, (target = pairing(params.mpk, hashToG2(id))));
      if (gtEquals(withX.pair(anchor), target)) return g;
    }
    return undefined;
  } finally {
    withX.release();
  }
}

/**
 * Proof of knowledge of X with e(A, X) = T, T = e(mpk, H_Q(slot)): a Schnorr proof for the
 * homomorphism X ↦ e(A, X) from G2 to G_T, made non-interactive with Fiat–Shamir.
 * Commitment t = e(A, R) for a random R; challenge c = H_c(grant, reporter, t); response
 * Z = R + c·X. It reveals nothing about X (the simulator picks c, Z and sets
 * t = e(A, Z)·T^(−c)), and two answers to one t give X = (Z − Z′)/(c − c′).
 */
export interface KeyPossessionProof {
  c: bigint;
  z: G2Point;
}

const possessionChallenge = (grant: GrantPublic, reporter: string, t: Gt): bigint =>
  hashToScalar(DST.challenge, frame('key-possession', grant.grantId, slotIdentity(grant.slot), String(grant.hop), reporter), gtToBytes(t));

/** `reporter` binds the proof to whoever files it: a copy filed by someone else does not verify. */
export function proveKeyPossession(grant: GrantPublic, x: G2Point, reporter: string, rng: Rng = systemRng): KeyPossessionProof {
  const anchor = grantAnchor(grant);
  if (!anchor) throw new CryptoError(`grant '${grant.grantId}' has no anchor (a re-delegation made before anchors): its key cannot be traced`);
  const r = G2.BASE.multiply(randomScalar(rng));
  const c = possessionChallenge(grant, reporter, pairing(anchor, r));
  return { c, z: r.add(x.multiply(c)) };
}

/** Two Miller loops and one final exponentiation: t = e(A, Z)·e(−c·mpk, H_Q(slot)). */
export function verifyKeyPossession(params: PublicParams, grant: GrantPublic, proof: KeyPossessionProof, reporter: string): boolean {
  const anchor = grantAnchor(grant);
  if (!anchor || proof.c === 0n) return false;
  const t = pairingProduct([
    [anchor, proof.z],
    [params.mpk.multiply(Fr.neg(proof.c)), hashToG2(slotIdentity(grant.slot))],
  ]);
  return possessionChallenge(grant, reporter, t) === proof.c;
}

export const encodeKeyPossession = (p: KeyPossessionProof): Uint8Array => new Writer('keyPossession').scalar(p.c).g2(p.z).finish();

export function decodeKeyPossession(bytes: Uint8Array): KeyPossessionProof {
  const r = new Reader(bytes, 'keyPossession');
  const proof = { c: r.scalar('c'), z: r.g2('z') };
  r.end();
  return proof;
}

/**
 * A leaked key as someone found it: the 96-byte compressed G2 point itself, or that as hex
 * or base64url text (whitespace around it ignored).
 */
export function parseLeakedGrantKey(file: Uint8Array): G2Point {
  const text = new TextDecoder().decode(file).trim();
  const raw =
    file.length === 96 ? file
    : /^[0-9a-fA-F]{192}$/.test(text) ? Uint8Array.from(Buffer.from(text, 'hex'))
    : /^[A-Za-z0-9_-]{128}$/.test(text) ? Uint8Array.from(Buffer.from(text, 'base64url'))
    : undefined;
  if (!raw) throw new EncodingError('grant key', `expected a compressed G2 point: 96 bytes, or 192 hex or 128 base64url characters; got ${file.length} bytes`);
  try {
    return G2.fromBytes(raw);
  } catch (err) {
    throw new EncodingError('grant key', `not a G2 point (${(err as Error).message})`);
  }
}
