import type { NodeId } from '../core/types';

/**
 * Regions by K-medoids over measured round-trip times (docs/consensus.md, "Regions").
 *
 * Medoids: PAM's greedy BUILD, then SWAP rounds until no swap lowers the total distance
 * (bounded). SWAP is evaluated the FastPAM1 way (Schubert & Rousseeuw): one pass over the
 * points per candidate scores the swap of that candidate with every medoid at once, from
 * each point's nearest and second-nearest medoid distances. That makes a round O((n−K)·n)
 * instead of PAM's O(K·(n−K)·n) and gives exactly PAM's result, deterministically: candidates
 * are scanned in id order and only a strictly better swap replaces the best one found.
 *
 * Then a capacity-constrained assignment: every region gets between `minSize` and
 * ⌈n/K⌉ + 1 members, nodes placed in decreasing order of regret (distance to the
 * second-nearest medoid minus the nearest), so the nodes that lose most by being moved
 * choose first.
 */

/** Smallest region: PBFT needs 3f + 1 members to tolerate one fault. */
export const MIN_REGION_SIZE = 4;

/** Default bound on SWAP rounds; each round is one improving swap, convergence is usually far sooner. */
export const DEFAULT_SWAP_ROUNDS = 64;

/**
 * About √n regions, none smaller than 4: K = min(⌊n/4⌋, round(√n)), but 1 when that is
 * below 4, because a top layer of 2 or 3 seats tolerates no faulty seat (one region is
 * then flat PBFT, which tolerates more).
 */
export function regionCount(n: number): number {
  const k = Math.min(Math.floor(n / MIN_REGION_SIZE), Math.round(Math.sqrt(n)));
  return k < 4 ? 1 : k;
}

/** A symmetric dissimilarity over points 0 … size − 1, stored densely. */
export class Dissimilarity {
  private readonly values: Float64Array;

  /** Symmetrises `distance` (the mean of both directions); the diagonal is 0. */
  constructor(readonly size: number, distance: (i: number, j: number) => number) {
    this.values = new Float64Array(size * size);
    for (let i = 0; i < size; i++) {
      for (let j = i + 1; j < size; j++) {
        const d = (distance(i, j) + distance(j, i)) / 2;
        this.values[i * size + j] = d;
        this.values[j * size + i] = d;
      }
    }
  }

  at(i: number, j: number): number {
    return this.values[i * this.size + j];
  }
}

/** Swaps that improve less than this are float noise, not improvements (avoids cycling). */
const EPSILON = 1e-9;

/** Each point's nearest medoid (by position in `medoids`) with its distance, and the second-nearest distance. */
interface Nearest {
  nearest: Int32Array;
  first: Float64Array;
  second: Float64Array;
}

function nearestMedoids(dist: Dissimilarity, medoids: readonly number[]): Nearest {
  const n = dist.size;
  const result: Nearest = { nearest: new Int32Array(n), first: new Float64Array(n), second: new Float64Array(n) };
  for (let o = 0; o < n; o++) {
    let best = -1;
    let first = Infinity;
    let second = Infinity;
    medoids.forEach((m, i) => {
      const d = dist.at(o, m);
      if (d < first) {
        second = first;
        first = d;
        best = i;
      } else if (d < second) second = d;
    });
    result.nearest[o] = best;
    result.first[o] = first;
    result.second[o] = second;
  }
  return result;
}

/** PAM BUILD: the most central point, then repeatedly the point that lowers the total distance most. */
function build(dist: Dissimilarity, k: number): number[] {
  const n = dist.size;
  const medoids: number[] = [];
  const closest = new Float64Array(n).fill(Infinity);
  const isMedoid = new Uint8Array(n);
  while (medoids.length < k) {
    let best = -1;
    let bestGain = -Infinity;
    for (let c = 0; c < n; c++) {
      if (isMedoid[c]) continue;
      let gain = 0;
      for (let o = 0; o < n; o++) {
        const d = dist.at(o, c);
        // The first medoid has no reference yet: minimise its total distance instead.
        if (medoids.length === 0) gain -= d;
        else if (d < closest[o]) gain += closest[o] - d;
      }
      if (gain > bestGain) {
        bestGain = gain;
        best = c;
      }
    }
    medoids.push(best);
    isMedoid[best] = 1;
    for (let o = 0; o < n; o++) if (dist.at(o, best) < closest[o]) closest[o] = dist.at(o, best);
  }
  return medoids;
}

/** The best single swap (medoid position, candidate point) and its change in total distance. */
function bestSwap(dist: Dissimilarity, medoids: readonly number[], near: Nearest): { position: number; candidate: number; delta: number } {
  const n = dist.size;
  const k = medoids.length;
  // Removing medoid i alone moves its points to their second-nearest medoid.
  const removalLoss = new Float64Array(k);
  for (let o = 0; o < n; o++) removalLoss[near.nearest[o]] += near.second[o] - near.first[o];
  const isMedoid = new Uint8Array(n);
  for (const m of medoids) isMedoid[m] = 1;

  const change = new Float64Array(k);
  let best = { position: -1, candidate: -1, delta: 0 };
  for (let c = 0; c < n; c++) {
    if (isMedoid[c]) continue;
    change.set(removalLoss);
    let shared = 0;
    for (let o = 0; o < n; o++) {
      const d = dist.at(o, c);
      const i = near.nearest[o];
      if (d < near.first[o]) {
        // o moves to c whichever medoid goes; its removal loss no longer applies.
        shared += d - near.first[o];
        change[i] += near.first[o] - near.second[o];
      } else if (d < near.second[o]) {
        // Only if its own medoid goes does o land on c rather than on its second-nearest.
        change[i] += d - near.second[o];
      }
    }
    for (let i = 0; i < k; i++) {
      const delta = change[i] + shared;
      if (delta < best.delta - EPSILON) best = { position: i, candidate: c, delta };
    }
  }
  return best;
}

/**
 * K medoids (point indices, in BUILD order) minimising the total distance of every point
 * to its nearest medoid: BUILD, then at most `maxRounds` best-improvement swaps.
 */
export function kMedoids(dist: Dissimilarity, k: number, maxRounds = DEFAULT_SWAP_ROUNDS): number[] {
  if (k < 1 || k > dist.size) throw new RangeError(`k = ${k} for ${dist.size} points`);
  const medoids = build(dist, k);
  for (let round = 0; round < maxRounds; round++) {
    const swap = bestSwap(dist, medoids, nearestMedoids(dist, medoids));
    if (swap.position < 0) break;
    medoids[swap.position] = swap.candidate;
  }
  return medoids;
}

/**
 * Every point to a medoid's cluster (returned in `medoids` order), each cluster between
 * `minSize` and `maxSize` points. Medoids anchor their own clusters; the other points are
 * placed by decreasing regret, each in its nearest cluster that still has room; once the
 * unplaced points are just enough to fill the clusters still below `minSize`, only those
 * clusters take points. Ties by point index.
 */
export function assignWithCapacity(dist: Dissimilarity, medoids: readonly number[], minSize: number, maxSize: number): number[][] {
  const n = dist.size;
  const k = medoids.length;
  if (k * minSize > n || k * maxSize < n) throw new RangeError(`${n} points do not fit ${k} clusters of ${minSize}…${maxSize}`);
  const clusters = medoids.map((m) => [m]);
  const isMedoid = new Uint8Array(n);
  for (const m of medoids) isMedoid[m] = 1;
  const near = nearestMedoids(dist, medoids);
  const order: number[] = [];
  for (let o = 0; o < n; o++) if (!isMedoid[o]) order.push(o);
  const regret = (o: number): number => (k === 1 ? 0 : near.second[o] - near.first[o]);
  order.sort((a, b) => regret(b) - regret(a) || a - b);

  let unplaced = order.length;
  let deficit = clusters.reduce((sum, c) => sum + Math.max(0, minSize - c.length), 0);
  for (const o of order) {
    const mustFill = unplaced === deficit;
    let target = -1;
    for (let i = 0; i < k; i++) {
      const size = clusters[i].length;
      const open = mustFill ? size < minSize : size < maxSize;
      if (open && (target < 0 || dist.at(o, medoids[i]) < dist.at(o, medoids[target]))) target = i;
    }
    if (clusters[target].length < minSize) deficit--;
    clusters[target].push(o);
    unplaced--;
  }
  return clusters;
}

/** Options for {@link clusterRegions}. */
export interface ClusterRegionOptions {
  /** Overrides {@link regionCount}. */
  regions?: number;
  /** Bound on SWAP rounds. */
  maxRounds?: number;
}

/**
 * Regions over `nodes` by K-medoids on `latency` (ticks, either direction; symmetrised).
 * Each region lists its members in increasing id order; regions are ordered by their
 * smallest member. The result depends only on the inputs (not on the order of `nodes`).
 */
export function clusterRegions(nodes: readonly NodeId[], latency: (a: NodeId, b: NodeId) => number, options: ClusterRegionOptions = {}): NodeId[][] {
  const ids = [...new Set(nodes)].sort((a, b) => a - b);
  if (ids.length === 0) return [];
  const k = options.regions ?? regionCount(ids.length);
  if (k === 1) return [ids];
  const dist = new Dissimilarity(ids.length, (i, j) => latency(ids[i], ids[j]));
  const medoids = kMedoids(dist, k, options.maxRounds);
  const maxSize = Math.ceil(ids.length / k) + 1;
  return assignWithCapacity(dist, medoids, Math.min(MIN_REGION_SIZE, Math.floor(ids.length / k)), maxSize)
    .map((cluster) => cluster.map((i) => ids[i]).sort((a, b) => a - b))
    .sort((a, b) => a[0] - b[0]);
}
