/**
 * Issue 18, point 4, "malformed input at scale", the bounded share CI runs (the soak script,
 * `npm run soak:malformed`, sends 10,000 and more with the same generator and checks).
 *
 * Every transaction of the protocol's table gets malformed calls of every input class that
 * applies to it (wrong types, missing and extra fields and arguments, huge strings, unicode
 * edge cases, other patients' ids, wrong roles, replayed signatures, out-of-range pages and
 * dates) through the gateway, and the key centres and proxies get malformed bodies, wrong
 * signatures, replayed requests and oversized payloads. Each must be refused with the code
 * (and field, or HTTP status) its defect names. Then: no peer's chain grew and the records
 * the calls aimed at read back the same, every node is healthy, and a well-formed read of a
 * shared record still works end to end.
 *
 * The seed is EMR_SEED or random, printed first; the same seed sends the same calls.
 */
import { ALL_TRANSACTIONS, INPUT_CLASSES } from '../support/malformed/chaincode-calls';
import { chaincodePlan } from '../support/malformed/chaincode-run';
import { ledgerDifferences, prepare, report, runChaincode, runHttp, snapshot, unhealthyNodes, wellFormedStillWork, MEMBER_ORGS, type Prepared } from '../support/malformed/campaign';
import { Gateways } from '../support/malformed/gateways';
import { httpPairs } from '../support/malformed/http-calls';
import { seedFromEnv } from '../support/malformed/random';

jest.setTimeout(120_000);

const seed = seedFromEnv();
/** Beyond one call of every (transaction, class) pair, these many drawn at random. */
const EXTRA_CHAINCODE_CALLS = 300;
const HTTP_CALLS = 500;
const CONCURRENCY = 8;

const gateways = new Gateways();
let prepared: Prepared;

beforeAll(async () => {
  console.log(`malformed calls: seed ${seed} (replay with EMR_SEED=${seed})`);
  prepared = await prepare(gateways);
});
afterAll(() => gateways.closeAll());

it('every transaction of every contract gets every input class that applies to it', () => {
  const pairs = chaincodePlan(prepared.world, gateways, seed).pairs;
  const byTransaction = new Map(ALL_TRANSACTIONS.map((t) => [t, pairs.filter((p) => p.target === t).map((p) => p.inputClass)]));
  // Every transaction: at least an extra argument and a replayed signature; those with arguments much more.
  expect(ALL_TRANSACTIONS.filter((t) => !byTransaction.get(t)!.includes('extra-field') || !byTransaction.get(t)!.includes('replayed-signature'))).toEqual([]);
  expect(INPUT_CLASSES.filter((k) => !pairs.some((p) => p.inputClass === k))).toEqual([]);
  expect(pairs.length).toBeGreaterThan(250);
});

it('every malformed chaincode call is refused with the code (and field) its defect names', async () => {
  const pairs = chaincodePlan(prepared.world, gateways, seed).pairs;
  const result = await runChaincode(gateways, prepared.world, seed, pairs.length + EXTRA_CHAINCODE_CALLS, CONCURRENCY);
  console.log(report(`chaincode, seed ${seed}`, result));
  const missed = pairs.filter((p) => !result.tally.byTarget.get(p.target)?.classes.has(p.inputClass)).map((p) => `${p.target} ${p.inputClass}`);
  expect(missed).toEqual([]);
  expect(result.tally.failures).toEqual([]);
});

it('every malformed request to the key centres and proxies is refused with its status and code', async () => {
  const result = await runHttp(gateways, prepared.world, seed, HTTP_CALLS, CONCURRENCY);
  console.log(report(`key centres and proxies, seed ${seed}`, result));
  const missed = httpPairs().filter((p) => !result.tally.byTarget.get(p.target)?.classes.has(p.inputClass)).map((p) => `${p.target} ${p.inputClass}`);
  expect(missed).toEqual([]);
  expect(result.tally.failures).toEqual([]);
});

it('nothing was written: every peer has the same height and last block, and what the calls aimed at reads back the same', async () => {
  const after = await snapshot(gateways, prepared.world, MEMBER_ORGS);
  console.log(`chains before: ${JSON.stringify(prepared.before.peers)}\nchains after:  ${JSON.stringify(after.peers)}`);
  expect(ledgerDifferences(prepared.before, after)).toEqual([]);
});

it('every node is healthy, and a well-formed read of a shared record still works end to end', async () => {
  expect(await unhealthyNodes()).toEqual([]);
  const { data } = await wellFormedStillWork(gateways, prepared.world, prepared.before);
  expect(JSON.parse(data)).toEqual({ resourceType: 'Bundle', type: 'collection' });
});
