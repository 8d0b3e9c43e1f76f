import { batchDigest, canonical, requestKey } from '../../../consensus-plugin/src/core/digest';
import { simAuthenticators } from '../../../consensus-plugin/src/core/sim-auth';
import type { Authenticator, ClientRequest, Commit, ConsensusNode, NodeId, Outbound, Protocol, Ready, Vote } from '../../../consensus-plugin/src/core/types';
import { EventQueue } from '../../../consensus-plugin/src/sim/event-queue';
import { stableAtMs, type ByzantineBehaviour, type Fault } from '../../../consensus-plugin/src/sim/faults';
import { InvariantChecker } from '../../../consensus-plugin/src/sim/invariants';
import { Network } from '../../../consensus-plugin/src/sim/network';
import { Rng } from '../../../consensus-plugin/src/sim/random';
import { randomScenario, reproCommand, runScenario, shrinkScenario, SOAK_SETTINGS, type ProtocolFactory, type Scenario } from '../../../consensus-plugin/src/sim/scenario';
import { simulate, type SimulationOptions, type TraceEvent } from '../../../consensus-plugin/src/sim/simulator';
import { simProtocolFactory } from '../../../consensus-plugin/src/sim/protocols';
import { soak } from '../../../consensus-plugin/src/sim/soak';
import { BYZANTINE_BEHAVIOURS } from '../../../consensus-plugin/src/sim/faults';

// ---------------------------------------------------------------------------------------
// A toy protocol: node 0 leads; followers forward requests to it; it proposes a batch per
// tick; every node votes for the first proposal it sees at a seq and commits in order once
// `commitAt` votes match. `mode` breaks it on purpose for the invariant tests.
// ---------------------------------------------------------------------------------------

type ToyMessage =
  | { type: 'forward'; from: NodeId; request: ClientRequest; sig: string }
  | { type: 'propose'; from: NodeId; seq: number; requests: ClientRequest[]; digest: string; sig: string }
  | { type: 'vote'; from: NodeId; seq: number; digest: string; sig: string };

interface ToyState {
  committed: number;
}

interface ToyOptions {
  /** honest: 2f+1 votes; commit-on-proposal: commits as soon as it votes (claims only itself, quorumFor 1); weak: f+1 votes but claims 2f+1 are needed. */
  mode?: 'honest' | 'commit-on-proposal' | 'weak';
  /** The leader stops proposing after this seq. */
  stallAfter?: number;
}

const toyFaulty = (n: number): number => Math.floor((n - 1) / 3);

const unsigned = (m: ToyMessage): string => canonical({ ...m, sig: undefined });

function toyNode(id: NodeId, n: number, auth: Authenticator, options: ToyOptions, persisted?: ToyState): ConsensusNode<ToyMessage, ToyState> {
  const mode = options.mode ?? 'honest';
  const f = toyFaulty(n);
  const needed = mode === 'weak' ? f + 1 : mode === 'commit-on-proposal' ? 1 : 2 * f + 1;
  const all = Array.from({ length: n }, (_, i) => i);
  const sign = <T extends ToyMessage>(m: Omit<T, 'sig'>): T => ({ ...m, sig: auth.sign(unsigned({ ...m, sig: '' } as unknown as ToyMessage)) }) as unknown as T;
  const broadcast = (message: ToyMessage): Outbound<ToyMessage>[] => all.filter((to) => to !== id).map((to) => ({ to, message }));
  let committed = persisted?.committed ?? 0;
  let nextSeq = 1;
  const queued: ClientRequest[] = [];
  const seen = new Set<string>();
  const proposals = new Map<number, { digest: string; requests: ClientRequest[] }>();
  const votes = new Map<number, Map<string, Set<NodeId>>>();

  const addVote = (seq: number, digest: string, voter: NodeId): void => {
    let byDigest = votes.get(seq);
    if (!byDigest) votes.set(seq, (byDigest = new Map()));
    let voters = byDigest.get(digest);
    if (!voters) byDigest.set(digest, (voters = new Set()));
    voters.add(voter);
  };
  const drain = (): Ready<ToyMessage, ToyState> => {
    const commits: Commit[] = [];
    for (;;) {
      const proposal = proposals.get(committed + 1);
      const voters = proposal && votes.get(committed + 1)?.get(proposal.digest);
      if (!proposal || !voters || voters.size < needed) break;
      committed++;
      const quorum = mode === 'commit-on-proposal' ? [id] : [...voters].slice(0, needed);
      commits.push({ seq: committed, digest: proposal.digest, requests: proposal.requests, quorum, epoch: 0 });
    }
    return { messages: [], commits, state: commits.length > 0 ? { committed } : undefined };
  };
  const accept = (m: Extract<ToyMessage, { type: 'propose' }>): Ready<ToyMessage, ToyState> => {
    if (proposals.has(m.seq) || m.seq <= committed) return { messages: [], commits: [] };
    proposals.set(m.seq, { digest: m.digest, requests: m.requests });
    addVote(m.seq, m.digest, id);
    const vote = sign<Extract<ToyMessage, { type: 'vote' }>>({ type: 'vote', from: id, seq: m.seq, digest: m.digest });
    return { ...drain(), messages: broadcast(vote) };
  };
  const lead = (request: ClientRequest): void => {
    const key = requestKey(request);
    if (seen.has(key)) return;
    seen.add(key);
    queued.push(request);
  };

  return {
    id,
    leaderView: () => ({ leader: 0, view: 0 }),
    submit(request) {
      if (id === 0) {
        lead(request);
        return { messages: [], commits: [] };
      }
      return { messages: [{ to: 0, message: sign<Extract<ToyMessage, { type: 'forward' }>>({ type: 'forward', from: id, request }) }], commits: [] };
    },
    step(_from, m) {
      if (!auth.verify(m.from, unsigned(m), m.sig)) return { messages: [], commits: [] };
      if (m.type === 'forward' && id === 0) lead(m.request);
      if (m.type === 'propose' && m.from === 0) return accept(m);
      if (m.type === 'vote') {
        addVote(m.seq, m.digest, m.from);
        return drain();
      }
      return { messages: [], commits: [] };
    },
    tick() {
      if (id !== 0 || queued.length === 0 || nextSeq > (options.stallAfter ?? Infinity)) return { messages: [], commits: [] };
      const requests = queued.splice(0, 10);
      const proposal = sign<Extract<ToyMessage, { type: 'propose' }>>({ type: 'propose', from: id, seq: nextSeq++, requests, digest: batchDigest(requests) });
      const own = accept(proposal);
      return { ...own, messages: [...broadcast(proposal), ...own.messages] };
    },
  };
}

function toyProtocol(n: number, options: ToyOptions = {}, created?: (id: NodeId, persisted?: ToyState) => void): Protocol<ToyMessage, ToyState> {
  const f = toyFaulty(n);
  const mode = options.mode ?? 'honest';
  return {
    name: 'pbft',
    members: Array.from({ length: n }, (_, i) => i),
    createNode(id, auth, persisted) {
      created?.(id, persisted);
      return toyNode(id, n, auth, options, persisted);
    },
    wireSize: (m) => canonical(m).length,
    votes: (m): Vote[] => (m.type === 'vote' ? [{ voter: m.from, seq: m.seq, digest: m.digest }] : []),
    quorumFor: () => (mode === 'commit-on-proposal' ? 1 : 2 * f + 1),
    maxFaulty: () => f,
    mutations: {
      equivocate(m, auth) {
        if (m.type !== 'propose') return undefined;
        const unsignedAlt = { ...m, requests: [], digest: batchDigest([]), sig: '' };
        return { ...unsignedAlt, sig: auth.sign(unsigned(unsignedAlt)) };
      },
      conflictingVote(m, auth) {
        if (m.type !== 'vote') return undefined;
        const alt = { ...m, digest: batchDigest([]), sig: '' };
        return { ...alt, sig: auth.sign(unsigned(alt)) };
      },
      badSignature: (m) => ({ ...m, sig: 'bad' }),
    },
  };
}

const toyFactory =
  (options: ToyOptions = {}): ProtocolFactory =>
  ({ n, seed }) => ({ protocol: toyProtocol(n, options) as Protocol<unknown, unknown>, authenticators: simAuthenticators(n, seed) });

function toyRun(n: number, extra: Partial<SimulationOptions<ToyMessage, ToyState>> & { toy?: ToyOptions } = {}) {
  const { toy, ...rest } = extra;
  const network = rest.network ?? new Network(n, rest.seed ?? 's1');
  return simulate<ToyMessage, ToyState>({
    protocol: toyProtocol(n, toy),
    network,
    authenticators: simAuthenticators(n, 'keys'),
    seed: 's1',
    durationMs: 1500,
    ...rest,
  });
}

const scenario = (faults: Fault[], n = 4, seed = 'shrink'): Scenario => ({ protocol: 'toy', n, seed, faults, settings: { ...SOAK_SETTINGS, durationMs: 1500, livenessBoundMs: 800 } });

// ---------------------------------------------------------------------------------------

describe('Rng', () => {
  it('is reproducible from its seed and forks independent streams', () => {
    const a = new Rng('seed');
    const b = new Rng('seed');
    const xs = Array.from({ length: 5 }, () => a.nextUint32());
    expect(Array.from({ length: 5 }, () => b.nextUint32())).toEqual(xs);
    expect(new Rng('other').nextUint32()).not.toBe(xs[0]);
    // A fork depends on the seed and label only, not on draws made before it.
    const used = new Rng('seed');
    used.next();
    expect(used.fork('x').next()).toBe(new Rng('seed').fork('x').next());
    expect(new Rng('seed').fork('y').next()).not.toBe(new Rng('seed').fork('x').next());
  });

  it('draws from the advertised distributions', () => {
    const rng = new Rng('dist');
    const N = 20000;
    const ints = Array.from({ length: N }, () => rng.int(3, 5));
    expect(Math.min(...ints)).toBe(3);
    expect(Math.max(...ints)).toBe(5);
    const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean(Array.from({ length: N }, () => rng.exponential(4)))).toBeCloseTo(4, 0);
    const normals = Array.from({ length: N }, () => rng.normal(10, 2));
    expect(mean(normals)).toBeCloseTo(10, 1);
    expect(Math.sqrt(mean(normals.map((x) => (x - 10) ** 2)))).toBeCloseTo(2, 1);
    const logs = Array.from({ length: N }, () => rng.lognormal(Math.log(3), 0.5)).sort((x, y) => x - y);
    expect(logs[N / 2]).toBeCloseTo(3, 0);
    const shuffled = rng.shuffle([1, 2, 3, 4, 5, 6]);
    expect([...shuffled].sort()).toEqual([1, 2, 3, 4, 5, 6]);
    expect(new Set(rng.sample([1, 2, 3, 4, 5, 6], 3)).size).toBe(3);
    expect(['a', 'b']).toContain(rng.pick(['a', 'b']));
  });
});

describe('EventQueue', () => {
  it('pops by time, equal times in insertion order', () => {
    const queue = new EventQueue<string>();
    const rng = new Rng('heap');
    const pushed: { t: number; label: string }[] = [];
    for (let i = 0; i < 500; i++) {
      const t = rng.int(0, 20);
      pushed.push({ t, label: `e${i}` });
      queue.push(t, `e${i}`);
    }
    const expected = pushed
      .map((e, i) => ({ ...e, i }))
      .sort((a, b) => a.t - b.t || a.i - b.i)
      .map((e) => e.label);
    const popped: string[] = [];
    while (queue.size > 0) popped.push(queue.pop()!);
    expect(popped).toEqual(expected);
    expect(queue.pop()).toBeUndefined();
    expect(queue.peekTime()).toBe(Infinity);
  });
});

describe('Network model', () => {
  it('spreads nodes evenly over zones, with intra-zone links faster than inter-zone ones', () => {
    const network = new Network(30, 'net', { zones: 3 });
    for (let z = 0; z < 3; z++) expect(network.nodesInZone(z)).toHaveLength(10);
    const [a, b] = network.nodesInZone(0);
    const c = network.nodesInZone(1)[0];
    expect(network.baseLatencyMs(a, b)).toBeGreaterThanOrEqual(1);
    expect(network.baseLatencyMs(a, b)).toBeLessThanOrEqual(7);
    expect(network.baseLatencyMs(a, c)).toBeGreaterThanOrEqual(20);
    expect(network.baseLatencyMs(a, c)).toBeLessThanOrEqual(82);
  });

  it('exposes a symmetric mean RTT matrix: twice the base latency plus the mean jitter', () => {
    const network = new Network(6, 'net', { jitter: { kind: 'exponential', meanMs: 2 } });
    const rtt = network.latencyMatrix();
    for (let i = 0; i < 6; i++) {
      expect(rtt[i][i]).toBe(0);
      for (let j = 0; j < 6; j++) {
        expect(rtt[i][j]).toBe(rtt[j][i]);
        if (i !== j) expect(rtt[i][j]).toBeCloseTo(2 * (network.baseLatencyMs(i, j) + 2), 9);
      }
    }
    // The sampled latencies average out to the matrix's half.
    const rng = new Rng('lat');
    const samples = Array.from({ length: 20000 }, () => network.sampleLatencyMs(0, 1, rng));
    expect(samples.reduce((s, x) => s + x, 0) / samples.length).toBeCloseTo(rtt[0][1] / 2, 0);
  });

  it('charges transmission at the link rate and CPU per message and byte', () => {
    const network = new Network(2, 'net', { bandwidthBitsPerSec: 1e9, cpuPerMessageMs: 0.05, cpuPerByteMs: 1e-5 });
    expect(network.transmitMs(125_000)).toBeCloseTo(1, 9); // 1 Mbit at 1 Gbit/s
    expect(network.cpuMs(1000)).toBeCloseTo(0.06, 9);
  });
});

/** A two-node protocol for the physical model: node 0 sends `count` messages of `bytes` to node 1 on its first tick. */
function blaster(count: number, bytes: number): Protocol<{ k: number; pad: string }, never> {
  return {
    name: 'pbft',
    members: [0, 1],
    createNode(id) {
      let fired = false;
      return {
        id,
        step: () => ({ messages: [], commits: [] }),
        submit: () => ({ messages: [], commits: [] }),
        leaderView: () => ({ leader: undefined, view: 0 }),
        tick() {
          if (id !== 0 || fired) return { messages: [], commits: [] };
          fired = true;
          return { messages: Array.from({ length: count }, (_, k) => ({ to: 1, message: { k, pad: 'x'.repeat(bytes) } })), commits: [] };
        },
      };
    },
    wireSize: (m) => m.pad.length,
    votes: () => [],
    quorumFor: () => 1,
    maxFaulty: () => 0,
    mutations: { equivocate: () => undefined, conflictingVote: () => undefined, badSignature: (m) => m },
  };
}

describe('Simulator: latency, bandwidth and CPU', () => {
  it('queues a burst on the sender uplink, then on the receiver CPU', () => {
    const network = new Network(2, 'phys', { zones: 2, jitter: { kind: 'none' }, bandwidthBitsPerSec: 1e8, cpuPerMessageMs: 0.05, cpuPerByteMs: 1e-4 });
    const events: TraceEvent<{ k: number; pad: string }>[] = [];
    simulate({ protocol: blaster(5, 12_500), network, authenticators: simAuthenticators(2, 'k'), seed: 'p', durationMs: 200, load: { clients: 0 }, trace: (e) => events.push(e) });
    const sends = events.filter((e) => e.kind === 'send') as Extract<TraceEvent<unknown>, { kind: 'send' }>[];
    const delivers = events.filter((e) => e.kind === 'deliver') as Extract<TraceEvent<unknown>, { kind: 'deliver' }>[];
    expect(sends).toHaveLength(5);
    const base = network.baseLatencyMs(0, 1);
    const transmit = network.transmitMs(12_500); // 1 ms at 100 Mbit/s
    expect(transmit).toBeCloseTo(1, 9);
    sends.forEach((s, k) => expect(s.arriveAtMs - s.atMs).toBeCloseTo((k + 1) * transmit + base, 6));
    // CPU: 0.05 + 12500 × 1e-4 = 1.3 ms per message > 1 ms spacing, so the CPU falls behind.
    const cpu = network.cpuMs(12_500);
    delivers.forEach((d, k) => expect(d.atMs).toBeCloseTo(sends[0].arriveAtMs + k * cpu, 6));
  });

  it('reports utilisation of the busiest CPU and uplink', () => {
    const result = toyRun(4, { network: new Network(4, 'util', { bandwidthBitsPerSec: 1e6 }), load: { clients: 4, window: 4 } });
    expect(result.metrics.busiestUplink.node).toBe(0); // the leader broadcasts proposals
    expect(result.metrics.busiestUplink.utilisation).toBeGreaterThan(0.1);
    expect(result.metrics.busiestUplink.utilisation).toBeLessThanOrEqual(1);
    expect(result.metrics.busiestCpu.utilisation).toBeGreaterThan(0);
  });
});

describe('Simulator: runs and metrics', () => {
  it('is deterministic: same seed, same trace and metrics; another seed, another trace', () => {
    const a = toyRun(7, { seed: 'det', faults: [{ kind: 'loss', probability: 0.05, fromMs: 0, untilMs: 500 }] });
    const b = toyRun(7, { seed: 'det', faults: [{ kind: 'loss', probability: 0.05, fromMs: 0, untilMs: 500 }] });
    const c = toyRun(7, { seed: 'det2', faults: [{ kind: 'loss', probability: 0.05, fromMs: 0, untilMs: 500 }] });
    expect(a.traceHash).toBe(b.traceHash);
    expect(a.metrics).toEqual(b.metrics);
    expect(a.eventsProcessed).toBe(b.eventsProcessed);
    expect(c.traceHash).not.toBe(a.traceHash);
  });

  it('commits client requests with sane metrics, honest toy protocol, no violations', () => {
    const n = 4;
    const result = toyRun(n, { load: { clients: 4, window: 2 }, durationMs: 2000 });
    expect(result.violations).toEqual([]);
    const m = result.metrics;
    expect(m.batchesCommitted).toBeGreaterThan(10);
    expect(m.requestsCommitted).toBeGreaterThanOrEqual(m.batchesCommitted);
    expect(m.throughputPerSec).toBeCloseTo(m.requestsCommitted / ((m.windowEndMs - m.windowStartMs) / 1000), 6);
    // Per batch: a proposal to n−1 nodes and n(n−1) votes, plus the forwarded requests.
    expect(m.messagesPerBatch).toBeGreaterThanOrEqual(n - 1 + n * (n - 1));
    expect(m.messagesPerBatch).toBeLessThan(n - 1 + n * (n - 1) + 10 * (n - 1));
    expect(m.bytesPerBatch).toBeGreaterThan(m.messagesPerBatch * 50);
    expect(m.latencyMs.count).toBeGreaterThan(0);
    expect(m.latencyMs.p50).toBeGreaterThan(0);
    expect(m.latencyMs.p99).toBeGreaterThanOrEqual(m.latencyMs.p50);
    expect(m.minCommittedSeq).toBeGreaterThan(0);
    expect(m.maxCommittedSeq).toBeGreaterThanOrEqual(m.minCommittedSeq);
  });

  it('runs an open-loop load at the requested rate', () => {
    const result = toyRun(4, { load: { mode: 'open', ratePerSec: 200, clients: 3 }, durationMs: 2000, warmupMs: 0 });
    expect(result.metrics.requestsSubmitted).toBeGreaterThan(330);
    expect(result.metrics.requestsSubmitted).toBeLessThan(470);
    expect(result.violations).toEqual([]);
  });
});

describe('Simulator: faults happen', () => {
  const sendsAndDrops = (faults: Fault[], seed = 'f') => {
    const events: TraceEvent<ToyMessage>[] = [];
    const result = toyRun(4, { seed, faults, trace: (e) => events.push(e) });
    return { events, result };
  };

  it('loses, duplicates and reorders messages inside their windows only', () => {
    const { events, result } = sendsAndDrops([
      { kind: 'loss', probability: 0.2, fromMs: 0, untilMs: 700 },
      { kind: 'duplicate', probability: 0.2, fromMs: 0, untilMs: 700 },
      { kind: 'reorder', probability: 0.3, maxDelayMs: 30, fromMs: 0, untilMs: 700 },
    ]);
    const losses = events.filter((e) => e.kind === 'drop' && e.reason === 'loss');
    const sends = events.filter((e) => e.kind === 'send');
    expect(losses.length).toBeGreaterThan(0);
    expect(losses.every((e) => e.atMs < 700)).toBe(true);
    expect(result.metrics.dropped.loss).toBe(losses.length);
    expect(sends.filter((e) => e.kind === 'send' && e.duplicate).length).toBe(result.metrics.duplicated);
    expect(result.metrics.duplicated).toBeGreaterThan(0);
    expect(result.metrics.reordered).toBeGreaterThan(0);
    // Lost fraction within the window is about 20 %.
    const inWindow = events.filter((e) => e.atMs < 700 && ((e.kind === 'send' && !e.duplicate) || (e.kind === 'drop' && e.reason === 'loss')));
    expect(losses.length / inWindow.length).toBeGreaterThan(0.1);
    expect(losses.length / inWindow.length).toBeLessThan(0.3);
  });

  it('cuts a partition in both directions until it heals', () => {
    const { events } = sendsAndDrops([{ kind: 'partition', side: [2, 3], atMs: 100, healAtMs: 400 }]);
    const cut = events.filter((e) => e.kind === 'drop' && e.reason === 'partition') as Extract<TraceEvent<ToyMessage>, { kind: 'drop' }>[];
    expect(cut.length).toBeGreaterThan(0);
    expect(cut.every((e) => e.atMs >= 100 && e.atMs < 400 && [2, 3].includes(e.from) !== [2, 3].includes(e.to))).toBe(true);
    const crossing = events.filter((e) => e.kind === 'send' && e.atMs >= 100 && e.atMs < 400 && [2, 3].includes(e.from) !== [2, 3].includes(e.to));
    expect(crossing).toEqual([]);
    expect(events.some((e) => e.kind === 'send' && e.atMs >= 400 && e.from === 0 && e.to === 3)).toBe(true);
  });

  it('crashes a node (messages to it are dropped) and restarts it from its last persisted state', () => {
    const created: { id: NodeId; persisted?: ToyState; atMs: number }[] = [];
    const events: TraceEvent<ToyMessage>[] = [];
    let now = 0;
    simulate<ToyMessage, ToyState>({
      protocol: toyProtocol(4, {}, (id, persisted) => created.push({ id, persisted, atMs: now })),
      network: new Network(4, 'crash'),
      authenticators: simAuthenticators(4, 'k'),
      seed: 'crash',
      durationMs: 1000,
      faults: [{ kind: 'crash', node: 2, atMs: 300, restartAtMs: 600 }],
      trace: (e) => {
        now = e.atMs;
        events.push(e);
      },
    });
    expect(events.filter((e) => e.kind === 'crash')).toEqual([{ kind: 'crash', atMs: 300, node: 2 }]);
    expect(events.some((e) => e.kind === 'drop' && e.reason === 'down' && e.to === 2 && e.atMs > 300 && e.atMs < 600)).toBe(true);
    expect(events.some((e) => e.kind === 'deliver' && e.to === 2 && e.atMs > 300 && e.atMs < 600)).toBe(false);
    const lastCommitBeforeCrash = Math.max(...events.filter((e) => e.kind === 'commit' && e.node === 2 && e.atMs < 300).map((e) => (e as { commit: Commit }).commit.seq));
    const restart = created.filter((c) => c.id === 2)[1];
    expect(restart.persisted).toEqual({ committed: lastCommitBeforeCrash });
    expect(events.some((e) => e.kind === 'deliver' && e.to === 2 && e.atMs > 600)).toBe(true);
  });

  it('reports when the network stabilises', () => {
    expect(
      stableAtMs([
        { kind: 'byzantine', node: 1, behaviour: 'silent' },
        { kind: 'crash', node: 2, atMs: 10, restartAtMs: 300 },
        { kind: 'crash', node: 3, atMs: 10 },
        { kind: 'loss', probability: 0.1, fromMs: 0, untilMs: 250 },
      ]),
    ).toBe(300);
    expect(stableAtMs([{ kind: 'partition', side: [1], atMs: 0 }])).toBe(Infinity);
  });
});

describe('Simulator: Byzantine behaviours show in the traffic', () => {
  const traffic = (node: NodeId, behaviour: ByzantineBehaviour, n = 7) => {
    const events: TraceEvent<ToyMessage>[] = [];
    const result = toyRun(n, { faults: [{ kind: 'byzantine', node, behaviour }], trace: (e) => events.push(e), durationMs: 800 });
    const sends = events.filter((e): e is Extract<TraceEvent<ToyMessage>, { kind: 'send' }> => e.kind === 'send' && e.from === node && !e.duplicate);
    return { result, events, sends };
  };

  it('equivocate: the leader sends two different proposals for one seq, to disjoint halves', () => {
    const { sends, result } = traffic(0, 'equivocate');
    const first = sends.filter((s) => s.message.type === 'propose' && s.message.seq === 1);
    const digests = new Set(first.map((s) => (s.message as { digest: string }).digest));
    expect(digests.size).toBe(2);
    expect(result.metrics.byzantine.equivocate).toBeGreaterThan(0);
    // The honest toy protocol stays safe.
    expect(result.violations.filter((v) => v.kind !== 'liveness')).toEqual([]);
  });

  it('conflicting-votes: a voter votes for two digests at one seq', () => {
    const { sends, result } = traffic(3, 'conflicting-votes');
    const votes = sends.filter((s) => s.message.type === 'vote' && s.message.seq === 1);
    expect(new Set(votes.map((s) => (s.message as { digest: string }).digest)).size).toBe(2);
    expect(result.metrics.byzantine['conflicting-votes']).toBeGreaterThan(0);
    expect(result.violations).toEqual([]);
  });

  it('silent: the node sends nothing', () => {
    const { sends, result } = traffic(3, 'silent');
    expect(sends).toEqual([]);
    expect(result.metrics.byzantine.silent).toBeGreaterThan(0);
    expect(result.violations).toEqual([]);
  });

  it('bad-signatures: every message carries a broken signature', () => {
    const { sends, result } = traffic(3, 'bad-signatures');
    expect(sends.length).toBeGreaterThan(0);
    expect(sends.every((s) => s.message.sig === 'bad')).toBe(true);
    expect(result.violations).toEqual([]);
  });

  it('twins: two instances of one node, each reaching its own half', () => {
    const { sends, result } = traffic(0, 'twins');
    const reach = (twin: boolean) => new Set(sends.filter((s) => s.twin === twin).map((s) => s.to));
    const [a, b] = [reach(false), reach(true)];
    expect(a.size).toBeGreaterThan(0);
    expect(b.size).toBeGreaterThan(0);
    expect([...a].some((x) => b.has(x))).toBe(false);
    expect(a.size + b.size).toBe(6);
    expect(result.metrics.byzantine.twins).toBeGreaterThan(0);
    // Both twins lead with different batches at seq 1; neither half alone has 2f+1 votes.
    const firstProposals = sends.filter((s) => s.message.type === 'propose' && s.message.seq === 1);
    expect(new Set(firstProposals.map((s) => (s.message as { digest: string }).digest)).size).toBe(2);
    expect(result.violations.filter((v) => v.kind !== 'liveness')).toEqual([]);
  });
});

describe('Invariant checker', () => {
  it('catches an agreement violation: a protocol that commits whatever an equivocating leader proposes', () => {
    const result = toyRun(4, { toy: { mode: 'commit-on-proposal' }, faults: [{ kind: 'byzantine', node: 0, behaviour: 'equivocate' }] });
    expect(result.violationCounts.agreement).toBeGreaterThan(0);
    expect(result.violations[0].kind).toBe('agreement');
    // The same protocol under an honest leader is not flagged.
    expect(toyRun(4, { toy: { mode: 'commit-on-proposal' } }).violations).toEqual([]);
  });

  it('catches a commit below a quorum', () => {
    const result = toyRun(7, { toy: { mode: 'weak' } });
    expect(result.violationCounts.quorum).toBeGreaterThan(0);
    expect(result.violationCounts.agreement).toBeUndefined();
    expect(result.violations.find((v) => v.kind === 'quorum')!.detail).toMatch(/5 needed/);
  });

  it('checks order, validity, replays after restart and upTo votes', () => {
    const r1 = { client: 'c', timestamp: 1, operation: 'a' };
    const r2 = { client: 'c', timestamp: 2, operation: 'b' };
    const r3 = { client: 'c', timestamp: 3, operation: 'c' };
    const commit = (seq: number, requests: ClientRequest[], quorum: NodeId[] = [0, 1, 2]): Commit => ({ seq, digest: batchDigest(requests), requests, quorum, epoch: 0 });
    const checker = new InvariantChecker({ quorumFor: () => 3, livenessNodes: new Set([0, 1, 2, 3]), byzantine: new Set([9]) });
    checker.recordSubmitted(r1, 0);
    checker.recordSubmitted(r2, 0);
    checker.recordSubmitted(r3, 0);
    for (const voter of [0, 1, 2]) checker.recordVotes(voter, [{ voter, seq: 1, digest: commit(1, [r1]).digest }]);
    checker.recordVotes(0, [{ voter: 1, seq: 2, digest: commit(2, [r2]).digest }]); // forwarded: not node 0's vote
    for (const voter of [0, 1, 2]) checker.recordVotes(voter, [{ voter, seq: 2, digest: '', upTo: true }]);

    expect(checker.checkCommit(0, commit(1, [r1]), 1)).toEqual({ fresh: true, firstOfSeq: true });
    expect(checker.checkCommit(1, commit(1, [r1]), 1)).toEqual({ fresh: true, firstOfSeq: false });
    expect(checker.checkCommit(0, commit(2, [r2]), 2)).toEqual({ fresh: true, firstOfSeq: true }); // upTo votes cover seq 2
    expect(checker.violations()).toEqual([]);

    checker.checkCommit(1, commit(1, [r1]), 3); // repeat without a restart
    checker.checkCommit(2, commit(2, [r2]), 3); // gap: skipped seq 1
    expect(checker.violations().map((v) => v.kind)).toEqual(['order', 'order']);

    checker.recordRestart(0);
    expect(checker.checkCommit(0, commit(2, [r2]), 4)).toEqual({ fresh: false, firstOfSeq: false }); // identical replay is fine
    checker.checkCommit(1, commit(2, [r1]), 5); // r1 again, at another seq (and another digest at seq 2)
    checker.checkCommit(3, commit(1, [{ client: 'x', timestamp: 1, operation: 'never' }]), 6);
    checker.checkCommit(3, { ...commit(2, []), digest: commit(2, [r2]).digest }, 6); // the agreed digest, other requests
    const kinds = checker.violationCounts();
    expect(kinds.agreement).toBe(3);
    expect(kinds.validity).toBe(2); // r1 twice, a request never submitted
    expect(kinds.quorum).toBeUndefined(); // upTo votes cover seq 2 whatever the digest
    checker.checkCommit(0, commit(3, [r3]), 7); // nobody voted for seq 3
    expect(checker.violationCounts().quorum).toBe(1);
    // A Byzantine voter counts without a recorded vote (it could have signed one); honest ones do not.
    checker.checkCommit(0, commit(4, [], [1, 2, 9]), 8);
    expect(checker.violationCounts().quorum).toBe(2);
    for (const voter of [1, 2]) checker.recordVotes(voter, [{ voter, seq: 5, digest: commit(5, []).digest }]);
    checker.checkCommit(0, commit(5, [], [1, 2, 9]), 9);
    expect(checker.violationCounts().quorum).toBe(2);
  });

  it('flags a protocol that stalls, once the network is stable', () => {
    const stalled = toyRun(4, { toy: { stallAfter: 3 }, durationMs: 1500, livenessBoundMs: 800 });
    expect(stalled.violations.map((v) => v.kind)).toEqual(['liveness']);
    expect(stalled.violations[0].detail).toMatch(/not committed everywhere/);
    // A leader that crashes and never returns is a permanent fault: the toy has no view change, so it stalls too.
    const leaderless = toyRun(4, { faults: [{ kind: 'crash', node: 0, atMs: 200 }], livenessBoundMs: 800 });
    expect(leaderless.violations.map((v) => v.kind)).toEqual(['liveness']);
    // A follower crashed for good does not hold the others back.
    const follower = toyRun(4, { faults: [{ kind: 'crash', node: 3, atMs: 200 }], livenessBoundMs: 800 });
    expect(follower.violations).toEqual([]);
  });
});

describe('Scenarios', () => {
  it('generates random schedules within the fault budget, reproducibly', () => {
    const protocol = toyProtocol(7);
    for (let i = 0; i < 50; i++) {
      const s = randomScenario(`gen-${i}`, protocol, 7);
      expect(randomScenario(`gen-${i}`, protocol, 7)).toEqual(s);
      const faulty = s.faults.filter((f) => f.kind === 'byzantine' || f.kind === 'crash');
      expect(new Set(faulty.map((f) => (f as { node: NodeId }).node)).size).toBe(faulty.length);
      expect(faulty.length).toBeLessThanOrEqual(2);
      expect(stableAtMs(s.faults)).toBeLessThanOrEqual(SOAK_SETTINGS.faultWindowMs);
    }
    expect(new Set(Array.from({ length: 50 }, (_, i) => JSON.stringify(randomScenario(`gen-${i}`, protocol, 7).faults))).size).toBeGreaterThan(40);
  });

  it('shrinks a failing schedule to the fault that matters and prints a command to rerun it', () => {
    const factory = toyFactory({ mode: 'commit-on-proposal' });
    const noisy = scenario([
      { kind: 'loss', probability: 0.05, fromMs: 0, untilMs: 300 },
      { kind: 'crash', node: 3, atMs: 100, restartAtMs: 250 },
      { kind: 'byzantine', node: 0, behaviour: 'equivocate' },
      { kind: 'partition', side: [2], atMs: 50, healAtMs: 150 },
      { kind: 'reorder', probability: 0.2, maxDelayMs: 20, fromMs: 0, untilMs: 300 },
    ]);
    const failing = runScenario(noisy, factory);
    expect(failing.safe).toBe(false);
    const minimal = shrinkScenario(noisy, failing, factory);
    expect(minimal.faults).toEqual([{ kind: 'byzantine', node: 0, behaviour: 'equivocate' }]);
    expect(runScenario(minimal, factory).safe).toBe(false);
    expect(reproCommand(minimal)).toBe(
      `npm run soak:consensus -- --protocol toy --n 4 --seed shrink --duration 1500 --liveness-bound 800 --faults '[{"kind":"byzantine","node":0,"behaviour":"equivocate"}]'`,
    );
  });

  it('soak counts the runs that break safety and shrinks each to a one-line repro', () => {
    const summary = soak({ protocol: 'toy', factory: toyFactory({ mode: 'commit-on-proposal' }), runs: 40, sizes: [4], seed: 'broken', settings: { durationMs: 500, faultWindowMs: 200, livenessBoundMs: 250 } });
    expect(summary.runs).toBe(40);
    expect(summary.safetyViolations).toBeGreaterThan(0);
    expect(summary.safetyViolations).toBe(summary.safetyFailures.length);
    for (const failure of summary.safetyFailures) {
      // Only a leader telling the halves different stories breaks this protocol.
      expect(failure.shrunk).toHaveLength(1);
      expect(failure.shrunk![0]).toMatchObject({ kind: 'byzantine', node: 0 });
      expect(failure.repro).toContain(`--seed ${failure.seed}`);
      // Conflicting batches at one seq; with twins also one request at two positions.
      expect(failure.violations.some((v) => v.kind === 'agreement')).toBe(true);
      expect(failure.violations.every((v) => v.kind === 'agreement' || v.kind === 'validity')).toBe(true);
    }
  });

  it('runs a scenario to the same result twice', () => {
    const s = randomScenario('again', toyProtocol(4), 4, { durationMs: 1200 });
    const a = runScenario(s, toyFactory());
    expect(runScenario(s, toyFactory())).toEqual(a);
    expect(a.eventsProcessed).toBeGreaterThan(100);
  });
});

describe('PBFT in the simulator', () => {
  const pbft = simProtocolFactory('pbft');

  it('commits under a fault-free run with no violations', () => {
    const result = runScenario({ protocol: 'pbft', n: 7, seed: 'pbft-clean', faults: [], settings: SOAK_SETTINGS }, pbft);
    expect(result.violations).toEqual([]);
    expect(result.metrics.batchesCommitted).toBeGreaterThan(5);
    expect(result.metrics.minCommittedSeq).toBeGreaterThan(5);
    // Three phases, all-to-all: at least n(n−1) prepares and as many commits per batch.
    expect(result.metrics.messagesPerBatch).toBeGreaterThanOrEqual(2 * 7 * 6);
  });

  describe.each(BYZANTINE_BEHAVIOURS)('a Byzantine %s node', (behaviour) => {
    it.each([
      [4, 0],
      [4, 2],
      [7, 0],
      [7, 5],
    ])('n = %i, node %i: safety holds and the behaviour shows in the traffic', (n, node) => {
      const faults: Fault[] = [{ kind: 'byzantine', node, behaviour }];
      if (n === 7) faults.push({ kind: 'byzantine', node: 3, behaviour });
      let observed = 0;
      for (const seed of ['a', 'b']) {
        const result = runScenario({ protocol: 'pbft', n, seed: `byz-${behaviour}-${n}-${node}-${seed}`, faults, settings: SOAK_SETTINGS }, pbft);
        expect(result.violations.filter((v) => v.kind !== 'liveness')).toEqual([]);
        expect(result.metrics.minCommittedSeq).toBeGreaterThan(0); // f Byzantine nodes do not stop progress
        observed += result.metrics.byzantine[behaviour];
      }
      // Equivocation needs the primary (only it proposes); everything else shows from any node.
      if (behaviour !== 'equivocate' || node === 0) expect(observed).toBeGreaterThan(0);
    });
  });

  it('soaks 1,000 short randomized runs (n = 4 and 7) without a safety violation', () => {
    const summary = soak({ protocol: 'pbft', factory: pbft, runs: 1000, sizes: [4, 7], seed: 'jest-soak', settings: { durationMs: 700, faultWindowMs: 250, livenessBoundMs: 450 } });
    expect(summary.runs).toBe(1000);
    expect(summary.safetyFailures).toEqual([]);
    expect(summary.safetyViolations).toBe(0);
    expect(summary.eventsProcessed).toBeGreaterThan(500_000);
  }, 120_000);
});
