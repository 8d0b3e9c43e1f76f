/**
 * Distributed key generation for the key generation centres (Gennaro–Jarecki–Krawczyk–
 * Rabin): Pedersen-VSS dealing with complaints decides the qualified set QUAL, then each
 * qualified dealer reveals Feldman commitments to its secret; a dealer whose Feldman
 * commitments disagree with its shares is complained against and its polynomial is
 * reconstructed from the honest centres' shares. The master secret s = Σ_{QUAL} z_i is
 * never held by anyone; centre j holds s_j = Σ_{QUAL} f_i(j), and S_j = s_j·G is public.
 *
 * Each centre is a message-in, message-out state machine; `runDkg` wires them together
 * in one process (the key generation centre service carries the same messages over the network).
 */
import { DST, Fr, G1, hashToG1, randomScalar, type G1Point, type Rng, systemRng } from './group';
import { CryptoError, type PublicParams } from './ibe';
import { backend, type Backend } from './backend';
import { Polynomial, commitmentAt } from './shamir';

/** Second Pedersen generator: hashed to the curve, so nobody knows log_G(H). */
let pedersen: { backend: Backend; h: G1Point } | undefined;
export function pedersenH(): G1Point {
  if (pedersen?.backend !== backend()) pedersen = { backend: backend(), h: hashToG1('pedersen-generator', DST.pedersen) };
  return pedersen.h;
}

export interface PrivateShare {
  /** f_i(j) */
  s: bigint;
  /** the blinding polynomial g_i(j) */
  b: bigint;
}

export interface Dealing {
  dealer: number;
  /** Pedersen commitments C_k = a_k·G + b_k·H (broadcast). */
  pedersen: G1Point[];
  /** Private shares, by recipient index (sent over authenticated private channels). */
  shares: Map<number, PrivateShare>;
}

export interface Complaint {
  from: number;
  against: number;
}

const pedersenAt = (commitments: G1Point[], j: number) => commitmentAt(commitments, BigInt(j));
/** Whether (s, b) is centre j's share under these Pedersen commitments: s·G + b·H = Σ C_k·j^k. */
export const checkPedersen = (c: G1Point[], j: number, sh: PrivateShare): boolean =>
  c.length > 0 && G1.BASE.multiply(sh.s).add(pedersenH().multiply(sh.b)).equals(pedersenAt(c, j));

export class KeyGenerationCentre {
  private readonly f: Polynomial;
  private readonly g: Polynomial;
  private readonly received = new Map<number, PrivateShare>();
  private readonly pedersen = new Map<number, G1Point[]>();

  /** `polynomials`: the ones this centre drew before (kept on disk to resume a DKG after a crash). */
  constructor(
    readonly index: number,
    readonly n: number,
    readonly t: number,
    rng: Rng = systemRng,
    polynomials?: { f: bigint[]; g: bigint[] },
  ) {
    if (!Number.isInteger(index) || index < 1 || index > n) throw new CryptoError(`centre index must be 1..${n}, got ${index}`);
    if (!Number.isInteger(t) || t < 1 || t > n) throw new CryptoError(`threshold must be 1..${n}, got ${t}`);
    if (polynomials && (polynomials.f.length !== t || polynomials.g.length !== t)) throw new CryptoError(`kept polynomials must have t = ${t} coefficients`);
    this.f = polynomials ? new Polynomial(polynomials.f) : Polynomial.random(t, randomScalar(rng), rng);
    this.g = polynomials ? new Polynomial(polynomials.g) : Polynomial.random(t, randomScalar(rng), rng);
  }

  /** This centre's secret polynomials, to keep on disk (owner-only) while a DKG runs. */
  polynomials(): { f: bigint[]; g: bigint[] } {
    return { f: [...this.f.coefficients], g: [...this.g.coefficients] };
  }

  /** Phase 1: deal f(j), g(j) to every centre and broadcast the Pedersen commitments. */
  deal(): Dealing {
    const pedersen = this.f.coefficients.map((a, k) => G1.BASE.multiply(a).add(pedersenH().multiply(this.g.coefficients[k]!)));
    const shares = new Map<number, PrivateShare>();
    for (let j = 1; j <= this.n; j++) shares.set(j, { s: this.f.evaluate(BigInt(j)), b: this.g.evaluate(BigInt(j)) });
    return { dealer: this.index, pedersen, shares };
  }

  /** Receives a dealer's commitments and this centre's share; returns a complaint if they disagree. */
  receive(dealer: number, pedersen: G1Point[], share: PrivateShare | undefined): Complaint | undefined {
    this.pedersen.set(dealer, pedersen);
    if (pedersen.length !== this.t || !share || !checkPedersen(pedersen, this.index, share)) return { from: this.index, against: dealer };
    this.received.set(dealer, share);
    return undefined;
  }

  /** A dealer answers a complaint by broadcasting the disputed share. */
  answer(complaint: Complaint): PrivateShare {
    return { s: this.f.evaluate(BigInt(complaint.from)), b: this.g.evaluate(BigInt(complaint.from)) };
  }

  /** Everyone checks a broadcast answer; a correct one replaces the complainer's share. */
  acceptAnswer(dealer: number, complaint: Complaint, answer: PrivateShare | undefined): boolean {
    const ok = !!answer && checkPedersen(this.pedersen.get(dealer) ?? [], complaint.from, answer);
    if (ok && complaint.from === this.index) this.received.set(dealer, answer!);
    return ok;
  }

  /** Phase 2: a qualified dealer reveals Feldman commitments A_k = a_k·G. */
  feldman(): G1Point[] {
    return this.f.commitments();
  }

  /** Checks a qualified dealer's Feldman commitments against this centre's share. */
  checkFeldman(dealer: number, commitments: G1Point[]): boolean {
    const share = this.received.get(dealer);
    return !!share && commitments.length === this.t && G1.BASE.multiply(share.s).equals(commitmentAt(commitments, BigInt(this.index)));
  }

  /** The share f_i(index) this centre holds from `dealer` (revealed only to reconstruct a cheating dealer). */
  shareFrom(dealer: number): bigint | undefined {
    return this.received.get(dealer)?.s;
  }

  /** The whole Pedersen-checked share (s, b) from `dealer`: what a complaint or a reconstruction reveals. */
  privateShareFrom(dealer: number): PrivateShare | undefined {
    return this.received.get(dealer);
  }

  /** s_j = Σ_{QUAL} f_i(j): this centre's share of the master key. */
  secretShare(qual: number[]): bigint {
    return qual.reduce((acc, i) => {
      const s = this.received.get(i);
      if (!s) throw new CryptoError(`centre ${this.index} has no share from qualified dealer ${i}`);
      return Fr.add(acc, s.s);
    }, 0n);
  }
}

export interface DkgResult {
  params: PublicParams;
  /** Dealers that entered the key. */
  qual: number[];
  /** Dealers excluded, with why. */
  disqualified: { dealer: number; reason: string }[];
  /** Dealers whose Feldman commitments were wrong and whose polynomial was reconstructed. */
  reconstructed: number[];
  /** S_j = s_j·G for every centre j: lets anyone verify that centre's partial keys. */
  publicShares: Map<number, G1Point>;
  /** Each centre's private share, held by that centre only. */
  secretShares: Map<number, bigint>;
}

/** Hooks for tests to make a dealer misbehave. */
export interface DkgFaults {
  /** Replace what `dealer` sends privately to `to` (undefined = send nothing). */
  share?: (dealer: number, to: number, share: PrivateShare) => PrivateShare | undefined;
  /** Replace a dealer's answer to a complaint. */
  answer?: (dealer: number, complaint: Complaint, answer: PrivateShare) => PrivateShare | undefined;
  /** Replace a dealer's Feldman commitments. */
  feldman?: (dealer: number, commitments: G1Point[]) => G1Point[];
}

/** Runs the DKG among `centres` in one process (all broadcasts are seen by all). */
export function runDkg(centres: KeyGenerationCentre[], faults: DkgFaults = {}): DkgResult {
  const { t } = centres[0]!;
  const dealings = centres.map((c) => c.deal());
  const complaints: Complaint[] = [];
  for (const d of dealings) {
    for (const c of centres) {
      const honest = d.shares.get(c.index)!;
      const sent = faults.share ? faults.share(d.dealer, c.index, honest) : honest;
      const complaint = c.receive(d.dealer, d.pedersen, sent);
      if (complaint) complaints.push(complaint);
    }
  }
  const disqualified = new Map<number, string>();
  for (const d of dealings) {
    const against = complaints.filter((c) => c.against === d.dealer);
    if (against.length > t) {
      disqualified.set(d.dealer, `${against.length} complaints (more than t = ${t})`);
      continue;
    }
    for (const complaint of against) {
      const honest = centres[d.dealer - 1]!.answer(complaint);
      const answer = faults.answer ? faults.answer(d.dealer, complaint, honest) : honest;
      const verdicts = centres.map((c) => c.acceptAnswer(d.dealer, complaint, answer));
      if (!verdicts.every(Boolean)) {
        disqualified.set(d.dealer, `answered centre ${complaint.from}'s complaint with a share that fails its commitments`);
        break;
      }
    }
  }
  const qual = dealings.map((d) => d.dealer).filter((i) => !disqualified.has(i));
  if (qual.length < t) throw new CryptoError(`only ${qual.length} centres qualified; at least t = ${t} are needed`);

  // Phase 2: Feldman commitments; a mismatch is answered by reconstructing the dealer's polynomial.
  const feldman = new Map<number, G1Point[]>();
  const reconstructed: number[] = [];
  for (const i of qual) {
    const honest = centres[i - 1]!.feldman();
    const published = faults.feldman ? faults.feldman(i, honest) : honest;
    const complainers = centres.filter((c) => qual.includes(c.index) && !c.checkFeldman(i, published));
    if (complainers.length === 0) {
      feldman.set(i, published);
      continue;
    }
    // GJKR: a complaint reveals the complainer's share, which passed the Pedersen check but not
    // this Feldman check; then f_i is reconstructed in public from t Pedersen-checked shares.
    const proven = complainers.some((c) => c.shareFrom(i) !== undefined && !G1.BASE.multiply(c.shareFrom(i)!).equals(commitmentAt(published, BigInt(c.index))));
    if (!proven) {
      feldman.set(i, published);
      continue;
    }
    const helpers = centres.filter((c) => c.index !== i && c.shareFrom(i) !== undefined).slice(0, t);
    if (helpers.length < t) throw new CryptoError(`cannot reconstruct dealer ${i}: fewer than t = ${t} honest shares`);
    const coefficients = interpolate(helpers.map((c) => ({ x: BigInt(c.index), y: c.shareFrom(i)! })));
    feldman.set(i, coefficients.map((a) => (a === 0n ? G1.ZERO : G1.BASE.multiply(a))));
    reconstructed.push(i);
  }

  const mpk = qual.reduce((acc, i) => acc.add(feldman.get(i)![0]!), G1.ZERO);
  const publicShares = new Map<number, G1Point>();
  const secretShares = new Map<number, bigint>();
  for (const c of centres) {
    publicShares.set(c.index, qual.reduce((acc, i) => acc.add(commitmentAt(feldman.get(i)!, BigInt(c.index))), G1.ZERO));
    secretShares.set(c.index, c.secretShare(qual));
  }
  return {
    params: { mpk },
    qual,
    disqualified: [...disqualified].map(([dealer, reason]) => ({ dealer, reason })),
    reconstructed,
    publicShares,
    secretShares,
  };
}

/** The coefficients of the polynomial of degree < k through k points (expanded Lagrange form). */
export function interpolate(points: { x: bigint; y: bigint }[]): bigint[] {
  const k = points.length;
  const coefficients = new Array<bigint>(k).fill(0n);
  for (const [i, p] of points.entries()) {
    let basis = [1n]; // Π_{j≠i} (x − x_j), lowest degree first
    let den = 1n;
    for (const [j, q] of points.entries()) {
      if (j === i) continue;
      basis = [...basis.map((b) => Fr.neg(Fr.mul(b, q.x))), 0n].map((v, d) => (d > 0 ? Fr.add(v, basis[d - 1]!) : v));
      den = Fr.mul(den, Fr.sub(p.x, q.x));
    }
    const scale = Fr.div(p.y, den);
    for (let d = 0; d < k; d++) coefficients[d] = Fr.add(coefficients[d]!, Fr.mul(basis[d]!, scale));
  }
  return coefficients;
}
