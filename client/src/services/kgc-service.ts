/**
 * A key generation centre: one per member org. On first start the n centres run the DKG
 * among themselves over HTTP (GJKR, the message flow of @emr/crypto's runDkg), each keeps
 * its share s_j on disk, and registers the public outcome (mpk, every S_j, QUAL) on chain.
 * Afterwards it serves partial identity keys d_j = s_j·H_Q(id) to enrolled users who sign
 * their request with their Fabric key: for their own identity, and for slot identities of
 * records they own. Nobody, this service included, ever holds the master secret.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { G1, KeyGenerationCentre, commitmentAt, extractPartial, toBase64url, fromBase64url, type G1Point, type PrivateShare } from '@emr/crypto';
import type http from 'node:http';
import { encodeParty, pseudonymOf, type Caller } from '@emr/protocol';
import { KeyCentreRegistry } from '../fabric/key-centre-registry';
import { retryMvcc } from '../fabric/errors';
import { keyCentreClient } from '../wire/call';
import type { DkgShare, KeyCentreRoutes } from '../wire/routes';
import type { RequestSigner } from '../wire/signed-requests';
import { NonceCache, type TrustedCas } from './auth';
import { CallerLimiter, authenticate, onlyFields, sealedAnswer } from './guard';
import { HttpError, serveJson, type Handlers, type Request, type ServerLimits } from './http';
import { hexScalar, privateDir, readPrivate, tightenFiles, writePrivate } from './state-files';

export interface KgcConfig {
  index: number;
  n: number;
  threshold: number;
  port: number;
  endpoint: string;
  /** index → base URL of every centre (including this one). */
  peers: Map<number, string>;
  /** index → MSP id of the org running that centre. */
  mspOfIndex: Map<number, string>;
  stateDir: string;
  trust: TrustedCas;
  /** HTTP limits (tests shorten them). */
  limits?: Partial<ServerLimits>;
}

/** What the centre needs of its Fabric connection: a request signer, and the on-chain registry. */
export interface KgcDeps {
  signer: RequestSigner;
  registry: Pick<KeyCentreRegistry, 'list' | 'register'>;
}

interface Outcome {
  mpk: string;
  publicShares: string[];
  qual: number[];
  /** s_j, hex: this centre's share of the master key. */
  secretShare: string;
}

/**
 * Who may get the key of an identity: a user his own (`enrollmentId@MSP`); a patient the
 * slots of his pseudonym (pre.ts slotIdentity, owner = pseudonym). The pseudonym is derived
 * from the patient's own enrollment key (protocol pseudonyms.ts), so the signed request's
 * certificate decides ownership; no chain read.
 */
export function mayExtract(caller: Caller, certificate: string, identity: string): boolean {
  if (identity === encodeParty(caller)) return true;
  const prefix = 'emr-slot:v1:';
  if (!identity.startsWith(prefix) || caller.role !== 'patient') return false;
  let owner: unknown;
  try {
    [owner] = JSON.parse(identity.slice(prefix.length)) as unknown[];
  } catch {
    return false;
  }
  return typeof owner === 'string' && owner === pseudonymOf(caller.mspId, certificate);
}

/** The DKG phases a centre publishes, each served by its `GET /v1/dkg/<phase>` route. */
type DkgRoute = 'GET /v1/dkg/commitments' | 'GET /v1/dkg/complaints' | 'GET /v1/dkg/answers' | 'GET /v1/dkg/feldman';
type Published = { [P in DkgRoute as P extends `GET /v1/dkg/${infer Phase}` ? Phase : never]: KeyCentreRoutes[P]['answer'] };

const point = (p: G1Point) => toBase64url(p.toBytes());
const readPoint = (s: string) => G1.fromBytes(fromBase64url(s, 'point'));
/** A DKG share as it travels; a malformed one counts as missing (a complaint) and is never quoted. */
const readShare = (raw: DkgShare | undefined): PrivateShare | undefined => {
  try {
    return raw ? { s: hexScalar(raw.s, 'share s'), b: hexScalar(raw.b, 'share b') } : undefined;
  } catch {
    return undefined;
  }
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KeyGenerationCentreService {
  private dealing?: ReturnType<KeyGenerationCentre['deal']>;
  /** Published DKG messages of this centre, by phase. */
  private readonly published: Partial<Published> = {};
  private outcome?: Outcome;
  private server?: http.Server;
  private readonly nonces = new NonceCache();
  /** Per caller: 600 key extractions a minute (each a hash to G2 and a multiplication, done synchronously). */
  private readonly limiter = new CallerLimiter({ inFlight: 4, perWindow: 600, windowMs: 60_000 });

  constructor(
    private readonly config: KgcConfig,
    private readonly deps: KgcDeps,
    private readonly log: (line: string) => void,
  ) {}

  private get stateFile() {
    return path.join(this.config.stateDir, `kgc-${this.config.index}.json`);
  }

  /** Loads a kept share and serves HTTP (the DKG and registration are start's). */
  async listen(): Promise<http.Server> {
    privateDir(this.config.stateDir);
    tightenFiles(this.config.stateDir);
    if (existsSync(this.stateFile)) {
      this.outcome = readPrivate<Outcome>(this.stateFile);
      hexScalar(this.outcome.secretShare, `${this.stateFile}: secretShare`); // a damaged share stops the start here
    }
    this.server = await serveJson(this.config.port, this.routes(), this.log, this.config.limits);
    this.log(`key centre ${this.config.index}/${this.config.n} listening on ${this.config.endpoint}`);
    return this.server;
  }

  close(): void {
    this.server?.close();
    this.server?.closeAllConnections();
  }

  async start(): Promise<void> {
    if (!this.server) await this.listen();
    if (!this.outcome) {
      this.outcome = await this.runDkg();
      writePrivate(this.stateFile, this.outcome);
    }
    await this.register(this.outcome);
  }

  private routes(): Handlers<KeyCentreRoutes> {
    const phase = <P extends keyof Published>(name: P) => async () => {
      const published = this.published[name];
      if (published === undefined) throw new HttpError(409, 'NOT_READY', `phase '${name}' has not been reached`);
      return published;
    };
    return {
      'GET /v1/health': async () => ({ index: this.config.index, ready: !!this.outcome }),
      'GET /v1/dkg/commitments': phase('commitments'),
      'GET /v1/dkg/complaints': phase('complaints'),
      'GET /v1/dkg/answers': phase('answers'),
      'GET /v1/dkg/feldman': phase('feldman'),
      // The private share for the calling centre: only that centre's kgc identity gets it,
      // sealed to the ephemeral key in its signed request.
      'GET /v1/dkg/share': async (req: Request) => {
        const signed = this.authenticate(req);
        const { caller } = signed;
        const index = [...this.config.mspOfIndex].find(([, msp]) => msp === caller.mspId)?.[0];
        if (caller.role !== 'kgc' || index === undefined) throw new HttpError(403, 'UNAUTHORIZED', 'only the key centres fetch DKG shares');
        if (!this.dealing) throw new HttpError(409, 'NOT_READY', 'not dealt yet');
        const share = this.dealing.shares.get(index)!;
        return sealedAnswer(req, signed, { s: share.s.toString(16), b: share.b.toString(16) });
      },
      'POST /v1/keys': async (req: Request) => {
        const signed = this.authenticate(req);
        const { caller } = signed;
        const body = req.json<{ identity?: unknown }>();
        onlyFields(body, ['identity'], '{identity}');
        const { identity } = body;
        if (typeof identity !== 'string' || identity.length === 0 || identity.length > 1024) throw new HttpError(400, 'INVALID_ARGUMENT', 'identity must be a non-empty string of at most 1024 characters');
        if (!signed.replyKey) throw new HttpError(400, 'INVALID_ARGUMENT', 'x-emr-reply-key is required: partial keys are only served sealed to the requester');
        if (!mayExtract(caller, signed.certificate, identity)) throw new HttpError(403, 'UNAUTHORIZED', `'${caller.enrollmentId}@${caller.mspId}' may not get the key of '${identity}'`);
        if (!this.outcome) throw new HttpError(503, 'NOT_READY', 'the DKG has not completed');
        const { secretShare } = this.outcome;
        return this.limiter.run(encodeParty(caller), async () => {
          const partial = extractPartial(BigInt(this.config.index), hexScalar(secretShare, 'secretShare'), identity);
          return sealedAnswer(req, signed, { index: this.config.index, key: toBase64url(partial.key.toBytes()) });
        });
      },
    };
  }

  private authenticate(req: Request) {
    return authenticate(req, this.config.trust, this.nonces, this.config.endpoint);
  }

  /** Polls every other centre for a phase's message until all answered or the deadline passed. */
  private async collect<R extends DkgRoute | 'GET /v1/dkg/share'>(what: string, route: R, timeoutMs = 120_000): Promise<Map<number, KeyCentreRoutes[R]['answer']>> {
    const got = new Map<number, KeyCentreRoutes[R]['answer']>();
    const deadline = Date.now() + timeoutMs;
    const others = [...this.config.peers].filter(([i]) => i !== this.config.index);
    while (got.size < others.length && Date.now() < deadline) {
      for (const [i, base] of others) {
        if (got.has(i)) continue;
        try {
          got.set(i, await keyCentreClient(i, base, route === 'GET /v1/dkg/share' ? this.deps.signer : undefined, 5000).get(route));
        } catch {
          /* not there yet */
        }
      }
      if (got.size < others.length) await sleep(250);
    }
    const missing = others.filter(([i]) => !got.has(i)).map(([i]) => i);
    if (missing.length) this.log(`DKG ${what}: no answer from centre(s) ${missing.join(', ')}`);
    return got;
  }

  private async runDkg(): Promise<Outcome> {
    const { index, n, threshold: t } = this.config;
    this.log(`DKG: dealing as centre ${index} of ${n} (threshold ${t})`);
    const centre = new KeyGenerationCentre(index, n, t);
    this.dealing = centre.deal();
    this.published.commitments = { pedersen: this.dealing.pedersen.map(point) };

    // Phase 1: everyone's Pedersen commitments and my private share from each dealer.
    const commitments = await this.collect('commitments', 'GET /v1/dkg/commitments');
    const shares = await this.collect('shares', 'GET /v1/dkg/share');
    const pedersen = new Map<number, G1Point[]>([[index, this.dealing.pedersen]]);
    const complaints: number[] = [];
    centre.receive(index, this.dealing.pedersen, this.dealing.shares.get(index));
    for (let i = 1; i <= n; i++) {
      if (i === index) continue;
      const c = commitments.get(i)?.pedersen.map(readPoint) ?? [];
      pedersen.set(i, c);
      if (centre.receive(i, c, readShare(shares.get(i)))) complaints.push(i);
    }
    this.published.complaints = { against: complaints };

    // Phase 2: complaints; a dealer answers each one against it by revealing the disputed share.
    const allComplaints = await this.collect('complaints', 'GET /v1/dkg/complaints');
    allComplaints.set(index, { against: complaints });
    const against = (dealer: number) => [...allComplaints].filter(([, c]) => c.against.includes(dealer)).map(([from]) => from);
    const answers: Record<string, DkgShare> = Object.fromEntries(against(index).map((from) => {
      const a = centre.answer({ from, against: index });
      return [from, { s: a.s.toString(16), b: a.b.toString(16) }];
    }));
    this.published.answers = answers;
    const allAnswers = await this.collect('answers', 'GET /v1/dkg/answers');
    allAnswers.set(index, answers);

    const qual: number[] = [];
    for (let dealer = 1; dealer <= n; dealer++) {
      const froms = against(dealer);
      if (!commitments.has(dealer) && dealer !== index) continue; // never dealt
      if (froms.length > t) continue;
      const ok = froms.every((from) => centre.acceptAnswer(dealer, { from, against: dealer }, readShare(allAnswers.get(dealer)?.[String(from)])));
      if (ok) qual.push(dealer);
    }
    if (qual.length < t) throw new Error(`DKG failed: only ${qual.length} centres qualified, ${t} needed`);

    // Phase 3: Feldman commitments of the qualified dealers. A mismatch proves a cheating
    // dealer after qualification; the in-process runDkg reconstructs it, this service stops
    // and says so (an operator restarts the DKG without that centre).
    this.published.feldman = { commitments: centre.feldman().map(point) };
    const feldmans = await this.collect('feldman', 'GET /v1/dkg/feldman');
    const feldman = new Map<number, G1Point[]>([[index, centre.feldman()]]);
    for (const dealer of qual) {
      if (dealer === index) continue;
      const c = feldmans.get(dealer)?.commitments.map(readPoint);
      if (!c || !centre.checkFeldman(dealer, c)) throw new Error(`DKG failed: centre ${dealer}'s Feldman commitments do not match its share; restart the DKG without it`);
      feldman.set(dealer, c);
    }
    const mpk = qual.reduce((acc, i) => acc.add(feldman.get(i)![0]!), G1.ZERO);
    const publicShares = Array.from({ length: n }, (_, j) => qual.reduce((acc, i) => acc.add(commitmentAt(feldman.get(i)!, BigInt(j + 1))), G1.ZERO));
    const secretShare = centre.secretShare(qual);
    if (!G1.BASE.multiply(secretShare).equals(publicShares[index - 1]!)) throw new Error('DKG failed: my share does not match my public share');
    this.log(`DKG: done; QUAL = {${qual.join(', ')}}`);
    return { mpk: point(mpk), publicShares: publicShares.map(point), qual, secretShare: secretShare.toString(16) };
  }

  /** Registers the outcome on chain (again after a restart, so the endpoint stays current). */
  private async register(o: Outcome): Promise<void> {
    const registry = this.deps.registry;
    const input = { index: this.config.index, endpoint: this.config.endpoint, n: this.config.n, threshold: this.config.threshold, mpk: o.mpk, publicShares: o.publicShares, qual: o.qual };
    const current = (await registry.list()).find((c) => c.index === input.index);
    if (current && current.mpk === input.mpk && current.endpoint === input.endpoint) return;
    await retryMvcc(() => registry.register(input));
    this.log(`registered on chain: mpk ${o.mpk.slice(0, 16)}…`);
  }
}
