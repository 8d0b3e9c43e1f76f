/**
 * The dedup window (`ClusterOptions.dedupWindow`) in the simulator: one-shot clients (one
 * request each, as Fabric transactions are) under load, a replica crashing and restarting
 * from its persisted state. With the window the persisted record of executed requests stays
 * bounded by what ran in the last `window` positions, and the simulator's invariants
 * (agreement, each request once, liveness) hold; without it the record holds every client.
 */
import { recordClients, type ExecutedRecord } from '../../../consensus-plugin/src/core/executed';
import type { ClusterOptions, Commit, NodeId } from '../../../consensus-plugin/src/core/types';
import { observed } from '../../../consensus-plugin/src/sim/observe';
import { simProtocolFactory } from '../../../consensus-plugin/src/sim/protocols';
import type { TraceEvent } from '../../../consensus-plugin/src/sim/simulator';
import { runScenario, SOAK_SETTINGS, type ProtocolFactory, type ScenarioResult } from '../../../consensus-plugin/src/sim/scenario';

const WINDOW = 16;

/** The factory of `name` with `options`, keeping every node's last persisted state in `states`. */
function keepingStates(name: 'pbft' | 'drkpbft', options: Partial<ClusterOptions>, states: Map<NodeId, unknown>): ProtocolFactory {
  const factory = simProtocolFactory(name, options);
  return (spec) => {
    const setup = factory(spec);
    const protocol = observed(setup.protocol, (id, _input, ready) => {
      if (ready.state !== undefined) states.set(id, ready.state);
    });
    return { ...setup, protocol };
  };
}

function run(name: 'pbft' | 'drkpbft', n: number, dedupWindow: number): { result: ScenarioResult; records: Map<NodeId, ExecutedRecord>; commits: Map<NodeId, Map<number, Commit>> } {
  const states = new Map<NodeId, unknown>();
  const commits = new Map<NodeId, Map<number, Commit>>();
  const trace = (e: TraceEvent<unknown>): void => {
    if (e.kind !== 'commit') return;
    if (!commits.has(e.node)) commits.set(e.node, new Map());
    commits.get(e.node)?.set(e.commit.seq, e.commit);
  };
  const result = runScenario(
    {
      protocol: name,
      n,
      seed: `dedup-window-${name}-${n}`,
      faults: [{ kind: 'crash', node: n - 1, atMs: 800, restartAtMs: 1000 }],
      settings: { ...SOAK_SETTINGS, durationMs: 3000, livenessBoundMs: 1500, load: { clients: 16, window: 2, retryMs: 300, oneShot: true } },
    },
    keepingStates(name, { dedupWindow }, states),
    { trace },
  );
  const persisted = states as Map<NodeId, { executed: ExecutedRecord }>;
  return { result, records: new Map([...persisted].map(([id, s]) => [id, s.executed])), commits };
}

describe('dedup window in the simulator, one-shot clients', () => {
  it.each([
    ['pbft', 4],
    ['drkpbft', 4],
    ['drkpbft', 16],
  ] as const)('%s n = %i: the persisted record holds exactly the clients of the last window positions, and the invariants hold', (name, n) => {
    const on = run(name, n, WINDOW);
    expect(on.result.violations).toEqual([]);
    expect(on.records.size).toBe(n);
    for (const [id, record] of on.records) {
      const log = on.commits.get(id) ?? new Map<number, Commit>();
      const last = Math.max(...log.keys());
      const recent = [...log.values()].filter((c) => c.seq > last - WINDOW).flatMap((c) => c.requests.map((r) => r.client));
      expect(recordClients(record).sort()).toEqual(recent.sort());
      expect(recent.length * 4).toBeLessThan(on.result.metrics.requestsCommitted);
    }

    const off = run(name, n, 0);
    expect(off.result.violations).toEqual([]);
    for (const [id, record] of off.records) expect(recordClients(record)).toHaveLength([...(off.commits.get(id)?.values() ?? [])].reduce((sum, c) => sum + c.requests.length, 0));
    const recordBytes = (records: Map<NodeId, ExecutedRecord>): number[] => [...records.values()].map((r) => JSON.stringify(r).length);
    expect(Math.max(...recordBytes(on.records)) * 4).toBeLessThan(Math.min(...recordBytes(off.records)));
  }, 60_000);
});
