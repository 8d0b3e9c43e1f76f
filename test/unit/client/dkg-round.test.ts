/**
 * The DKG over the chain's board (dkg-round.ts), every centre in this process on the real
 * KeyCentreContract over an in-memory state. One centre cheats each way the GJKR protocol
 * must survive: inconsistent private shares (then a bad answer), Feldman commitments of
 * another polynomial, silence after dealing, silence from the start. The honest centres end
 * with the same, right mpk (the sum of the qualified dealers' real secrets), and every
 * outcome on the board names the cheater.
 */
import { G1, fromBase64url, type G1Point, type PrivateShare } from '@emr/crypto';
import type { DkgFault } from '@emr/protocol';
import { DkgRound, HONEST, type DkgBehaviour, type DkgOutcome } from '../../../client/src/services/dkg-round';
import { memoryDkgBoard } from '../../support/memory-dkg-board';

jest.setTimeout(60_000);
const orgs = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'];

type Cheat = DkgBehaviour | 'absent' | 'silent-after-dealing';
const off = (s: PrivateShare): PrivateShare => ({ s: s.s + 1n, b: s.b });
const CHEATS: Record<string, Cheat> = {
  'inconsistent shares, then a bad answer': { ...HONEST, shareFor: (_to, s) => off(s), answerFor: (_to, s) => off(s) },
  'inconsistent shares, answered honestly (not cheating in the end)': { ...HONEST, shareFor: (to, s) => (to === 1 ? off(s) : s) },
  'Feldman commitments of another polynomial': { ...HONEST, feldman: (c) => c.map((p) => p.add(G1.BASE)) },
  'no Feldman commitments': { ...HONEST, feldman: () => undefined },
  'silent after dealing (no shares, no answers)': 'silent-after-dealing',
  'absent from the start': 'absent',
};
/** With n − 1 complaints against it, a dealer is out at once when that is more than t; else its answers decide. */
const EXPECTED = (n: number, t: number): Record<string, { fault?: DkgFault; inQual: boolean }> => ({
  'inconsistent shares, then a bad answer': { fault: n - 1 > t ? 'complaints' : 'bad-answer', inQual: false },
  'inconsistent shares, answered honestly (not cheating in the end)': { inQual: true },
  'Feldman commitments of another polynomial': { fault: 'wrong-feldman', inQual: true },
  'no Feldman commitments': { fault: 'wrong-feldman', inQual: true },
  'silent after dealing (no shares, no answers)': { fault: n - 1 > t ? 'complaints' : 'silent', inQual: false },
  'absent from the start': { fault: 'silent', inQual: false },
});

async function runDkg(n: number, t: number, cheater: number, cheat: Cheat) {
  const board = memoryDkgBoard();
  const dkgId = `dkg-${n}-${cheater}`;
  const rounds = new Map<number, DkgRound>();
  for (let i = 1; i <= n; i++) {
    if (i === cheater && cheat === 'absent') continue;
    const real = board(orgs[(i - 1) % 3]!, `kgc${i}`);
    // Silent after dealing: its commitments go out, then nothing (no shares, posts or votes).
    const mute = i === cheater && cheat === 'silent-after-dealing';
    const never = () => new Promise<never>(() => undefined);
    const client = mute ? { ...real, postDkg: (m: Parameters<typeof real.postDkg>[0]) => (m.body.phase === 'commitments' ? real.postDkg(m) : never()), closeDkgPhase: never } : real;
    const fetchShare = async (dealer: number) => rounds.get(dealer)?.shareFor(i);
    const behaviour = i !== cheater ? HONEST : mute ? { ...HONEST, shareFor: () => undefined } : (cheat as DkgBehaviour);
    rounds.set(i, new DkgRound({ dkgId, index: i, n, threshold: t, phaseMs: 1_000 }, client, fetchShare, () => undefined, undefined, behaviour));
  }
  const t0 = performance.now();
  const outcomes = new Map<number, DkgOutcome>();
  const silent = cheat === 'silent-after-dealing' ? cheater : undefined;
  const runs = [...rounds].map(([i, r]) => [i, r.run()] as const);
  // A silent centre hangs after its commitments: its run is never awaited.
  await Promise.all(runs.filter(([i]) => i !== silent).map(async ([i, run]) => outcomes.set(i, await run)));
  const ms = performance.now() - t0;
  // The right mpk: Σ z_i·G over the qualified dealers, from their real polynomials.
  const realA0 = (i: number): G1Point => G1.BASE.multiply(rounds.get(i)!.centre.polynomials().f[0]!);
  return { outcomes, ms, realA0, board: await board('HospitalAMSP', 'kgc1').readDkg(dkgId) };
}

describe.each([
  [3, 2],
  [5, 3],
])('n = %i, t = %i, one centre cheating', (n, t) => {
  it.each(Object.keys(CHEATS))('%s: the honest centres agree on the right mpk, and every outcome names the cheater', async (name) => {
    const cheater = n; // the last index: the others finish first and wait for it
    const { outcomes, realA0, board } = await runDkg(n, t, cheater, CHEATS[name]!);
    const honest = [...outcomes].filter(([i]) => i !== cheater).map(([, o]) => o);
    expect(honest).toHaveLength(n - 1);
    const { qual, faults, mpk } = honest[0]!;
    for (const o of honest) expect([o.mpk, o.qual, o.faults, o.publicShares]).toEqual([mpk, qual, faults, honest[0]!.publicShares]);
    const expected = EXPECTED(n, t)[name]!;
    expect(qual.includes(cheater)).toBe(expected.inQual);
    expect(faults).toEqual(expected.fault ? [{ index: cheater, fault: expected.fault }] : []);
    expect(G1.fromBytes(fromBase64url(mpk, 'mpk')).equals(qual.reduce((acc, i) => acc.add(realA0(i)), G1.ZERO))).toBe(true);
    // Each honest centre's share s_j matches the public S_j, so t of them give keys that verify against mpk.
    for (const [i, o] of outcomes) if (i !== cheater) expect(G1.BASE.multiply(BigInt(`0x${o.secretShare}`)).equals(G1.fromBytes(fromBase64url(o.publicShares[i - 1]!, 'S')))).toBe(true);
    // The chain's board holds each honest outcome, naming the cheater.
    const posted = board.messages.filter((m) => m.body.phase === 'outcome' && m.index !== cheater);
    expect(posted.map((m) => (m.body.phase === 'outcome' ? m.body.faults : null))).toEqual(Array(n - 1).fill(faults));
  });
});

describe('the board', () => {
  it('a message is its vote to close the phase before; t votes close a phase and no message enters it after; indices are held', async () => {
    const board = memoryDkgBoard();
    const a = board('HospitalAMSP', 'kgc1');
    const b = board('HospitalBMSP', 'kgc2');
    const late = board('ResearchInstituteMSP', 'kgc3');
    const pedersen = [G1.BASE, G1.BASE.add(G1.BASE)].map((p) => Buffer.from(p.toBytes()).toString('base64url'));
    const msg = (index: number, body: Parameters<typeof a.postDkg>[0]['body']) => ({ dkgId: 'board', n: 3, threshold: 2, index, body });
    await a.postDkg(msg(1, { phase: 'commitments', pedersen }));
    await expect(a.postDkg(msg(1, { phase: 'commitments', pedersen }))).rejects.toThrow(/centre 1 already posted its 'commitments' message/);
    await expect(b.postDkg(msg(1, { phase: 'commitments', pedersen }))).rejects.toThrow(/index 1 of DKG 'board' is held by kgc1@HospitalAMSP/);
    await expect(b.postDkg({ ...msg(2, { phase: 'commitments', pedersen }), n: 4 })).rejects.toThrow(/runs with n = 3, t = 2/);
    await expect(b.closeDkgPhase('board', 'commitments', 1)).rejects.toThrow(/does not hold index 1/);
    await b.postDkg(msg(2, { phase: 'commitments', pedersen }));
    expect((await a.readDkg('board')).closed).toEqual([]);
    await a.postDkg(msg(1, { phase: 'complaints', against: [] })); // votes 'commitments' closed: 1 of 2
    expect((await a.readDkg('board')).closed).toEqual([]);
    await b.closeDkgPhase('board', 'commitments', 2); // waited out centre 3: 2 of 2
    expect((await a.readDkg('board')).closed).toEqual(['commitments']);
    // Closed: a late commitment is refused, and every reader sees the same two.
    await expect(late.postDkg(msg(3, { phase: 'commitments', pedersen }))).rejects.toThrow(/phase 'commitments' of DKG 'board' is closed/);
    expect((await late.readDkg('board')).messages.filter((m) => m.body.phase === 'commitments').map((m) => m.index)).toEqual([1, 2]);
  });
});
