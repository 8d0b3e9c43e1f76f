/**
 * One key centre's run of the GJKR DKG with the chain as its broadcast channel (protocol
 * types/dkg.ts, docs/crypto.md "Setup and DKG"). Each phase: post this centre's message,
 * then wait until every message it expects is on the board (its next post will be its vote
 * to close the phase), or until the phase's deadline, when it votes on its own and reads the
 * phase once t votes closed it. Only messages from the centres a phase expects count, so
 * what a centre saw of a phase when all it expected was there is what the closed phase
 * holds, for every centre. Every decision (QUAL, who cheated, the rebuilt polynomials) is a
 * function of those messages, so every honest centre reaches the same one. Private shares
 * travel sealed over HTTP, outside this file (`fetchShare`).
 */
import { G1, KeyGenerationCentre, checkPedersen, commitmentAt, fromBase64url, interpolate, toBase64url, type G1Point, type PrivateShare } from '@emr/crypto';
import { encodeParty, type DkgBoard, type DkgBody, type DkgFault, type DkgMessage, type DkgPhase } from '@emr/protocol';
import { ConflictError, retryIdempotent } from '../fabric/errors';
import type { KeyCentreRegistry } from '../fabric/key-centre-registry';

export interface DkgRoundConfig {
  dkgId: string;
  index: number;
  n: number;
  threshold: number;
  /** How long a phase waits for a silent centre before this centre votes to close it. */
  phaseMs: number;
  /** index → the identity (`enrollmentId@MSP`) that speaks for it; a message from anyone else is ignored. */
  members?: Map<number, string>;
}

export type DkgBoardClient = Pick<KeyCentreRegistry, 'postDkg' | 'closeDkgPhase' | 'readDkg'>;

/**
 * What this centre sends. Honest by default; a test's cheating centre (a real process)
 * overrides these, and only these, to lie.
 */
export interface DkgBehaviour {
  /** The private share dealt to centre `to` (undefined: send nothing). */
  shareFor(to: number, honest: PrivateShare): PrivateShare | undefined;
  /** The share revealed to answer `to`'s complaint (undefined: no answer). */
  answerFor(to: number, honest: PrivateShare): PrivateShare | undefined;
  /** The Feldman commitments (undefined: post none). */
  feldman(honest: G1Point[]): G1Point[] | undefined;
}
export const HONEST: DkgBehaviour = { shareFor: (_to, s) => s, answerFor: (_to, s) => s, feldman: (c) => c };

export interface DkgOutcome {
  mpk: string;
  publicShares: string[];
  qual: number[];
  faults: { index: number; fault: DkgFault }[];
  /** s_j, hex: this centre's share of the master key. */
  secretShare: string;
}

const point = (p: G1Point) => toBase64url(p.toBytes());
const hex = (s: PrivateShare) => ({ s: s.s.toString(16), b: s.b.toString(16) });
const scalars = (r: { s: string; b: string }): PrivateShare => ({ s: BigInt(`0x${r.s}`), b: BigInt(`0x${r.b}`) });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Points of a board message, or undefined when one is not in G1 (that dealer counts as silent). */
function points(encoded: string[]): G1Point[] | undefined {
  try {
    return encoded.map((p) => G1.fromBytes(fromBase64url(p, 'point')));
  } catch {
    return undefined;
  }
}

export class DkgRound {
  readonly centre: KeyGenerationCentre;
  private readonly dealing: ReturnType<KeyGenerationCentre['deal']>;

  constructor(
    private readonly config: DkgRoundConfig,
    private readonly board: DkgBoardClient,
    private readonly fetchShare: (dealer: number) => Promise<PrivateShare | undefined>,
    private readonly log: (line: string) => void,
    polynomials?: { f: bigint[]; g: bigint[] },
    private readonly behaviour: DkgBehaviour = HONEST,
  ) {
    this.centre = new KeyGenerationCentre(config.index, config.n, config.threshold, undefined, polynomials);
    this.dealing = this.centre.deal();
  }

  /** The share this centre deals to centre `to` (served sealed by the key centre's HTTP route). */
  shareFor(to: number): PrivateShare | undefined {
    const honest = this.dealing.shares.get(to);
    return honest && this.behaviour.shareFor(to, honest);
  }

  async run(): Promise<DkgOutcome> {
    const { index: me, n, threshold: t } = this.config;
    const all = Array.from({ length: n }, (_, i) => i + 1);

    // 1. Pedersen commitments, then each dealer's private share, checked.
    await this.post({ phase: 'commitments', pedersen: this.dealing.pedersen.map(point) });
    let board = await this.close('commitments', all);
    const pedersen = new Map<number, G1Point[]>();
    for (const m of this.messages(board, 'commitments', all)) {
      const c = m.body.phase === 'commitments' ? points(m.body.pedersen) : undefined;
      if (c) pedersen.set(m.index, c);
    }
    const dealt = [...pedersen.keys()].sort((a, b) => a - b);
    const complaints: number[] = [];
    for (const dealer of dealt) {
      const share = dealer === me ? this.dealing.shares.get(me) : await this.fetchShare(dealer);
      if (this.centre.receive(dealer, pedersen.get(dealer)!, share)) complaints.push(dealer);
    }

    // 2. Complaints; 3. each dealer answers the complaints against it in public.
    await this.post({ phase: 'complaints', against: complaints });
    board = await this.close('complaints', dealt);
    const against = (dealer: number) => this.messages(board, 'complaints', dealt).filter((m) => m.body.phase === 'complaints' && m.body.against.includes(dealer)).map((m) => m.index);
    const answers = against(me).flatMap((to) => {
      const a = this.behaviour.answerFor(to, this.centre.answer({ from: to, against: me }));
      return a ? [{ to, ...hex(a) }] : [];
    });
    await this.post({ phase: 'answers', answers });
    const complained = dealt.filter((d) => against(d).length > 0);
    board = await this.close('answers', complained);
    const answered = new Map(this.messages(board, 'answers', complained).map((m) => [m.index, m.body.phase === 'answers' ? m.body.answers : []]));
    const faults = new Map<number, DkgFault>(all.filter((i) => !pedersen.has(i)).map((i) => [i, 'silent']));
    for (const dealer of dealt) {
      const froms = against(dealer);
      if (froms.length > t) faults.set(dealer, 'complaints');
      else if (froms.length > 0 && !answered.has(dealer)) faults.set(dealer, 'silent');
      else if (!froms.every((to) => this.centre.acceptAnswer(dealer, { from: to, against: dealer }, this.answerTo(answered.get(dealer), to)))) faults.set(dealer, 'bad-answer');
    }
    const qual = dealt.filter((d) => !faults.has(d));
    if (qual.length < t) throw new Error(`DKG '${this.config.dkgId}' failed: only ${qual.length} centres qualified, ${t} needed (${this.describe(faults)})`);
    const inQual = qual.includes(me);

    // 4. Feldman commitments of the qualified; 5. complaints against them, each with its proof.
    // Every centre posts in every phase (its vote for the one before); only the qualified count.
    const mine = this.behaviour.feldman(this.centre.feldman());
    if (mine) await this.post({ phase: 'feldman', commitments: mine.map(point) });
    board = await this.close('feldman', qual);
    const feldman = new Map<number, G1Point[]>();
    for (const m of this.messages(board, 'feldman', qual)) {
      const c = m.body.phase === 'feldman' ? points(m.body.commitments) : undefined;
      if (c) feldman.set(m.index, c);
    }
    const wrong = inQual ? qual.filter((d) => d !== me && !(feldman.has(d) && this.centre.checkFeldman(d, feldman.get(d)!))) : [];
    await this.post({ phase: 'feldman-complaints', against: wrong.map((dealer) => ({ dealer, ...hex(this.centre.privateShareFrom(dealer)!) })) });
    board = await this.close('feldman-complaints', qual);
    // A dealer is rebuilt when it posted no Feldman commitments, or a complaint proves them
    // wrong: the revealed share passes its Pedersen commitments but not its Feldman ones.
    const proven = (dealer: number) =>
      this.messages(board, 'feldman-complaints', qual).some((m) => {
        const c = m.body.phase === 'feldman-complaints' ? m.body.against.find((a) => a.dealer === dealer) : undefined;
        if (!c) return false;
        const share = scalars(c);
        return checkPedersen(pedersen.get(dealer)!, m.index, share) && !G1.BASE.multiply(share.s).equals(commitmentAt(feldman.get(dealer)!, BigInt(m.index)));
      });
    const rebuild = qual.filter((d) => !feldman.has(d) || proven(d));

    // 6. Everyone reveals its shares from those dealers; their polynomials are rebuilt in public.
    await this.post({ phase: 'reveals', shares: inQual ? rebuild.filter((d) => d !== me).map((dealer) => ({ dealer, ...hex(this.centre.privateShareFrom(dealer)!) })) : [] });
    board = await this.close('reveals', rebuild.length > 0 ? qual : []);
    for (const dealer of rebuild) {
      const shares = this.messages(board, 'reveals', qual).flatMap((m) => {
        const r = m.body.phase === 'reveals' && m.index !== dealer ? m.body.shares.find((x) => x.dealer === dealer) : undefined;
        return r && checkPedersen(pedersen.get(dealer)!, m.index, scalars(r)) ? [{ x: BigInt(m.index), y: scalars(r).s }] : [];
      });
      if (shares.length < t) throw new Error(`DKG '${this.config.dkgId}' failed: centre ${dealer} must be rebuilt, but only ${shares.length} valid shares of it were revealed (${t} needed)`);
      feldman.set(dealer, interpolate(shares.slice(0, t)).map((a) => (a === 0n ? G1.ZERO : G1.BASE.multiply(a))));
      faults.set(dealer, 'wrong-feldman');
    }

    const mpk = qual.reduce((acc, i) => acc.add(feldman.get(i)![0]!), G1.ZERO);
    const publicShares = all.map((j) => qual.reduce((acc, i) => acc.add(commitmentAt(feldman.get(i)!, BigInt(j))), G1.ZERO));
    const secretShare = this.centre.secretShare(qual);
    if (!G1.BASE.multiply(secretShare).equals(publicShares[me - 1]!)) throw new Error(`DKG '${this.config.dkgId}' failed: centre ${me}'s share does not match its public share`);
    const outcome: DkgOutcome = {
      mpk: point(mpk),
      publicShares: publicShares.map(point),
      qual,
      faults: [...faults].sort(([a], [b]) => a - b).map(([index, fault]) => ({ index, fault })),
      secretShare: secretShare.toString(16),
    };
    await this.post({ phase: 'outcome', mpk: outcome.mpk, qual, faults: outcome.faults });
    this.log(`DKG '${this.config.dkgId}': done; QUAL = {${qual.join(', ')}}${faults.size ? `; ${this.describe(faults)}` : ''}`);
    return outcome;
  }

  private answerTo(answers: { to: number; s: string; b: string }[] | undefined, to: number): PrivateShare | undefined {
    const a = answers?.find((x) => x.to === to);
    return a && scalars(a);
  }

  private describe(faults: Map<number, DkgFault>): string {
    return [...faults].map(([i, f]) => `centre ${i}: ${f}`).join(', ');
  }

  /** A phase's messages from `from` (each speaking for its index, when the members are known). */
  private messages(board: DkgBoard, phase: DkgPhase, from: number[]): DkgMessage[] {
    const { members } = this.config;
    return board.messages.filter((m) => m.body.phase === phase && from.includes(m.index) && (!members || members.get(m.index) === encodeParty(m.sender)));
  }

  /** Posts this centre's message of a phase; one already on the board (a resumed run), or a closed phase, stands. */
  private async post(body: DkgBody): Promise<void> {
    const { dkgId, n, threshold, index } = this.config;
    try {
      await retryIdempotent(() => this.board.postDkg({ dkgId, n, threshold, index, body }));
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      this.log(`DKG '${dkgId}': my '${body.phase}' message was not taken: ${err.detail}`);
    }
  }

  /**
   * Answers the board once `expected` all posted in `phase` (this centre's next post is its
   * vote to close it), or once the phase is closed: after its deadline this centre votes on
   * its own and waits for t votes.
   */
  private async close(phase: DkgPhase, expected: number[]): Promise<DkgBoard> {
    const { dkgId, index, phaseMs } = this.config;
    const deadline = Date.now() + phaseMs;
    let voted = false;
    for (;;) {
      const board = await this.board.readDkg(dkgId);
      if (board.closed.includes(phase)) return board;
      const posted = new Set(this.messages(board, phase, expected).map((m) => m.index));
      const missing = expected.filter((i) => !posted.has(i));
      if (missing.length === 0) return board;
      if (!voted && Date.now() >= deadline) {
        this.log(`DKG '${dkgId}': closing '${phase}' without centre(s) ${missing.join(', ')} (${phaseMs} ms passed)`);
        await retryIdempotent(() => this.board.closeDkgPhase(dkgId, phase, index));
        voted = true;
      }
      await sleep(100);
    }
  }
}
