/**
 * Issue 19: the key centres' DKG with a real cheating centre process, on the live chain as
 * the broadcast channel. Among 3 centres (t = 2) the last one deals shares off its
 * commitments and answers the complaints wrongly, or publishes Feldman commitments of
 * another polynomial, or goes silent after dealing (among 5, in process: dkg-round.test.ts,
 * and on the chain: `npm run bench:dkg`). Every centre is its own process
 * (client/bench/dkg-centres.ts, the real KeyGenerationCentreService). The honest ones must
 * finish with the same, right mpk (the qualified dealers' real secrets), shares that give
 * keys verifying against it, and an outcome on the chain naming the cheater. The runs go
 * side by side (distinct DKG ids and ports). Their times are `npm run bench:dkg`'s.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { G1, combinePartialKeys, extractPartial, fromBase64url, ready } from '@emr/crypto';
import type { DkgFault } from '@emr/protocol';
import { EmrClient } from '../../client/src';
import { KeyCentreRegistry } from '../../client/src/fabric/key-centre-registry';
import { runDkgProcesses, stopCentres, type Cheat } from '../../client/bench/dkg-centres';
import { stateDir } from '../../network/src/paths';

jest.setTimeout(300_000);
const work = mkdtempSync(path.join(tmpdir(), 'emr-dkg-cheating-'));
afterAll(() => {
  stopCentres();
  rmSync(work, { recursive: true, force: true });
});
beforeAll(async () => {
  await ready();
});

const expectedFault = (n: number, t: number, cheat: Cheat): { fault: DkgFault; inQual: boolean } =>
  cheat === 'wrong-feldman' ? { fault: 'wrong-feldman', inQual: true } : { fault: n - 1 > t ? 'complaints' : cheat === 'silent' ? 'silent' : 'bad-answer', inQual: false };

const CASES: [number, number, Cheat][] = [
  [3, 2, 'inconsistent-shares'],
  [3, 2, 'wrong-feldman'],
  [3, 2, 'silent'],
];

it.concurrent.each(CASES.map((c, k) => [...c, k] as const))('%i centres, t = %i, the last one %s: the honest finish with the same right mpk, and the chain records who cheated', async (n, t, cheat, k) => {
  const { dkgId, honest, last } = await runDkgProcesses(n, t, cheat, { networkDir: stateDir, workDir: work, basePort: 17400 + 10 * k, phaseMs: 5_000, startMs: 12_000 });
  for (const r of honest) expect(r.error).toBeUndefined();
  const outcomes = honest.map((r) => r.outcome!);
  const { mpk, qual, faults } = outcomes[0]!;
  for (const o of outcomes) expect([o.mpk, o.qual, o.faults, o.publicShares]).toEqual([mpk, qual, faults, outcomes[0]!.publicShares]);
  const { fault, inQual } = expectedFault(n, t, cheat);
  expect(faults).toEqual([{ index: n, fault }]);
  expect(qual).toEqual(Array.from({ length: inQual ? n : n - 1 }, (_, i) => i + 1));

  // The right mpk: the sum of the qualified dealers' real A_0 (the cheater's own, when it is rebuilt).
  const a0 = new Map([...honest, last].filter((r) => r.realA0).map((r) => [r.index, G1.fromBytes(fromBase64url(r.realA0!, 'A0'))]));
  const params = { mpk: G1.fromBytes(fromBase64url(mpk, 'mpk')) };
  expect(params.mpk.equals(qual.reduce((acc, i) => acc.add(a0.get(i)!), G1.ZERO))).toBe(true);
  // t honest centres' shares give an identity key that verifies against it.
  const id = `someone@${randomUUID()}`;
  expect(() => combinePartialKeys(params, id, honest.slice(0, t).map((r) => extractPartial(BigInt(r.index), BigInt(`0x${r.outcome!.secretShare}`), id)))).not.toThrow();

  // The chain: each honest outcome names the cheater, and the evidence against it is there.
  const admin = EmrClient.connect({ org: 'HospitalA', user: 'admin', profile: stateDir });
  try {
    const board = await new KeyCentreRegistry(admin.connection).readDkg(dkgId);
    const posted = board.messages.flatMap((m) => (m.body.phase === 'outcome' ? [[m.index, m.body.faults]] : []));
    for (const r of honest) expect(posted).toContainEqual([r.index, faults]);
    const evidence = board.messages.filter((m) => (cheat === 'wrong-feldman' ? m.body.phase === 'feldman-complaints' && m.body.against.some((a) => a.dealer === n) : m.body.phase === 'complaints' && m.body.against.includes(n)));
    expect(evidence.map((m) => m.index).sort()).toEqual(honest.map((r) => r.index).sort());
  } finally {
    admin.close();
  }
});
