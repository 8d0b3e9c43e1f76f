import { batchDigest, canonical, requestKey } from '../../../consensus-plugin/src/core/digest';
import { simAuthenticator } from '../../../consensus-plugin/src/core/sim-auth';
import type { ClientRequest, ClusterOptions, Commit, NodeId, Protocol, Ready } from '../../../consensus-plugin/src/core/types';
import { entryRef, homeRegion, isTopEntryRef, orderGroup, regionDigest, regionGroup, TOP_NULL_DIGEST, topDigest, topGroup, withBatch, type CertifiedBatch, type RegionBatch, type TopEntry, type TopEntryRef } from '../../../consensus-plugin/src/drkpbft/batches';
import { genesisConfig, keepsStructure, matrixLatency, nextEpoch } from '../../../consensus-plugin/src/drkpbft/configuration';
import { ownSigned, signOwn, type CertifiedMessage } from '../../../consensus-plugin/src/drkpbft/messages';
import { emptyEvidence } from '../../../consensus-plugin/src/drkpbft/reputation';
import { createDrkpbft, type DrkMessage, type DrkState } from '../../../consensus-plugin/src/drkpbft/protocol';
import { sign, signedBySender, type CommitMessage, type DecidedMessage, type PrePrepareMessage } from '../../../consensus-plugin/src/pbft/messages';
import { InvariantChecker } from '../../../consensus-plugin/src/sim/invariants';
import { simProtocolFactory } from '../../../consensus-plugin/src/sim/protocols';
import { runScenario, SOAK_SETTINGS } from '../../../consensus-plugin/src/sim/scenario';
import { soak } from '../../../consensus-plugin/src/sim/soak';

const SEED = 'drkpbft-test';
const OPTIONS: ClusterOptions = { batchSize: 4, batchTimeoutTicks: 1, requestTimeoutTicks: 20, checkpointInterval: 8 };

/** Nodes in zones of `zoneSize` consecutive ids: 1 tick apart inside a zone, 20 across. */
function zonedLatency(n: number, zoneSize: number): number[][] {
  return Array.from({ length: n }, (_, a) => Array.from({ length: n }, (_, b) => (a === b ? 0 : Math.floor(a / zoneSize) === Math.floor(b / zoneSize) ? 1 : 20)));
}

interface Envelope {
  from: NodeId;
  to: NodeId;
  message: DrkMessage;
}

/**
 * An in-test pump: every message is delivered (in order) before the next tick; nodes can be
 * cut off (nothing in or out) and restarted from their last persisted state. Every sent vote,
 * submitted request and commit goes through the simulator's invariant checker.
 */
class Cluster {
  readonly nodes = new Map<NodeId, ReturnType<Protocol<DrkMessage, DrkState>['createNode']>>();
  readonly states = new Map<NodeId, DrkState>();
  readonly commits = new Map<NodeId, Commit[]>();
  readonly down = new Set<NodeId>();
  readonly sent: Envelope[] = [];
  private readonly queue: Envelope[] = [];
  readonly checker: InvariantChecker;
  /** Drops a message when it returns true. */
  drop: (e: Envelope) => boolean = () => false;

  constructor(readonly protocol: Protocol<DrkMessage, DrkState>, honest: readonly NodeId[] = protocol.members) {
    this.checker = new InvariantChecker({ quorumFor: (c) => protocol.quorumFor(c), livenessNodes: new Set(honest), byzantine: new Set() });
    for (const id of protocol.members) this.add(id);
  }

  add(id: NodeId, persisted?: DrkState): void {
    this.nodes.set(id, this.protocol.createNode(id, simAuthenticator(id, SEED), persisted));
    if (!this.commits.has(id)) this.commits.set(id, []);
  }

  restart(id: NodeId): void {
    this.checker.recordRestart(id);
    this.down.delete(id);
    this.add(id, this.states.get(id));
  }

  apply(id: NodeId, ready: Ready<DrkMessage, DrkState>): void {
    if (ready.state) this.states.set(id, ready.state);
    for (const { to, message } of ready.messages) {
      this.checker.recordVotes(id, this.protocol.votes(message));
      const envelope = { from: id, to, message };
      this.sent.push(envelope);
      this.queue.push(envelope);
    }
    for (const commit of ready.commits) {
      this.commits.get(id)?.push(commit);
      this.checker.checkCommit(id, commit, 0);
    }
  }

  /** Submits at each node, then delivers: the copies travel at the same time. */
  submit(at: NodeId | NodeId[], request: ClientRequest): void {
    this.checker.recordSubmitted(request, 0);
    for (const id of Array.isArray(at) ? at : [at]) {
      const node = this.nodes.get(id);
      if (node && !this.down.has(id)) this.apply(id, node.submit(request));
    }
    this.deliver();
  }

  /** Injects a message as if `from` had sent it. */
  inject(from: NodeId, to: NodeId, message: DrkMessage): Ready<DrkMessage, DrkState> {
    const node = this.nodes.get(to);
    if (!node) throw new Error(`no node ${to}`);
    const ready = node.step(from, message);
    this.apply(to, ready);
    return ready;
  }

  deliver(): void {
    for (let i = 0; i < this.queue.length; i++) {
      const e = this.queue[i];
      const node = this.nodes.get(e.to);
      if (!node || this.down.has(e.to) || this.down.has(e.from) || this.drop(e)) continue;
      this.apply(e.to, node.step(e.from, e.message));
    }
    this.queue.length = 0;
  }

  tick(times = 1): void {
    for (let t = 0; t < times; t++) {
      for (const [id, node] of this.nodes) if (!this.down.has(id)) this.apply(id, node.tick());
      this.deliver();
    }
  }

  /** Ticks until every listed node committed every listed request (or gives up). */
  runUntilCommitted(requests: readonly ClientRequest[], nodes: readonly NodeId[], maxTicks = 400): number {
    const keys = requests.map(requestKey);
    for (let t = 0; t < maxTicks; t++) {
      if (nodes.every((id) => this.committedKeys(id).size >= keys.length && keys.every((k) => this.committedKeys(id).has(k)))) return t;
      this.tick();
    }
    throw new Error(`not committed within ${maxTicks} ticks: ${nodes.filter((id) => !keys.every((k) => this.committedKeys(id).has(k))).join(',')}`);
  }

  committedKeys(id: NodeId): Set<string> {
    return new Set((this.commits.get(id) ?? []).flatMap((c) => c.requests.map(requestKey)));
  }

  log(id: NodeId): string[] {
    return (this.commits.get(id) ?? []).map((c) => `${c.seq}:${c.digest}`);
  }

  violations(): string[] {
    return this.checker.violations().map((v) => `${v.kind} @${v.node}#${v.seq}: ${v.detail}`);
  }
}

let counter = 0;
const request = (client = 'c0', operation?: string): ClientRequest => {
  counter++;
  return { client, timestamp: counter, operation: operation ?? `op ${counter}` };
};

const ids = (n: number): NodeId[] => [...Array(n).keys()];

/** A request of `client` whose home is `region` of `k`. */
function homedIn(region: number, k: number, client: string): ClientRequest {
  for (;;) {
    const r = request(client);
    if (homeRegion(requestKey(r), k) === region) return r;
  }
}

describe('DRKPBFT normal case', () => {
  it('n = 16: four regions of four order requests submitted anywhere, the same log everywhere', () => {
    const protocol = createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) });
    const cluster = new Cluster(protocol);
    const requests = Array.from({ length: 24 }, (_, i) => request(`c${i % 3}`));
    requests.forEach((r, i) => cluster.submit(i % 16, r));
    const ticks = cluster.runUntilCommitted(requests, ids(16));
    expect(ticks).toBeLessThan(20);
    expect(cluster.violations()).toEqual([]);
    const reference = cluster.log(0);
    for (const id of ids(16)) expect(cluster.log(id)).toEqual(reference);
    const state = cluster.states.get(5) as DrkState;
    expect(state.config.regions).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]);
    for (const commit of cluster.commits.get(9) ?? []) expect(new Set(commit.quorum).size).toBeGreaterThanOrEqual(3);
  });
});

describe('DRKPBFT scale and small clusters', () => {
  it('n = 64: eight regions of eight, step by step', () => {
    const protocol = createDrkpbft(ids(64), { ...OPTIONS, latency: zonedLatency(64, 8) });
    const cluster = new Cluster(protocol);
    const requests = Array.from({ length: 40 }, (_, i) => request(`c${i % 5}`));
    requests.forEach((r, i) => cluster.submit((i * 7) % 64, r));
    cluster.runUntilCommitted(requests, ids(64));
    expect(cluster.violations()).toEqual([]);
    const reference = cluster.log(0);
    for (const id of ids(64)) expect(cluster.log(id)).toEqual(reference);
    expect((cluster.states.get(0) as DrkState).config.regions).toHaveLength(8);
    // Top-layer traffic stays among the 8 seat holders.
    const seatHolders = new Set((cluster.states.get(0) as DrkState).seats.map((s) => s.holder));
    const topSenders = new Set(cluster.sent.filter((e) => 'group' in e.message && e.message.group.startsWith('top@')).map((e) => e.from));
    expect([...topSenders].every((s) => seatHolders.has(s))).toBe(true);
  });

  it('n = 4: one region, no top layer (flat PBFT with the region certificate as quorum)', () => {
    const protocol = createDrkpbft(ids(4), { ...OPTIONS, latency: zonedLatency(4, 4) });
    const cluster = new Cluster(protocol);
    const requests = Array.from({ length: 6 }, () => request());
    requests.forEach((r, i) => cluster.submit(i % 4, r));
    cluster.runUntilCommitted(requests, ids(4));
    expect(cluster.violations()).toEqual([]);
    expect(cluster.sent.some((e) => 'group' in e.message && e.message.group.startsWith('top@'))).toBe(false);
    expect(protocol.maxFaulty()).toBe(1);
    const commit = (cluster.commits.get(2) ?? [])[0];
    expect(protocol.quorumFor(commit)).toBe(3);
  });
});

describe('DRKPBFT batching', () => {
  /** The primary's proposals (batch sizes): one request, then two while its commits are held, then two more. */
  function proposals(partialBatchesWhenIdle: boolean): number[] {
    const cluster = new Cluster(createDrkpbft(ids(4), { ...OPTIONS, latency: zonedLatency(4, 4), partialBatchesWhenIdle }));
    const held: Envelope[] = [];
    cluster.drop = (e) => e.message.type === 'commit' && held.push(e) > 0;
    // One entry per sequence number (an undecided proposal may be sent again).
    const sizes = () => [...new Map(cluster.sent.filter((e) => e.message.type === 'pre-prepare' && e.to === 1).map((e) => e.message as PrePrepareMessage<RegionBatch>).map((m) => [m.seq, m.payload!.requests.length])).values()];
    const all = Array.from({ length: 5 }, () => request());
    cluster.submit(0, all[0]!);
    cluster.tick(2);
    all.slice(1, 3).forEach((r) => cluster.submit(0, r));
    cluster.tick(3);
    all.slice(3).forEach((r) => cluster.submit(0, r));
    cluster.tick(1);
    const out = sizes();
    cluster.drop = () => false;
    for (const e of held.splice(0)) cluster.inject(e.from, e.to, e.message);
    cluster.runUntilCommitted(all, ids(4));
    expect(cluster.violations()).toEqual([]);
    return out;
  }

  it('a partial batch leaves at the batch timeout; with partialBatchesWhenIdle it waits while a proposal is undecided and fills', () => {
    expect(proposals(false)).toEqual([1, 2, 2]);
    expect(proposals(true)).toEqual([1, 4]);
  });

  /** The tick at which the primary proposed each of two lone requests, submitted at tick 0 and 1 tick after the first proposal. */
  function proposalTicks(batchTimeoutFromLastProposal: boolean): number[] {
    const cluster = new Cluster(createDrkpbft(ids(4), { ...OPTIONS, batchTimeoutTicks: 5, latency: zonedLatency(4, 4), batchTimeoutFromLastProposal }));
    const proposed = () => new Set(cluster.sent.filter((e) => e.message.type === 'pre-prepare').map((e) => (e.message as PrePrepareMessage<RegionBatch>).seq)).size;
    const [first, second] = [request(), request()];
    const ticks: number[] = [];
    cluster.submit(0, first);
    for (let t = 1; t <= 20 && ticks.length < 2; t++) {
      cluster.tick(1);
      if (proposed() > ticks.length) {
        ticks.push(t);
        if (ticks.length === 1) cluster.submit(0, second);
      }
    }
    cluster.runUntilCommitted([first, second], ids(4));
    expect(cluster.violations()).toEqual([]);
    return ticks;
  }

  it('the batch timeout runs from the first queued request, or with batchTimeoutFromLastProposal from the last proposal', () => {
    // From the first request: each lone request waits the whole timeout (5 ticks).
    expect(proposalTicks(false)).toEqual([5, 10]);
    // From the last proposal: the first leaves at once after the quiet start, the second 5 ticks after the first.
    expect(proposalTicks(true)).toEqual([1, 6]);
  });
});

describe('DRKPBFT leader replacement', () => {
  it('a silent region leader is replaced: its region changes view, the new primary takes the seat, the log goes on', () => {
    const protocol = createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4), epochLength: 6 });
    const honest = ids(16).filter((id) => id !== 4);
    const cluster = new Cluster(protocol, honest);
    cluster.down.add(4); // leader of region [4, 5, 6, 7] and holder of its seat
    const first = Array.from({ length: 8 }, () => request('c1'));
    first.forEach((r, i) => cluster.submit(5 + (i % 3), r));
    cluster.runUntilCommitted(first, honest);
    const state = cluster.states.get(6) as DrkState;
    expect(state.seats[1]).toEqual({ holder: 5, view: 1 });
    expect(state.term).toBe(1);
    // The seat moved through the log: every honest node agrees on it.
    for (const id of honest) expect((cluster.states.get(id) as DrkState).seats[1].holder).toBe(5);
    expect(state.evidence.deposedLeaders).toEqual([4]);

    // Past the epoch boundary the deposed leader's reputation has dropped below everyone else's.
    const more = Array.from({ length: 16 }, () => request('c2'));
    more.forEach((r, i) => cluster.submit(honest[i % honest.length], r));
    cluster.runUntilCommitted(more, honest);
    const later = cluster.states.get(6) as DrkState;
    expect(later.config.epoch).toBeGreaterThanOrEqual(1);
    const reputations = later.config.reputations;
    for (const id of honest) expect(reputations[4]).toBeLessThan(reputations[id]);
    expect(cluster.violations()).toEqual([]);
  });

  it('a silent top primary is replaced at the top and in its region', () => {
    const protocol = createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) });
    const honest = ids(16).filter((id) => id !== 0);
    const cluster = new Cluster(protocol, honest);
    cluster.down.add(0); // leader of region [0, 1, 2, 3] and, by id, the top primary
    const requests = Array.from({ length: 12 }, () => request('c3'));
    requests.forEach((r, i) => cluster.submit(honest[(i * 5) % honest.length], r));
    cluster.runUntilCommitted(requests, honest);
    expect(cluster.violations()).toEqual([]);
    const state = cluster.states.get(9) as DrkState;
    expect(state.seats[0].holder).toBe(1);
    expect(state.evidence.deposedLeaders).toEqual([0]);
  });

  it('a top primary replaced by a view change leads last in the terms after it, though it keeps its seat', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    // Node 0 leads region [0, 1, 2, 3] as it should but says nothing in the top layer; node 12 says nothing in region 3, which it leads.
    const group = (e: { message: DrkMessage }): string => ('group' in e.message ? e.message.group : '');
    cluster.drop = (e) => (e.from === 0 && group(e).startsWith('top@')) || (e.from === 12 && group(e).startsWith('region:3@'));
    const live = ids(16);
    const requests = Array.from({ length: 12 }, () => homedIn(3, 4, 'c11')).concat(Array.from({ length: 4 }, () => request('c11')));
    requests.forEach((r, i) => cluster.submit(live[i % live.length], r));
    cluster.runUntilCommitted(requests, live);
    const state = cluster.states.get(5) as DrkState;
    expect(state.seats[3].holder).toBe(13);
    expect(state.term).toBeGreaterThanOrEqual(1);
    expect(state.topOrder).toEqual([4, 8, 13, 0]);
    const laterTerms = cluster.sent.filter((e) => e.message.type === 'pre-prepare' && /^top@e0\.t[1-9]/.test(e.message.group));
    expect(laterTerms.length).toBeGreaterThan(0);
    expect(laterTerms.every((e) => e.from === 4)).toBe(true);
    expect(cluster.violations()).toEqual([]);
  });
});

/** Signed commits of `signers` for a region batch: a region certificate when they are a quorum of the region. */
function regionCertificate(epoch: number, region: number, regionSeq: number, batch: { requests: ClientRequest[] }, signers: NodeId[]): CommitMessage[] {
  return signers.map((id) =>
    sign<CommitMessage>({ type: 'commit', group: regionGroup(epoch, region), view: 0, seq: regionSeq, digest: regionDigest(batch), sender: id }, simAuthenticator(id, SEED)),
  );
}

describe('DRKPBFT one region: a decision is read by the group that decided it', () => {
  const honest = [1, 2, 3];

  /** n = 4, one region (its decisions are the log): primary 0 is Byzantine and otherwise silent; `r` was submitted to every honest node. */
  function withByzantinePrimary(): { cluster: Cluster; r: ClientRequest } {
    const cluster = new Cluster(createDrkpbft(ids(4), { ...OPTIONS, latency: zonedLatency(4, 4) }), honest);
    cluster.down.add(0);
    const r = request('c5');
    cluster.submit(honest, r);
    return { cluster, r };
  }

  /** Node 0's pre-prepare of position 1 carrying `payload` under the digest of `{ requests: [r] }` (its signature covers the digest only). */
  const proposal = (r: ClientRequest, payload: object): DrkMessage =>
    sign<PrePrepareMessage<RegionBatch>>(
      { type: 'pre-prepare', group: orderGroup(0, 0), view: 0, seq: 1, digest: regionDigest({ requests: [r] }), payload: payload as RegionBatch, sender: 0 },
      simAuthenticator(0, SEED),
    );

  /** A region batch of `r` that also carries the fields of a top entry whose batch is `forged`. */
  const dressedAsTopEntry = (r: ClientRequest, forged: ClientRequest): object => ({
    requests: [r],
    skip: [],
    signers: [],
    batch: { epoch: 0, region: 0, regionSeq: 1, view: 0, batch: { requests: [forged] }, certificate: [] },
  });

  /** The requests each position ran at `id`, by key. */
  const ran = (cluster: Cluster, id: NodeId): [number, string[]][] => (cluster.commits.get(id) ?? []).map((c) => [c.seq, c.requests.map(requestKey)]);

  it('a region proposal carrying top-entry fields is refused: no honest node runs the request inside them', () => {
    const { cluster, r } = withByzantinePrimary();
    const forged = request('mallory', 'never submitted');
    for (const to of honest) cluster.inject(0, to, proposal(r, dressedAsTopEntry(r, forged)));
    cluster.deliver();
    cluster.runUntilCommitted([r], honest);
    for (const id of honest) expect(cluster.committedKeys(id).has(requestKey(forged))).toBe(false);
    expect(cluster.violations()).toEqual([]);
  });

  it('replicas given different extra fields under one digest still run the same requests at every position', () => {
    const { cluster, r } = withByzantinePrimary();
    const forged = request('mallory', 'never submitted');
    cluster.inject(0, 1, proposal(r, { requests: [r] }));
    cluster.inject(0, 2, proposal(r, dressedAsTopEntry(r, forged)));
    cluster.inject(0, 3, proposal(r, { requests: [r], note: 'extra' }));
    cluster.deliver();
    const agree = (): void => {
      const reference = ran(cluster, 1);
      for (const id of honest) expect(ran(cluster, id)).toEqual(reference);
      expect(reference.flatMap(([, keys]) => keys)).not.toContain(requestKey(forged));
    };
    agree();
    cluster.runUntilCommitted([r], honest);
    agree();
    expect(cluster.violations()).toEqual([]);
  });

  it('a region proposal with a malformed skip is refused, so no decided position is left unexecutable: the log goes on', () => {
    const { cluster, r } = withByzantinePrimary();
    for (const to of honest) cluster.inject(0, to, proposal(r, { requests: [r], skip: 'everything' }));
    cluster.deliver();
    cluster.runUntilCommitted([r], honest);
    const later = request('c5');
    cluster.submit(honest, later);
    cluster.runUntilCommitted([later], honest);
    expect(cluster.violations()).toEqual([]);
  });

  it('a member serving catch-up cannot attach top-entry fields to a certified region decision', () => {
    const cluster = new Cluster(createDrkpbft(ids(4), { ...OPTIONS, latency: zonedLatency(4, 4) }));
    cluster.down.add(3);
    const r = request('c5');
    cluster.submit([0, 1, 2], r);
    cluster.runUntilCommitted([r], [0, 1, 2]);
    cluster.down.delete(3);
    // Node 1 answers node 3 with position 1 as decided (its certificate holds), dressed up.
    const digest = regionDigest({ requests: [r] });
    const certificate = [0, 1, 2].map((id) => sign<CommitMessage>({ type: 'commit', group: orderGroup(0, 0), view: 0, seq: 1, digest, sender: id }, simAuthenticator(id, SEED)));
    const forged = request('mallory', 'never submitted');
    const entry = { seq: 1, view: 0, digest, payload: dressedAsTopEntry(r, forged) as RegionBatch, certificate };
    cluster.inject(1, 3, sign<DecidedMessage<RegionBatch>>({ type: 'decided', group: orderGroup(0, 0), entries: [entry], sender: 1 }, simAuthenticator(1, SEED)));
    cluster.deliver();
    expect(cluster.committedKeys(3).has(requestKey(forged))).toBe(false);
    cluster.runUntilCommitted([r], [3]);
    expect(cluster.committedKeys(3).has(requestKey(forged))).toBe(false);
    expect(ran(cluster, 3)).toEqual(ran(cluster, 0));
    expect(cluster.violations()).toEqual([]);
  });
});

describe('DRKPBFT top-layer validation', () => {
  /** A cluster of 16 that committed a few batches; node 0 is region 0's leader and the top primary. */
  function running(): { cluster: Cluster; state: DrkState } {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    const requests = Array.from({ length: 8 }, () => request('c4'));
    requests.forEach((r, i) => cluster.submit(i % 16, r));
    cluster.runUntilCommitted(requests, ids(16));
    return { cluster, state: cluster.states.get(4) as DrkState };
  }

  /** The top primary (node 0) proposes `entry` at the next global position; returns what honest seat holder 4 answers. */
  function proposeAtTop(cluster: Cluster, state: DrkState, entry: TopEntry): DrkMessage[] {
    const pp = sign<PrePrepareMessage<TopEntry>>(
      {
        type: 'pre-prepare',
        group: topGroup(state.config.epoch, state.term, state.termStart - 1),
        view: 0,
        seq: state.executedSeq - (state.termStart - 1) + 1,
        digest: topDigest(entry),
        payload: entry,
        sender: 0,
      },
      simAuthenticator(0, SEED),
    );
    return cluster.inject(0, 4, pp).messages.map((m) => m.message);
  }

  const prepares = (messages: DrkMessage[]): DrkMessage[] => messages.filter((m) => m.type === 'prepare');

  /** Whether honest seat holder 4 prepares `make(state)` proposed by the top primary (each time in a fresh cluster: a backup keeps one proposal per view and position). */
  function prepared(make: (state: DrkState) => TopEntry): boolean {
    const { cluster, state } = running();
    return prepares(proposeAtTop(cluster, state, make(state))).length > 0;
  }

  /** A batch of region 0 at position `regionSeq`, certified by `signers`. */
  const certifiedBy = (regionSeq: number, signers: NodeId[], batch = { requests: [request('mallory')] }): CertifiedBatch => ({
    epoch: 0,
    region: 0,
    regionSeq,
    view: 0,
    batch,
    certificate: regionCertificate(0, 0, regionSeq, batch, signers),
  });

  it('accepts the next batch of a region with a valid certificate', () => {
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 1, 2]), skip: [], signers: [0, 1, 2] }))).toBe(true);
  });

  it('rejects a region batch whose certificate has too few region signatures', () => {
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 1]), skip: [], signers: [0, 1] }))).toBe(false);
  });

  it('rejects a certificate for another batch, commits from outside the region, and misreported signers', () => {
    const forged = (s: DrkState): CertifiedBatch => ({ ...certifiedBy(s.progress[0].upTo + 1, [0, 1, 2], { requests: [request('alice')] }), batch: { requests: [request('mallory')] } });
    expect(prepared((s) => ({ batch: forged(s), skip: [], signers: [0, 1, 2] }))).toBe(false);
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 4, 5]), skip: [], signers: [0, 4, 5] }))).toBe(false);
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 1, 2]), skip: [], signers: [0, 1, 3] }))).toBe(false);
  });

  it('rejects malformed skips and batches certified in another epoch; leaves the region order to the log', () => {
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 1, 2]), skip: [3], signers: [0, 1, 2] }))).toBe(false);
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 1, [0, 1, 2]), skip: [0, 0], signers: [0, 1, 2] }))).toBe(false);
    expect(prepared((s) => ({ batch: { ...certifiedBy(s.progress[0].upTo + 1, [0, 1, 2]), epoch: 1 }, skip: [], signers: [0, 1, 2] }))).toBe(false);
    // Validity may not depend on a replica's state: a batch ahead of its region's order is acceptable.
    expect(prepared((s) => ({ batch: certifiedBy(s.progress[0].upTo + 2, [0, 1, 2]), skip: [], signers: [0, 1, 2] }))).toBe(true);
  });

  it('a seat holder does not pool a certified batch whose certificate fails', () => {
    const { cluster, state } = running();
    const batch = { requests: [request('mallory')] };
    const regionSeq = state.progress[1].upTo + 1;
    const bad: CertifiedBatch = { epoch: 0, region: 1, regionSeq, view: 0, batch, certificate: regionCertificate(0, 1, regionSeq, batch, [4]) };
    const ready = cluster.inject(4, 0, signOwn<CertifiedMessage>({ type: 'certified', batch: bad }, simAuthenticator(4, SEED)));
    expect(ready.messages.filter((m) => m.message.type === 'pre-prepare')).toEqual([]);
    const good: CertifiedBatch = { ...bad, certificate: regionCertificate(0, 1, regionSeq, batch, [4, 5, 6]) };
    const accepted = cluster.inject(4, 0, signOwn<CertifiedMessage>({ type: 'certified', batch: good }, simAuthenticator(4, SEED)));
    expect(accepted.messages.filter((m) => m.message.type === 'pre-prepare')).toHaveLength(3);
  });
});

describe('DRKPBFT epochs and membership', () => {
  it('a new epoch starts every epochLength positions, with the same regions while nothing changed', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4), epochLength: 3 }));
    const requests = Array.from({ length: 40 }, () => request('c5'));
    requests.forEach((r, i) => cluster.submit(i % 16, r));
    cluster.runUntilCommitted(requests, ids(16));
    expect(cluster.violations()).toEqual([]);
    const commits = cluster.commits.get(7) ?? [];
    const last = commits[commits.length - 1];
    expect(last.epoch).toBe(Math.floor((last.seq - 1) / 3));
    const state = cluster.states.get(7) as DrkState;
    expect(state.config.regions).toEqual([[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15]]);
    // Nothing changed but reputations: every group went on, still named after the epoch that built it.
    expect(state.config.epoch).toBeGreaterThan(3);
    expect(state.structure.epoch).toBe(0);
    // Every commit that reaches the region primary before its next tick joins the certificate: here all four voters sign, and all rise.
    for (const id of ids(16)) expect(state.config.reputations[id]).toBeGreaterThan(0.5);
  });

  it('a voter whose commits never reach its primary in time earns no reputation; the others do', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4), epochLength: 3 }));
    cluster.drop = (e) => e.from === 3 && e.to === 0 && e.message.type === 'commit';
    const requests = Array.from({ length: 40 }, () => request('c9'));
    requests.forEach((r, i) => cluster.submit(i % 16, r));
    cluster.runUntilCommitted(requests, ids(16));
    expect(cluster.violations()).toEqual([]);
    const { reputations } = (cluster.states.get(7) as DrkState).config;
    expect(reputations[3]).toBeLessThan(0.5);
    for (const id of [0, 1, 2]) expect(reputations[id]).toBeGreaterThan(0.5);
  });

  it('an epoch keeps the groups only with the same voters and regions and trusted seat holders', () => {
    const latency = matrixLatency(zonedLatency(16, 4));
    const genesis = genesisConfig(ids(16), latency);
    const seats = [0, 4, 8, 12];
    const moved = { ...genesis, epoch: 1, reputations: { ...genesis.reputations, 5: 0.3 } };
    expect(keepsStructure(genesis, moved, seats)).toBe(true); // 5 fell below τ_lead, but holds no seat
    expect(keepsStructure(genesis, moved, [0, 5, 8, 12])).toBe(false); // a seat holder no longer trusted
    const left = nextEpoch(genesis, emptyEvidence(), latency, [{ kind: 'leave', node: 3 }]);
    expect(keepsStructure(genesis, left, seats)).toBe(false);
    const voteLost = { ...genesis, epoch: 1, voters: genesis.voters.filter((v) => v !== 7) };
    expect(keepsStructure(genesis, voteLost, seats)).toBe(false);
  });

  it('a committed join ends the epoch; the joiner catches up and takes part', () => {
    const protocol = createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(20, 4) });
    const cluster = new Cluster(protocol);
    cluster.add(16);
    const before = Array.from({ length: 6 }, () => request('c6'));
    before.forEach((r, i) => cluster.submit(i, r));
    const join = request('admin', 'join:16');
    cluster.submit(3, join);
    cluster.runUntilCommitted([...before, join], ids(16));
    const state = cluster.states.get(0) as DrkState;
    expect(state.config.epoch).toBe(1);
    expect(state.config.members).toContain(16);
    expect(state.config.regions.flat().sort((a, b) => a - b)).toEqual(ids(17));

    const after = Array.from({ length: 8 }, () => request('c7'));
    after.forEach((r, i) => cluster.submit(i * 2, r));
    cluster.submit(16, request('c8'));
    cluster.runUntilCommitted(after, ids(17));
    expect(cluster.log(16)).toEqual(cluster.log(0));
    // Node 16 votes in its region now.
    expect(cluster.sent.some((e) => e.from === 16 && e.message.type === 'commit')).toBe(true);
    expect(cluster.violations()).toEqual([]);
  });

  it('leaves re-cluster: 12 nodes are too few for a top layer (K < 4) and form one region', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    const leaves = [12, 13, 14, 15].map((id) => request('admin', `leave:${id}`));
    leaves.forEach((r) => cluster.submit(0, r));
    cluster.runUntilCommitted(leaves, ids(12));
    const state = cluster.states.get(0) as DrkState;
    expect(state.config.members).toEqual(ids(12));
    expect(state.config.regions).toEqual([ids(12)]);
    const after = Array.from({ length: 6 }, () => request('c9'));
    after.forEach((r, i) => cluster.submit(i, r));
    cluster.runUntilCommitted(after, ids(12));
    expect(cluster.violations()).toEqual([]);
    // The departed nodes no longer vote.
    const lastEpoch = (cluster.states.get(0) as DrkState).config.epoch;
    const recent = cluster.sent.filter((e) => e.message.type === 'commit' && 'group' in e.message && e.message.group.includes(`@e${lastEpoch}`));
    expect(recent.some((e) => e.from >= 12)).toBe(false);
  });
});

describe('DRKPBFT top proposals', () => {
  it('name their batch instead of carrying it; a seat holder that lacks the batch fetches it from the top primary', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    // Seat holder 8 never hears from the other region primaries: only the top primary (0) can give it their batches.
    // Seat holder 12 is silent in the top layer, so no top slot is decided without 8's vote.
    cluster.drop = (e) => (e.to === 8 && e.message.type === 'certified' && e.from !== 0) || (e.from === 12 && 'group' in e.message && e.message.group.startsWith('top@'));
    const requests = Array.from({ length: 16 }, () => request('c12'));
    requests.forEach((r, i) => cluster.submit(i % 16, r));
    cluster.runUntilCommitted(requests, ids(16));
    const proposals = cluster.sent.filter((e) => e.message.type === 'pre-prepare' && e.message.group.startsWith('top@') && e.message.payload !== null);
    expect(proposals.length).toBeGreaterThan(0);
    for (const { message } of proposals) {
      expect(message.type === 'pre-prepare' && isTopEntryRef(message.payload)).toBe(true);
      expect(JSON.stringify(message)).not.toContain('"requests"');
    }
    const fetches = cluster.sent.filter((e) => e.message.type === 'batch-fetch');
    expect(fetches.length).toBeGreaterThan(0);
    expect(fetches.every((e) => e.from === 8 && e.to === 0)).toBe(true);
    // And it voted on them: a prepare from 8 for every top slot.
    const prepared = new Set(cluster.sent.filter((e) => e.from === 8 && e.message.type === 'prepare' && e.message.group.startsWith('top@')).map((e) => (e.message as CommitMessage).seq));
    for (const { message } of proposals) expect(prepared.has((message as PrePrepareMessage<TopEntryRef>).seq)).toBe(true);
    expect(cluster.violations()).toEqual([]);
  });

  it('the top layer keeps K times a region\'s window of slots in flight: it orders the batches of all K regions', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    // No top slot is ever decided, so no checkpoint moves the window: how far does the top primary propose?
    cluster.drop = (e) => e.message.type === 'commit' && e.message.group.startsWith('top@');
    Array.from({ length: 120 }, () => request('c13')).forEach((r, i) => cluster.submit(i % 16, r));
    cluster.tick(10);
    const regionWindow = 2 * OPTIONS.checkpointInterval;
    const topSeqs = new Set(cluster.sent.filter((e) => e.message.type === 'pre-prepare' && e.message.group.startsWith('top@')).map((e) => (e.message as PrePrepareMessage<TopEntryRef>).seq));
    expect(topSeqs.size).toBeGreaterThan(regionWindow);
    expect(Math.max(...topSeqs)).toBeLessThanOrEqual(4 * regionWindow);
  });

  it('a named batch is filled in only with exactly the batch named', () => {
    const batch = { requests: [request('r1'), request('r2')] };
    const certified: CertifiedBatch = { epoch: 0, region: 1, regionSeq: 3, view: 0, batch, certificate: regionCertificate(0, 1, 3, batch, [4, 5, 6]) };
    const entry: TopEntry = { batch: certified, skip: [], signers: [4, 5, 6] };
    const ref = entryRef(entry);
    expect(topDigest(withBatch(ref, certified) as TopEntry)).toBe(topDigest(entry));
    expect(withBatch(ref, { ...certified, batch: { requests: batch.requests.slice(1) } })).toBeUndefined();
    expect(withBatch(ref, { ...certified, view: 1 })).toBeUndefined();
    expect(withBatch(ref, { ...certified, regionSeq: 4 })).toBeUndefined();
    expect(withBatch(ref, { ...certified, epoch: 1 })).toBeUndefined();
  });
});

describe('DRKPBFT duplicates and restarts', () => {
  /** Region groups whose primaries proposed a batch holding `key`. */
  const regionsThatBatched = (cluster: Cluster, key: string): Set<string> =>
    new Set(
      cluster.sent
        .filter((e) => e.message.type === 'pre-prepare' && e.message.group.startsWith('region:') && (e.message.payload as { requests: ClientRequest[] } | null)?.requests.some((r) => requestKey(r) === key))
        .map((e) => ('group' in e.message ? e.message.group : '')),
    );

  it('a request submitted in every region (a client retrying everywhere) is batched by its home region only and executed once', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    const twice = homedIn(2, 4, 'retrier');
    cluster.submit([1, 5, 9, 13], twice);
    // And requests of every home region arriving in region 0 only: its primary relays them.
    const others = Array.from({ length: 12 }, () => request('c10'));
    others.forEach((r) => cluster.submit(1, r));
    cluster.runUntilCommitted([twice, ...others], ids(16));
    cluster.submit(2, twice);
    cluster.tick(5);
    const key = requestKey(twice);
    for (const id of ids(16)) expect((cluster.commits.get(id) ?? []).filter((c) => c.requests.some((r) => requestKey(r) === key))).toHaveLength(1);
    expect([...regionsThatBatched(cluster, key)]).toEqual([regionGroup(0, 2)]);
    for (const r of others) expect([...regionsThatBatched(cluster, requestKey(r))]).toEqual([regionGroup(0, homeRegion(requestKey(r), 4))]);
    expect(cluster.violations()).toEqual([]);
  });

  it('a request batched by two regions (a primary batching what is not its region’s) is executed once: the top layer skips the copy', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    // Region 1's primary batches whatever reaches it, as a faulty one may.
    (cluster.nodes.get(4) as unknown as { epochs: { shape: { isHome: () => boolean } } }).epochs.shape.isHome = () => true;
    const twice = homedIn(0, 4, 'retrier');
    cluster.submit([1, 4], twice);
    cluster.runUntilCommitted([twice], ids(16));
    const key = requestKey(twice);
    expect(regionsThatBatched(cluster, key).size).toBe(2);
    for (const id of ids(16)) expect((cluster.commits.get(id) ?? []).filter((c) => c.requests.some((r) => requestKey(r) === key))).toHaveLength(1);
    expect(cluster.violations()).toEqual([]);
  });

  it('a node restarted from its persisted state rejoins with the same log', () => {
    const cluster = new Cluster(createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) }));
    const first = Array.from({ length: 8 }, () => request('c11'));
    first.forEach((r, i) => cluster.submit(i, r));
    cluster.runUntilCommitted(first, ids(16));
    cluster.down.add(4); // region 1's primary and seat holder
    cluster.down.add(9);
    const second = Array.from({ length: 8 }, () => request('c12'));
    second.forEach((r, i) => cluster.submit([5, 6, 10, 11][i % 4], r));
    const up = ids(16).filter((id) => id !== 4 && id !== 9);
    cluster.runUntilCommitted(second, up);
    cluster.restart(4);
    cluster.restart(9);
    const third = Array.from({ length: 8 }, () => request('c13'));
    third.forEach((r, i) => cluster.submit(i * 2, r));
    cluster.runUntilCommitted([...second, ...third], ids(16));
    expect(cluster.log(4)).toEqual(cluster.log(0));
    expect(cluster.log(9)).toEqual(cluster.log(0));
    expect(cluster.violations()).toEqual([]);
  });
});

describe('DRKPBFT protocol surface', () => {
  const protocol = createDrkpbft(ids(16), { ...OPTIONS, latency: zonedLatency(16, 4) });
  const auth0 = simAuthenticator(0, SEED);
  const batch = { requests: [request('s1'), request('s2')] };
  const certified: CertifiedBatch = { epoch: 0, region: 0, regionSeq: 1, view: 0, batch, certificate: regionCertificate(0, 0, 1, batch, [0, 1, 2]) };
  const entry: TopEntry = { batch: certified, skip: [1], signers: [0, 1, 2] };

  it('a top commit is a vote for the committed batch at its global position; region commits are not votes', () => {
    const top = sign<CommitMessage>({ type: 'commit', group: topGroup(2, 1, 40), view: 0, seq: 3, digest: topDigest(entry), sender: 0 }, auth0);
    expect(protocol.votes(top)).toEqual([{ voter: 0, seq: 43, digest: batchDigest([batch.requests[0]]) }]);
    expect(protocol.votes(certified.certificate[0])).toEqual([]);
    expect(protocol.votes({ ...top, type: 'prepare' } as DrkMessage)).toEqual([]);
  });

  it('the top digest binds the skips and the certificate signers, not only the requests', () => {
    const fewerSigners: TopEntry = { ...entry, signers: [0, 1] };
    const noSkip: TopEntry = { batch: certified, skip: [], signers: [0, 1] };
    expect(topDigest(fewerSigners)).not.toBe(topDigest(entry));
    expect(topDigest(fewerSigners).split(':')[0]).toBe(topDigest(entry).split(':')[0]);
    expect(topDigest(noSkip).split(':')[0]).toBe(batchDigest(batch.requests));
  });

  it('tolerates f_top Byzantine nodes wherever they sit; quorums follow the epoch', () => {
    expect(protocol.maxFaulty()).toBe(1);
    expect(createDrkpbft(ids(64), { ...OPTIONS, latency: zonedLatency(64, 8) }).maxFaulty()).toBe(2);
    expect(createDrkpbft(ids(7), OPTIONS).maxFaulty()).toBe(2);
    expect(protocol.quorumFor({ seq: 1, digest: '', requests: [], quorum: [], epoch: 0 })).toBe(3);
  });

  it('caches the wire size per message object', () => {
    const message = certified.certificate[0];
    const size = protocol.wireSize(message);
    expect(size).toBe(Buffer.byteLength(canonical(message)));
    expect(protocol.wireSize(message)).toBe(size);
  });

  it('mutations: an equivocating proposal and a conflicting vote are validly signed; a bad signature is not', () => {
    // A top proposal names its batch; the other half is offered a null request for the same slot.
    const pp = sign<PrePrepareMessage<TopEntryRef>>({ type: 'pre-prepare', group: topGroup(0, 0, 0), view: 0, seq: 1, digest: topDigest(entry), payload: entryRef(entry), sender: 0 }, auth0);
    const other = protocol.mutations.equivocate(pp, auth0) as PrePrepareMessage<TopEntry>;
    expect(other.seq).toBe(1);
    expect(other.payload).toBeNull();
    expect(other.digest).toBe(TOP_NULL_DIGEST);
    expect(signedBySender(other, auth0)).toBe(true);
    const regionPp = sign<PrePrepareMessage<{ requests: ClientRequest[] }>>(
      { type: 'pre-prepare', group: regionGroup(0, 0), view: 0, seq: 1, digest: regionDigest(batch), payload: batch, sender: 0 },
      auth0,
    );
    const otherRegion = protocol.mutations.equivocate(regionPp, auth0) as PrePrepareMessage<{ requests: ClientRequest[] }>;
    expect(otherRegion.payload?.requests).toHaveLength(1);
    expect(signedBySender(otherRegion, auth0)).toBe(true);
    expect(protocol.mutations.equivocate(certified.certificate[0], auth0)).toBeUndefined();

    const vote = protocol.mutations.conflictingVote(certified.certificate[0], auth0) as CommitMessage;
    expect(vote.digest).not.toBe(certified.certificate[0].digest);
    expect(signedBySender(vote, auth0)).toBe(true);
    expect(protocol.mutations.conflictingVote(pp, auth0)).toBeUndefined();

    expect(signedBySender(protocol.mutations.badSignature(certified.certificate[0]) as CommitMessage, auth0)).toBe(false);
    const forward = signOwn<CertifiedMessage>({ type: 'certified', batch: certified }, auth0);
    expect(ownSigned(forward, auth0)).toBe(true);
    expect(ownSigned(protocol.mutations.badSignature(forward) as CertifiedMessage, auth0)).toBe(false);
  });
});

describe('DRKPBFT in the simulator', () => {
  // Node 0 leads its region (ties by id) and is the top primary: the most damaging place for a Byzantine node.
  it.each(['equivocate', 'conflicting-votes', 'twins', 'silent'] as const)('n = 16 stays safe and live with a Byzantine (%s) region leader', (behaviour) => {
    const result = runScenario(
      { protocol: 'drkpbft', n: 16, seed: `drk-${behaviour}`, faults: [{ kind: 'byzantine', node: 0, behaviour }], settings: SOAK_SETTINGS },
      simProtocolFactory('drkpbft'),
    );
    expect(result.violations).toEqual([]);
    expect(result.metrics.requestsCommitted).toBeGreaterThan(0);
  });

  it('soaks 1,000 randomized runs (n = 4, 7, 16: one region and four) without a safety violation', () => {
    const summary = soak({ protocol: 'drkpbft', factory: simProtocolFactory('drkpbft'), runs: 1000, sizes: [4, 7, 16], seed: 'jest-drk-soak' });
    expect(summary.runs).toBe(1000);
    expect(summary.safetyFailures).toEqual([]);
    expect(summary.safetyViolations).toBe(0);
    expect(summary.eventsProcessed).toBeGreaterThan(1_000_000);
  }, 180_000);
});
