/**
 * Checks of everything a PBFT group signs: single messages, commit certificates, prepared
 * certificates, checkpoint proofs, view changes and new views. One `Verifier` per replica
 * remembers which message objects it has already checked, so a prepare that appears in
 * many view changes (or a commit in many certificates) is verified once.
 */
import { sha256 } from '../core/digest';
import type { Authenticator, NodeId } from '../core/types';
import {
  signedBySender,
  type CheckpointMessage,
  type CommitMessage,
  type DecidedEntry,
  type NewViewMessage,
  type PbftInstanceMessage,
  type PreparedCertificate,
  type PrePrepareMessage,
  type StableCheckpoint,
  type ViewChangeMessage,
} from './messages';
import { quorumSize } from './quorum';

/** The digest of a null request (a gap filled by a new view) unless the group chooses another. */
export const DEFAULT_NULL_DIGEST = sha256('pbft/v1/null-request');

/** The decided history's hash before anything was decided. */
export const genesisState = (group: string): string => sha256(`pbft/v1/genesis\n${group}`);

/** The decided history's hash after deciding `digest` at `seq`. */
export const nextState = (state: string, seq: number, digest: string): string => sha256(`${state}\n${seq}\n${digest}`);

/** What the replicas of one group agree on. */
export interface GroupRules<P> {
  group: string;
  members: readonly NodeId[];
  /** Primary of view v = primaryOrder[v mod length]. */
  primaryOrder: readonly NodeId[];
  auth: Authenticator;
  digest(payload: P): string;
  /**
   * Whether a payload is one the digest covers entirely (default: any). Any other is refused
   * wherever a payload is checked against its digest, as if the digest did not match, so
   * replicas never hold different payloads under one digest.
   */
  wellFormed?(payload: P): boolean;
  nullDigest: string;
  checkpointInterval: number;
  /** Sequence numbers in flight above the stable checkpoint (the high watermark's distance from the low; default 2 × checkpointInterval). */
  window?: number;
}

/** A proposal a new view must carry at `seq`: the highest-view prepared value, or a null request. */
export interface Reproposal<P> {
  seq: number;
  digest: string;
  payload: P | null;
}

/** Checks for one group, as seen by one replica (it caches what it has checked, per message object). */
export class Verifier<P> {
  readonly quorum: number;
  readonly window: number;
  private readonly memberSet: ReadonlySet<NodeId>;
  /** Messages whose signature this replica has checked; pre-prepares and view changes it has checked in full. */
  private readonly signatureChecked = new WeakSet<object>();
  private readonly prePrepareChecked = new WeakSet<object>();
  private readonly viewChangeChecked = new WeakSet<object>();

  constructor(readonly rules: GroupRules<P>) {
    this.memberSet = new Set(rules.members);
    this.quorum = quorumSize(rules.members.length);
    this.window = rules.window ?? 2 * rules.checkpointInterval;
  }

  isMember(node: NodeId): boolean {
    return this.memberSet.has(node);
  }

  primaryOf(view: number): NodeId {
    const order = this.rules.primaryOrder;
    return order[view % order.length];
  }

  /** In this group, from a member, with a valid signature of that member. */
  signed(m: PbftInstanceMessage<P>): boolean {
    if (this.signatureChecked.has(m)) return true;
    if (m.group !== this.rules.group || !this.memberSet.has(m.sender) || !signedBySender(m, this.rules.auth)) return false;
    this.signatureChecked.add(m);
    return true;
  }

  /** A signed pre-prepare from the primary of its view whose payload hashes to its digest. */
  prePrepare(pp: PrePrepareMessage<P>): boolean {
    if (this.prePrepareChecked.has(pp)) return true;
    if (pp.type !== 'pre-prepare' || pp.sender !== this.primaryOf(pp.view) || !this.signed(pp) || !this.payloadMatches(pp)) return false;
    this.prePrepareChecked.add(pp);
    return true;
  }

  payloadMatches(pp: PrePrepareMessage<P>): boolean {
    return this.matches(pp.payload, pp.digest);
  }

  /** A quorum of distinct members' signed commits for exactly (view, seq, digest). */
  certificate(view: number, seq: number, digest: string, certificate: readonly CommitMessage[]): boolean {
    return this.quorumOf(certificate, (c) => c.type === 'commit' && c.view === view && c.seq === seq && c.digest === digest);
  }

  /** A certificate that proves the entry, and a payload that matches it. */
  decidedEntry(e: DecidedEntry<P>): boolean {
    return this.matches(e.payload, e.digest) && this.certificate(e.view, e.seq, e.digest, e.certificate);
  }

  /** A valid pre-prepare and quorum − 1 matching prepares from distinct members other than its primary. */
  prepared(c: PreparedCertificate<P>): boolean {
    const pp = c.prePrepare;
    if (!this.prePrepare(pp)) return false;
    const matching = (p: PbftInstanceMessage<P>): boolean =>
      p.type === 'prepare' && p.view === pp.view && p.seq === pp.seq && p.digest === pp.digest && p.sender !== pp.sender;
    return this.quorumOf(c.prepares, matching, this.quorum - 1);
  }

  /** The genesis, or a quorum of distinct members' matching checkpoint messages at a checkpoint sequence number. */
  stableCheckpoint(s: StableCheckpoint): boolean {
    if (s.seq === 0) return s.state === genesisState(this.rules.group);
    if (s.seq < 0 || s.seq % this.rules.checkpointInterval !== 0) return false;
    return this.quorumOf(s.proof, (c: CheckpointMessage) => c.type === 'checkpoint' && c.seq === s.seq && c.state === s.state);
  }

  /** A signed view change whose checkpoint proof and prepared certificates all hold, one certificate per sequence number. */
  viewChange(vc: ViewChangeMessage<P>): boolean {
    if (this.viewChangeChecked.has(vc)) return true;
    if (vc.type !== 'view-change' || !this.signed(vc) || !this.stableCheckpoint(vc.stable)) return false;
    const seen = new Set<number>();
    for (const c of vc.prepared) {
      const seq = c.prePrepare.seq;
      if (seen.has(seq) || seq <= vc.stable.seq || seq > vc.stable.seq + this.window || c.prePrepare.view >= vc.view) return false;
      if (!this.prepared(c)) return false;
      seen.add(seq);
    }
    this.viewChangeChecked.add(vc);
    return true;
  }

  /**
   * The pre-prepares a new view built from `viewChanges` must carry (Castro–Liskov): from the
   * highest stable checkpoint among them to the highest prepared sequence number, each
   * sequence number gets the value prepared in the highest view, or a null request.
   */
  reproposals(viewChanges: readonly ViewChangeMessage<P>[]): { checkpoint: StableCheckpoint; proposals: Reproposal<P>[] } {
    let checkpoint = viewChanges[0].stable;
    for (const vc of viewChanges) if (vc.stable.seq > checkpoint.seq) checkpoint = vc.stable;
    const best = new Map<number, PrePrepareMessage<P>>();
    for (const vc of viewChanges) {
      for (const { prePrepare: pp } of vc.prepared) {
        if (pp.seq <= checkpoint.seq) continue;
        const current = best.get(pp.seq);
        if (current === undefined || pp.view > current.view) best.set(pp.seq, pp);
      }
    }
    const top = Math.max(checkpoint.seq, ...best.keys());
    const proposals: Reproposal<P>[] = [];
    for (let seq = checkpoint.seq + 1; seq <= top; seq++) {
      const pp = best.get(seq);
      proposals.push(pp ? { seq, digest: pp.digest, payload: pp.payload } : { seq, digest: this.rules.nullDigest, payload: null });
    }
    return { checkpoint, proposals };
  }

  /**
   * A new view from the right primary, with a quorum of distinct valid view changes for its
   * view and exactly the pre-prepares they imply (recomputed here); the checkpoint it starts
   * from when valid, undefined otherwise.
   */
  newView(nv: NewViewMessage<P>): StableCheckpoint | undefined {
    if (nv.type !== 'new-view' || nv.sender !== this.primaryOf(nv.view) || !this.signed(nv)) return undefined;
    const senders = new Set<NodeId>();
    for (const vc of nv.viewChanges) {
      if (vc.view !== nv.view || senders.has(vc.sender) || !this.viewChange(vc)) return undefined;
      senders.add(vc.sender);
    }
    if (senders.size < this.quorum) return undefined;
    const { checkpoint, proposals } = this.reproposals(nv.viewChanges);
    if (proposals.length !== nv.prePrepares.length) return undefined;
    const allMatch = proposals.every((r, i) => {
      const pp = nv.prePrepares[i];
      return pp.view === nv.view && pp.seq === r.seq && pp.digest === r.digest && this.prePrepare(pp);
    });
    return allMatch ? checkpoint : undefined;
  }

  /** A well-formed payload with exactly this digest, or the null request with the null digest. */
  private matches(payload: P | null, digest: string): boolean {
    if (payload === null) return digest === this.rules.nullDigest;
    return (this.rules.wellFormed?.(payload) ?? true) && this.rules.digest(payload) === digest;
  }

  /** At least `needed` messages from distinct members that satisfy `matches` and are validly signed. */
  private quorumOf<M extends PbftInstanceMessage<P>>(messages: readonly M[], matches: (m: M) => boolean, needed = this.quorum): boolean {
    const voters = new Set<NodeId>();
    for (const m of messages) {
      if (voters.has(m.sender) || !matches(m) || !this.signed(m)) continue;
      voters.add(m.sender);
      if (voters.size >= needed) return true;
    }
    return false;
  }
}

/** A decision to check on its own: what was decided where, and the commits that decided it. */
export interface CertificateClaim {
  group: string;
  /** The group's voters. */
  members: readonly NodeId[];
  view: number;
  seq: number;
  digest: string;
  certificate: readonly CommitMessage[];
}

/**
 * Whether `claim.certificate` proves the decision: commits for exactly (group, view, seq,
 * digest) from a quorum of distinct members, each validly signed. For another layer (or a
 * lagging replica) that holds no state of the group.
 */
export function verifyCertificate(claim: CertificateClaim, auth: Authenticator): boolean {
  const members = new Set(claim.members);
  const voters = new Set<NodeId>();
  for (const c of claim.certificate) {
    const matches = c.type === 'commit' && c.group === claim.group && c.view === claim.view && c.seq === claim.seq && c.digest === claim.digest;
    if (!matches || voters.has(c.sender) || !members.has(c.sender) || !signedBySender(c, auth)) continue;
    voters.add(c.sender);
  }
  return voters.size >= quorumSize(claim.members.length);
}
