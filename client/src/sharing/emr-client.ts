/**
 * The end-to-end flows a hospital, patient or researcher application uses: upload a record
 * (streamed encryption → private IPFS → index on chain), grant and revoke consent (with the
 * split re-encryption keys for the elected proxies), request access and fetch (t verified
 * fragments → data key → ciphertext by CID → SHA-256 → decryption → receipt on chain),
 * re-delegate, switch a record's type, read the audit trail and erase a record.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, renameSync, rmSync, statSync } from 'node:fs';
import { Readable, Transform, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import {
  RecordDecryptor,
  RecordEncryptor,
  decodeGrant,
  decrypt,
  decryptReEncrypted,
  encodeCapsule,
  encodeGrant,
  encodeKeyPossession,
  encodeProxyShare,
  fromBase64url,
  newDataKey,
  openGrantKey,
  parseLeakedGrantKey,
  proveKeyPossession,
  ready,
  reKeyGen,
  slotIdentity,
  switchType as switchCapsuleType,
  toBase64url,
  traceGrantKey,
  type Capsule,
  type CipherSuite,
  type G2Point,
  type GrantPublic,
  type Slot,
} from '@emr/crypto';
import { areaKeysId, areaOfRule, blindCategory, categoryAncestors, isRecordPseudonym, linkIndexOf, linkKey, type RecordLink, categoryKnown, isBlindedCategory, openCategoryLabel, sealCategoryLabel, encodeParty, groupPartyOf, isGroupParty, pseudonymOf, unknownCategory, recordInScope, signatureSchemeOf, ROOT_CATEGORY, type AreaPolicy, type Consent, type ConsentInput, type ConsortiumSettings, type Emergency, type EmergencyInput, type EmrRecord, type LogEntry, type Party, type PatientRegistration, type Purpose, type Registration, type RecordType } from '@emr/protocol';
import { connectGateway, type ConnectOptions, type EmrConnection } from '../fabric/connection';
import { ConsortiumSettingsClient } from '../fabric/consortium-settings';
import { capsuleForSlot, encapsulateForCategory, recordCapsules, storedCapsule } from '../fabric/record-capsules';
import { walkUnlinked } from '../fabric/unlinked-records';
import { ConsentLedger } from '../fabric/consent-ledger';
import { EmergencyAccess } from '../fabric/emergency-access';
import { DirectoryClient } from '../fabric/directory-client';
import { EmrIndex } from '../fabric/emr-index';
import { ConflictError, EmrError, InvalidArgumentError, NotFoundError } from '../fabric/errors';
import { settleWrite } from '../fabric/outcome';
import { loadProfile, type ConnectionProfile } from '../fabric/profile';
import { ProxyRegistry } from '../fabric/proxy-registry';
import { keyCentreClient, proxyClient } from '../wire/call';
import { extractKey, loadConsortium, type Consortium } from '../wire/key-centres';
import { ContentUnavailableError, IndexOutcomeUnknownError, InsufficientFragmentsError, IntegrityError } from './errors';
import { collectFragments } from './fragments';
import { IpfsStore, type Replication } from './ipfs-store';

export interface Progress {
  phase: 'encrypt+upload' | 'download+decrypt';
  bytes: number;
  /** Known for files and buffers. */
  total?: number;
}

export interface UploadInput {
  patientPseudonym: string;
  /** Department category, e.g. `cardiology/ecg`; it is also the capsule's condition. */
  category: string;
  type?: RecordType;
  /** Default: a fresh `rec-<uuid>`. */
  recordId?: string;
  supersedes?: string;
  /** The record's content suite (default: the consortium's, on chain; `sm4-ctr-hmac-sm3-stream.v1` is the SM suite). */
  cipherSuite?: CipherSuite;
  /**
   * File it under its category blinded for the patient (docs/privacy.md, "Categories"): the
   * chain and the key centres see only the blinded path. The clear one is checked against the
   * consortium's tree first. Default: the consortium's `blindCategories` setting.
   */
  blindCategory?: boolean;
  /**
   * Pad the content to its size class (default true; docs/privacy.md, "Sizes"): the ciphertext,
   * and the index's `size`, then show a Padmé class of at least 4 KiB, not the record's size.
   */
  padSize?: boolean;
  /**
   * File it unlinked (docs/privacy.md, "Linkability"): under a record pseudonym of its own
   * from the patient's home hospital's key centre, so that no member ties it to his other
   * records unless a party acts on it. Staff only: a patient's own filing names him anyway.
   * Default: the consortium's `unlinkRecords` setting, for a new record filed by staff.
   */
  unlinked?: boolean;
  /** A file path, the bytes, or a stream (e.g. a FHIR R4 bundle as JSON). */
  source: string | Uint8Array | Readable;
  onProgress?: (p: Progress) => void;
}

/** Where the time of a flow went, in milliseconds. */
export type Timings = Partial<Record<'chain' | 'keys' | 'proxies' | 'crypto' | 'ipfs', number>>;

export interface UploadResult {
  record: EmrRecord;
  /** Pinned on the own org's node when the upload returns. */
  pinnedOn: string[];
  /** Settles once a second org's node pinned the ciphertext (see docs/sharing.md). */
  replicated: Promise<Replication>;
  timings: Timings;
}

export interface GrantResult {
  consent: Consent;
  /** One grant per (type, category) slot of the patient's records the consent reaches now. */
  grants: Registration[];
}

/**
 * What a request goes through: a consent naming the requester (or his group), a grant delegated
 * to him, or the rules of his areas; by area, an unlinked record needs its patient named (the
 * treating doctor knows him).
 */
export type Via = { consentId: string } | { grantId: string } | { area: true; patientPseudonym?: string };

export interface FetchOptions {
  purpose: Purpose;
  /** Write the plaintext to this file (streamed) instead of returning it. */
  to?: string;
  onProgress?: (p: Progress) => void;
  /** Answer the record's data key too (`FetchResult.dataKey`), for the caller's own tools; a leak of it is traced to this read. */
  keepDataKey?: boolean;
}

export interface FetchResult {
  record: EmrRecord;
  /** The access request's log entry; absent when the patient reads his own record, which needs none. */
  entry?: LogEntry;
  /** The receipt as endorsed, on its way to the ledger; absent with `entry`. */
  receipt?: LogEntry;
  /** Settles when the receipt is committed (rejects if the peers invalidate it). */
  receiptCommitted: Promise<void>;
  /** The plaintext, unless `to` was given. */
  data?: Buffer;
  /** With `keepDataKey`: the record's 32-byte data key. */
  dataKey?: Uint8Array;
  bytes: number;
  timings: Timings;
}

/** What a leaked grant key was traced to (EmrClient.traceLeakedGrantKey). */
export interface GrantKeyTrace {
  /** The grant the key was issued under: its delegatee holds the key, and its delegator made it. */
  registration: Registration;
  /** The key-leak entry this trace logged in the patient's log; absent when it was reported before. */
  entry?: LogEntry;
  /** Set instead of `entry`: the chain's answer naming the earlier report. */
  reportedBefore?: string;
  /** How many grants were searched, and the search's time in milliseconds. */
  searched: number;
  searchMs: number;
}

/** What a leaked data key was traced to (EmrClient.traceLeakedDataKey): evidence, not proof. */
export interface DataKeyTrace {
  record: EmrRecord;
  /** The log entries through which someone had the key: the upload and versions, every allowed access (emergencies included). */
  reads: LogEntry[];
  /** Their agents, once each: with the record's patient (who can always open it), everyone who held the key. */
  holders: Party[];
  entry?: LogEntry;
  reportedBefore?: string;
}

/** Files a leak report; one filed before is answered with the chain's words instead of an entry. */
async function reported(file: () => Promise<LogEntry>): Promise<{ entry: LogEntry } | { reportedBefore: string }> {
  try {
    return { entry: await file() };
  } catch (err) {
    if (err instanceof ConflictError) return { reportedBefore: err.detail };
    throw err;
  }
}

/** The log actions after which the agent held a record's data key. */
const HELD_KEY = (e: LogEntry): boolean => e.outcome === 'success' && (e.action === 'record-upload' || e.action === 'record-version' || e.action === 'access-request');

/** One grant of a delegation chain: its registration on chain and the decoded grant. */
interface ChainLink {
  registration: Registration;
  grant: GrantPublic;
}

/** A part of the flow failed after some writes; `cause` says why. */
export class FlowError extends EmrError {}

/** How long an upload whose index write failed with an open outcome asks the ledger whether it committed (settleWrite). */
const INDEX_SETTLE_MS = 30_000;

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** Runs a step and adds its duration to `timings[part]`. */
const timer =
  (timings: Timings) =>
  async <T>(part: keyof Timings, f: () => Promise<T> | T): Promise<T> => {
    const t0 = performance.now();
    try {
      return await f();
    } finally {
      timings[part] = (timings[part] ?? 0) + performance.now() - t0;
    }
  };

/** Counts bytes through a stream and reports progress. */
function counter(phase: Progress['phase'], total: number | undefined, onProgress?: (p: Progress) => void): Transform & { bytes: number } {
  const t = new Transform({
    transform(chunk: Buffer, _enc, done) {
      t.bytes += chunk.length;
      onProgress?.({ phase, bytes: t.bytes, ...(total !== undefined ? { total } : {}) });
      done(null, chunk);
    },
  }) as Transform & { bytes: number };
  t.bytes = 0;
  return t;
}

export class EmrClient {
  readonly index: EmrIndex;
  readonly consents: ConsentLedger;
  readonly emergency: EmergencyAccess;
  readonly proxies: ProxyRegistry;
  readonly directory: DirectoryClient;
  readonly ipfs: IpfsStore;
  /** The consortium's settings on chain (members, default cipher suite). */
  readonly settings: ConsortiumSettingsClient;
  private consortium?: Consortium;
  private readonly keys = new Map<string, G2Point>();
  private readonly grantKeys = new Map<string, G2Point>();

  private constructor(
    readonly connection: EmrConnection,
    readonly profile: ConnectionProfile,
    private readonly grantProxies: { n: number; threshold: number },
  ) {
    this.index = new EmrIndex(connection);
    this.consents = new ConsentLedger(connection);
    this.emergency = new EmergencyAccess(connection);
    this.proxies = new ProxyRegistry(connection);
    this.directory = new DirectoryClient(connection);
    this.settings = new ConsortiumSettingsClient(connection);
    const own = profile.orgs[connection.org]!;
    const others = Object.entries(profile.orgs).filter(([name]) => name !== connection.org);
    this.ipfs = new IpfsStore([{ org: connection.org, api: own.ipfsApi }, ...others.map(([org, o]) => ({ org, api: o.ipfsApi }))]);
  }

  /** Connects as an enrolled identity of an org (profile from $EMR_NETWORK_DIR unless given). */
  static connect(options: ConnectOptions & { grantProxies?: { n: number; threshold: number } }): EmrClient {
    const profile = typeof options.profile === 'object' ? options.profile : loadProfile(options.profile);
    const n = Math.min(3, Object.keys(profile.orgs).length);
    return new EmrClient(connectGateway({ ...options, profile }), profile, options.grantProxies ?? { n, threshold: Math.min(2, n) });
  }

  close(): void {
    this.connection.close();
  }

  get identity(): string {
    return encodeParty({ mspId: this.connection.mspId, enrollmentId: this.connection.enrollmentId });
  }

  /** The pseudonym of the caller's own enrollment key: a patient's, once he registered it. */
  ownPseudonym(): string {
    return pseudonymOf(this.connection.mspId, this.connection.certificate);
  }

  /** The connected patient registers his own pseudonym on chain (ConflictError if he already did). */
  registerPatient(): Promise<PatientRegistration> {
    return this.consents.registerPatient(this.ownPseudonym());
  }

  /**
   * The connected patient registers his SM2 key, which signs his records of the SM suite (it
   * derives from his enrollment key); idempotent. Uploads of that suite do it when needed.
   */
  registerSm2Key(): Promise<PatientRegistration> {
    return this.consents.registerSm2Key(this.ownPseudonym());
  }

  /** Registers the patient's SM2 key unless the chain already has it (once per client). */
  private sm2KeyOnChain(): Promise<unknown> {
    this.sm2KeyRegistered ??= this.consents
      .readPatient(this.ownPseudonym())
      .then((r) => (r.sm2PublicKey === this.connection.sm2PublicKey() ? r : this.registerSm2Key()))
      .catch((err: unknown) => {
        this.sm2KeyRegistered = undefined;
        throw err;
      });
    return this.sm2KeyRegistered;
  }
  private sm2KeyRegistered: Promise<unknown> | undefined;

  /**
   * The connected patient's key for blinding his categories, from his home hospital's key
   * centre (docs/privacy.md, "Categories"); checked to be for his own pseudonym.
   */
  async blindingKey(): Promise<Uint8Array> {
    // It never changes: asked once per client.
    this.ownBlindingKey ??= (async () => {
      const centre = this.homeCentre(this.connection.mspId);
      const answer = await keyCentreClient(centre.index, centre.endpoint, this.connection, 10_000).post('POST /v1/blinding-key', {});
      if (answer.patientPseudonym !== this.ownPseudonym()) throw new FlowError(`the key centre at ${centre.endpoint} answered a blinding key for pseudonym ${answer.patientPseudonym.slice(0, 12)}…, not yours`);
      return Buffer.from(answer.key, 'hex');
    })().catch((err: unknown) => {
      this.ownBlindingKey = undefined;
      throw err;
    });
    return this.ownBlindingKey;
  }
  private ownBlindingKey: Promise<Uint8Array> | undefined;

  /**
   * Department paths blinded for a patient by his home hospital's key centre, which logs the
   * request, each with its label sealed for the patient (his listings name it).
   */
  async blindCategories(patientPseudonym: string, categories: string[]): Promise<{ blinded: string[]; labels: string[] }> {
    const centre = this.homeCentre(await this.homeOf(patientPseudonym));
    return keyCentreClient(centre.index, centre.endpoint, this.connection, 10_000).post('POST /v1/blind', { patientPseudonym, categories });
  }

  /**
   * A department path blinded for a patient, with its sealed label, once its clear form passed
   * the consortium's tree (the chain cannot check a blinded one): with the patient's own key
   * when he is the caller, else by his home hospital's key centre.
   */
  private async blinded(patientPseudonym: string, category: string, field: string, settingsRead: Promise<ConsortiumSettings> = this.settings.read()): Promise<{ category: string; categoryLabel: string }> {
    const settings = await settingsRead;
    if (!categoryKnown(settings, category)) throw new InvalidArgumentError('INVALID_ARGUMENT', unknownCategory(settings, category), field);
    if (this.isPatient() && patientPseudonym === this.ownPseudonym()) {
      const key = await this.blindingKey();
      return { category: blindCategory(key, category), categoryLabel: sealCategoryLabel(key, category) };
    }
    const { blinded, labels } = await this.blindCategories(patientPseudonym, [category]);
    return { category: blinded[0]!, categoryLabel: labels[0]! };
  }

  /**
   * For the patient himself, the clear names of the blinded ones among `categories`: from the
   * labels of his records (listed unless given), then against the consortium's tree and those
   * records' ancestors (a consent or an area rule on a blinded path carries no label). Anyone
   * else, and any path not found, gets nothing: the listing shows the blinded form.
   */
  async clearCategories(patientPseudonym: string, categories: readonly string[], records?: readonly Pick<EmrRecord, 'category' | 'categoryLabel'>[]): Promise<Map<string, string>> {
    const clear = new Map<string, string>();
    if (!this.isPatient() || patientPseudonym !== this.ownPseudonym() || !categories.some(isBlindedCategory)) return clear;
    const key = await this.blindingKey();
    for (const r of records ?? (await this.patientRecords(patientPseudonym))) {
      const name = r.categoryLabel === undefined ? undefined : openCategoryLabel(key, r.category, r.categoryLabel);
      if (name === undefined) continue;
      clear.set(r.category, name);
      for (const a of categoryAncestors(name)) if (a !== ROOT_CATEGORY) clear.set(blindCategory(key, a), a);
    }
    const settings = await this.settings.read();
    for (const path of settings.categories.flatMap((c) => [c, ...categoryAncestors(c)])) if (path !== ROOT_CATEGORY) clear.set(blindCategory(key, path), path);
    return clear;
  }

  /**
   * A doctor breaks the glass (EmergencyAccess.breakGlass). With `blindCategory`, its category
   * goes on chain blinded by the patient's home hospital, to match his blinded records.
   */
  async breakGlass(input: EmergencyInput & { justification: string; blindCategory?: boolean }): Promise<Emergency> {
    const { blindCategory, ...request } = input;
    if (request.category === undefined || !(await this.blinding(blindCategory))) return this.emergency.breakGlass(request);
    return this.emergency.breakGlass({ ...request, category: (await this.blinded(request.patientPseudonym, request.category, 'category')).category });
  }

  /** The next record pseudonym of a patient, from his home hospital's key centre, to file an unlinked record under. */
  private async recordPseudonymFor(patientPseudonym: string): Promise<string> {
    const centre = this.homeCentre(await this.homeOf(patientPseudonym));
    return (await keyCentreClient(centre.index, centre.endpoint, this.connection, 10_000).post('POST /v1/record-pseudonym', { patientPseudonym })).recordPseudonym;
  }

  /** A patient's home hospital: it never changes, so it is read once per client. */
  private homeOf(patientPseudonym: string): Promise<string> {
    let home = this.homes.get(patientPseudonym);
    if (!home) {
      home = this.consents.readPatient(patientPseudonym).then((r) => r.homeMsp);
      home.catch(() => this.homes.delete(patientPseudonym));
      this.homes.set(patientPseudonym, home);
    }
    return home;
  }
  private readonly homes = new Map<string, Promise<string>>();

  /**
   * What ties an unlinked record to its patient, for a request that needs it (docs/privacy.md,
   * "Linkability"); undefined for a linked record. The patient derives his own; a requester
   * gets it from the patient's home hospital's key centre, which gives it only when the chain
   * would allow his request.
   */
  async linkOf(record: Pick<EmrRecord, 'recordId' | 'patientPseudonym'>, via: Via | { emergencyId: string } | undefined, purpose: Purpose): Promise<RecordLink | undefined> {
    if (!isRecordPseudonym(record.patientPseudonym)) return undefined;
    if (!via) {
      const own = this.ownPseudonym();
      const key = await this.blindingKey();
      const index = linkIndexOf(key, own, record.patientPseudonym);
      if (index === undefined) throw new FlowError(`record '${record.recordId}' is filed under a record pseudonym that is not yours`);
      return { patientPseudonym: own, linkKey: linkKey(key, index) };
    }
    let homeMsp: string;
    if ('grantId' in via) {
      let reg = (await this.consents.readGrant(via.grantId)).registration;
      while (reg.parentGrantId) reg = (await this.consents.readGrant(reg.parentGrantId)).registration;
      homeMsp = reg.delegator.mspId; // the patient's, who made the hop-1 grant
    } else {
      const patientPseudonym =
        'consentId' in via ? (await this.consents.readConsent(via.consentId)).patientPseudonym : 'emergencyId' in via ? (await this.emergency.read(via.emergencyId)).emergency.patientPseudonym : via.patientPseudonym;
      if (!patientPseudonym) throw new FlowError(`record '${record.recordId}' is unlinked: a request by area names its patient (patientPseudonym), whose hospital gives the link`);
      homeMsp = await this.homeOf(patientPseudonym);
    }
    const centre = this.homeCentre(homeMsp);
    const under = 'consentId' in via ? { consentId: via.consentId } : 'grantId' in via ? { grantId: via.grantId } : 'emergencyId' in via ? { emergencyId: via.emergencyId } : { patientPseudonym: via.patientPseudonym! };
    return keyCentreClient(centre.index, centre.endpoint, this.connection, 10_000).post('POST /v1/link', { recordId: record.recordId, purpose, ...under });
  }

  /**
   * A patient's records. The patient himself also gets his unlinked ones, found with his key
   * (walkUnlinked); anyone else sees only those filed under his pseudonym.
   */
  async patientRecords(patientPseudonym: string): Promise<EmrRecord[]> {
    const linked = this.index.allRecordsByPatient(patientPseudonym);
    if (!this.isPatient() || patientPseudonym !== this.ownPseudonym()) return linked;
    const { found } = await walkUnlinked((rps) => this.index.findUnlinkedRecords(rps), await this.blindingKey(), patientPseudonym);
    return [...(await linked), ...found.map((u) => u.record)].sort((a, b) => a.recordId.localeCompare(b.recordId));
  }

  /** Whether to blind: as asked, else as the consortium's settings say (docs/privacy.md). */
  private async blinding(asked: boolean | undefined, settingsRead?: Promise<ConsortiumSettings>): Promise<boolean> {
    return asked ?? (await (settingsRead ?? this.settings.read())).blindCategories ?? false;
  }

  /** The key centre of a hospital: its position in the connection profile is its index. */
  private homeCentre(mspId: string): { index: number; endpoint: string } {
    const orgs = Object.values(this.profile.orgs);
    const index = orgs.findIndex((o) => o.mspId === mspId);
    if (index < 0) throw new FlowError(`no org of the connection profile is ${mspId}`);
    return { index: index + 1, endpoint: orgs[index]!.kgcEndpoint };
  }

  /**
   * The connected patient sets his own rule for an area (it replaces the consortium's default);
   * with `blindCategory`, its category blinded with his key, to match his blinded records.
   */
  async setAreaPolicy(input: { patientPseudonym: string; area: string; purposes: Purpose[]; category?: string; blindCategory?: boolean }): Promise<AreaPolicy> {
    const { blindCategory, category, ...rule } = input;
    const scoped = category === undefined ? {} : { category: (await this.blinding(blindCategory)) ? (await this.blinded(rule.patientPseudonym, category, 'category')).category : category };
    return this.consents.setAreaPolicy({ ...rule, ...scoped });
  }

  /** The caller, a doctor, researcher or admin, lists himself in the directory so consents can name him; idempotent. */
  registerIdentity() {
    return this.directory.registerIdentity();
  }

  private async params(): Promise<Consortium> {
    return (this.consortium ??= await loadConsortium(this.connection));
  }

  /** The caller's key for an identity he may hold (his own, or a slot of his pseudonym), cached. */
  private async keyOf(identity: string): Promise<G2Point> {
    let key = this.keys.get(identity);
    if (!key) this.keys.set(identity, (key = await extractKey(await this.params(), identity, this.connection)));
    return key;
  }

  /** The key X of a grant to the caller or his group, opened and checked against the grant once (a registered grant never changes). */
  private async grantKeyOf(grant: GrantPublic): Promise<G2Point> {
    let x = this.grantKeys.get(grant.grantId);
    if (!x) this.grantKeys.set(grant.grantId, (x = openGrantKey((await this.params()).params, grant, await this.keyOf(grant.delegatee))));
    return x;
  }

  /**
   * Encrypts a record as it streams (AES-256-GCM segments under a fresh data key), stores the
   * ciphertext on the own org's IPFS node (a second org's node pins a replica meanwhile:
   * `replicated`), encapsulates the data key to the
   * patient's slot (pseudonym, type, category) and indexes it on chain. A doctor uploads for
   * his hospital; a patient for himself (signed). If indexing fails, the ciphertext is unpinned.
   */
  async uploadRecord(input: UploadInput): Promise<UploadResult> {
    await ready(); // the crypto backend, chosen once before the first point
    const timings: Timings = {};
    const time = timer(timings);
    const recordId = input.recordId ?? `rec-${randomUUID()}`;
    const type = input.type ?? 'sharable';
    let settings: Promise<ConsortiumSettings> | undefined;
    const settingsOnce = () => (settings ??= this.settings.read());
    const [{ params }, cipherSuite] = await time('keys', () => Promise.all([this.params(), input.cipherSuite ?? settingsOnce().then((x) => x.defaultCipherSuite as CipherSuite)]));
    const previous = input.supersedes ? await time('chain', () => this.index.readRecord(input.supersedes!)) : undefined;
    const version = previous ? previous.version + 1 : 1;
    if (input.unlinked && this.isPatient()) throw new InvalidArgumentError('INVALID_ARGUMENT', 'a patient files his own records linked: his certificate names him in the transaction anyway', 'unlinked');
    if (input.unlinked && input.supersedes) throw new InvalidArgumentError('INVALID_ARGUMENT', 'a new version keeps the pseudonym of the record it supersedes: leave unlinked out', 'unlinked');
    const unlinked = input.unlinked ?? (!this.isPatient() && !input.supersedes && ((await settingsOnce()).unlinkRecords ?? false));
    // A new version of an unlinked record keeps its record pseudonym; the chain checks any other against the version before.
    const filedUnder = async () => (unlinked ? await time('keys', () => this.recordPseudonymFor(input.patientPseudonym)) : previous && isRecordPseudonym(previous.patientPseudonym) ? previous.patientPseudonym : input.patientPseudonym);
    // The home hospital's centre draws the record pseudonym while the path is blinded and the content stored.
    const drawn = filedUnder();
    drawn.catch(() => undefined); // awaited once the content is stored, which a failure then unpins
    const blind = await this.blinding(input.blindCategory, settingsOnce());
    const { category, categoryLabel } = blind ? await time('keys', () => this.blinded(input.patientPseudonym, input.category, 'category', settingsOnce())) : { category: input.category, categoryLabel: undefined };
    const dataKey = newDataKey();
    const capsules = encapsulateForCategory(params, input.patientPseudonym, type, category, dataKey);
    // As stored: naming the record pseudonym of an unlinked record, not the patient.
    const storedUnder = (pseudonym: string) => {
      if (pseudonym === input.patientPseudonym) return capsules;
      const [encapsulatedKey, ...ancestorKeys] = recordCapsules(capsules).map((c) => storedCapsule(c, pseudonym));
      return { encapsulatedKey: encapsulatedKey!, ancestorKeys };
    };

    const total = typeof input.source === 'string' ? statSync(input.source).size : input.source instanceof Uint8Array ? input.source.length : undefined;
    const source = typeof input.source === 'string' ? createReadStream(input.source, { highWaterMark: 1 << 20 }) : input.source instanceof Uint8Array ? Readable.from([Buffer.from(input.source)]) : input.source;
    const progress = counter('encrypt+upload', total, input.onProgress);
    const pad = input.padSize ?? true;
    const encryptor = new RecordEncryptor(dataKey, { recordId, version }, undefined, undefined, cipherSuite, pad);
    source.on('error', (e: Error) => encryptor.destroy(e));
    progress.on('error', (e) => encryptor.destroy(e));
    const stored = await time('ipfs', () => this.ipfs.add(source.pipe(progress).pipe(encryptor)));
    dataKey.fill(0);
    try {
      let patientPseudonym = await drawn;
      const fields = {
        recordId,
        patientPseudonym,
        category,
        ...(categoryLabel !== undefined ? { categoryLabel } : {}),
        type,
        cid: stored.cid,
        ciphertextSha256: encryptor.sha256(),
        size: pad ? encryptor.sealedBytes() : progress.bytes,
        cipherSuite,
        ...storedUnder(patientPseudonym),
        ...(input.supersedes ? { supersedes: input.supersedes } : {}),
      };
      const asPatient = async () => {
        if (signatureSchemeOf(cipherSuite) === 'sm2-sm3') await this.sm2KeyOnChain();
        return this.index.createRecordAsPatient(fields);
      };
      const create = () => (this.isPatient() ? asPatient() : this.index.createRecord(fields));
      const record = await time('chain', () =>
        create().catch(async (err: unknown) => {
          // Another filing for the patient took this record pseudonym meanwhile: the next one.
          if (!(unlinked && err instanceof ConflictError && err.field === 'patientPseudonym')) throw err;
          patientPseudonym = await filedUnder();
          Object.assign(fields, { patientPseudonym }, storedUnder(patientPseudonym));
          return create();
        }),
      );
      return { record, pinnedOn: stored.pinnedOn, replicated: stored.replicated, timings };
    } catch (err) {
      const record = await this.committedAfterAll(recordId, stored.cid, err);
      if (record) return { record, pinnedOn: stored.pinnedOn, replicated: stored.replicated, timings };
      await stored.replicated;
      await this.ipfs.unpinEverywhere(stored.cid);
      throw err;
    }
  }

  /**
   * An index write failed: was it committed all the same? Unpinning the content of a record
   * that is indexed would lose it, so an open outcome is settled on the ledger first.
   * Answers the committed record, or undefined when it was never written; throws
   * IndexOutcomeUnknownError (content kept) when the ledger could not be read.
   */
  private async committedAfterAll(recordId: string, cid: string, err: unknown): Promise<EmrRecord | undefined> {
    const outcome = await settleWrite(err, () => this.index.readRecord(recordId), INDEX_SETTLE_MS);
    if (outcome.written === 'unknown') throw new IndexOutcomeUnknownError(recordId, cid, { cause: err });
    return outcome.written && outcome.value.cid === cid ? outcome.value : undefined;
  }

  private isPatient(): boolean {
    return this.profile.orgs[this.connection.org]?.users[this.connection.user]?.role === 'patient';
  }

  /**
   * The patient grants a consent and makes its re-encryption keys (consentSlots), each split
   * among the proxies the chain elects, delivered to them, and registered: to the grantee, or
   * for a role, org or area to the group's party, whose key the key centres give its members.
   * If a grant cannot be made, the consent is revoked again so no half-made consent stays usable.
   */
  async grantConsent(input: Omit<ConsentInput, 'consentId'> & { consentId?: string; blindCategory?: boolean }): Promise<GrantResult> {
    if (input.grantee.kind === 'identity') await this.directory.readIdentity(input.grantee); // NotFoundError names an unknown grantee before anything is made
    const { blindCategory, ...fields } = input;
    const scope = fields.scope.category !== undefined && (await this.blinding(blindCategory)) ? { ...fields.scope, category: await this.blindedConsentCategory(fields.patientPseudonym, fields.scope.category) } : fields.scope;
    const consent = await this.consents.grantConsent({ ...fields, scope, consentId: input.consentId ?? `consent-${randomUUID()}` });
    // Proxies take no share of a consent awaiting its hospital's approvals: its grants are made once it is active (extendGrants).
    if (consent.status === 'pending') return { consent, grants: [] };
    try {
      return { consent, grants: await this.makeGrants(consent, await this.consentSlots(consent)) };
    } catch (err) {
      await this.consents.revokeConsent(consent.consentId).catch(() => undefined);
      throw err;
    }
  }

  /**
   * A consent's category blinded with the patient's key. When his hospital has approval
   * policies, its key centre blinds it and attests on chain what they require of it, which
   * the chain then holds the consent to (docs/privacy.md, "Approval policies").
   */
  private async blindedConsentCategory(patientPseudonym: string, category: string): Promise<string> {
    const { category: blinded } = await this.blinded(patientPseudonym, category, 'scope.category');
    const home = this.connection.mspId;
    if ((await this.consents.readApprovalPolicies(home)).policies.length === 0) return blinded;
    const centre = this.homeCentre(home);
    const attested = await keyCentreClient(centre.index, centre.endpoint, this.connection, 30_000).post('POST /v1/attest-reach', { category });
    if (attested.category !== blinded) throw new FlowError(`the key centre at ${centre.endpoint} attested another blinded path than your key gives`);
    return blinded;
  }

  /**
   * The slots a new consent's grants are for, without listing the patient's records: its
   * category's (or the root's when it names none), which opens every sharable record below it,
   * present or future (each carries a capsule for every ancestor); for a consent naming
   * records, the categories of those records only.
   */
  private async consentSlots(consent: Consent): Promise<Slot[]> {
    if (consent.scope.type === 'non-sharable') return [];
    const slot = (condition: string): Slot => ({ owner: consent.patientPseudonym, type: 'sharable', condition });
    if (consent.scope.recordIds === undefined) return [slot(consent.scope.category ?? ROOT_CATEGORY)];
    const records = await Promise.all(consent.scope.recordIds.map((id) => this.index.readRecord(id)));
    const categories = new Set(records.filter((r) => !r.erased && r.type === 'sharable' && recordInScope(consent, r)).map((r) => r.category));
    return [...categories].map(slot);
  }

  /** One grant per slot, one after another (each elects its own proxies). */
  private async makeGrants(consent: Consent, slots: Slot[]): Promise<Registration[]> {
    const { grantee } = consent;
    const delegatee: Party = grantee.kind === 'identity' ? { mspId: grantee.mspId, enrollmentId: grantee.enrollmentId } : groupPartyOf(grantee, this.connection.mspId)!;
    const made: Registration[] = [];
    for (const slot of slots) {
      const slotKey = await this.keyOf(slotIdentity(slot));
      made.push(await this.makeGrant({ consentId: consent.consentId, slot, delegatorKey: slotKey, delegatee, hop: 1, expiresAt: consent.validUntil }));
    }
    return made;
  }

  /**
   * The patient's standing grants, which carry the areas' rules (defaults, or his own) to
   * keys: one to each area of the consortium's settings, on the root slot, under
   * `area-keys.<area>.<pseudonym>`, unless one is registered that is still valid in a week.
   * They open nothing by themselves: the proxies serve them only for a request the chain
   * allowed by that area's rule. The patient's device runs this after registration, and
   * again when the consortium adds an area.
   */
  async makeAreaGrants(options: { validDays?: number } = {}): Promise<Registration[]> {
    await ready(); // the crypto backend, chosen once before the first point
    const pseudonym = this.ownPseudonym();
    const { areas } = await this.settings.read();
    const slot: Slot = { owner: pseudonym, type: 'sharable', condition: ROOT_CATEGORY };
    const expiresAt = new Date(Date.now() + (options.validDays ?? 365) * 86_400_000).toISOString();
    const soon = Date.now() + 7 * 86_400_000;
    const made: Registration[] = [];
    for (const area of areas) {
      const consentId = areaKeysId(area.name, pseudonym);
      const held = (await this.consents.allGrants(consentId)).some((r) => r.hop === 1 && Date.parse(r.expiresAt) > soon);
      if (held) continue;
      const delegatee = groupPartyOf({ kind: 'area', area: area.name }, this.connection.mspId)!;
      made.push(await this.makeGrant({ consentId, slot, delegatorKey: await this.keyOf(slotIdentity(slot)), delegatee, hop: 1, expiresAt }));
    }
    return made;
  }

  /**
   * Makes the grants a consent lacks: all of them for a consent granted pending (once its
   * approvals made it active); else for records in its scope that no grant of it opens:
   * records indexed before ancestor capsules existed (they carry their own category's capsule
   * only), or grants lost to a failure. A consent granted on a category needs nothing more for
   * records indexed later. Lists the patient's records.
   */
  async extendGrants(consentOrId: Consent | string): Promise<Registration[]> {
    await ready(); // the crypto backend, chosen once before the first point
    const consent = typeof consentOrId === 'string' ? await this.consents.readConsent(consentOrId) : consentOrId;
    const existing = await this.consents.allGrants(consent.consentId);
    // A consent that was pending when granted has none yet: its own grants first.
    if (!existing.some((g) => g.hop === 1)) return this.makeGrants(consent, await this.consentSlots(consent));
    const covered = new Set(existing.filter((g) => g.hop === 1).map((g) => `${g.type}|${g.conditionHash}`));
    const slots = new Map<string, Slot>();
    for (const record of await this.patientRecords(consent.patientPseudonym)) {
      if (record.erased || record.type !== 'sharable' || !recordInScope(consent, { ...record, patientPseudonym: consent.patientPseudonym })) continue;
      const opens = recordCapsules(record, consent.patientPseudonym).some((c) => covered.has(`${c.slot.type}|${sha256Hex(c.slot.condition)}`));
      const slot: Slot = { owner: consent.patientPseudonym, type: record.type, condition: record.category };
      if (!opens) slots.set(slotIdentity(slot), slot);
    }
    return this.makeGrants(consent, [...slots.values()]);
  }

  /**
   * ReKeyGen for the elected proxies, the registration on chain, then each share delivered
   * in a request signed by the delegator (a proxy accepts a share only for a grant whose
   * registration names the signer as delegator, and checks it against the commitments on
   * chain). Fewer than t accepting proxies: InsufficientFragmentsError; the grant is then
   * registered but unusable (the caller can revoke the consent, or delegate again).
   */
  private async makeGrant(g: { consentId: string; slot: Slot; delegatorKey: G2Point; delegatee: Party; hop: number; parent?: { grantId: string; grant: GrantPublic }; expiresAt: string }): Promise<Registration> {
    const { params } = await this.params();
    const grantId = `grant-${randomUUID()}`;
    const elected = await this.proxies.elect(grantId, g.consentId, this.grantProxies.n);
    const { grant, shares } = reKeyGen(params, { grantId, slot: g.slot, delegatorKey: g.delegatorKey, delegatee: encodeParty(g.delegatee), hop: g.hop, proxies: elected.map(encodeParty), threshold: this.grantProxies.threshold, ...(g.parent ? { parent: g.parent.grant } : {}) });
    const registration = await this.consents.registerGrant({
      grantId,
      consentId: g.consentId,
      delegatee: g.delegatee,
      type: g.slot.type,
      conditionHash: sha256Hex(g.slot.condition),
      hop: g.hop,
      ...(g.parent ? { parentGrantId: g.parent.grantId } : {}),
      proxies: elected,
      threshold: grant.threshold,
      commitments: grant.commitments.map((c) => toBase64url(c.toBytes())),
      grant: toBase64url(encodeGrant(grant)),
      expiresAt: g.expiresAt,
    });
    const endpoints = await this.proxyEndpoints();
    const refused: { proxy: string; reason: string }[] = [];
    await Promise.all(
      shares.map(async (share, i) => {
        const proxy = encodeParty(elected[i]!);
        try {
          await proxyClient(proxy, endpoints.get(proxy) ?? '', this.connection).post('POST /v1/shares', { grantId, share: toBase64url(encodeProxyShare(share)) });
        } catch (err) {
          refused.push({ proxy, reason: (err as Error).message });
        }
      }),
    );
    if (shares.length - refused.length < grant.threshold) {
      throw new InsufficientFragmentsError(grantId, grant.threshold, refused, `Too few proxies accepted its shares: the grant is registered on chain under consent '${g.consentId}' but cannot be used; revoke the consent (or make the grant again)`);
    }
    return registration;
  }

  /** The patient revokes a consent: every grant under it stops at once (proxies also drop their shares). */
  revokeConsent(consentId: string): Promise<Consent> {
    return this.consents.revokeConsent(consentId);
  }

  /**
   * Asks on chain to use a record, under a consent (its grantee), through a grant (a delegatee),
   * or by area; for an unlinked record, with its link from the patient's hospital (linkOf).
   */
  async requestAccess(recordId: string, via: Via, purpose: Purpose): Promise<LogEntry> {
    return this.requestWith(recordId, via, purpose, await this.linkOf(await this.index.readRecord(recordId), via, purpose));
  }

  private requestWith(recordId: string, via: Via, purpose: Purpose, link: RecordLink | undefined): Promise<LogEntry> {
    if ('area' in via) return this.consents.requestAreaAccess(recordId, purpose, link);
    return 'grantId' in via ? this.consents.requestDelegatedAccess(recordId, via.grantId, purpose, link) : this.consents.requestAccess(recordId, via.consentId, purpose, link);
  }

  /** The requester of an approved break-glass asks to read a record under it (EmergencyAccess.requestAccess), with an unlinked record's link. */
  async requestEmergencyAccess(recordId: string, emergencyId: string): Promise<LogEntry> {
    const link = await this.linkOf(await this.index.readRecord(recordId), { emergencyId }, 'emergency');
    return this.emergency.requestAccess(recordId, emergencyId, link);
  }

  /**
   * Reads a record: requests access on chain, collects t verified fragments per grant up the
   * delegation chain (a bad one is reported on chain), opens the data key, streams the
   * ciphertext from IPFS checking its SHA-256 against the chain, decrypts and confirms receipt.
   * A patient reads his own record without a consent (`via` omitted).
   */
  async fetchRecord(recordId: string, via: Via | undefined, options: FetchOptions): Promise<FetchResult> {
    await ready(); // the crypto backend, chosen once before the first point
    const timings: Timings = {};
    const time = timer(timings);
    if (!via && !this.isPatient()) {
      throw new FlowError(`${this.identity} reads record '${recordId}' under a consent ({ consentId }, from the patient's grant) or a grant ({ grantId }, a re-delegation); only a patient reads his own records without one`);
    }
    const readRecord = async () => {
      const r = await time('chain', () => this.index.readRecord(recordId));
      if (r.erased) throw new FlowError(`record '${recordId}' was erased at ${r.erased.erasedAt}`);
      return r;
    };
    let record = await readRecord();
    let dataKey: Uint8Array;
    let entry: LogEntry | undefined;
    const link = await time('keys', () => this.linkOf(record, via, options.purpose));
    if (!via) {
      const capsule = recordCapsules(record, link?.patientPseudonym)[0]!;
      const slotKey = await time('keys', () => this.keyOf(slotIdentity(capsule.slot)));
      dataKey = await time('crypto', () => decrypt(capsule, slotKey));
    } else {
      entry = await time('chain', () => this.requestWith(recordId, via, options.purpose, link));
      // Read again: our peer has now committed the access request, so it holds every change
      // ordered before it; the first read may predate one another org's peer had already
      // committed (a type switch), and a stale capsule would match a stale grant.
      record = await readRecord();
      const capsules = recordCapsules(record, entry.patientPseudonym);
      const chain = await time('chain', () => this.grantChain(record, capsules, via, entry!));
      const first = chain[0]!;
      const capsule = capsuleForSlot(capsules, first.grant.slot);
      if (!capsule) throw new FlowError(`grant '${first.registration.grantId}' (${first.grant.slot.type}, ${first.grant.slot.condition}) opens no capsule of record '${recordId}' (${record.type}, ${record.category})`);
      let current = capsule;
      const endpoints = await time('chain', () => this.proxyEndpoints());
      for (const link of chain) current = await this.reEncryptThrough(entry!, link, current, endpoints, timings);
      const grantKey = await time('keys', () => this.grantKeyOf(chain[chain.length - 1]!.grant));
      dataKey = await time('crypto', () => decryptReEncrypted(current, grantKey));
    }
    const { data, bytes } = await time('ipfs', () => this.download(record, dataKey, options));
    const kept = options.keepDataKey ? Uint8Array.from(dataKey) : undefined;
    dataKey.fill(0);
    const receipt = entry ? await time('chain', () => this.consents.confirmReceiptAsync(entry!.entryId)) : undefined;
    return { record, ...(entry ? { entry } : {}), ...(receipt ? { receipt: receipt.result as LogEntry } : {}), receiptCommitted: receipt?.committed ?? Promise.resolve(), ...(data ? { data } : {}), ...(kept ? { dataKey: kept } : {}), bytes, timings };
  }

  /** The grants from hop 1 down to the one the caller (or his group) holds. */
  private async grantChain(record: EmrRecord, capsules: Capsule[], via: Via, entry: LogEntry): Promise<ChainLink[]> {
    const link = (registration: Registration): ChainLink => ({ registration, grant: decodeGrant(fromBase64url(registration.grant, 'grant')) });
    if ('grantId' in via) {
      const chain: ChainLink[] = [];
      for (let id: string | null = via.grantId; id; ) {
        const { registration } = await this.consents.readGrant(id);
        chain.unshift(link(registration));
        id = registration.parentGrantId;
      }
      return chain;
    }
    const me = this.identity;
    // Under a consent: a grant to the caller, or to the group the consent names (the chain registers no other);
    // by area: the patient's standing grant to the area whose rule allowed the request.
    const area = 'area' in via ? areaOfRule(entry.areaRule) : undefined;
    const under = 'consentId' in via ? via.consentId : area && areaKeysId(area, entry.patientPseudonym);
    const now = Date.now();
    const found = (under ? await this.consents.allGrants(under) : [])
      .filter((r) => r.hop === 1 && (encodeParty(r.delegatee) === me || isGroupParty(r.delegatee)) && Date.parse(r.expiresAt) > now)
      .map(link)
      .find(({ grant }) => capsuleForSlot(capsules, grant.slot) !== undefined);
    if (!found && area) throw new FlowError(`the ${area} area's rule allowed the request, but patient ${entry.patientPseudonym.slice(0, 12)}… holds no standing grant to the area (his device makes them: makeAreaGrants)`);
    if (!found) throw new FlowError(`consent '${under}' has no grant for ${me} covering record '${record.recordId}' (${record.type}, ${record.category}); the patient can extend the consent's grants`);
    return [found];
  }

  /** Asks every proxy of a grant for its fragment; t verified ones make the next capsule; bad ones are reported on chain. */
  private async reEncryptThrough(entry: LogEntry, { registration, grant }: ChainLink, capsule: Capsule, endpoints: Map<string, string>, timings: Timings): Promise<Capsule> {
    const body = { entryId: entry.entryId, grantId: grant.grantId, capsule: toBase64url(encodeCapsule(capsule)) };
    return collectFragments(capsule, grant, registration.proxies, {
      ask: (proxy) => proxyClient(encodeParty(proxy), endpoints.get(encodeParty(proxy)) ?? '', undefined, 20_000).post('POST /v1/fragments', body),
      report: (signed) => void this.proxies.reportBadFragment(signed).catch(() => undefined),
      timings,
    });
  }

  /**
   * Streams the ciphertext from IPFS through the SHA-256 check and the decryptor. A stream
   * that broke (its node went away mid-read) is read again once, from the next node that
   * holds the content.
   */
  private async download(record: EmrRecord, dataKey: Uint8Array, options: FetchOptions): Promise<{ data?: Buffer; bytes: number }> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.downloadOnce(record, dataKey, options);
      } catch (err) {
        if (!(err instanceof ContentUnavailableError) || attempt >= 2) throw err;
      }
    }
  }

  private async downloadOnce(record: EmrRecord, dataKey: Uint8Array, options: FetchOptions): Promise<{ data?: Buffer; bytes: number }> {
    const hash = createHash('sha256');
    const hashing = new Transform({
      transform(chunk: Buffer, _enc, done) {
        hash.update(chunk);
        done(null, chunk);
      },
      flush(done) {
        const got = hash.digest('hex');
        done(got === record.ciphertextSha256 ? null : new IntegrityError(`the ciphertext of '${record.recordId}' from IPFS has SHA-256 ${got}, the chain recorded ${record.ciphertextSha256}`));
      },
    });
    const decryptor = new RecordDecryptor(dataKey, { recordId: record.recordId, version: record.version }, record.cipherSuite as CipherSuite);
    const progress = counter('download+decrypt', record.size, options.onProgress);
    const chunks: Buffer[] = [];
    const partial = options.to ? `${options.to}.partial` : undefined;
    const sink = partial ? createWriteStream(partial, { highWaterMark: 1 << 20 }) : new Writable({ write: (c: Buffer, _e, done) => (chunks.push(c), done()) });
    try {
      await pipeline(Readable.from(await this.ipfs.cat(record.cid)), hashing, decryptor, progress, sink);
    } catch (err) {
      if (partial) rmSync(partial, { force: true });
      if (err instanceof EmrError) throw err;
      throw new IntegrityError(`record '${record.recordId}' failed decryption: ${(err as Error).message}`, { cause: err });
    }
    if (partial) renameSync(partial, options.to!);
    return { ...(partial ? {} : { data: Buffer.concat(chunks) }), bytes: progress.bytes };
  }

  /**
   * A delegatee re-delegates his grant (e.g. a doctor to a specialist) within the consent's
   * hop limit; the capsule stays the same size however many hops it goes through.
   */
  async delegate(parentGrantId: string, delegatee: Party, expiresAt?: string): Promise<Registration> {
    await ready(); // the crypto backend, chosen once before the first point
    await this.directory.readIdentity(delegatee);
    const { registration: parent } = await this.consents.readGrant(parentGrantId);
    const parentGrant = decodeGrant(fromBase64url(parent.grant, 'grant'));
    const grantKey = await this.grantKeyOf(parentGrant);
    return this.makeGrant({ consentId: parent.consentId, slot: parentGrant.slot, delegatorKey: grantKey, delegatee, hop: parent.hop + 1, parent: { grantId: parentGrantId, grant: parentGrant }, expiresAt: expiresAt ?? parent.expiresAt });
  }

  /** The patient switches a record between sharable and non-sharable (re-encapsulated for the new slot). */
  async switchType(recordId: string, type: RecordType): Promise<EmrRecord> {
    await ready(); // the crypto backend, chosen once before the first point
    const record = await this.index.readRecord(recordId);
    const { params } = await this.params();
    const link = await this.linkOf(record, undefined, 'treatment');
    const switched: string[] = [];
    for (const capsule of recordCapsules(record, link?.patientPseudonym)) switched.push(storedCapsule(switchCapsuleType(params, capsule, await this.keyOf(slotIdentity(capsule.slot)), type), record.patientPseudonym));
    if (signatureSchemeOf(record.cipherSuite) === 'sm2-sm3') await this.sm2KeyOnChain();
    const [encapsulatedKey, ...ancestorKeys] = switched;
    return this.index.switchType(recordId, type, encapsulatedKey!, ancestorKeys, link);
  }

  /** The patient's whole log: emergency overrides first, then everything else, newest first. */
  async auditTrail(patientPseudonym: string): Promise<LogEntry[]> {
    const log = await this.consents.wholePatientLog(patientPseudonym);
    if (!this.isPatient() || patientPseudonym !== this.ownPseudonym()) return log;
    // His unlinked records' filings are logged under their record pseudonyms: each record's log, with its link.
    const { found } = await walkUnlinked((rps) => this.index.findUnlinkedRecords(rps), await this.blindingKey(), patientPseudonym);
    const seen = new Set(log.map((e) => e.entryId));
    const filings = (await Promise.all(found.map(({ record, link }) => this.consents.wholeRecordLog(record.recordId, link)))).flat().filter((e) => !seen.has(e.entryId) && (seen.add(e.entryId), true));
    if (filings.length === 0) return log;
    // In the log's order: emergency overrides first (no filing is one), then the rest newest first.
    const overrides = log.filter((e) => e.emergencyId);
    const rest = [...log.filter((e) => !e.emergencyId), ...filings].sort((a, b) => b.recorded.localeCompare(a.recorded) || a.entryId.localeCompare(b.entryId));
    return [...overrides, ...rest];
  }

  /** The caller's own key X of a grant to him, compressed (96 bytes), for his own tools: whoever else shows it is traced to this grant. */
  async grantKeyBytes(grantId: string): Promise<Uint8Array> {
    await ready();
    const { registration } = await this.consents.readGrant(grantId);
    return (await this.grantKeyOf(decodeGrant(fromBase64url(registration.grant, 'grant')))).toBytes();
  }

  /**
   * Traces a leaked grant key (raw 96 bytes, hex or base64url: crypto parseLeakedGrantKey) to
   * the grant it was issued under, among a patient's grants (the patient or his hospital's
   * admin) or every registered grant (an admin), and logs the finding in the patient's log
   * with a proof that the caller holds the key (docs/crypto.md, "Tracing a leaked key").
   * NotFoundError when no grant matches.
   */
  async traceLeakedGrantKey(key: Uint8Array, options: { patientPseudonym?: string } = {}): Promise<GrantKeyTrace> {
    await ready();
    let x: G2Point;
    try {
      x = parseLeakedGrantKey(key);
    } catch (err) {
      throw new InvalidArgumentError('INVALID_ARGUMENT', (err as Error).message, 'key', { cause: err });
    }
    const registrations = options.patientPseudonym ? await this.consents.patientGrants(options.patientPseudonym) : await this.consents.everyGrant();
    const { params } = await this.params();
    const t0 = performance.now();
    const grant = traceGrantKey(params, x, (function* () {
      for (const r of registrations) yield decodeGrant(fromBase64url(r.grant, 'grant'));
    })());
    const searchMs = performance.now() - t0;
    const scope = options.patientPseudonym ? `the patient's ${registrations.length} grants` : `the ${registrations.length} registered grants`;
    if (!grant) throw new NotFoundError('NOT_FOUND', `the key is the key of none of ${scope}`, 'key');
    const registration = registrations.find((r) => r.grantId === grant.grantId)!;
    const proof = toBase64url(encodeKeyPossession(proveKeyPossession(grant, x, this.identity)));
    return { registration, ...(await reported(() => this.consents.reportKeyLeak({ kind: 'grant-key', grantId: grant.grantId, proof }))), searched: registrations.length, searchMs };
  }

  /**
   * Traces a leaked data key of a record (the record's patient, or an admin of its hospital):
   * checks that it opens the record's content (authenticated decryption), lists who held it
   * by the record's log, and logs the report. Evidence, not proof: anyone of them could have
   * leaked it, and the chain cannot check the key.
   */
  async traceLeakedDataKey(recordId: string, dataKey: Uint8Array): Promise<DataKeyTrace> {
    if (dataKey.length !== 32) throw new InvalidArgumentError('INVALID_ARGUMENT', `a data key is 32 bytes, got ${dataKey.length}`, 'key');
    const record = await this.index.readRecord(recordId);
    try {
      await this.downloadOnce(record, dataKey, { purpose: 'treatment' });
    } catch (err) {
      if (err instanceof IntegrityError) throw new InvalidArgumentError('INVALID_ARGUMENT', `the key does not open record '${recordId}' (${err.message})`, 'key', { cause: err });
      throw err;
    }
    // The patient ties an unlinked record to himself to read its log and report on it; its hospital's admin needs no link.
    const link = this.isPatient() ? await this.linkOf(record, undefined, 'audit') : undefined;
    const reads = (await this.consents.wholeRecordLog(recordId, link)).filter(HELD_KEY);
    const holders = new Map<string, Party>();
    for (const e of reads) holders.set(encodeParty(e.agent), { mspId: e.agent.mspId, enrollmentId: e.agent.enrollmentId });
    return { record, reads, holders: [...holders.values()], ...(await reported(() => this.consents.reportKeyLeak({ kind: 'data-key', recordId }, link))) };
  }

  /**
   * Crypto-shredding: the chain drops the capsule (the only copy of the data key on the world
   * state) and refuses every later request; then the ciphertext is unpinned and collected on
   * every IPFS node. Reports nodes it could not reach (erase again when they are back).
   */
  async eraseRecord(recordId: string): Promise<{ record: EmrRecord; erasedOn: string[]; unreachable: string[] }> {
    const current = await this.index.readRecord(recordId);
    const link = this.isPatient() ? await this.linkOf(current, undefined, 'treatment') : undefined;
    const record = current.erased ? current : await this.index.eraseRecord(recordId, link);
    return { record, ...(await this.ipfs.erase(record.cid)) };
  }

  private async proxyEndpoints(): Promise<Map<string, string>> {
    return new Map((await this.proxies.list()).map((p) => [encodeParty(p), p.endpoint]));
  }
}
