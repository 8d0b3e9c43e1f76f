/**
 * How big a replica's state record gets with one-shot clients (one request each, as Fabric
 * transactions are), with the dedup window off and on:
 *
 *   npx tsx consensus-plugin/bench/dedup-state.ts [--protocol drkpbft] [--n 4] [--rate 1000] [--seconds 240] [--windows 0,1024,4096]
 *
 * Runs the simulator with the net cluster's batching (`netProtocolOptions`: batches of 100,
 * 10 ms ticks) and an open loop of `rate` requests/s, and prints, at every 10 % of the run,
 * the bytes of node 0's state record (a `state.log` line) as the replica process writes it on every flush (long
 * strings, which `net/state-file.ts` stores once as blob lines, as references), and how
 * many clients its executed record holds.
 */
import { parseArgs } from 'node:util';
import { recordClients, type ExecutedRecord } from '../src/core/executed';
import { BLOB_MIN } from '../src/net/state-file';
import { observed } from '../src/sim/observe';
import { netProtocolOptions } from '../src/net/cluster';
import { simProtocolFactory, SIM_PROTOCOLS, type SimProtocolName } from '../src/sim/protocols';
import { runScenario, SOAK_SETTINGS, type ProtocolFactory } from '../src/sim/scenario';

interface Sample {
  committed: number;
  positions: number;
  bytes: number;
  clients: number;
}

/** A state record's size: a string of BLOB_MIN characters or more is a `{"$blob":"<sha256>"}` reference. */
const stateFileBytes = (state: unknown): number => JSON.stringify(state, (_k, v: unknown) => (typeof v === 'string' && v.length >= BLOB_MIN ? { $blob: '0'.repeat(64) } : v)).length;

function measure(name: SimProtocolName, n: number, rate: number, seconds: number, dedupWindow: number): Sample[] {
  const { batchSize, batchTimeoutTicks, requestTimeoutTicks } = netProtocolOptions(name, n, 100, 10, 2000);
  const base = simProtocolFactory(name, { batchSize, batchTimeoutTicks, requestTimeoutTicks, dedupWindow });
  let latest: { executed: ExecutedRecord } | undefined;
  const factory: ProtocolFactory = (spec) => {
    const setup = base(spec);
    const protocol = observed(setup.protocol, (id, _input, ready) => {
      if (id === 0 && ready.state !== undefined) latest = ready.state as { executed: ExecutedRecord };
    });
    return { ...setup, protocol };
  };
  const samples: Sample[] = [];
  let committed = 0;
  let nextSampleMs = (seconds * 1000) / 10;
  runScenario(
    {
      protocol: name,
      n,
      seed: 'dedup-state',
      faults: [],
      settings: { ...SOAK_SETTINGS, durationMs: seconds * 1000, livenessBoundMs: 10_000, load: { mode: 'open', ratePerSec: rate, clients: 16, oneShot: true, retryMs: 4000 } },
    },
    factory,
    {
      checkQuorums: false,
      trace: (e) => {
        if (e.kind !== 'commit' || e.node !== 0) return;
        committed += e.commit.requests.length;
        if (e.atMs < nextSampleMs || latest === undefined) return;
        nextSampleMs += (seconds * 1000) / 10;
        samples.push({ committed, positions: e.commit.seq, bytes: stateFileBytes(latest), clients: recordClients(latest.executed).length });
      },
    },
  );
  return samples;
}

function main(argv: string[]): void {
  const { values } = parseArgs({
    args: argv,
    options: {
      protocol: { type: 'string', default: 'drkpbft' },
      n: { type: 'string', default: '4' },
      rate: { type: 'string', default: '1000' },
      seconds: { type: 'string', default: '240' },
      windows: { type: 'string', default: '0,1024,4096' },
    },
  });
  const name = values.protocol as SimProtocolName;
  if (!SIM_PROTOCOLS.includes(name)) throw new Error(`--protocol must be one of ${SIM_PROTOCOLS.join(', ')}`);
  console.log(`${name} n=${values.n}, ${values.rate} one-shot requests/s, batches of 100`);
  console.log('window\tcommitted\tpositions\tstate record bytes\trecord clients');
  for (const window of values.windows.split(',').map(Number)) {
    for (const s of measure(name, Number(values.n), Number(values.rate), Number(values.seconds), window)) {
      console.log(`${window || 'off'}\t${s.committed}\t${s.positions}\t${s.bytes}\t${s.clients}`);
    }
  }
}

main(process.argv.slice(2));
