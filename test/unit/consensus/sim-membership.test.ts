import type { Commit, NodeId } from '../../../consensus-plugin/src/core/types';
import { InvariantChecker } from '../../../consensus-plugin/src/sim/invariants';
import { extraNodesFor, membershipRequest, type MembershipEvent } from '../../../consensus-plugin/src/sim/membership';
import { Network } from '../../../consensus-plugin/src/sim/network';
import { simProtocolFactory, type SimProtocolName } from '../../../consensus-plugin/src/sim/protocols';
import { reproCommand, runScenario, SOAK_SETTINGS, type Scenario } from '../../../consensus-plugin/src/sim/scenario';
import type { TraceEvent } from '../../../consensus-plugin/src/sim/simulator';

interface Observed {
  /** Simulator events: a joiner starting, a leaver stopping. */
  started: Map<NodeId, number>;
  stopped: Map<NodeId, number>;
  /** Per node: the seq and time of each honest commit, and where each membership request committed. */
  commits: Map<NodeId, { seq: number; atMs: number }[]>;
  changeSeq: Map<string, number>;
}

function run(protocol: SimProtocolName, n: number, membership: MembershipEvent[], seed = 'membership'): { scenario: Scenario; result: ReturnType<typeof runScenario>; seen: Observed } {
  // Clients start once the first leader (Raft) is in place: liveness is judged on the changes, not on the first election.
  const settings = { ...SOAK_SETTINGS, durationMs: 3500, load: { ...SOAK_SETTINGS.load, startMs: START_MS } };
  const scenario: Scenario = { protocol, n, seed, faults: [], membership, settings };
  const seen: Observed = { started: new Map(), stopped: new Map(), commits: new Map(), changeSeq: new Map() };
  const trace = (e: TraceEvent<unknown>): void => {
    if (e.kind === 'join') seen.started.set(e.node, e.atMs);
    if (e.kind === 'leave') seen.stopped.set(e.node, e.atMs);
    if (e.kind !== 'commit' || e.byzantine) return;
    const list = seen.commits.get(e.node) ?? [];
    list.push({ seq: e.commit.seq, atMs: e.atMs });
    seen.commits.set(e.node, list);
    for (const r of e.commit.requests) if (r.client === 'membership') seen.changeSeq.set(r.operation, e.commit.seq);
  };
  return { scenario, result: runScenario(scenario, simProtocolFactory(protocol), { trace }), seen };
}

const START_MS = 1000;
const CHANGE_AT_MS = 1200;

const lastSeq = (seen: Observed, node: NodeId): number => seen.commits.get(node)?.at(-1)?.seq ?? 0;

describe.each([
  ['raft', 3],
  ['drkpbft', 4],
] as [SimProtocolName, number][])('simulated join and leave under %s', (protocol, n) => {
  it('a new node joins, catches up and keeps committing with the cluster', () => {
    const joiner = n;
    const { result, seen } = run(protocol, n, [{ kind: 'join', node: joiner, atMs: CHANGE_AT_MS }]);
    expect(result.violations).toEqual([]);
    expect(seen.started.get(joiner)).toBe(CHANGE_AT_MS);
    const joinSeq = seen.changeSeq.get(`join:${joiner}`) as number;
    expect(joinSeq).toBeGreaterThan(0);
    // The cluster went on committing after the join, and the joiner with it, up to the end.
    const final = lastSeq(seen, 0);
    expect(final).toBeGreaterThan(joinSeq + 5);
    expect(lastSeq(seen, joiner)).toBeGreaterThanOrEqual(final - 1);
    expect(seen.commits.get(joiner)?.some((c) => c.seq > joinSeq)).toBe(true);
  });

  it('a member leaves: it stops once it commits its removal, and the rest keep committing', () => {
    const leaver = 1;
    const { result, seen } = run(protocol, n + 1, [{ kind: 'leave', node: leaver, atMs: CHANGE_AT_MS }]);
    expect(result.violations).toEqual([]);
    const leaveSeq = seen.changeSeq.get(`leave:${leaver}`) as number;
    expect(leaveSeq).toBeGreaterThan(0);
    expect(seen.stopped.get(leaver)).toBeGreaterThanOrEqual(CHANGE_AT_MS);
    expect(lastSeq(seen, leaver)).toBe(leaveSeq);
    expect(seen.commits.get(leaver)?.every((c) => c.atMs <= (seen.stopped.get(leaver) as number))).toBe(true);
    for (const node of [0, 2]) expect(lastSeq(seen, node)).toBeGreaterThan(leaveSeq + 5);
  });
});

describe('simulator membership plumbing', () => {
  it('places joiners without moving the genesis nodes', () => {
    const plain = new Network(5, 'place');
    const grown = new Network(5, 'place', {}, 3);
    expect(grown.nodeCount).toBe(8);
    expect(grown.zoneOf.slice(0, 5)).toEqual(plain.zoneOf);
    expect(grown.latencyMatrix()).toEqual(plain.latencyMatrix());
    const all = grown.latencyMatrix(8);
    expect(all).toHaveLength(8);
    expect(all[7][0]).toBeGreaterThan(0);
    expect(all[7][0]).toBe(all[0][7]);
    expect(() => plain.latencyMatrix(6)).toThrow(RangeError);
  });

  it('names the requests and counts the extra nodes', () => {
    const events: MembershipEvent[] = [
      { kind: 'join', node: 6, atMs: 1 },
      { kind: 'leave', node: 2, atMs: 2 },
    ];
    expect(events.map(membershipRequest)).toEqual([
      { client: 'membership', timestamp: 1, operation: 'join:6' },
      { client: 'membership', timestamp: 2, operation: 'leave:2' },
    ]);
    expect(extraNodesFor(events, 4)).toBe(3);
    expect(extraNodesFor([], 4)).toBe(0);
    const scenario: Scenario = { protocol: 'raft', n: 4, seed: 's', faults: [], membership: events, settings: SOAK_SETTINGS };
    expect(reproCommand(scenario)).toContain(`--membership '${JSON.stringify(events)}'`);
  });

  it('asks a joiner for the positions after its join and a leaver for those up to its leave', () => {
    const commit = (seq: number): Commit => ({ seq, digest: `d${seq}`, requests: [{ client: 'c', timestamp: seq, operation: 'x' }], quorum: [], epoch: 0 });
    const checker = new InvariantChecker({
      quorumFor: () => 1,
      livenessNodes: new Set([0]),
      byzantine: new Set(),
      checkQuorums: false,
      changingMembers: new Map<NodeId, 'join' | 'leave'>([
        [1, 'leave'],
        [9, 'join'],
      ]),
    });
    for (let seq = 1; seq <= 4; seq++) checker.recordSubmitted(commit(seq).requests[0], 0);
    for (let seq = 1; seq <= 4; seq++) checker.checkCommit(0, commit(seq), 10);
    checker.recordMembership(1, 'leave', 2);
    checker.recordMembership(9, 'join', 2);
    // The leaver committed 1–2 and stopped; the joiner committed 3 but not 4.
    for (const seq of [1, 2]) checker.checkCommit(1, commit(seq), 10);
    for (const seq of [1, 2, 3]) checker.checkCommit(9, commit(seq), 10);
    checker.checkLiveness(0, 100, 200);
    const [late] = checker.violations();
    expect(late).toMatchObject({ kind: 'liveness' });
    expect(late.detail).toMatch(/^1 of 4 requests .*c\/4 .*\(not by changing member 9\)/);
  });
});
