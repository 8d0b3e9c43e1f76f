/**
 * A small seeded PRNG for the malformed-call generator: the same seed gives the same
 * sequence of calls, so a failure can be replayed (EMR_SEED). Not for cryptography.
 */
import { createHash, randomBytes } from 'node:crypto';

/** The seed a run uses: EMR_SEED when set, else a fresh one (printed by the callers, so it can be replayed). */
export const seedFromEnv = (): string => process.env.EMR_SEED || randomBytes(6).toString('hex');

export class Random {
  private state: [number, number, number, number];

  /** Any text is a seed: its SHA-256 fills the 128-bit state. */
  constructor(readonly seed: string) {
    const h = createHash('sha256').update(`emr-malformed:${seed}`).digest();
    this.state = [h.readUInt32LE(0), h.readUInt32LE(4), h.readUInt32LE(8), h.readUInt32LE(12)];
    if (this.state.every((w) => w === 0)) this.state[0] = 1; // the all-zero state never leaves zero
  }

  /** xoshiro128**: a uniform 32-bit word. */
  private next(): number {
    const s = this.state;
    const result = Math.imul(rotl(Math.imul(s[1], 5), 7), 9) >>> 0;
    const t = s[1] << 9;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 11);
    return result;
  }

  /** An integer in [min, max]. */
  int(min: number, max: number): number {
    return min + Math.floor((this.next() / 0x1_0000_0000) * (max - min + 1));
  }

  chance(p: number): boolean {
    return this.next() / 0x1_0000_0000 < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error('pick from an empty list');
    return items[this.int(0, items.length - 1)]!;
  }

  /** A child generator for one call: a call's values do not shift when another call draws more. */
  fork(label: string): Random {
    return new Random(`${this.seed}/${label}`);
  }
}

const rotl = (x: number, k: number): number => ((x << k) | (x >>> (32 - k))) >>> 0;
