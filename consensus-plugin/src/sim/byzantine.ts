import type { Authenticator, Mutations, NodeId, Outbound } from '../core/types';
import type { ByzantineBehaviour } from './faults';

/**
 * Rewrites a Byzantine node's outgoing messages according to its behaviour. Equivocation
 * and conflicting votes go to a fixed half of the nodes (`otherHalf`), the original to the
 * rest, so the two halves see consistent but different stories. One mutated copy is made
 * per original message, however many recipients share it. `twins` needs no rewriting: the
 * simulator routes each twin to its own half.
 */
export class ByzantineMangler<M> {
  /** Messages changed or suppressed so far. */
  changed = 0;

  constructor(
    readonly behaviour: ByzantineBehaviour,
    private readonly auth: Authenticator,
    private readonly mutations: Mutations<M>,
    private readonly otherHalf: ReadonlySet<NodeId>,
  ) {}

  /** What actually leaves the node for one Ready's messages. */
  rewrite(outbound: readonly Outbound<M>[]): Outbound<M>[] {
    switch (this.behaviour) {
      case 'silent':
        this.changed += outbound.length;
        return [];
      case 'bad-signatures': {
        const broken = new Map<M, M>();
        return outbound.map(({ to, message }) => {
          let copy = broken.get(message);
          if (copy === undefined) broken.set(message, (copy = this.mutations.badSignature(message)));
          this.changed++;
          return { to, message: copy };
        });
      }
      case 'equivocate':
        return this.splitHalves(outbound, (m) => this.mutations.equivocate(m, this.auth));
      case 'conflicting-votes':
        return this.splitHalves(outbound, (m) => this.mutations.conflictingVote(m, this.auth));
      case 'twins':
        return outbound.slice();
    }
  }

  private splitHalves(outbound: readonly Outbound<M>[], mutate: (message: M) => M | undefined): Outbound<M>[] {
    const alternatives = new Map<M, M | undefined>();
    return outbound.map(({ to, message }) => {
      if (!this.otherHalf.has(to)) return { to, message };
      if (!alternatives.has(message)) alternatives.set(message, mutate(message));
      const alternative = alternatives.get(message);
      if (alternative === undefined) return { to, message };
      this.changed++;
      return { to, message: alternative };
    });
  }
}
