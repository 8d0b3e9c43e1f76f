/**
 * npm run soak:malformed -- [--calls N] [--http N] [--seed S] [--concurrency N]
 *
 * Malformed input at scale against a running network: the operator's (`npm run network -- up`,
 * state in network/.run) or, with EMR_NETWORK_DIR, another. Sends N malformed chaincode calls
 * (default 10,000) through the gateway and N malformed HTTP requests (default 2,000) to the key
 * centres and proxies, with the generator and checks of test/soak/malformed.test.ts; prints
 * the calls per second and the refusal codes per transaction and route, then `0 writes` when
 * no peer's chain grew and nothing read back differs. Exits 1 on any call not refused as it
 * must be, any write, any unhealthy node, or a well-formed read that fails afterwards.
 *
 * It enrolls two patients (malformed-victim-…, malformed-attacker-…) and writes the fixture
 * they need (records, a consent, a break-glass, a benchmark key) into the network it runs on.
 */
import path from 'node:path';
import { isUp, whyNotUp } from '../../network/src/network';
import { stateDir } from '../../network/src/paths';
import { ledgerDifferences, prepare, report, runChaincode, runHttp, snapshot, unhealthyNodes, wellFormedStillWork, MEMBER_ORGS } from '../support/malformed/campaign';
import { Gateways } from '../support/malformed/gateways';
import { seedFromEnv } from '../support/malformed/random';

const USAGE = 'usage: npm run soak:malformed -- [--calls N] [--http N] [--seed S] [--concurrency N]';

function options(argv: string[]): { calls: number; http: number; seed: string; concurrency: number } {
  const o = { calls: 10_000, http: 2_000, seed: seedFromEnv(), concurrency: 8 };
  for (let i = 0; i < argv.length; i += 2) {
    const [flag, value] = [argv[i]!, argv[i + 1]];
    if (value === undefined) throw new Error(`${flag} needs a value; ${USAGE}`);
    if (flag === '--seed') o.seed = value;
    else if (flag === '--calls' || flag === '--http' || flag === '--concurrency') {
      if (!/^\d+$/.test(value) || (flag === '--concurrency' && Number(value) < 1)) throw new Error(`${flag} must be a ${flag === '--concurrency' ? 'positive' : 'non-negative'} integer, not '${value}'; ${USAGE}`);
      o[flag.slice(2) as 'calls' | 'http' | 'concurrency'] = Number(value);
    } else throw new Error(`unknown argument '${flag}'; ${USAGE}`);
  }
  return o;
}

/**
 * The SDK loads kubo-rpc-client (ESM-only, as are its dependencies) with require() when it
 * first reads from IPFS; under tsx that require() fails and every node looks unreachable
 * (client/bench/e2e.ts has the same). Loaded natively first, where the SDK's require() finds it.
 */
async function preloadKubo(): Promise<void> {
  const kubo = await import('kubo-rpc-client');
  const file = require.resolve('kubo-rpc-client');
  require.cache[file] ??= { id: file, filename: file, path: path.dirname(file), loaded: true, exports: kubo, children: [], paths: [] } as unknown as NodeJS.Module;
}

async function main(): Promise<number> {
  const o = options(process.argv.slice(2));
  await preloadKubo();
  if (!(await isUp())) throw new Error(`the network in ${stateDir} is not up (${(await whyNotUp()).join('; ')}): start it with \`npm run network -- up\``);
  console.log(`malformed-input soak on ${stateDir}: ${o.calls} chaincode calls, ${o.http} HTTP requests, ${o.concurrency} at once, seed ${o.seed} (replay: --seed ${o.seed})`);
  const gateways = new Gateways();
  try {
    const t0 = Date.now();
    const { world, before } = await prepare(gateways);
    console.log(`fixture ready in ${((Date.now() - t0) / 1000).toFixed(1)} s; chains at ${before.peers.map((p) => `${p.org} ${p.height}`).join(', ')}`);
    const chaincode = await runChaincode(gateways, world, o.seed, o.calls, o.concurrency, (done) => console.log(`  ${done} chaincode calls sent`));
    console.log(report(`chaincode, seed ${o.seed}`, chaincode));
    const http = await runHttp(gateways, world, o.seed, o.http, o.concurrency);
    console.log(report(`key centres and proxies, seed ${o.seed}`, http));
    const after = await snapshot(gateways, world, MEMBER_ORGS);
    const writes = ledgerDifferences(before, after);
    console.log(writes.length === 0 ? `0 writes: every peer still at height ${after.peers[0]!.height}, last block ${after.peers[0]!.currentBlockHash.slice(0, 16)}…, and the ${Object.keys(after.state).length} probed objects and lists unchanged` : `WRITES:\n  ${writes.join('\n  ')}`);
    const unhealthy = await unhealthyNodes();
    console.log(unhealthy.length === 0 ? 'every node healthy' : `UNHEALTHY: ${unhealthy.join(', ')}`);
    const { heights } = await wellFormedStillWork(gateways, world, before);
    console.log(`a well-formed read of the shared record still works; chains now at ${heights.join(', ')}`);
    const failed = chaincode.tally.failures.length + http.tally.failures.length;
    const total = chaincode.tally.calls + http.tally.calls;
    console.log(`${total} malformed calls (${chaincode.tally.calls} chaincode at ${chaincode.callsPerSecond.toFixed(1)}/s, ${http.tally.calls} HTTP at ${http.callsPerSecond.toFixed(1)}/s): ${failed} not refused as they must be, ${writes.length === 0 ? '0 writes' : `${writes.length} differences in the ledger`}, ${unhealthy.length} unhealthy nodes`);
    return failed === 0 && writes.length === 0 && unhealthy.length === 0 ? 0 : 1;
  } finally {
    gateways.closeAll();
  }
}

main().then(
  (code) => process.exit(code),
  (err: Error) => {
    console.error(err.stack ?? err.message);
    process.exit(1);
  },
);
