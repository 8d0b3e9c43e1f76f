/**
 * Which call comes i-th: first one call of every applicable (target, input class) pair in a
 * seeded order, so even a short run covers them all, then pairs drawn at random. Call i
 * draws its values from its own generator (seed/i), so it is the same call for a seed
 * however many calls run at once.
 */
import { Random } from './random';

export interface Pair<T extends string, K extends string> {
  target: T;
  inputClass: K;
}

export class Plan<T extends string, K extends string, C> {
  private readonly order: number[];

  constructor(
    readonly seed: string,
    readonly pairs: readonly Pair<T, K>[],
    private readonly make: (pair: Pair<T, K>, r: Random) => C,
  ) {
    if (pairs.length === 0) throw new Error('nothing to generate: no applicable pair');
    const r = new Random(`${seed}/order`);
    this.order = pairs.map((_, i) => i);
    for (let i = this.order.length - 1; i > 0; i--) {
      const j = r.int(0, i);
      [this.order[i], this.order[j]] = [this.order[j]!, this.order[i]!];
    }
  }

  pairAt(i: number): Pair<T, K> {
    return i < this.pairs.length ? this.pairs[this.order[i]!]! : this.pairs[new Random(`${this.seed}/pair/${i}`).int(0, this.pairs.length - 1)]!;
  }

  callAt(i: number): C {
    return this.make(this.pairAt(i), new Random(`${this.seed}/call/${i}`));
  }
}

/** Runs `work(i)` for i in [0, count) with at most `concurrency` at once. */
export async function runPool(count: number, concurrency: number, work: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < count) await work(next++);
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
}
