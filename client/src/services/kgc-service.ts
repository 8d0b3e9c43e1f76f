/**
 * A key generation centre: one per member org. On first start the n centres run the DKG
 * (GJKR) with the chain as its broadcast channel (dkg-round.ts) and the private shares
 * sealed over HTTP; each keeps its share s_j on disk, and registers the public outcome
 * (mpk, every S_j, QUAL) on chain.
 * Afterwards it serves partial identity keys d_j = s_j·H_Q(id) to enrolled users who sign
 * their request with their Fabric key: for their own identity, and for slot identities of
 * records they own. Nobody, this service included, ever holds the master secret.
 */
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { extractPartial, toBase64url, type PrivateShare } from '@emr/crypto';
import type http from 'node:http';
import {
  PURPOSES,
  blindCategory,
  checkCategory,
  decodeParty,
  encodeParty,
  evaluateAreaAccess,
  evaluateConsent,
  evaluateEmergency,
  groupOf,
  inGroup,
  isGroupParty,
  isId,
  isPseudonym,
  isRecordPseudonym,
  linkIndexOf,
  linkKey,
  parseAreaKeysId,
  patientBlindingKey,
  pseudonymOf,
  recordPseudonym,
  requiredApprovals,
  sameParty,
  sealCategoryLabel,
  type Caller,
  type ConsortiumSettings,
  type Consent,
  type EmrRecord,
  type Group,
  type GroupSettings,
  type Purpose,
  type RecordLink,
} from '@emr/protocol';
import type { ConsentLedger } from '../fabric/consent-ledger';
import type { EmergencyAccess } from '../fabric/emergency-access';
import type { EmrIndex } from '../fabric/emr-index';
import { walkUnlinked } from '../fabric/unlinked-records';
import { KeyCentreRegistry } from '../fabric/key-centre-registry';
import { retryMvcc } from '../fabric/errors';
import { keyCentreClient } from '../wire/call';
import type { KeyCentreRoutes } from '../wire/routes';
import type { RequestSigner } from '../wire/signed-requests';
import { NonceCache, type TrustedCas } from './auth';
import { CallerLimiter, authenticate, onlyFields, sealedAnswer } from './guard';
import { HttpError, serveJson, type Handlers, type Request, type ServerLimits } from './http';
import { DkgRound, HONEST, type DkgBehaviour, type DkgBoardClient, type DkgOutcome } from './dkg-round';
import { hexScalar, privateDir, readPrivate, tightenFiles, writePrivate } from './state-files';

export interface KgcConfig {
  index: number;
  n: number;
  threshold: number;
  port: number;
  endpoint: string;
  /** index → base URL of every centre (including this one). */
  peers: Map<number, string>;
  /** index → the identity (`enrollmentId@MSP`, role kgc) running that centre. */
  memberOf: Map<number, string>;
  /** The DKG's id on the chain's board: a new id runs a new DKG. */
  dkgId: string;
  /** How long a DKG phase waits for a silent centre (default 60 s). */
  dkgPhaseMs?: number;
  stateDir: string;
  trust: TrustedCas;
  /** HTTP limits (tests shorten them). */
  limits?: Partial<ServerLimits>;
}

/** What the centre needs of its Fabric connection: a request signer, the on-chain registry and the DKG board, and the consortium's settings (who is in an area). */
export interface KgcDeps {
  signer: RequestSigner;
  registry: Pick<KeyCentreRegistry, 'list' | 'register'> & DkgBoardClient;
  settings: () => Promise<GroupSettings & Pick<ConsortiumSettings, 'areaDefaults'>>;
  /**
   * Its hospital's approval policies, and the attestations of what they require of blinded
   * categories; what deciding a link takes (consents, grants, patients, area rules).
   */
  consents: Pick<ConsentLedger, 'readApprovalPolicies' | 'attestBlindedReach' | 'readConsent' | 'readGrant' | 'readPatient' | 'listAreaPolicies'>;
  /** The records it gives links to, and the walk over a patient's record pseudonyms. */
  records: Pick<EmrIndex, 'readRecord' | 'findUnlinkedRecords'>;
  /** The break-glass requests it gives links under. */
  emergencies: Pick<EmergencyAccess, 'read'>;
}

/** What asking for an unlinked record's link takes: the record, the purpose, and what the request goes under. */
interface LinkRequest {
  recordId?: unknown;
  purpose?: unknown;
  consentId?: unknown;
  grantId?: unknown;
  emergencyId?: unknown;
  patientPseudonym?: unknown;
}
interface CheckedLinkRequest {
  recordId: string;
  purpose: Purpose;
  consentId?: string;
  grantId?: string;
  emergencyId?: string;
  patientPseudonym?: string;
}
const LINK_VIAS = ['consentId', 'grantId', 'emergencyId', 'patientPseudonym'] as const;

/** A link request's fields, each checked; exactly one of consentId, grantId, emergencyId, patientPseudonym. */
function checkLinkRequest(body: LinkRequest): CheckedLinkRequest {
  const bad = (detail: string) => new HttpError(400, 'INVALID_ARGUMENT', detail);
  if (!isId(body.recordId)) throw bad('recordId must be a record id');
  if (!(PURPOSES as readonly unknown[]).includes(body.purpose)) throw bad(`purpose must be one of ${PURPOSES.join(', ')}`);
  const given = LINK_VIAS.filter((f) => body[f] !== undefined);
  if (given.length !== 1) throw bad('name exactly one of consentId, grantId, emergencyId and patientPseudonym (a request by area)');
  const [via] = given;
  const value = body[via!];
  if (via === 'patientPseudonym' ? !isPseudonym(value) : !isId(value)) throw bad(`${via} is malformed`);
  return { recordId: body.recordId, purpose: body.purpose as Purpose, [via!]: value as string };
}

/** Who gets paths blinded for a patient: staff who file records. */
const BLINDING_ROLES = ['doctor', 'admin'] as const;
const MAX_BLIND = 16;

/** How many patients' homes and link indexes a centre remembers. */
const MAX_REMEMBERED = 100_000;

/** Sets a key of a bounded map, forgetting the oldest key when it is full. */
function remember<V>(map: Map<string, V>, key: string, value: V): void {
  if (map.size >= MAX_REMEMBERED && !map.has(key)) map.delete(map.keys().next().value!);
  map.set(key, value);
}

/** How long a centre trusts the settings it read for group keys: a change of areas reaches it within this. */
const SETTINGS_TTL_MS = 10_000;

/** What a centre keeps on disk (owner-only): its secret polynomials while the DKG runs, then the outcome. */
interface Kept {
  dkgId: string;
  polynomials?: { f: string[]; g: string[] };
  outcome?: DkgOutcome;
}

/**
 * Who may get the key of an identity: a user his own (`enrollmentId@MSP`); a patient the
 * slots of his pseudonym (pre.ts slotIdentity, owner = pseudonym); a member of a group its
 * party's (groups.ts: a role at an org, an org's requesters, an area for a home hospital,
 * membership of an area by the consortium's settings on chain). The pseudonym is derived from
 * the patient's own enrollment key (protocol pseudonyms.ts), so the signed request's
 * certificate decides ownership. A certificate whose enrollment id has the form of a group's
 * gets nothing as its own.
 */
export function mayExtract(caller: Caller, certificate: string, identity: string, settings?: GroupSettings): boolean {
  if (identity === encodeParty(caller)) return !isGroupParty(caller);
  const group = groupOfIdentity(identity);
  if (group) return settings !== undefined && inGroup(group, caller, settings);
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

/** The group an identity names (`area:research@HospitalAMSP`), if it is a group's. */
export function groupOfIdentity(identity: string): Group | undefined {
  if (!identity.includes(':') || identity.startsWith('emr-slot:')) return undefined;
  try {
    return groupOf(decodeParty(identity));
  } catch {
    return undefined;
  }
}

/** A DKG share as it travels; a malformed one counts as missing (a complaint) and is never quoted. */
function readShare(raw: { s: string; b: string } | undefined): PrivateShare | undefined {
  try {
    return raw ? { s: hexScalar(raw.s, 'share s'), b: hexScalar(raw.b, 'share b') } : undefined;
  } catch {
    return undefined;
  }
}
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class KeyGenerationCentreService {
  private round?: DkgRound;
  private outcome?: DkgOutcome;
  private server?: http.Server;
  private readonly nonces = new NonceCache();
  /** Per caller: 600 key extractions a minute (each a hash to G2 and a multiplication, done synchronously). */
  private readonly limiter = new CallerLimiter({ inFlight: 4, perWindow: 600, windowMs: 60_000 });
  /** Per caller: 60 blinding requests a minute; a prober guessing departments is slowed and logged. */
  private readonly blindLimiter = new CallerLimiter({ inFlight: 2, perWindow: 60, windowMs: 60_000 });

  constructor(
    private readonly config: KgcConfig,
    private readonly deps: KgcDeps,
    private readonly log: (line: string) => void,
    /** What this centre sends in the DKG: honest, unless a test's cheating centre says otherwise. */
    private readonly behaviour: DkgBehaviour = HONEST,
  ) {}

  /** How long a DKG phase (and a share fetch) waits for a silent centre. */
  private get phaseMs(): number {
    return this.config.dkgPhaseMs ?? 60_000;
  }

  private get stateFile() {
    return path.join(this.config.stateDir, `kgc-${this.config.index}.json`);
  }

  /** Loads a kept share and serves HTTP (the DKG and registration are start's). */
  async listen(): Promise<http.Server> {
    privateDir(this.config.stateDir);
    tightenFiles(this.config.stateDir);
    const kept = this.kept();
    if (kept?.outcome) {
      this.outcome = kept.outcome;
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

  /** Runs (or resumes) the DKG unless its outcome is kept; answers the outcome. */
  async runDkg(): Promise<DkgOutcome> {
    if (!this.server) await this.listen();
    if (this.outcome) return this.outcome;
    const { dkgId, index, n, threshold } = this.config;
    // The polynomials reach the disk before the first post, so a crash mid-DKG resumes with them.
    const kept = this.kept();
    const resumed = kept?.dkgId === dkgId ? kept.polynomials : undefined;
    const polynomials = resumed && { f: resumed.f.map((x) => hexScalar(x, 'f')), g: resumed.g.map((x) => hexScalar(x, 'g')) };
    this.round = new DkgRound({ dkgId, index, n, threshold, phaseMs: this.phaseMs, members: this.config.memberOf }, this.deps.registry, (dealer) => this.fetchShare(dealer), this.log, polynomials, this.behaviour);
    if (!resumed) {
      const p = this.round.centre.polynomials();
      writePrivate(this.stateFile, { dkgId, polynomials: { f: p.f.map((x) => x.toString(16)), g: p.g.map((x) => x.toString(16)) } } satisfies Kept);
    }
    this.log(`DKG '${dkgId}': ${resumed ? 'resuming' : 'dealing'} as centre ${index} of ${n} (threshold ${threshold}), the chain as broadcast`);
    this.outcome = await this.round.run();
    writePrivate(this.stateFile, { dkgId, outcome: this.outcome } satisfies Kept);
    return this.outcome;
  }

  async start(): Promise<void> {
    await this.register(await this.runDkg());
  }

  private kept(): Kept | undefined {
    if (!existsSync(this.stateFile)) return undefined;
    const raw = readPrivate<Kept & Partial<DkgOutcome>>(this.stateFile);
    // Before the DKG ran on the chain, the file was the outcome itself: it stays this centre's share.
    if (raw.outcome === undefined && typeof raw.secretShare === 'string') {
      return { dkgId: this.config.dkgId, outcome: { mpk: raw.mpk!, publicShares: raw.publicShares!, qual: raw.qual!, faults: [], secretShare: raw.secretShare } };
    }
    return raw;
  }

  private routes(): Handlers<KeyCentreRoutes> {
    return {
      'GET /v1/health': async () => ({ index: this.config.index, ready: !!this.outcome }),
      // The private share for the calling centre: only that centre's kgc identity gets it,
      // sealed to the ephemeral key in its signed request.
      'GET /v1/dkg/share': async (req: Request) => {
        const signed = this.authenticate(req);
        const { caller } = signed;
        const index = [...this.config.memberOf].find(([, who]) => who === encodeParty(caller))?.[0];
        if (caller.role !== 'kgc' || index === undefined) throw new HttpError(403, 'UNAUTHORIZED', 'only the key centres fetch DKG shares');
        const share = this.round?.shareFor(index);
        if (!share) throw new HttpError(409, 'NOT_READY', this.round ? 'no share for you' : 'not dealt yet');
        return sealedAnswer(req, signed, { s: share.s.toString(16), b: share.b.toString(16) });
      },
      // The home hospital's blinding secret (docs/privacy.md): a patient gets his own key; staff get paths blinded.
      'POST /v1/blinding-key': async (req: Request) => {
        const signed = this.authenticate(req);
        onlyFields(req.json<Record<string, unknown>>(), [], '{}');
        const { caller } = signed;
        if (caller.role !== 'patient' || caller.mspId !== this.mspId) throw new HttpError(403, 'UNAUTHORIZED', `only a patient of ${this.mspId} gets his blinding key here`);
        const patientPseudonym = pseudonymOf(caller.mspId, signed.certificate);
        return sealedAnswer(req, signed, { patientPseudonym, key: Buffer.from(patientBlindingKey(this.blindingSecret(), patientPseudonym)).toString('hex') });
      },
      'POST /v1/blind': async (req: Request) => {
        const signed = this.authenticate(req);
        const body = req.json<{ patientPseudonym?: unknown; categories?: unknown }>();
        onlyFields(body, ['patientPseudonym', 'categories'], '{patientPseudonym, categories}');
        const { caller } = signed;
        if (!(BLINDING_ROLES as readonly string[]).includes(caller.role)) throw new HttpError(403, 'UNAUTHORIZED', `a ${caller.role} does not file records: only ${BLINDING_ROLES.join(', ')}s get categories blinded`);
        const { patientPseudonym } = body;
        if (!isPseudonym(patientPseudonym)) throw new HttpError(400, 'INVALID_ARGUMENT', 'patientPseudonym must be 64 lowercase hex characters');
        const { categories } = body;
        if (!Array.isArray(categories) || categories.length < 1 || categories.length > MAX_BLIND) throw new HttpError(400, 'INVALID_ARGUMENT', `categories must be 1 to ${MAX_BLIND} department paths`);
        for (const c of categories) {
          try {
            checkCategory(String(c));
          } catch (err) {
            throw new HttpError(400, 'INVALID_ARGUMENT', `categories: ${(err as Error).message}`);
          }
        }
        return this.blindLimiter.run(encodeParty(caller), async () => {
          const key = patientBlindingKey(this.blindingSecret(), patientPseudonym);
          // The home hospital's record of who asked about which patient (a prober shows here).
          this.log(`blinded ${categories.length} path(s) for patient ${patientPseudonym.slice(0, 16)}… at the request of ${encodeParty(caller)} (${caller.role})`);
          return sealedAnswer(req, signed, { blinded: (categories as string[]).map((c) => blindCategory(key, c)), labels: (categories as string[]).map((c) => sealCategoryLabel(key, c)) });
        });
      },
      // What this hospital's approval policies require of a consent on one of its patient's blinded categories, attested on chain (docs/privacy.md).
      'POST /v1/attest-reach': async (req: Request) => {
        const signed = this.authenticate(req);
        const body = req.json<{ category?: unknown }>();
        onlyFields(body, ['category'], '{category}');
        let category: string;
        try {
          category = checkCategory(body.category);
        } catch (err) {
          throw new HttpError(400, 'INVALID_ARGUMENT', `category: ${(err as Error).message}`);
        }
        const { caller } = signed;
        if (caller.role !== 'patient' || caller.mspId !== this.mspId) throw new HttpError(403, 'UNAUTHORIZED', `only a patient of ${this.mspId} has his categories attested here`);
        return this.blindLimiter.run(encodeParty(caller), async () => {
          const patientPseudonym = pseudonymOf(caller.mspId, signed.certificate);
          const blinded = blindCategory(patientBlindingKey(this.blindingSecret(), patientPseudonym), category);
          const set = await this.deps.consents.readApprovalPolicies(this.mspId);
          const required = requiredApprovals(set.policies, [category]);
          if (set.policies.length === 0) return { category: blinded, requiredApprovals: required, attestationTxId: null };
          const attestation = await retryMvcc(() => this.deps.consents.attestBlindedReach({ patientPseudonym, category: blinded, requiredApprovals: required, policiesTxId: set.txId }));
          this.log(`attested ${required.map((r) => `${r.count} ${r.role}`).join(', ') || 'no approvals'} for a blinded category of patient ${patientPseudonym.slice(0, 16)}… (policies of ${set.txId.slice(0, 12)}…)`);
          return { category: blinded, requiredApprovals: required, attestationTxId: attestation.txId };
        });
      },
      // Unlinked records (docs/privacy.md, "Linkability"): staff filing for a patient of this org get his next record pseudonym.
      'POST /v1/record-pseudonym': async (req: Request) => {
        const signed = this.authenticate(req);
        const body = req.json<{ patientPseudonym?: unknown }>();
        onlyFields(body, ['patientPseudonym'], '{patientPseudonym}');
        const { caller } = signed;
        if (!(BLINDING_ROLES as readonly string[]).includes(caller.role)) throw new HttpError(403, 'UNAUTHORIZED', `a ${caller.role} does not file records: only ${BLINDING_ROLES.join(', ')}s get record pseudonyms`);
        const { patientPseudonym } = body;
        if (!isPseudonym(patientPseudonym)) throw new HttpError(400, 'INVALID_ARGUMENT', 'patientPseudonym must be 64 lowercase hex characters');
        return this.blindLimiter.run(encodeParty(caller), async () => {
          await this.requireOwnPatient(patientPseudonym);
          const key = patientBlindingKey(this.blindingSecret(), patientPseudonym);
          // From the first index not known used: a filing that never happened leaves its index free.
          const { next } = await walkUnlinked((rps) => this.deps.records.findUnlinkedRecords(rps), key, patientPseudonym, this.linkIndexHint.get(patientPseudonym) ?? 0);
          remember(this.linkIndexHint, patientPseudonym, next);
          this.log(`record pseudonym ${next} of patient ${patientPseudonym.slice(0, 16)}… to ${encodeParty(caller)} (${caller.role})`);
          return { recordPseudonym: recordPseudonym(patientPseudonym, linkKey(key, next)) };
        });
      },
      // The link of an unlinked record of a patient of this org, for a requester the chain would allow (the chain's own rule, on this org's peer).
      'POST /v1/link': async (req: Request) => {
        const signed = this.authenticate(req);
        const body = req.json<LinkRequest>();
        onlyFields(body, ['recordId', 'purpose', ...LINK_VIAS], '{recordId, purpose, and one of consentId, grantId, emergencyId, patientPseudonym (by area)}');
        const ask = checkLinkRequest(body);
        return this.blindLimiter.run(encodeParty(signed.caller), async () => {
          const link = await this.linkFor(signed.caller, ask);
          const under = ask.consentId ? `consent ${ask.consentId}` : ask.grantId ? `grant ${ask.grantId}` : ask.emergencyId ? `break-glass ${ask.emergencyId}` : 'by area';
          this.log(`link of record ${ask.recordId} to ${encodeParty(signed.caller)} (${under})`);
          return sealedAnswer(req, signed, link);
        });
      },
      'POST /v1/keys': async (req: Request) => {
        const signed = this.authenticate(req);
        const { caller } = signed;
        const body = req.json<{ identity?: unknown }>();
        onlyFields(body, ['identity'], '{identity}');
        const { identity } = body;
        if (typeof identity !== 'string' || identity.length === 0 || identity.length > 1024) throw new HttpError(400, 'INVALID_ARGUMENT', 'identity must be a non-empty string of at most 1024 characters');
        if (!signed.replyKey) throw new HttpError(400, 'INVALID_ARGUMENT', 'x-emr-reply-key is required: partial keys are only served sealed to the requester');
        const settings = groupOfIdentity(identity) ? await this.groupSettings() : undefined;
        if (!mayExtract(caller, signed.certificate, identity, settings)) throw new HttpError(403, 'UNAUTHORIZED', `'${caller.enrollmentId}@${caller.mspId}' may not get the key of '${identity}'`);
        if (!this.outcome) throw new HttpError(503, 'NOT_READY', 'the DKG has not completed');
        const { secretShare } = this.outcome;
        return this.limiter.run(encodeParty(caller), async () => {
          const partial = extractPartial(BigInt(this.config.index), hexScalar(secretShare, 'secretShare'), identity);
          return sealedAnswer(req, signed, { index: this.config.index, key: toBase64url(partial.key.toBytes()) });
        });
      },
    };
  }

  /** The consortium's areas, their defaults and its members, read from this org's peer at most every SETTINGS_TTL_MS. */
  private async groupSettings(): Promise<GroupSettings & Pick<ConsortiumSettings, 'areaDefaults'>> {
    if (!this.settingsRead || Date.now() - this.settingsRead.at > SETTINGS_TTL_MS) {
      const { areas, members, areaDefaults } = await this.deps.settings();
      this.settingsRead = { at: Date.now(), settings: { areas, members, areaDefaults } };
    }
    return this.settingsRead.settings;
  }
  private settingsRead?: { at: number; settings: GroupSettings & Pick<ConsortiumSettings, 'areaDefaults'> };

  /** Refuses a pseudonym that is not a patient of this org's: only his home hospital holds his key. */
  private async requireOwnPatient(patientPseudonym: string): Promise<void> {
    // A registration's home never changes: each is read once (bounded, the oldest forgotten first).
    let homeMsp = this.homes.get(patientPseudonym);
    if (homeMsp === undefined) {
      ({ homeMsp } = await this.deps.consents.readPatient(patientPseudonym).catch(() => {
        throw new HttpError(404, 'NOT_FOUND', `no patient is registered under pseudonym ${patientPseudonym.slice(0, 16)}…`);
      }));
      remember(this.homes, patientPseudonym, homeMsp);
    }
    if (homeMsp !== this.mspId) throw new HttpError(403, 'UNAUTHORIZED', `the patient is ${homeMsp}'s: ask its key centre`);
  }
  private readonly homes = new Map<string, string>();
  /** Per patient of this org, the first record pseudonym index not known used (an index is used once a record is filed under it). */
  private readonly linkIndexHint = new Map<string, number>();

  /**
   * The link of an unlinked record, when the chain would allow the caller's request: under a
   * consent (evaluateConsent at hop 1), through a grant he holds (at its hop), under his
   * break-glass (evaluateEmergency), or by area for the patient he names (evaluateAreaAccess).
   * The record must then be that patient's.
   */
  private async linkFor(caller: Caller, ask: CheckedLinkRequest): Promise<RecordLink> {
    const record = await this.deps.records.readRecord(ask.recordId).catch(() => {
      throw new HttpError(404, 'NOT_FOUND', `record '${ask.recordId}' does not exist`);
    });
    if (!isRecordPseudonym(record.patientPseudonym)) throw new HttpError(400, 'INVALID_ARGUMENT', `record '${ask.recordId}' is linked: a request for it needs no link`);
    const consentOf = async (consentId: string): Promise<Consent> => {
      if (parseAreaKeysId(consentId)) throw new HttpError(400, 'INVALID_ARGUMENT', 'a standing grant is used by area: name the patient instead');
      return this.deps.consents.readConsent(consentId).catch(() => {
        throw new HttpError(403, 'UNAUTHORIZED', `consent '${consentId}' does not exist, or is not for '${encodeParty(caller)}'`);
      });
    };
    let patientPseudonym: string;
    let decide: (asPatients: EmrRecord) => Promise<{ allow: boolean; detail?: string }>;
    if (ask.consentId !== undefined || ask.grantId !== undefined) {
      const reg = ask.grantId !== undefined ? (await this.deps.consents.readGrant(ask.grantId)).registration : undefined;
      if (reg && !sameParty(reg.delegatee, caller)) throw new HttpError(403, 'UNAUTHORIZED', `grant '${ask.grantId}' is not '${encodeParty(caller)}''s`);
      const consent = await consentOf(reg?.consentId ?? ask.consentId!);
      patientPseudonym = consent.patientPseudonym;
      decide = async (asPatients) => {
        const { areas, members } = await this.groupSettings();
        return evaluateConsent(consent, { requester: caller, record: asPatients, purpose: ask.purpose, at: new Date(), hop: reg?.hop ?? 1, areas: { areas, members, homeMsp: this.mspId } });
      };
    } else if (ask.emergencyId !== undefined) {
      const { emergency } = await this.deps.emergencies.read(ask.emergencyId).catch(() => {
        throw new HttpError(403, 'UNAUTHORIZED', `break-glass '${ask.emergencyId}' does not exist, or is not '${encodeParty(caller)}''s`);
      });
      patientPseudonym = emergency.patientPseudonym;
      decide = async (asPatients) => evaluateEmergency(emergency, { requester: caller, record: asPatients, at: new Date() });
    } else {
      patientPseudonym = ask.patientPseudonym!;
      decide = async (asPatients) => {
        const { areas, members, areaDefaults } = await this.groupSettings();
        const policies = await this.deps.consents.listAreaPolicies(patientPseudonym);
        return evaluateAreaAccess({ areas, defaults: areaDefaults, policies, members, homeMsp: this.mspId }, caller, asPatients, ask.purpose);
      };
    }
    await this.requireOwnPatient(patientPseudonym);
    const decision = await decide({ ...record, patientPseudonym });
    if (!decision.allow) throw new HttpError(403, 'DENIED', `the chain would refuse this request: ${decision.detail ?? 'no rule allows it'}`);
    const key = patientBlindingKey(this.blindingSecret(), patientPseudonym);
    const index = linkIndexOf(key, patientPseudonym, record.patientPseudonym);
    if (index === undefined) throw new HttpError(403, 'UNAUTHORIZED', `record '${ask.recordId}' is not this patient's`);
    return { patientPseudonym, linkKey: linkKey(key, index) };
  }

  /** This org's MSP id: the org of the centre's own kgc identity. */
  private get mspId(): string {
    return decodeParty(this.config.memberOf.get(this.config.index) ?? '@').mspId;
  }

  /** The org's blinding secret: made on first use, kept on disk (owner-only) beside the share, never changed. */
  private blindingSecret(): Uint8Array {
    if (this.secret) return this.secret;
    const file = path.join(this.config.stateDir, `blinding-${this.config.index}.json`);
    if (!existsSync(file)) writePrivate(file, { secret: randomBytes(32).toString('hex') });
    const { secret } = readPrivate<{ secret: string }>(file);
    if (!/^[0-9a-f]{64}$/.test(secret)) throw new Error(`${file}: secret is not 32 bytes of hex`);
    return (this.secret = Buffer.from(secret, 'hex'));
  }
  private secret?: Uint8Array;

  private authenticate(req: Request) {
    return authenticate(req, this.config.trust, this.nonces, this.config.endpoint);
  }

  /** This centre's share from `dealer`, fetched sealed; retried for a DKG phase, then missing (a complaint). */
  private async fetchShare(dealer: number): Promise<PrivateShare | undefined> {
    const base = this.config.peers.get(dealer);
    const deadline = Date.now() + this.phaseMs;
    for (let attempt = 1; base; attempt++) {
      try {
        return readShare(await keyCentreClient(dealer, base, this.deps.signer, 5000).get('GET /v1/dkg/share'));
      } catch (err) {
        if (Date.now() >= deadline) {
          this.log(`DKG: no share from centre ${dealer}: ${(err as Error).message}`);
          return undefined;
        }
        await sleep(Math.min(1000, 100 * attempt));
      }
    }
    return undefined;
  }

  /** Registers the outcome on chain (again after a restart, so the endpoint stays current). */
  private async register(o: DkgOutcome): Promise<void> {
    const registry = this.deps.registry;
    const input = { index: this.config.index, endpoint: this.config.endpoint, n: this.config.n, threshold: this.config.threshold, mpk: o.mpk, publicShares: o.publicShares, qual: o.qual };
    const current = (await registry.list()).find((c) => c.index === input.index);
    if (current && current.mpk === input.mpk && current.endpoint === input.endpoint) return;
    await retryMvcc(() => registry.register(input));
    this.log(`registered on chain: mpk ${o.mpk.slice(0, 16)}…`);
  }
}
