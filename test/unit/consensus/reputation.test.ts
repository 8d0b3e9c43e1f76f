import { genesisConfig, matrixLatency, nextEpoch, regionOf, type EpochConfig } from '../../../consensus-plugin/src/drkpbft/configuration';
import {
  DECAY,
  emptyEvidence,
  GENESIS_REPUTATION,
  LEAD_THRESHOLD,
  leaderOrder,
  rankByReputation,
  updateReputations,
  VOTE_THRESHOLD,
  type EpochEvidence,
} from '../../../consensus-plugin/src/drkpbft/reputation';

const region = [0, 1, 2, 3];
const uniform = (r: number): Record<number, number> => Object.fromEntries(region.map((n) => [n, r]));
/** `count` certified batches of region 0, each signed by `signers`. */
const batches = (count: number, signers: number[]): EpochEvidence['regionBatches'] => Array.from({ length: count }, () => ({ region: 0, signers }));

describe('updateReputations', () => {
  it('rewards signing every certificate and decays towards the participation share', () => {
    const next = updateReputations(uniform(0.5), [region], [], { ...emptyEvidence(), regionBatches: batches(4, [0, 1, 2]) });
    expect(next[0]).toBeCloseTo(DECAY * 0.5 + (1 - DECAY) * 1);
    expect(next[3]).toBeCloseTo(DECAY * 0.5);
  });

  it('counts the share of the region’s batches a node signed', () => {
    const evidence = { ...emptyEvidence(), regionBatches: [...batches(3, [0, 1, 2]), ...batches(1, [1, 2, 3])] };
    const next = updateReputations(uniform(0.5), [region], [], evidence);
    expect(next[0]).toBeCloseTo(0.4 + 0.2 * 0.75);
    expect(next[3]).toBeCloseTo(0.4 + 0.2 * 0.25);
    expect(next[1]).toBeCloseTo(0.6);
  });

  it('counts a signer named twice in one certificate once', () => {
    const next = updateReputations(uniform(0.5), [region], [], { ...emptyEvidence(), regionBatches: batches(2, [0, 0, 1]) });
    expect(next[0]).toBeCloseTo(0.6);
  });

  it('penalises a deposed leader and zeroes an equivocator', () => {
    const evidence = { regionBatches: batches(2, [0, 1, 2, 3]), deposedLeaders: [1], equivocators: [2] };
    const next = updateReputations(uniform(0.5), [region], [], evidence);
    expect(next[1]).toBeCloseTo(0.4 + 0.2 * (1 - 0.5));
    expect(next[2]).toBe(0);
    expect(next[0]).toBeCloseTo(0.6);
  });

  it('clamps to [0, 1]', () => {
    const low = updateReputations(uniform(0), [region], [], { regionBatches: batches(1, [1]), deposedLeaders: [0], equivocators: [] });
    expect(low[0]).toBe(0);
    const high = updateReputations(uniform(1), [region], [], { ...emptyEvidence(), regionBatches: batches(1, region) });
    expect(high[0]).toBe(1);
  });

  it('leaves a node without evidence where it was, up to penalties', () => {
    const next = updateReputations(uniform(0.7), [region], [9], { ...emptyEvidence(), deposedLeaders: [3] });
    expect(next[0]).toBeCloseTo(0.7);
    expect(next[9]).toBeCloseTo(GENESIS_REPUTATION);
    expect(next[3]).toBeCloseTo(0.8 * 0.7 + 0.2 * (0.7 - 0.5));
  });

  it('a silent node falls below τ_lead, then below τ_vote', () => {
    let reputations: Record<number, number> = uniform(GENESIS_REPUTATION);
    const epochs: number[] = [];
    while (reputations[3] >= VOTE_THRESHOLD) {
      reputations = updateReputations(reputations, [region], [], { ...emptyEvidence(), regionBatches: batches(5, [0, 1, 2]) });
      epochs.push(reputations[3]);
    }
    // 0.4, 0.32, 0.256, 0.2048, 0.16384: it leads no more after two silent epochs, votes no more after five.
    expect(epochs[0]).toBeGreaterThanOrEqual(LEAD_THRESHOLD - 1e-12);
    expect(epochs[1]).toBeLessThan(LEAD_THRESHOLD);
    expect(epochs.length).toBe(5);
    expect(reputations[0]).toBeGreaterThan(0.8);
  });

  it('ignores evidence naming a region that does not exist', () => {
    expect(updateReputations(uniform(0.5), [region], [], { ...emptyEvidence(), regionBatches: [{ region: 3, signers: [0] }] })[0]).toBeCloseTo(0.5);
  });
});

describe('leader ranking', () => {
  it('orders by reputation, ties by id', () => {
    expect(rankByReputation([3, 1, 2, 0], { 0: 0.5, 1: 0.9, 2: 0.5, 3: 0.7 })).toEqual([1, 3, 0, 2]);
  });

  it('puts nodes below τ_lead last', () => {
    expect(leaderOrder([0, 1, 2, 3], { 0: 0.3, 1: 0.45, 2: 0.1, 3: 0.41 })).toEqual([1, 3, 0, 2]);
  });
});

/** Four zones of four: zone z holds nodes 4z … 4z+3. */
const zones = (n: number): number[][] =>
  Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => (a === b ? 0 : Math.floor(a / 4) === Math.floor(b / 4) ? 2 : 50)));

describe('epoch configuration', () => {
  const members = [...Array(16).keys()];
  const genesis = genesisConfig(members, matrixLatency(zones(20)));

  it('genesis: everyone votes with reputation 0.5, regions follow latency', () => {
    expect(genesis.epoch).toBe(0);
    expect(genesis.voters).toEqual(members);
    expect(genesis.regions).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]);
    expect(genesis.listeners).toEqual([[], [], [], []]);
    expect(Object.values(genesis.reputations)).toEqual(Array(16).fill(0.5));
    expect(regionOf(genesis, 6)).toBe(1);
    expect(regionOf(genesis, 99)).toBe(-1);
  });

  it('a join gets genesis reputation and a region; a leave drops the member', () => {
    const next = nextEpoch(genesis, emptyEvidence(), matrixLatency(zones(20)), [
      { kind: 'join', node: 16 },
      { kind: 'leave', node: 5 },
    ]);
    expect(next.epoch).toBe(1);
    expect(next.members).toEqual([...members.filter((m) => m !== 5), 16]);
    expect(next.reputations[16]).toBe(GENESIS_REPUTATION);
    expect(next.regions.flat().sort((a, b) => a - b)).toEqual(next.members);
    expect(regionOf(next, 5)).toBe(-1);
    // Node 16 sits in zone 4 with nobody else: it is placed in some region all the same.
    expect(regionOf(next, 16)).toBeGreaterThanOrEqual(0);
  });

  it('applies changes in commit order', () => {
    const latency = matrixLatency(zones(20));
    const leftThenBack = nextEpoch(genesis, emptyEvidence(), latency, [
      { kind: 'leave', node: 2 },
      { kind: 'join', node: 2 },
    ]);
    expect(leftThenBack.members).toContain(2);
    const joinedThenLeft = nextEpoch(genesis, emptyEvidence(), latency, [
      { kind: 'join', node: 17 },
      { kind: 'leave', node: 17 },
    ]);
    expect(joinedThenLeft.members).not.toContain(17);
  });

  it('re-clusters when members leave: 12 nodes are too few for a top layer and make 1 region', () => {
    const leaves = [12, 13, 14, 15].map((node) => ({ kind: 'leave' as const, node }));
    const next = nextEpoch(genesis, emptyEvidence(), matrixLatency(zones(20)), leaves);
    expect(next.regions).toEqual([[...Array(12).keys()]]);
  });

  it('a node below τ_vote becomes a listener of a region; its record survives a leave and rejoin', () => {
    let config: EpochConfig = genesis;
    const quiet: EpochEvidence = { ...emptyEvidence(), regionBatches: config.regions.flatMap((r, i) => batches(2, r.filter((n) => n !== 5)).map((b) => ({ ...b, region: i }))) };
    for (let e = 0; e < 5; e++) config = nextEpoch(config, quiet, matrixLatency(zones(20)), []);
    expect(config.reputations[5]).toBeLessThan(VOTE_THRESHOLD);
    expect(config.voters).not.toContain(5);
    expect(config.members).toContain(5);
    expect(config.listeners.flat()).toEqual([5]);
    expect(regionOf(config, 5)).toBe(config.listeners.findIndex((l) => l.includes(5)));
    const away = nextEpoch(config, emptyEvidence(), matrixLatency(zones(20)), [{ kind: 'leave', node: 5 }]);
    const back = nextEpoch(away, emptyEvidence(), matrixLatency(zones(20)), [{ kind: 'join', node: 5 }]);
    expect(back.reputations[5]).toBeLessThan(VOTE_THRESHOLD);
  });

  it('is deterministic', () => {
    const evidence: EpochEvidence = { regionBatches: batches(3, [0, 1, 2]), deposedLeaders: [3], equivocators: [] };
    const a = nextEpoch(genesis, evidence, matrixLatency(zones(20)), [{ kind: 'join', node: 18 }]);
    const b = nextEpoch(genesis, evidence, matrixLatency(zones(20)), [{ kind: 'join', node: 18 }]);
    expect(JSON.stringify(a)).toBe(JSON.stringify(b));
  });

  it('never empties the membership', () => {
    const solo = genesisConfig([7], matrixLatency([]));
    expect(nextEpoch(solo, emptyEvidence(), matrixLatency([]), [{ kind: 'leave', node: 7 }]).members).toEqual([7]);
  });
});

describe('matrixLatency', () => {
  it('reads either direction and treats unknown pairs as the farthest known', () => {
    const latency = matrixLatency([
      [0, 3],
      [5, 0],
    ]);
    expect(latency(0, 1)).toBe(3);
    expect(latency(1, 0)).toBe(5);
    expect(latency(4, 4)).toBe(0);
    expect(latency(0, 9)).toBe(5);
  });
});
