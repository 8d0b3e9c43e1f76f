import { assignWithCapacity, clusterRegions, Dissimilarity, kMedoids, MIN_REGION_SIZE, regionCount } from '../../../consensus-plugin/src/drkpbft/kmedoids';

/** A small seeded PRNG (mulberry32) so every test input is reproducible. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Nodes 0 … n−1 in zones (zone sizes given), a few ticks apart inside a zone and far apart across zones. */
function plantedZones(sizes: number[], seed = 1): { zoneOf: number[]; latency: (a: number, b: number) => number } {
  const random = prng(seed);
  const zoneOf = sizes.flatMap((size, z) => Array<number>(size).fill(z));
  const n = zoneOf.length;
  const matrix = Array.from({ length: n }, () => new Array<number>(n).fill(0));
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      const d = zoneOf[a] === zoneOf[b] ? 1 + Math.floor(random() * 3) : 40 + 10 * Math.abs(zoneOf[a] - zoneOf[b]) + Math.floor(random() * 10);
      matrix[a][b] = d;
      matrix[b][a] = d;
    }
  }
  return { zoneOf, latency: (a, b) => matrix[a][b] };
}

const sortedRegions = (regions: number[][]): string => JSON.stringify(regions.map((r) => [...r].sort((a, b) => a - b)).sort((a, b) => a[0] - b[0]));

describe('regionCount', () => {
  it.each([
    [1, 1],
    [4, 1],
    [7, 1],
    [8, 1],
    [15, 1],
    [16, 4],
    [20, 4],
    [64, 8],
    [100, 10],
    [1000, 32],
  ])('n = %i gives K = %i', (n, k) => expect(regionCount(n)).toBe(k));
});

describe('kMedoids', () => {
  it('finds the centre of each group on a line', () => {
    const points = [0, 1, 2, 10, 11, 12, 20, 21, 22];
    const dist = new Dissimilarity(points.length, (i, j) => Math.abs(points[i] - points[j]));
    expect(kMedoids(dist, 3).sort((a, b) => a - b)).toEqual([1, 4, 7]);
  });

  it('ends at a configuration no single swap improves (PAM local optimum)', () => {
    const random = prng(7);
    const coords = Array.from({ length: 30 }, () => [random() * 100, random() * 100]);
    const dist = new Dissimilarity(coords.length, (i, j) => Math.hypot(coords[i][0] - coords[j][0], coords[i][1] - coords[j][1]));
    const cost = (medoids: number[]): number => coords.reduce((sum, _, o) => sum + Math.min(...medoids.map((m) => dist.at(o, m))), 0);
    const medoids = kMedoids(dist, 4);
    const best = cost(medoids);
    for (let i = 0; i < medoids.length; i++) {
      for (let c = 0; c < coords.length; c++) {
        if (medoids.includes(c)) continue;
        const swapped = medoids.map((m, j) => (j === i ? c : m));
        expect(cost(swapped)).toBeGreaterThanOrEqual(best - 1e-9);
      }
    }
  });

  it('with no SWAP rounds keeps the BUILD medoids, and SWAP never makes them worse', () => {
    const random = prng(3);
    const coords = Array.from({ length: 40 }, () => random() * 1000);
    const dist = new Dissimilarity(coords.length, (i, j) => Math.abs(coords[i] - coords[j]));
    const cost = (medoids: number[]): number => coords.reduce((sum, _, o) => sum + Math.min(...medoids.map((m) => dist.at(o, m))), 0);
    expect(cost(kMedoids(dist, 5))).toBeLessThanOrEqual(cost(kMedoids(dist, 5, 0)));
  });

  it('rejects k outside 1 … n', () => {
    const dist = new Dissimilarity(3, () => 1);
    expect(() => kMedoids(dist, 0)).toThrow(RangeError);
    expect(() => kMedoids(dist, 4)).toThrow(RangeError);
  });
});

describe('assignWithCapacity', () => {
  it('keeps every cluster between the bounds even when one medoid is everyone’s favourite', () => {
    // Points 0..11 sit at 0; points 12..15 are far away on their own: three of four medoids near 0.
    const position = (i: number): number => (i < 12 ? i * 0.01 : 1000 + i);
    const dist = new Dissimilarity(16, (i, j) => Math.abs(position(i) - position(j)));
    const clusters = assignWithCapacity(dist, [0, 12, 13, 14], 4, 5);
    for (const c of clusters) {
      expect(c.length).toBeGreaterThanOrEqual(4);
      expect(c.length).toBeLessThanOrEqual(5);
    }
    expect(clusters.flat().sort((a, b) => a - b)).toEqual([...Array(16).keys()]);
    expect(clusters.map((c) => c[0])).toEqual([0, 12, 13, 14]);
  });

  it('places the nodes with the most to lose first', () => {
    // Medoids at 0 and 10; capacity 2 each. Point 2 (near 0, regret 6) and point 1 (regret 8) both
    // prefer medoid 0, which has room for one: the higher-regret point 1 gets it.
    const position = [0, 1, 2, 10];
    const dist = new Dissimilarity(4, (i, j) => Math.abs(position[i] - position[j]));
    expect(assignWithCapacity(dist, [0, 3], 1, 2)).toEqual([[0, 1], [3, 2]]);
  });

  it('rejects bounds no assignment can meet', () => {
    const dist = new Dissimilarity(8, () => 1);
    expect(() => assignWithCapacity(dist, [0, 1, 2], 4, 5)).toThrow(RangeError);
    expect(() => assignWithCapacity(dist, [0, 1], 1, 3)).toThrow(RangeError);
  });
});

describe('clusterRegions', () => {
  it.each([
    [[4, 4, 4, 4]],
    [[8, 8, 8, 8, 8, 8, 8, 8]],
    [[10, 10, 10, 10, 10, 10, 10, 10, 10, 10]],
  ])('recovers planted zones %j', (sizes) => {
    const { zoneOf, latency } = plantedZones(sizes);
    const regions = clusterRegions([...zoneOf.keys()], latency);
    expect(regions).toHaveLength(sizes.length);
    for (const region of regions) expect(new Set(region.map((node) => zoneOf[node])).size).toBe(1);
  });

  it('keeps sizes within [4, ⌈n/K⌉ + 1] when the zones are unbalanced', () => {
    const { latency } = plantedZones([30, 2, 2, 2, 4, 8, 16]);
    const regions = clusterRegions([...Array(64).keys()], latency);
    expect(regions).toHaveLength(8);
    for (const region of regions) {
      expect(region.length).toBeGreaterThanOrEqual(MIN_REGION_SIZE);
      expect(region.length).toBeLessThanOrEqual(Math.ceil(64 / 8) + 1);
    }
    expect(regions.flat().sort((a, b) => a - b)).toEqual([...Array(64).keys()]);
  });

  it('is deterministic and ignores the order the nodes are given in', () => {
    // Equal distances everywhere: only the id tie-breaks decide.
    const flat = (): number => 5;
    const nodes = [...Array(20).keys()];
    const a = clusterRegions(nodes, flat);
    const b = clusterRegions([...nodes].reverse(), flat);
    expect(sortedRegions(b)).toBe(sortedRegions(a));
    expect(JSON.stringify(b)).toBe(JSON.stringify(a));
    const { latency } = plantedZones([5, 5, 6, 9], 11);
    const ids = [...Array(25).keys()];
    expect(JSON.stringify(clusterRegions(ids, latency))).toBe(JSON.stringify(clusterRegions([...ids].reverse(), latency)));
  });

  it('lists members by id and regions by their smallest member, over arbitrary ids', () => {
    const ids = [40, 7, 13, 99, 2, 61, 8, 30];
    const regions = clusterRegions(ids, (a, b) => Math.abs((a % 2) - (b % 2)) * 50 + 1);
    for (const r of regions) expect([...r].sort((x, y) => x - y)).toEqual(r);
    expect(regions.map((r) => r[0])).toEqual([...regions.map((r) => r[0])].sort((x, y) => x - y));
    expect(regions.flat().sort((x, y) => x - y)).toEqual([...ids].sort((x, y) => x - y));
  });

  it('puts fewer than 8 nodes in one region', () => {
    expect(clusterRegions([3, 1, 2, 0, 5, 4, 6], () => 1)).toEqual([[0, 1, 2, 3, 4, 5, 6]]);
  });

  it('clusters 1000 nodes quickly', () => {
    const sizes = Array<number>(32).fill(31);
    sizes.push(8);
    const { zoneOf, latency } = plantedZones(sizes, 5);
    const started = process.hrtime.bigint();
    const regions = clusterRegions([...zoneOf.keys()], latency);
    const ms = Number(process.hrtime.bigint() - started) / 1e6;
    expect(regions).toHaveLength(32);
    for (const region of regions) expect(region.length).toBeLessThanOrEqual(Math.ceil(1000 / 32) + 1);
    expect(ms).toBeLessThan(3000);
  });
});
