import { batchDigest, canonical } from '../../../consensus-plugin/src/core/digest';
import { simAuthenticator } from '../../../consensus-plugin/src/core/sim-auth';
import type { Authenticator, ClientRequest, Commit, NodeId } from '../../../consensus-plugin/src/core/types';
import { sign, verify } from '../../../consensus-plugin/src/raft/codec';
import { ElectionRandom } from '../../../consensus-plugin/src/raft/random';
import { createRaft, joinOperation, leaveOperation } from '../../../consensus-plugin/src/raft';
import type { AppendEntries, LogEntry, RaftMessage, RaftNode, RaftOptions, RaftProtocol, RaftState } from '../../../consensus-plugin/src/raft';

const AUTH_SEED = 'raft-test';
const auth = (id: NodeId): Authenticator => simAuthenticator(id, AUTH_SEED);

const BASE: RaftOptions = {
  batchSize: 2,
  batchTimeoutTicks: 2,
  requestTimeoutTicks: 30,
  checkpointInterval: 16,
  seed: 'seed-1',
  electionTimeoutTicks: [10, 20],
  heartbeatTicks: 2,
};

const request = (client: string, timestamp: number, operation = `op ${client} ${timestamp}`): ClientRequest => ({ client, timestamp, operation });
const batch = (term: number, seq: number, requests: ClientRequest[]): LogEntry => ({ term, kind: 'batch', seq, requests });
const persisted = (term: number, log: LogEntry[], commit = 0): RaftState => ({ term, commit, log, logLength: log.length });

interface Delivery {
  from: NodeId;
  to: NodeId;
  message: RaftMessage;
}

/**
 * An in-test network: zero latency, FIFO, every node ticked once per round then every
 * message delivered. Nodes can crash and restart from their last persisted state;
 * `isolated` nodes only talk among themselves; `drop` filters single messages.
 */
class Cluster {
  readonly protocol: RaftProtocol;
  readonly nodes = new Map<NodeId, RaftNode>();
  readonly states = new Map<NodeId, RaftState>();
  readonly commits = new Map<NodeId, Commit[]>();
  readonly trace: string[] = [];
  private queue: Delivery[] = [];
  isolated = new Set<NodeId>();
  drop: (d: Delivery) => boolean = () => false;

  constructor(readonly members: NodeId[], options: Partial<RaftOptions> = {}, initial: Partial<Record<NodeId, RaftState>> = {}) {
    this.protocol = createRaft(members, { ...BASE, ...options });
    for (const id of members) this.start(id, initial[id]);
  }

  start(id: NodeId, state?: RaftState): RaftNode {
    const node = this.protocol.createNode(id, auth(id), state);
    this.nodes.set(id, node);
    if (state) this.states.set(id, state);
    if (!this.commits.has(id)) this.commits.set(id, []);
    return node;
  }

  crash(id: NodeId): void {
    this.nodes.delete(id);
  }

  restart(id: NodeId): RaftNode {
    return this.start(id, this.states.get(id));
  }

  node(id: NodeId): RaftNode {
    const node = this.nodes.get(id);
    if (!node) throw new Error(`node ${id} is down`);
    return node;
  }

  submit(id: NodeId, ...requests: ClientRequest[]): void {
    for (const r of requests) this.handle(id, this.node(id).submit(r));
  }

  /** Messages waiting for delivery. */
  pending(): readonly Delivery[] {
    return this.queue;
  }

  /** Delivers until no message is left (messages to a down node are lost). */
  pump(): void {
    for (let steps = 0; this.queue.length > 0; steps++) {
      if (steps > 200_000) throw new Error('message storm');
      const batchOf = this.queue;
      this.queue = [];
      for (const d of batchOf) {
        const node = this.nodes.get(d.to);
        if (!node || this.drop(d) || this.isolated.has(d.from) !== this.isolated.has(d.to)) continue;
        this.trace.push(traceLine(d));
        this.handle(d.to, node.step(d.from, d.message));
      }
    }
  }

  /** One round: every up node (or only `only`) ticks in id order, then the network drains. */
  round(only?: NodeId[]): void {
    for (const [id, node] of [...this.nodes].sort(([a], [b]) => a - b)) if (!only || only.includes(id)) this.handle(id, node.tick());
    this.pump();
  }

  run(rounds: number): void {
    for (let i = 0; i < rounds; i++) this.round();
  }

  /** Rounds until `done`; fails after `limit`. */
  runUntil(done: () => boolean, only?: NodeId[], limit = 500): void {
    for (let i = 0; i < limit; i++) {
      if (done()) return;
      this.round(only);
    }
    throw new Error(`condition not reached in ${limit} rounds`);
  }

  /** Only `id` ticks until it leads: who wins the election is the test's choice. */
  elect(id: NodeId): RaftNode {
    this.runUntil(() => this.node(id).status().role === 'leader', [id]);
    return this.node(id);
  }

  leader(): RaftNode | undefined {
    const leaders = [...this.nodes.values()].filter((n) => n.status().role === 'leader');
    return leaders.sort((a, b) => b.status().term - a.status().term)[0];
  }

  electLeader(): RaftNode {
    this.runUntil(() => this.leader() !== undefined && [...this.nodes.values()].every((n) => n.status().leader === this.leader()?.id));
    return this.leader() as RaftNode;
  }

  committedRequests(id: NodeId): ClientRequest[] {
    return (this.commits.get(id) ?? []).flatMap((c) => c.requests);
  }

  logOf(id: NodeId): readonly LogEntry[] {
    const state = this.states.get(id);
    return state ? state.log.slice(0, state.logLength) : [];
  }

  private handle(id: NodeId, ready: ReturnType<RaftNode['step']>): void {
    if (ready.state) this.states.set(id, ready.state);
    for (const { to, message } of ready.messages) this.queue.push({ from: id, to, message });
    (this.commits.get(id) as Commit[]).push(...ready.commits);
  }
}

function traceLine(d: Delivery): string {
  const m = d.message;
  const detail = m.type === 'appendResp' ? (m.success ? ' ok' : ' refused') : m.type === 'forward' ? '' : ` t${m.term}`;
  return `${d.from}>${d.to} ${m.type}${detail}`;
}

/** Every node's commits are gap-free from seq 1 (or from where it restarted) and agree with every other's. */
function expectConsistent(cluster: Cluster): void {
  const bySeq = new Map<number, string>();
  for (const [id, commits] of cluster.commits) {
    commits.forEach((c, i) => {
      if (i > 0) expect({ id, seq: c.seq }).toEqual({ id, seq: commits[i - 1].seq + 1 });
      expect(c.digest).toBe(batchDigest(c.requests));
      const agreed = bySeq.get(c.seq);
      if (agreed === undefined) bySeq.set(c.seq, c.digest);
      else expect({ id, seq: c.seq, digest: c.digest }).toEqual({ id, seq: c.seq, digest: agreed });
    });
  }
}

describe('Raft election', () => {
  it('elects one leader per term, and every node follows it', () => {
    const cluster = new Cluster([0, 1, 2, 3, 4]);
    const leadersByTerm = new Map<number, Set<NodeId>>();
    const observe = (): void => {
      for (const node of cluster.nodes.values()) {
        const { role, term } = node.status();
        if (role !== 'leader') continue;
        if (!leadersByTerm.has(term)) leadersByTerm.set(term, new Set());
        leadersByTerm.get(term)?.add(node.id);
      }
    };
    const first = cluster.electLeader();
    for (let i = 0; i < 40; i++, observe()) cluster.round();
    cluster.crash(first.id);
    for (let i = 0; i < 80; i++, observe()) cluster.round();
    cluster.restart(first.id);
    for (let i = 0; i < 40; i++, observe()) cluster.round();

    expect(leadersByTerm.size).toBeGreaterThanOrEqual(2);
    for (const leaders of leadersByTerm.values()) expect(leaders.size).toBe(1);
    const leader = cluster.leader() as RaftNode;
    expect(leader.id).not.toBe(first.id);
    for (const node of cluster.nodes.values()) expect(node.status()).toMatchObject({ leader: leader.id, term: leader.status().term });
  });

  it('grants one vote per term, and only to a log at least as up to date', () => {
    const protocol = createRaft([0, 1, 2], BASE);
    const voter = protocol.createNode(0, auth(0), persisted(1, [batch(1, 1, [request('c', 1)])]));
    const ask = (from: NodeId, term: number, lastIndex: number, lastTerm: number): boolean | undefined => {
      const ready = voter.step(from, sign({ type: 'vote', from, term, lastIndex, lastTerm }, auth(from)));
      const answer = ready.messages[0]?.message;
      return answer?.type === 'voteResp' ? answer.granted : undefined;
    };
    expect(ask(1, 2, 0, 0)).toBe(false); // shorter log
    expect(ask(1, 2, 1, 0)).toBe(false); // older last term
    expect(ask(1, 2, 1, 1)).toBe(true);
    expect(ask(2, 2, 5, 1)).toBe(false); // already voted in term 2
    expect(ask(1, 2, 1, 1)).toBe(true); // the same candidate again
    expect(ask(2, 3, 1, 1)).toBe(true); // a new term
    expect(voter.status().term).toBe(3);
  });

  it('ignores candidates while it hears from a leader (lease), not after', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    const [a, b] = [0, 1, 2].filter((id) => id !== leader.id);
    const { term } = leader.status();
    const { lastIndex } = cluster.node(a).status();
    const preVote = () => cluster.node(a).step(b, sign({ type: 'preVote', from: b, term: term + 1, lastIndex, lastTerm: term }, auth(b)));
    expect(preVote().messages).toEqual([]);
    cluster.crash(leader.id);
    for (let i = 0; i < BASE.electionTimeoutTicks![0]; i++) cluster.node(a).tick();
    expect(preVote().messages[0].message).toMatchObject({ type: 'preVoteResp', granted: true, term: term + 1 });
  });

  it('a candidate whose timer fires before the grants arrive still wins its term with them (soak r1-46)', () => {
    // Round trips longer than the election timeout: node 0's vote round outlasts its timer.
    const protocol = createRaft([0, 1, 2], BASE);
    const node = protocol.createNode(0, auth(0));
    const sent = (ready: ReturnType<RaftNode['tick']>): RaftMessage[] => ready.messages.map((o) => o.message);
    const tickUntil = (type: RaftMessage['type']): void => {
      for (let i = 0; i < 200; i++) if (sent(node.tick()).some((m) => m.type === type)) return;
      throw new Error(`no ${type}`);
    };
    tickUntil('preVote');
    node.step(1, sign({ type: 'preVoteResp', from: 1, term: 1, granted: true }, auth(1)));
    expect(node.status()).toMatchObject({ role: 'candidate', term: 1 });
    tickUntil('preVote'); // timed out: asks for term 2, still in term 1
    expect(node.status()).toMatchObject({ role: 'preCandidate', term: 1 });
    node.step(1, sign({ type: 'voteResp', from: 1, term: 1, granted: true }, auth(1)));
    expect(node.status()).toMatchObject({ role: 'leader', term: 1, leader: 0 });
  });

  it('backs off after each lost round, up to the limit, and not once it hears from a leader', () => {
    const protocol = createRaft([0, 1, 2], { ...BASE, electionBackoffLimit: 2 });
    const node = protocol.createNode(0, auth(0));
    const roundStarts: number[] = [];
    for (let t = 1; t <= 700; t++) if (node.tick().messages.some((o) => o.message.type === 'preVote')) roundStarts.push(t);
    const gaps = roundStarts.slice(1).map((t, i) => t - roundStarts[i]);
    const [min, max] = BASE.electionTimeoutTicks as [number, number];
    // The first round runs on the base timeout; each round that ends unanswered doubles the next one's.
    const within = (gap: number, scale: number): boolean => gap >= scale * min && gap <= scale * max;
    expect(within(roundStarts[0], 1) && within(gaps[0], 1) && within(gaps[1], 2)).toBe(true);
    for (const gap of gaps.slice(2)) expect(within(gap, 4)).toBe(true); // capped at 2^2
    expect(gaps.length).toBeGreaterThan(4);

    node.step(1, sign({ type: 'heartbeat', from: 1, term: 1, commit: 0 }, auth(1)));
    let quiet = 0;
    while (!node.tick().messages.some((o) => o.message.type === 'preVote')) quiet++;
    expect(quiet + 1).toBeLessThanOrEqual(max);
  });

  it('a pre-vote changes no term and binds no vote', () => {
    const protocol = createRaft([0, 1, 2], BASE);
    const voter = protocol.createNode(0, auth(0));
    const preVote = (from: NodeId) => voter.step(from, sign({ type: 'preVote', from, term: 1, lastIndex: 0, lastTerm: 0 }, auth(from)));
    for (const from of [1, 2]) {
      const ready = preVote(from);
      expect(ready.messages[0].message).toMatchObject({ type: 'preVoteResp', granted: true, term: 1 });
      expect(ready.state).toBeUndefined();
    }
    expect(voter.status().term).toBe(0);
  });
});

describe('Raft replication', () => {
  it('commits a batch once a majority holds it, and not before', () => {
    const cluster = new Cluster([0, 1, 2, 3, 4]);
    const leader = cluster.electLeader();
    const followers = [0, 1, 2, 3, 4].filter((id) => id !== leader.id);
    cluster.crash(followers[0]);
    cluster.crash(followers[1]);
    cluster.submit(followers[2], request('a', 1), request('a', 2));
    cluster.run(5);
    const up = [leader.id, followers[2], followers[3]];
    for (const id of up) {
      expect(cluster.commits.get(id)).toHaveLength(1);
      const [commit] = cluster.commits.get(id) as Commit[];
      expect(commit).toMatchObject({ seq: 1, requests: [request('a', 1), request('a', 2)], epoch: 0 });
      expect(new Set(commit.quorum)).toEqual(new Set(up));
      expect(cluster.protocol.quorumFor(commit)).toBe(3);
    }

    cluster.crash(followers[2]);
    cluster.submit(followers[3], request('a', 3), request('a', 4));
    cluster.run(60);
    expect(cluster.commits.get(leader.id)).toHaveLength(1);
    expect(cluster.node(leader.id).status().lastIndex).toBeGreaterThan(cluster.node(leader.id).status().commit);
  });

  it('a single node elects itself and commits alone', () => {
    const cluster = new Cluster([0]);
    cluster.runUntil(() => cluster.node(0).status().role === 'leader');
    cluster.submit(0, request('a', 1), request('a', 2));
    expect(cluster.commits.get(0)).toEqual([{ seq: 1, digest: batchDigest([request('a', 1), request('a', 2)]), requests: [request('a', 1), request('a', 2)], quorum: [0], epoch: 0 }]);
  });

  it('batches up to batchSize, flushes a partial batch after batchTimeoutTicks', () => {
    const cluster = new Cluster([0, 1, 2], { batchSize: 3, batchTimeoutTicks: 4 });
    const leader = cluster.electLeader();
    cluster.submit(leader.id, request('a', 1), request('a', 2), request('a', 3), request('a', 4));
    cluster.pump();
    expect(cluster.commits.get(leader.id)?.map((c) => c.requests.length)).toEqual([3]);
    cluster.run(3);
    expect(cluster.commits.get(leader.id)).toHaveLength(1);
    cluster.run(1);
    expect(cluster.commits.get(leader.id)?.map((c) => c.requests.length)).toEqual([3, 1]);
  });

  it('pipelines AppendEntries up to the inflight window', () => {
    const cluster = new Cluster([0, 1, 2], { batchSize: 1, maxInflight: 3, maxEntriesPerAppend: 1 });
    const leader = cluster.electLeader();
    const follower = leader.id === 0 ? 1 : 0;
    cluster.submit(leader.id, ...[1, 2, 3, 4, 5].map((t) => request('a', t)));
    const appends = cluster.pending().filter((d) => d.to === follower && d.message.type === 'append');
    expect(appends).toHaveLength(3);
    cluster.run(3);
    expect(cluster.commits.get(follower)?.map((c) => c.seq)).toEqual([1, 2, 3, 4, 5]);
  });

  it('never commits an entry of an earlier term by counting replicas (§5.4.2)', () => {
    const old = batch(2, 1, [request('a', 1)]);
    const cluster = new Cluster([0, 1, 2], { maxEntriesPerAppend: 1 }, { 0: persisted(2, [old]), 1: persisted(2, []), 2: persisted(2, []) });
    // Hold back every entry of the new term, so the followers can only acknowledge the old one.
    cluster.drop = ({ message }) => message.type === 'append' && message.entries.some((e) => e.term === 3);
    cluster.elect(0);
    cluster.run(40);
    expect(cluster.logOf(1)).toEqual([old]);
    expect(cluster.logOf(2)).toEqual([old]);
    expect(cluster.node(0).status()).toMatchObject({ role: 'leader', term: 3, commit: 0 });
    for (const commits of cluster.commits.values()) expect(commits).toEqual([]);

    cluster.drop = () => false;
    cluster.run(20);
    for (const id of [0, 1, 2]) expect(cluster.commits.get(id)?.map((c) => [c.seq, c.requests])).toEqual([[1, old.requests]]);
  });

  it('replaces a follower’s conflicting entries, backing off by whole terms', () => {
    const [r1, r2, r3] = [request('a', 1), request('a', 2), request('a', 3)];
    const leaderLog = [batch(1, 1, [r1]), batch(1, 2, [r2]), batch(3, 3, [r3])];
    const divergent = [batch(1, 1, [r1]), batch(2, 2, [request('x', 1)]), batch(2, 3, [request('x', 2)]), batch(2, 4, [request('x', 3)])];
    const cluster = new Cluster([0, 1, 2], {}, { 0: persisted(3, leaderLog), 1: persisted(2, divergent), 2: persisted(1, [batch(1, 1, [r1])]) });
    cluster.elect(0);
    cluster.run(10);

    expect(cluster.logOf(1).map((e) => e.term)).toEqual([1, 1, 3, 4]);
    expect(cluster.logOf(1).slice(0, 3)).toEqual(leaderLog);
    expect(cluster.node(1).status().commit).toBe(4);
    expect(cluster.committedRequests(1)).toEqual([r1, r2, r3]);
    // The three divergent entries of term 2 cost one refusal, not three.
    expect(cluster.trace.filter((t) => t === '1>0 appendResp refused')).toHaveLength(1);
    expectConsistent(cluster);
  });
});

describe('Raft faults', () => {
  it('elects a new leader when the leader crashes; committed batches survive; the old leader catches up on restart', () => {
    const cluster = new Cluster([0, 1, 2, 3, 4]);
    const first = cluster.electLeader();
    const firstTerm = first.status().term;
    cluster.submit(first.id, request('a', 1), request('a', 2), request('a', 3), request('a', 4));
    cluster.run(3);
    expect(cluster.commits.get(first.id)?.map((c) => c.seq)).toEqual([1, 2]);

    cluster.crash(first.id);
    const second = cluster.electLeader();
    expect(second.id).not.toBe(first.id);
    expect(second.status().term).toBeGreaterThan(firstTerm);
    const follower = [0, 1, 2, 3, 4].find((id) => id !== first.id && id !== second.id) as NodeId;
    cluster.submit(follower, request('b', 1), request('b', 2));
    cluster.run(5);
    for (const id of cluster.nodes.keys()) expect(cluster.commits.get(id)?.map((c) => c.seq)).toEqual([1, 2, 3]);

    const restarted = cluster.restart(first.id);
    expect(restarted.status()).toMatchObject({ role: 'follower', commit: cluster.states.get(first.id)?.commit });
    cluster.run(10);
    expect(cluster.commits.get(first.id)?.map((c) => c.seq)).toEqual([1, 2, 3]);
    expectConsistent(cluster);
  });

  it('a partitioned minority commits nothing, keeps its term, and rejoins', () => {
    const cluster = new Cluster([0, 1, 2, 3, 4]);
    const leader = cluster.electLeader();
    const term = leader.status().term;
    const partner = leader.id === 0 ? 1 : 0;
    cluster.isolated = new Set([leader.id, partner]);
    cluster.submit(leader.id, request('m', 1), request('m', 2));
    cluster.run(200);
    expect(cluster.commits.get(leader.id)).toEqual([]);
    expect(cluster.node(leader.id).status().role).not.toBe('leader'); // CheckQuorum
    for (const id of [leader.id, partner]) expect(cluster.node(id).status().term).toBe(term); // pre-vote

    const majorityLeader = cluster.leader() as RaftNode;
    expect(cluster.isolated.has(majorityLeader.id)).toBe(false);
    expect(majorityLeader.status().term).toBe(term + 1);
    const other = [0, 1, 2, 3, 4].find((id) => !cluster.isolated.has(id) && id !== majorityLeader.id) as NodeId;
    cluster.submit(other, request('n', 1), request('n', 2));
    cluster.run(5);
    expect(cluster.commits.get(other)).toHaveLength(1);

    cluster.isolated = new Set();
    cluster.run(100);
    for (const id of [0, 1, 2, 3, 4]) {
      expect(cluster.committedRequests(id).map((r) => `${r.client}${r.timestamp}`).sort()).toEqual(['m1', 'm2', 'n1', 'n2']);
    }
    expectConsistent(cluster);
  });

  it('an isolated follower does not inflate its term or depose the leader when it returns', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    const term = leader.status().term;
    const loner = leader.id === 2 ? 1 : 2;
    cluster.isolated = new Set([loner]);
    cluster.run(150);
    expect(cluster.node(loner).status()).toMatchObject({ term, role: 'preCandidate' });
    cluster.isolated = new Set();
    cluster.run(50);
    expect(cluster.leader()?.id).toBe(leader.id);
    for (const node of cluster.nodes.values()) expect(node.status()).toMatchObject({ term, leader: leader.id });
  });

  it('restarts from persisted term, vote and log', () => {
    const cluster = new Cluster([0, 1, 2]);
    const voter = cluster.node(0);
    const ready = voter.step(1, sign({ type: 'vote', from: 1, term: 4, lastIndex: 0, lastTerm: 0 }, auth(1)));
    expect(ready.state).toMatchObject({ term: 4, votedFor: 1 });
    cluster.states.set(0, ready.state as RaftState);
    const restarted = cluster.restart(0);
    expect(restarted.status().term).toBe(4);
    const vote = (from: NodeId) => restarted.step(from, sign({ type: 'vote', from, term: 4, lastIndex: 0, lastTerm: 0 }, auth(from))).messages[0].message;
    expect(vote(2)).toMatchObject({ granted: false });
    expect(vote(1)).toMatchObject({ granted: true });

    // A log persisted mid-run is whole after a restart, committed requests are not committed twice.
    const run = new Cluster([0, 1, 2]);
    const leader = run.electLeader();
    run.submit(leader.id, request('a', 1), request('a', 2), request('a', 3));
    run.run(5);
    const follower = leader.id === 0 ? 1 : 0;
    const before = run.logOf(follower);
    run.crash(follower);
    const back = run.restart(follower);
    expect(back.status()).toMatchObject({ lastIndex: before.length, commit: run.states.get(follower)?.commit });
    run.submit(leader.id, request('a', 3), request('a', 4));
    run.run(5);
    expect(run.committedRequests(follower)).toEqual([1, 2, 3, 4].map((t) => request('a', t)));
  });

  it('a follower commits only with the acknowledgements its leader counted', () => {
    const protocol = createRaft([0, 1, 2], BASE);
    const follower = protocol.createNode(1, auth(1));
    const entry = batch(1, 1, [request('q', 1)]);
    follower.step(0, sign({ type: 'append', from: 0, term: 1, prevIndex: 0, prevTerm: 0, entries: [entry], commit: 0 }, auth(0)));
    const bare = follower.step(0, sign({ type: 'heartbeat', from: 0, term: 1, commit: 1 }, auth(0)));
    expect(bare.commits).toEqual([]);
    const quorum = { index: 1, epoch: 0, voters: [0, 2] };
    const shown = follower.step(0, sign({ type: 'heartbeat', from: 0, term: 1, commit: 1, quorum }, auth(0)));
    expect(shown.commits).toEqual([{ seq: 1, digest: batchDigest(entry.requests), requests: entry.requests, quorum: [0, 2], epoch: 0 }]);
    expect(shown.state).toMatchObject({ commit: 1 });
    expect(shown.messages[0].message).toMatchObject({ type: 'heartbeatResp', commit: 1 });
  });

  it('emits state only when term, vote, log or commit change', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    const follower = cluster.node(leader.id === 0 ? 1 : 0);
    const heartbeat = sign({ type: 'heartbeat', from: leader.id, term: leader.status().term, commit: 0 }, auth(leader.id));
    expect(follower.step(leader.id, heartbeat).state).toBeUndefined();
    expect(follower.tick().state).toBeUndefined();
  });
});

describe('Raft requests', () => {
  it('applies a request submitted twice, to two nodes, once', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    const twice = request('d', 1);
    cluster.submit(1, twice);
    cluster.submit(2, twice);
    cluster.submit(leader.id, twice, request('d', 2));
    cluster.run(10);
    for (const id of [0, 1, 2]) expect(cluster.committedRequests(id)).toEqual([twice, request('d', 2)]);
    // Suppressed when batching already, not only at apply.
    expect(cluster.logOf(leader.id).flatMap((e) => e.requests)).toEqual([twice, request('d', 2)]);
  });

  it('drops at apply a request that two log entries carry', () => {
    const [r, s] = [request('d', 1), request('d', 2)];
    const log = [batch(1, 1, [r]), batch(1, 2, [r, s])];
    const cluster = new Cluster([0, 1, 2], {}, { 0: persisted(1, log), 1: persisted(1, []), 2: persisted(1, []) });
    cluster.elect(0);
    cluster.run(5);
    for (const id of [0, 1, 2]) {
      expect(cluster.commits.get(id)?.map((c) => [c.seq, c.requests, c.digest])).toEqual([
        [1, [r], batchDigest([r])],
        [2, [s], batchDigest([s])],
      ]);
    }
  });

  it('a request submitted to a follower while no leader is known commits once one is', () => {
    const cluster = new Cluster([0, 1, 2]);
    cluster.submit(1, request('e', 1));
    cluster.electLeader();
    cluster.run(5);
    for (const id of [0, 1, 2]) expect(cluster.committedRequests(id)).toEqual([request('e', 1)]);
  });
});

describe('Raft membership', () => {
  it('adds a node, which catches up and votes, then removes the leader, which steps down', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    cluster.submit(leader.id, request('a', 1), request('a', 2));
    cluster.run(3);
    const joiner = cluster.start(3);
    cluster.run(30);
    expect(joiner.status()).toMatchObject({ role: 'follower', commit: 0 }); // not a member: waits

    cluster.submit(1, request('admin', 1, joinOperation(3)));
    cluster.run(10);
    for (const id of [0, 1, 2, 3]) {
      expect(cluster.node(id).status().members).toEqual([0, 1, 2, 3]);
      expect(cluster.commits.get(id)?.map((c) => [c.seq, c.requests.map((r) => r.operation), c.epoch])).toEqual([
        [1, ['op a 1', 'op a 2'], 0],
        [2, ['join:3'], 0],
      ]);
    }

    // With four voters a majority is three: the joiner's acknowledgement is needed with one node down.
    const down = [0, 1, 2].find((id) => id !== leader.id) as NodeId;
    cluster.crash(down);
    cluster.submit(leader.id, request('a', 3), request('a', 4));
    cluster.run(5);
    const third = cluster.commits.get(leader.id)?.[2] as Commit;
    expect(third).toMatchObject({ seq: 3, epoch: 1 });
    expect(third.quorum).toContain(3);
    expect(cluster.protocol.quorumFor(third)).toBe(3);
    cluster.restart(down);

    cluster.submit(3, request('admin', 2, leaveOperation(leader.id)));
    cluster.run(5);
    expect(cluster.node(leader.id).status()).toMatchObject({ role: 'follower', members: [0, 1, 2, 3].filter((id) => id !== leader.id) });
    cluster.crash(leader.id); // it has left
    const next = cluster.electLeader();
    expect(next.id).not.toBe(leader.id);
    const remaining = [0, 1, 2, 3].filter((id) => id !== leader.id);
    cluster.submit(next.id, request('a', 5), request('a', 6));
    cluster.run(5);
    for (const id of remaining) {
      const last = cluster.commits.get(id)?.at(-1) as Commit;
      expect(last).toMatchObject({ seq: 5, requests: [request('a', 5), request('a', 6)], epoch: 2 });
      expect(last.quorum).not.toContain(leader.id);
      expect(cluster.protocol.quorumFor(last)).toBe(2);
    }
    expectConsistent(cluster);
  });

  it('a removed follower hears of the commit that removed it', () => {
    const cluster = new Cluster([0, 1, 2, 3]);
    const leader = cluster.electLeader();
    const removed = [0, 1, 2, 3].find((id) => id !== leader.id) as NodeId;
    cluster.submit(leader.id, request('admin', 1, leaveOperation(removed)));
    cluster.run(5);
    expect(cluster.commits.get(removed)?.map((c) => c.requests[0].operation)).toEqual([leaveOperation(removed)]);
    expect(cluster.node(removed).status().members).not.toContain(removed);
    // It no longer campaigns: it is not a voter.
    cluster.run(100);
    expect(cluster.node(removed).status()).toMatchObject({ role: 'follower', term: leader.status().term });
  });

  it('proposes one membership change at a time', () => {
    const cluster = new Cluster([0, 1, 2]);
    const leader = cluster.electLeader();
    cluster.submit(leader.id, request('admin', 1, joinOperation(3)), request('admin', 2, leaveOperation(3)));
    const uncommittedChanges = (): number => cluster.logOf(leader.id).filter((e, i) => e.kind === 'config' && i + 1 > leader.status().commit).length;
    expect(uncommittedChanges()).toBe(1);
    cluster.run(3);
    expect(cluster.node(leader.id).status().members).toEqual([0, 1, 2]);
    expect(cluster.commits.get(leader.id)?.map((c) => [c.requests[0].operation, c.epoch])).toEqual([
      ['join:3', 0],
      ['leave:3', 1],
    ]);
  });
});

describe('Raft determinism', () => {
  const scenario = (seed: string): { trace: string[]; commits: Commit[] } => {
    const cluster = new Cluster([0, 1, 2, 3, 4], { seed });
    const first = cluster.electLeader();
    cluster.submit(3, request('a', 1), request('a', 2), request('a', 3));
    cluster.run(10);
    cluster.crash(first.id);
    cluster.electLeader();
    cluster.submit(first.id === 4 ? 3 : 4, request('a', 4));
    cluster.run(10);
    return { trace: cluster.trace, commits: cluster.commits.get(first.id === 2 ? 1 : 2) ?? [] };
  };

  it('repeats a run exactly under the same seed, and times elections differently under another', () => {
    const a = scenario('alpha');
    expect(scenario('alpha')).toEqual(a);
    expect(a.commits.map((c) => c.seq)).toEqual([1, 2, 3]);
    expect(scenario('beta').trace).not.toEqual(a.trace);
  });
});

describe('Raft protocol surface', () => {
  const protocol = createRaft([0, 1, 2, 3, 4], BASE);
  const entry = batch(1, 7, [request('a', 1)]);
  const append = sign<AppendEntries>({ type: 'append', from: 0, term: 1, prevIndex: 0, prevTerm: 0, entries: [entry], commit: 0, quorum: { index: 1, epoch: 0, voters: [0, 1, 2] } }, auth(0));

  it('sizes a message as its canonical JSON', () => {
    const ack = sign({ type: 'appendResp', from: 1, term: 1, success: true, index: 1, seq: 7, commit: 0 }, auth(1));
    const heartbeat = sign({ type: 'heartbeat', from: 0, term: 1, commit: 0, quorum: undefined }, auth(0));
    const empty = sign({ type: 'append', from: 0, term: 2, prevIndex: 1, prevTerm: 1, entries: [], commit: 1, quorum: undefined }, auth(0));
    for (const message of [append, ack, heartbeat, empty]) {
      expect(protocol.wireSize(message)).toBe(canonical(message).length);
      expect(protocol.wireSize(message)).toBe(canonical(message).length);
    }
  });

  it('reports acknowledgements as upTo votes: the follower’s and the leader’s own', () => {
    const ack = sign({ type: 'appendResp', from: 1, term: 1, success: true, index: 1, seq: 7, commit: 0 }, auth(1));
    const refusal = sign({ type: 'appendResp', from: 1, term: 1, success: false, index: 1, commit: 0 }, auth(1));
    expect(protocol.votes(ack)).toEqual([{ voter: 1, seq: 7, digest: '', upTo: true }]);
    expect(protocol.votes(append)).toEqual([{ voter: 0, seq: 7, digest: '', upTo: true }]);
    expect(protocol.votes(refusal)).toEqual([]);
    expect(protocol.maxFaulty()).toBe(2);
    expect(createRaft([0, 1, 2, 3], BASE).maxFaulty()).toBe(1);
  });

  it('drops messages with a broken or borrowed signature', () => {
    const follower = protocol.createNode(1, auth(1));
    const broken = protocol.mutations.badSignature(append);
    expect(verify(broken, auth(1))).toBe(false);
    expect(follower.step(0, broken)).toEqual({ messages: [], commits: [] });
    const borrowed = { ...sign<AppendEntries>({ ...append, from: 2 }, auth(2)), from: 0 };
    expect(follower.step(0, borrowed)).toEqual({ messages: [], commits: [] });
    expect(follower.step(0, append).messages[0].message).toMatchObject({ type: 'appendResp', success: true, index: 1, seq: 7 });
  });

  it('mutates proposals and votes into validly signed lies', () => {
    const forked = protocol.mutations.equivocate(append, auth(0)) as AppendEntries;
    expect(verify(forked, auth(3))).toBe(true);
    expect(forked.entries[0].requests).not.toEqual(entry.requests);
    expect(forked.entries[0]).toMatchObject({ term: 1, seq: 7 });
    const grant = sign({ type: 'voteResp', from: 2, term: 1, granted: true }, auth(2));
    expect(protocol.mutations.conflictingVote(grant, auth(2))).toMatchObject({ granted: false });
    expect(verify(protocol.mutations.conflictingVote(grant, auth(2)) as RaftMessage, auth(0))).toBe(true);
    const heartbeat = sign({ type: 'heartbeat', from: 0, term: 1, commit: 0 }, auth(0));
    expect(protocol.mutations.equivocate(heartbeat, auth(0))).toBeUndefined();
    expect(protocol.mutations.conflictingVote(heartbeat, auth(0))).toBeUndefined();
  });
});

describe('Raft helpers', () => {
  it('draws election timeouts in [min, max], the same for the same seed and node', () => {
    const draws = (seed: string, node: number): number[] => {
      const random = new ElectionRandom(seed, node);
      return Array.from({ length: 200 }, () => random.between(10, 13));
    };
    const a = draws('s', 1);
    expect(new Set(a)).toEqual(new Set([10, 11, 12, 13]));
    expect(draws('s', 1)).toEqual(a);
    expect(draws('s', 2)).not.toEqual(a);
  });
});
