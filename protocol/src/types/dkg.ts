/**
 * The key centres' DKG on chain (docs/crypto.md, "Setup and DKG"): the chain is the
 * broadcast channel. Every centre posts one message per phase and reads everyone's in the
 * same order. A centre's message of a phase is its vote to close the one before (it saw all
 * it expected there); one that waited out a silent centre votes on its own. t votes close a
 * phase, and a message only enters a phase that is not closed, so every centre reads a
 * closed phase alike. Private shares travel sealed between the centres (the key centre
 * service's `GET /v1/dkg/share`).
 */
import type { Party } from '../party';

export const DKG_PHASES = ['commitments', 'complaints', 'answers', 'feldman', 'feldman-complaints', 'reveals', 'outcome'] as const;
export type DkgPhase = (typeof DKG_PHASES)[number];

/** A share of a dealer's polynomials revealed in public, hex scalars: f(j) and the blinding g(j). */
export interface DkgRevealedShare {
  s: string;
  b: string;
}

/** Why a centre's contribution left the key, or was rebuilt in public. */
export const DKG_FAULTS = ['silent', 'complaints', 'bad-answer', 'wrong-feldman'] as const;
export type DkgFault = (typeof DKG_FAULTS)[number];

export type DkgBody =
  /** Pedersen commitments C_k = a_k·G + b_k·H, base64url G1 points. */
  | { phase: 'commitments'; pedersen: string[] }
  /** Dealers whose private share to this centre failed its commitments, or never came. */
  | { phase: 'complaints'; against: number[] }
  /** A dealer answers each complaint against it by revealing the disputed share. */
  | { phase: 'answers'; answers: (DkgRevealedShare & { to: number })[] }
  /** A qualified dealer's Feldman commitments A_k = a_k·G. */
  | { phase: 'feldman'; commitments: string[] }
  /** Qualified dealers whose Feldman commitments fail this centre's share, with the share as proof. */
  | { phase: 'feldman-complaints'; against: (DkgRevealedShare & { dealer: number })[] }
  /** This centre's shares from the dealers proven to cheat, for rebuilding their polynomials in public. */
  | { phase: 'reveals'; shares: (DkgRevealedShare & { dealer: number })[] }
  /** What this centre computed: mpk, QUAL and who cheated how. */
  | { phase: 'outcome'; mpk: string; qual: number[]; faults: { index: number; fault: DkgFault }[] };

export interface DkgMessageInput {
  dkgId: string;
  n: number;
  threshold: number;
  /** The sender's index, 1..n: claimed by its first message, for this DKG only. */
  index: number;
  body: DkgBody;
}

export interface DkgMessage extends DkgMessageInput {
  sender: Party;
  postedAt: string;
  txId: string;
}

export interface DkgBoard {
  dkgId: string;
  n: number;
  threshold: number;
  /** The phases t centres voted closed (`outcome` is never closed). */
  closed: DkgPhase[];
  messages: DkgMessage[];
}
