/**
 * A behaviour fingerprint of one protocol over the soak's seeded runs, for refactorings that
 * must not change what nodes do:
 *
 *   npx tsx consensus-plugin/bench/fingerprint.ts --protocol drkpbft --runs 200 [--n 4,7,16] [--seed soak] [--churn] > after.txt
 *
 * One line per run: the seed, the simulator's trace hash (event times, nodes, sizes) and a
 * SHA-256 over everything every node returned, in order: messages (recipient and content),
 * commits and persisted states. `--churn` adds a join and a leave to every run, so epochs
 * reconfigure. Run the same command on the old and the new code and `diff` the outputs; the
 * last line sums what the soak reports (runs, violations, events).
 */
import { createHash, type Hash } from 'node:crypto';
import { parseArgs } from 'node:util';
import { canonical } from '../src/core/digest';
import type { ConsensusNode, Protocol, Ready } from '../src/core/types';
import type { MembershipEvent } from '../src/sim/membership';
import { Network } from '../src/sim/network';
import { simProtocolFactory, SIM_PROTOCOLS, type SimProtocolName } from '../src/sim/protocols';
import { randomScenario, runScenario, SOAK_SETTINGS, type ProtocolFactory } from '../src/sim/scenario';

/** Every Ready a node of `protocol` returns goes into `hash` first. */
function recording(protocol: Protocol<unknown, unknown>, hash: () => Hash): Protocol<unknown, unknown> {
  const record = (id: number, call: string, ready: Ready<unknown, unknown>): Ready<unknown, unknown> => {
    const h = hash();
    h.update(`${id} ${call}\n`);
    for (const { to, message } of ready.messages) h.update(`m ${to} ${canonical(message)}\n`);
    for (const commit of ready.commits) h.update(`c ${canonical(commit)}\n`);
    if (ready.state !== undefined) h.update(`s ${canonical(ready.state)}\n`);
    return ready;
  };
  return {
    ...protocol,
    createNode(id, auth, persisted) {
      const node: ConsensusNode<unknown, unknown> = protocol.createNode(id, auth, persisted);
      return {
        id: node.id,
        step: (from, message) => record(id, `step ${from}`, node.step(from, message)),
        tick: () => record(id, 'tick', node.tick()),
        submit: (request) => record(id, 'submit', node.submit(request)),
        leaderView: () => node.leaderView(),
      };
    },
  };
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      protocol: { type: 'string', default: 'drkpbft' },
      runs: { type: 'string', default: '200' },
      n: { type: 'string', default: '4,7,16' },
      seed: { type: 'string', default: 'soak' },
      churn: { type: 'boolean', default: false },
    },
  });
  const name = values.protocol as SimProtocolName;
  if (!SIM_PROTOCOLS.includes(name)) throw new Error(`--protocol must be one of ${SIM_PROTOCOLS.join(', ')}`);
  const sizes = values.n.split(',').map(Number);
  const base = simProtocolFactory(name);
  let current = createHash('sha256');
  const factory: ProtocolFactory = (spec) => {
    const setup = base(spec);
    return { ...setup, protocol: recording(setup.protocol, () => current) };
  };
  const totals = { runs: 0, unsafe: 0, notLive: 0, events: 0 };
  for (let i = 0; i < Number(values.runs); i++) {
    const seed = `${values.seed}-${i}`;
    const n = sizes[i % sizes.length];
    const scenario = randomScenario(seed, base({ n, network: new Network(n, seed, SOAK_SETTINGS.network), seed, tickMs: SOAK_SETTINGS.tickMs }).protocol, n);
    // The node that leaves is one no fault touches (the simulator refuses a faulty leaver).
    const faulty = new Set(scenario.faults.map((f) => ('node' in f ? f.node : -1)));
    const leaver = Math.max(...Array.from({ length: n }, (_, id) => id).filter((id) => !faulty.has(id)));
    const membership: MembershipEvent[] = values.churn ? [{ kind: 'join', node: n, atMs: 150 }, { kind: 'leave', node: leaver, atMs: 450 }] : [];
    current = createHash('sha256');
    const result = runScenario({ ...scenario, membership }, factory);
    totals.runs++;
    totals.unsafe += result.safe ? 0 : 1;
    totals.notLive += result.live ? 0 : 1;
    totals.events += result.eventsProcessed;
    console.log(`${seed} n=${n} trace ${result.traceHash} outputs ${current.digest('hex').slice(0, 16)} events ${result.eventsProcessed}`);
  }
  console.log(`total: ${totals.runs} runs, ${totals.unsafe} unsafe, ${totals.notLive} not live, ${totals.events} events`);
}

main(process.argv.slice(2));
