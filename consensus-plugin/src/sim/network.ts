import type { NodeId } from '../core/types';
import { Rng } from './random';

/** Random extra one-way delay added to every message on top of the base latency. */
export type JitterModel =
  | { kind: 'none' }
  /** Log-normal with the given median; sigma is the spread of its logarithm. */
  | { kind: 'lognormal'; medianMs: number; sigma: number }
  | { kind: 'exponential'; meanMs: number };

/** The physical model: where nodes sit, how fast their links and CPUs are. Times in ms. */
export interface NetworkOptions {
  /** Geographic zones; nodes are spread over them evenly, in a seeded order. */
  zones: number;
  /** One-way base latency inside a zone is drawn per zone from this range. */
  intraZoneMs: [number, number];
  /** One-way base latency between two zones is drawn per zone pair from this range. */
  interZoneMs: [number, number];
  /** Each node's access link adds a fixed delay drawn from this range (so nodes in a zone differ). */
  accessMs: [number, number];
  jitter: JitterModel;
  /** Each node's egress link; a message holds it for wireSize × 8 / bandwidth. */
  bandwidthBitsPerSec: number;
  /** CPU time to handle one inbound message or request (a signature check). */
  cpuPerMessageMs: number;
  /** CPU time per inbound byte (parsing, hashing). */
  cpuPerByteMs: number;
}

export const DEFAULT_NETWORK: NetworkOptions = {
  zones: 3,
  intraZoneMs: [1, 5],
  interZoneMs: [20, 80],
  accessMs: [0, 1],
  jitter: { kind: 'lognormal', medianMs: 0.5, sigma: 0.8 },
  bandwidthBitsPerSec: 1e9,
  cpuPerMessageMs: 0.05,
  cpuPerByteMs: 2e-6,
};

/**
 * Node placement and the latency, bandwidth and CPU model of one simulated cluster. Built
 * before the protocol because DRKPBFT clusters on `latencyMatrix()` (its "measured" RTT).
 * Clients sit in zones too: `clientLatency` measures from a zone to a node.
 *
 * Besides the `size` genesis nodes it can place `extraNodes` more (ids size … nodeCount − 1)
 * for nodes that join during a run; they are placed from their own random streams, so the
 * genesis nodes sit and measure exactly as without them.
 */
export class Network {
  readonly options: NetworkOptions;
  /** Zone of each node (genesis and extra), indexed by node id. */
  readonly zoneOf: readonly number[];
  private readonly zoneBase: number[][];
  private readonly access: number[];
  private readonly meanJitter: number;

  /** `size` genesis nodes (ids 0 … size − 1) and `extraNodes` joiners after them, placed and timed from `seed`. */
  constructor(
    readonly size: number,
    seed: string,
    options: Partial<NetworkOptions> = {},
    readonly extraNodes = 0,
  ) {
    this.options = { ...DEFAULT_NETWORK, ...options };
    const { zones, intraZoneMs, interZoneMs, accessMs } = this.options;
    if (zones < 1) throw new Error('at least one zone');
    const rng = new Rng(seed).fork('network');
    const placement = rng.fork('placement');
    const zoneOf: number[] = new Array<number>(size);
    placement.shuffle(range(size)).forEach((node, i) => (zoneOf[node] = i % zones));
    const joiners = rng.fork('joiners');
    for (let node = size; node < size + extraNodes; node++) zoneOf[node] = joiners.int(0, zones - 1);
    this.zoneOf = zoneOf;
    const latency = rng.fork('latency');
    this.zoneBase = range(zones).map(() => new Array<number>(zones).fill(0));
    for (let a = 0; a < zones; a++) {
      this.zoneBase[a][a] = latency.uniform(intraZoneMs[0], intraZoneMs[1]);
      for (let b = a + 1; b < zones; b++) this.zoneBase[a][b] = this.zoneBase[b][a] = latency.uniform(interZoneMs[0], interZoneMs[1]);
    }
    this.access = range(size).map(() => latency.uniform(accessMs[0], accessMs[1]));
    for (let node = size; node < size + extraNodes; node++) this.access.push(joiners.uniform(accessMs[0], accessMs[1]));
    this.meanJitter = meanOf(this.options.jitter);
  }

  /** One-way latency without jitter between two nodes. */
  baseLatencyMs(from: NodeId, to: NodeId): number {
    if (from === to) return 0;
    return this.zoneBase[this.zoneOf[from]][this.zoneOf[to]] + this.access[from] + this.access[to];
  }

  /** One message's one-way latency: base plus a jitter draw from `rng` (the run's, so a Network is immutable). */
  sampleLatencyMs(from: NodeId, to: NodeId, rng: Rng): number {
    if (from === to) return 0;
    return this.baseLatencyMs(from, to) + this.sampleJitter(rng);
  }

  /** One-way latency from a client in `zone` to a node (the client's own access delay is ignored). */
  clientLatencyMs(zone: number, node: NodeId, rng: Rng): number {
    return this.zoneBase[zone][this.zoneOf[node]] + this.access[node] + this.sampleJitter(rng);
  }

  /** Genesis and extra nodes together. */
  get nodeCount(): number {
    return this.size + this.extraNodes;
  }

  /** Mean round-trip time between every pair of the first `count` nodes (default: the genesis nodes), in ms (0 on the diagonal). */
  latencyMatrix(count = this.size): number[][] {
    if (count > this.nodeCount) throw new RangeError(`the network places ${this.nodeCount} nodes, not ${count}`);
    const rows: number[][] = [];
    for (let a = 0; a < count; a++) {
      const row = new Array<number>(count);
      for (let b = 0; b < count; b++) row[b] = a === b ? 0 : 2 * (this.baseLatencyMs(a, b) + this.meanJitter);
      rows.push(row);
    }
    return rows;
  }

  /** Time a message of `bytes` holds its sender's uplink. */
  transmitMs(bytes: number): number {
    return (bytes * 8 * 1000) / this.options.bandwidthBitsPerSec;
  }

  /** CPU time to handle one inbound message of `bytes`. */
  cpuMs(bytes: number): number {
    return this.options.cpuPerMessageMs + bytes * this.options.cpuPerByteMs;
  }

  /** Genesis nodes in `zone`, in id order. */
  nodesInZone(zone: number): NodeId[] {
    return range(this.size).filter((node) => this.zoneOf[node] === zone);
  }

  private sampleJitter(rng: Rng): number {
    const jitter = this.options.jitter;
    switch (jitter.kind) {
      case 'none':
        return 0;
      case 'lognormal':
        return rng.lognormal(Math.log(jitter.medianMs), jitter.sigma);
      case 'exponential':
        return rng.exponential(jitter.meanMs);
    }
  }
}

function meanOf(jitter: JitterModel): number {
  switch (jitter.kind) {
    case 'none':
      return 0;
    case 'lognormal':
      return jitter.medianMs * Math.exp((jitter.sigma * jitter.sigma) / 2);
    case 'exponential':
      return jitter.meanMs;
  }
}

export const range = (n: number): number[] => Array.from({ length: n }, (_, i) => i);
