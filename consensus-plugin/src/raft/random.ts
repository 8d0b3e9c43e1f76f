import { sha256 } from '../core/digest';

/**
 * The Raft model's own source of randomized election timeouts: Marsaglia's xorshift32,
 * seeded from a hash of the run's seed and the node. Tiny and deterministic; it lives in the
 * node's state, so a node's timeouts depend on nothing but (seed, node, restart point).
 */
export class ElectionRandom {
  private state: number;

  constructor(...seedParts: (string | number)[]) {
    // A zero state would stay zero forever.
    this.state = parseInt(sha256(`raft/random/v1\n${seedParts.join('\u0000')}`).slice(0, 8), 16) || 1;
  }

  /** A uniform integer in [min, max] (both inclusive). */
  between(min: number, max: number): number {
    let x = this.state;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.state = x >>> 0;
    return min + Math.floor((this.state / 2 ** 32) * (max - min + 1));
  }
}
