/**
 * A run of malformed calls against the live network, shared by the soak test
 * (test/soak/malformed.test.ts, a bounded share) and the soak script (npm run soak:malformed,
 * 10,000 and more): the fixture, the chaincode and HTTP calls with their verdicts, the
 * ledger measured before and after, the nodes' health, and well-formed calls afterwards.
 */
import { EmrClient } from '../../../client/src';
import { canonicalJson } from '@emr/protocol';
import { stateDir } from '../../../network/src/paths';
import { chaincodePlan, judgeChaincode, sendChaincodeCall } from './chaincode-run';
import { snapshot, unhealthyNodes, type LedgerSnapshot } from './checks';
import { identityName, type Gateways } from './gateways';
import { httpPlan, judgeHttp, outcomeOf, prepareReplays, sendRaw, services } from './http-run';
import { runPool } from './plan';
import { Tally, type Outcome } from './tally';
import { makeWorld, type World } from './world';

export const MEMBER_ORGS = ['HospitalA', 'HospitalB', 'ResearchInstitute'] as const;

export interface Prepared {
  world: World;
  before: LedgerSnapshot;
}

/** The fixture, then the ledger as it stands before any malformed call. */
export async function prepare(gateways: Gateways): Promise<Prepared> {
  const world = await makeWorld(gateways);
  return { world, before: await snapshot(gateways, world, MEMBER_ORGS) };
}

export interface RunResult {
  tally: Tally;
  seconds: number;
  callsPerSecond: number;
}

const timed = async (count: number, run: (tally: Tally) => Promise<void>): Promise<RunResult> => {
  const tally = new Tally();
  const t0 = process.hrtime.bigint();
  await run(tally);
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  return { tally, seconds, callsPerSecond: count / seconds };
};

/** `count` malformed chaincode calls, `concurrency` at once; every one judged. */
export function runChaincode(gateways: Gateways, world: World, seed: string, count: number, concurrency: number, progress?: (done: number) => void): Promise<RunResult> {
  const plan = chaincodePlan(world, gateways, seed);
  return timed(count, (tally) =>
    runPool(count, concurrency, async (i) => {
      const call = plan.callAt(i);
      const outcome: Outcome = await sendChaincodeCall(call, gateways);
      const verdict = judgeChaincode(call, outcome);
      tally.add(call.transaction, call.inputClass, outcome, verdict.ok ? undefined : { what: `#${i} ${call.what}; args ${preview(call.args)}`, caller: identityName(call.caller), expected: verdict.expected });
      if ((i + 1) % 500 === 0) progress?.(i + 1);
    }),
  );
}

/** `count` malformed requests to the key centres and proxies; every one judged. */
export async function runHttp(gateways: Gateways, world: World, seed: string, count: number, concurrency: number): Promise<RunResult> {
  const plan = httpPlan(world, gateways, seed, await prepareReplays(gateways, world, services()));
  return timed(count, (tally) =>
    runPool(count, concurrency, async (i) => {
      const call = plan.callAt(i);
      const outcome = outcomeOf(await sendRaw(call.service.port, call.request));
      const verdict = judgeHttp(call, outcome);
      tally.add(`${call.route}`, call.inputClass, outcome, verdict.ok ? undefined : { what: `#${i} ${call.what}`, caller: `${call.service.kind} ${call.service.org}`, expected: verdict.expected });
    }),
  );
}

/** The chain grew nowhere and nothing read back differs: the differences, if any. */
export function ledgerDifferences(before: LedgerSnapshot, after: LedgerSnapshot): string[] {
  const diffs: string[] = [];
  for (const b of before.peers) {
    const a = after.peers.find((p) => p.org === b.org);
    if (!a || a.height !== b.height || a.currentBlockHash !== b.currentBlockHash) diffs.push(`${b.org}'s peer: height ${b.height} → ${a?.height}, last block ${b.currentBlockHash.slice(0, 16)} → ${a?.currentBlockHash.slice(0, 16)}`);
  }
  for (const [name, value] of Object.entries(before.state)) if (after.state[name] !== value) diffs.push(`${name}: ${value.slice(0, 200)} → ${after.state[name]?.slice(0, 200)}`);
  return diffs;
}

/**
 * Well-formed calls after the storm: the researcher reads the victim's record end to end
 * (a logged access request, the key centres, the proxies, IPFS, a receipt), and every
 * member's peer grows by the blocks that wrote.
 */
export async function wellFormedStillWork(gateways: Gateways, world: World, before: LedgerSnapshot): Promise<{ data: string; heights: number[] }> {
  const researcher = EmrClient.connect({ org: 'ResearchInstitute', user: 'researcher1', profile: stateDir });
  try {
    const read = await researcher.fetchRecord(world.victimRecord.recordId, { consentId: world.consent.consentId }, { purpose: 'research' });
    await read.receiptCommitted;
    const after = await snapshot(gateways, world, MEMBER_ORGS);
    if (!after.peers.every((p, i) => p.height > before.peers[i]!.height)) throw new Error(`the well-formed writes did not reach every peer: ${canonicalJson(after.peers)}`);
    return { data: read.data!.toString('utf8'), heights: after.peers.map((p) => p.height) };
  } finally {
    researcher.close();
  }
}

export { snapshot, unhealthyNodes };

const preview = (args: string[]): string => {
  const text = JSON.stringify(args.map((a) => (a.length > 120 ? `${a.slice(0, 60)}…(${a.length} chars)` : a)));
  return text.length > 400 ? `${text.slice(0, 400)}…` : text;
};

/** The run's report: per target the calls, codes and classes, then the first failures. */
export function report(title: string, result: RunResult, maxFailures = 40): string {
  const { tally } = result;
  const lines = [
    `${title}: ${tally.calls} calls in ${result.seconds.toFixed(1)} s (${result.callsPerSecond.toFixed(1)} calls/s), ${tally.failures.length} not refused as they must be`,
    `  by input class: ${[...tally.classes()].map(([k, n]) => `${k} ${n}`).join(', ')}`,
    ...tally.table().split('\n').map((l) => `  ${l}`),
  ];
  for (const f of tally.failures.slice(0, maxFailures)) lines.push(`  FAIL ${f.target} [${f.inputClass}] by ${f.caller}: ${f.what}\n       expected ${f.expected}, got ${f.got}`);
  if (tally.failures.length > maxFailures) lines.push(`  … and ${tally.failures.length - maxFailures} more`);
  return lines.join('\n');
}
