/** Misbehaviour a replica detects, with the signed messages that prove it where a proof exists. */
import type { NodeId } from '../core/types';
import type { PbftInstanceMessage } from './messages';
import type { Verifier } from './verifier';

export type MisbehaviourKind = 'bad-signature' | 'equivocation' | 'conflicting-vote' | 'invalid-proposal';

/**
 * - `equivocation`: two pre-prepares (proof) the primary signed for the same (view, seq) with different digests.
 * - `conflicting-vote`: two prepares, commits or checkpoints (proof) a member signed for the same slot with different values.
 * - `invalid-proposal`: a signed pre-prepare the owner's `validate` rejects, or a signed new view that does not recompute.
 * - `bad-signature`: a message whose signature does not verify. Not provable: `node` is the
 *   transport's sender when the owner passed it (meaningful on authenticated links only), else
 *   the claimed sender, whom anyone can name; use it as a hint, never as a penalty on its own.
 */
export interface Misbehaviour<P> {
  node: NodeId;
  kind: MisbehaviourKind;
  proof: PbftInstanceMessage<P>[];
}

/** The slot a vote or proposal speaks for, and the value it gives that slot. */
function slotAndValue<P>(m: PbftInstanceMessage<P>): { slot: string; value: string } | undefined {
  switch (m.type) {
    case 'pre-prepare':
    case 'prepare':
    case 'commit':
      return { slot: `${m.type}/${m.view}/${m.seq}`, value: m.digest };
    case 'checkpoint':
      return { slot: `${m.type}/${m.seq}`, value: m.state };
    default:
      return undefined;
  }
}

/**
 * Whether `evidence` proves an equivocation or a conflicting vote on its own: two messages,
 * both validly signed by `evidence.node` in the verifier's group, for the same slot with
 * different values. Other kinds are not self-proving and give false.
 */
export function provesConflict<P>(evidence: Misbehaviour<P>, verifier: Verifier<P>): boolean {
  if (evidence.kind !== 'equivocation' && evidence.kind !== 'conflicting-vote') return false;
  const [a, b] = evidence.proof;
  if (a === undefined || b === undefined || a.sender !== evidence.node || b.sender !== evidence.node) return false;
  if ((evidence.kind === 'equivocation') !== (a.type === 'pre-prepare')) return false;
  const sa = slotAndValue(a);
  const sb = slotAndValue(b);
  return sa !== undefined && sb !== undefined && sa.slot === sb.slot && sa.value !== sb.value && verifier.signed(a) && verifier.signed(b);
}
