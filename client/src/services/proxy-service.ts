/**
 * A re-encryption proxy: one per member org. It holds key shares f(j) of the grants it was
 * elected for (each delivered sealed to its identity), and turns a capsule into its fragment
 * f(j)·U with a proof, only for an allowed access entry on chain whose grant chain includes
 * the grant, while that grant is active and the record in its scope and not erased. Every
 * fragment it serves is logged on chain once (`LogReEncryption`) and signed with its Fabric
 * key, so a bad one is provable.
 *
 * It follows the chaincode events from a file checkpoint, so a restart resumes exactly where
 * it stopped: allowed hop-1 requests are served ahead (fragment made and logged before the
 * requester asks), revoked consents and erased records drop their shares and fragments.
 *
 * A share is accepted only from the delegator of a grant already registered on chain, in a
 * signed request, for this proxy's position among the grant's proxies, and only if it verifies
 * against the commitments registered on chain; once stored it is never replaced.
 */
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import type http from 'node:http';
import path from 'node:path';
import { checkpointers, type ChaincodeEvent } from '@hyperledger/fabric-gateway';
import {
  G1,
  commitmentAt,
  decodeCapsule,
  decodeGrant,
  decodeProxyShare,
  encodeCapsule,
  encodeFragment,
  fromBase64url,
  openShare,
  reEncrypt,
  toBase64url,
  type Capsule,
  type G2Point,
} from '@emr/crypto';
import { accessGoesThrough, areaKeysId, areaOfRule, encodeParty, sameParty, signatureSchemeOf, type Party } from '@emr/protocol';
import type { EmrConnection } from '../fabric/connection';
import { ConsentLedger } from '../fabric/consent-ledger';
import { EmrIndex } from '../fabric/emr-index';
import { ProxyRegistry } from '../fabric/proxy-registry';
import { capsuleForSlot, recordCapsules } from '../fabric/record-capsules';
import { ConflictError, NotFoundError, retryIdempotent, retryMvcc } from '../fabric/errors';
import type { ProxyRoutes, ServedFragment } from '../wire/routes';
import { NonceCache, type TrustedCas } from './auth';
import { CallerLimiter, authenticate, checkEntryId, checkGrantId, onlyFields } from './guard';
import { HttpError, serveJson, type Handlers, type Request, type ServerLimits } from './http';
import { hexScalar, privateDir, readPrivate, tightenFiles, writePrivate } from './state-files';

export interface ProxyConfig {
  port: number;
  endpoint: string;
  stateDir: string;
  channel: string;
  /** The consortium's CAs, for signed requests. */
  trust: TrustedCas;
  /** HTTP limits (tests shorten them). */
  limits?: Partial<ServerLimits>;
}

/** The chain as the proxy uses it (tests pass fakes). */
export interface ProxyDeps {
  ledger: Pick<ConsentLedger, 'readGrant' | 'readAccessEntry' | 'allGrants'>;
  records: Pick<EmrIndex, 'readRecord'>;
  registry: Pick<ProxyRegistry, 'register' | 'registerSm2Key' | 'signFragment' | 'logReEncryptionAsync' | 'logReEncryption'>;
}

interface StoredShare {
  grantId: string;
  /** The grant's consent, from its registration on chain (a revocation destroys the share). */
  consentId: string | null;
  index: number;
  /** f(index), hex; verified against the registration's commitments before it was stored. */
  share: string;
}

const key = (s: string) => s.replace(/[^A-Za-z0-9._-]/g, '_');

export class ProxyService {
  private readonly ledger: ProxyDeps['ledger'];
  private readonly records: ProxyDeps['records'];
  private readonly registry: ProxyDeps['registry'];
  private readonly inFlight = new Map<string, Promise<ServedFragment>>();
  private readonly me: { mspId: string; enrollmentId: string };
  private stopEvents?: () => void;
  private server?: http.Server;
  private readonly nonces = new NonceCache();
  /**
   * Per delegator. Storage is bounded by the chain already (one share per grant registered
   * with this proxy elected, each a committed transaction by that delegator); this bounds
   * the work: 4 uploads at once, 120 a minute.
   */
  private readonly shareLimiter = new CallerLimiter({ inFlight: 4, perWindow: 120, windowMs: 60_000 });

  constructor(
    private readonly config: ProxyConfig,
    private readonly connection: Pick<EmrConnection, 'mspId' | 'enrollmentId'> & Partial<EmrConnection>,
    /** This proxy's identity key, from the key centres. */
    private readonly identityKey: G2Point,
    private readonly log: (line: string) => void,
    deps: Partial<ProxyDeps> = {},
  ) {
    const full = connection as EmrConnection;
    this.ledger = deps.ledger ?? new ConsentLedger(full);
    this.records = deps.records ?? new EmrIndex(full);
    this.registry = deps.registry ?? new ProxyRegistry(full);
    this.me = { mspId: connection.mspId, enrollmentId: connection.enrollmentId };
    for (const dir of ['', 'shares', 'served']) privateDir(path.join(config.stateDir, dir));
    tightenFiles(path.join(config.stateDir, 'shares'));
  }

  get identity(): string {
    return encodeParty(this.me);
  }

  async start(): Promise<void> {
    try {
      await retryMvcc(() => this.registry.register(this.config.endpoint));
      this.log(`registered on chain at ${this.config.endpoint}`);
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err; // registered before
    }
    await retryMvcc(() => this.registry.registerSm2Key());
    await this.listen();
    void this.followEvents();
  }

  /** Serves HTTP only (start also registers on chain and follows the events). */
  async listen(): Promise<http.Server> {
    this.server = await serveJson(this.config.port, this.routes(), this.log, this.config.limits);
    this.log(`proxy ${this.identity} listening on ${this.config.endpoint}`);
    return this.server;
  }

  stop(): void {
    this.stopEvents?.();
    this.server?.close();
    this.server?.closeAllConnections();
  }

  private routes(): Handlers<ProxyRoutes> {
    return {
      'GET /v1/health': async () => ({ proxy: this.identity, shares: readdirSync(path.join(this.config.stateDir, 'shares')).length }),
      'POST /v1/shares': async (req: Request) => {
        const { caller } = authenticate(req, this.config.trust, this.nonces, this.config.endpoint);
        const body = req.json<{ grantId?: unknown; share?: unknown }>();
        onlyFields(body, ['grantId', 'share'], '{grantId, share} (the commitments are read from the chain)');
        const grantId = checkGrantId(body.grantId);
        if (typeof body.share !== 'string' || body.share.length > 4096) throw new HttpError(400, 'INVALID_ARGUMENT', 'share must be a sealed share, base64url');
        const share = body.share;
        return this.shareLimiter.run(encodeParty(caller), () => this.acceptShare(caller, grantId, share));
      },
      'POST /v1/fragments': async (req: Request) => {
        const body = req.json<{ entryId?: unknown; grantId?: unknown; capsule?: unknown }>();
        onlyFields(body, ['entryId', 'grantId', 'capsule'], '{entryId, grantId, capsule}');
        checkEntryId(body.entryId);
        checkGrantId(body.grantId);
        if (typeof body.capsule !== 'string') throw new HttpError(400, 'INVALID_ARGUMENT', 'capsule must be a string (base64url)');
        let capsule: Capsule;
        try {
          capsule = decodeCapsule(fromBase64url(body.capsule, 'capsule'));
        } catch (err) {
          throw new HttpError(400, 'INVALID_ARGUMENT', `capsule: ${(err as Error).message}`);
        }
        return this.serve(body.entryId as string, body.grantId as string, capsule);
      },
    };
  }

  private shareFile = (grantId: string) => path.join(this.config.stateDir, 'shares', `${key(grantId)}.json`);
  private servedFile = (entryId: string, grantId: string) => path.join(this.config.stateDir, 'served', `${key(entryId)}__${key(grantId)}.json`);

  /**
   * A delegator delivers this proxy's share of a grant he registered on chain: it must be
   * sealed to this proxy for its position among the grant's proxies, and f(j)·G must match
   * the commitments registered on chain (openShare checks it). The same share again is
   * answered as before; no other share matches, so a stored share is never replaced.
   */
  private async acceptShare(caller: Party, grantId: string, encoded: string): Promise<{ index: number }> {
    const { registration: reg, active } = await this.ledger.readGrant(grantId).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new HttpError(404, 'NOT_REGISTERED', `grant '${grantId}' is not registered on chain: register it before delivering its shares`) : e;
    });
    if (!sameParty(caller, reg.delegator)) throw new HttpError(403, 'UNAUTHORIZED', `only the delegator of grant '${grantId}' (${encodeParty(reg.delegator)}) delivers its shares, not ${encodeParty(caller)}`);
    if (!active) throw new HttpError(409, 'GRANT_INACTIVE', `grant '${grantId}' is not active (its consent was revoked, or it expired)`);
    const index = reg.proxies.findIndex((p) => sameParty(p, this.me)) + 1;
    if (index === 0) throw new HttpError(403, 'UNAUTHORIZED', `${this.identity} is not a proxy of grant '${grantId}'`);
    const grant = decodeGrant(fromBase64url(reg.grant, 'grant'));
    let share: bigint;
    try {
      const sealed = decodeProxyShare(fromBase64url(encoded, 'share'));
      if (sealed.proxy !== this.identity) throw new Error(`it is sealed to ${sealed.proxy}, not ${this.identity}`);
      if (sealed.index !== BigInt(index)) throw new Error(`it is share ${sealed.index}; ${this.identity} holds share ${index} of this grant`);
      share = openShare(sealed, grant, this.identityKey); // checked against the commitments registered on chain
    } catch (err) {
      throw new HttpError(400, 'INVALID_ARGUMENT', `share: ${(err as Error).message}`);
    }
    const verifies = (s: bigint) => G1.BASE.multiply(s).equals(commitmentAt(grant.commitments, BigInt(index)));
    const stored: StoredShare = { grantId, consentId: reg.consentId, index, share: share.toString(16) };
    // No await from here on: the check and the write cannot interleave with another upload.
    const existing = this.loadShare(grantId);
    if (existing && existing.index === index && verifies(hexScalar(existing.share, `the share held for grant '${grantId}'`))) {
      // Only one share matches the commitments at this index: this is the same one again.
      if (existing.consentId === stored.consentId) return { index };
    } else if (existing) {
      this.log(`grant ${grantId}: replacing a share an earlier version stored unverified`);
    }
    writePrivate(this.shareFile(grantId), stored);
    return { index };
  }

  private loadShare(grantId: string): StoredShare | undefined {
    const file = this.shareFile(grantId);
    return existsSync(file) ? readPrivate<StoredShare>(file) : undefined;
  }

  /**
   * The fragment for (entry, grant), made and logged on chain once, then served from disk
   * while the grant stays active (a revocation stops fragments made ahead too).
   */
  async serve(entryId: string, grantId: string, capsule: Capsule): Promise<ServedFragment> {
    const file = this.servedFile(entryId, grantId);
    if (existsSync(file)) {
      const served = JSON.parse(readFileSync(file, 'utf8')) as ServedFragment;
      if (served.capsule !== toBase64url(encodeCapsule(capsule))) throw new HttpError(409, 'CONFLICT', 'this access was already served for another capsule');
      if (!(await this.ledger.readGrant(grantId)).active) throw new HttpError(409, 'GRANT_INACTIVE', `grant '${grantId}' is not active (its consent was revoked, or it expired)`);
      return served;
    }
    const id = `${entryId}/${grantId}`;
    let pending = this.inFlight.get(id);
    if (!pending) {
      pending = this.make(entryId, grantId, capsule).finally(() => this.inFlight.delete(id));
      this.inFlight.set(id, pending);
    }
    return pending;
  }

  private async make(entryId: string, grantId: string, capsule: Capsule): Promise<ServedFragment> {
    const entry = await this.ledger.readAccessEntry(entryId).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new HttpError(404, 'NOT_FOUND', `access entry '${entryId}' does not exist`) : e;
    });
    if (entry.outcome !== 'success' || !entry.recordId) throw new HttpError(403, 'DENIED', `access entry '${entryId}' was not allowed`);
    const { registration: reg, active } = await this.ledger.readGrant(grantId).catch((e: unknown) => {
      throw e instanceof NotFoundError ? new HttpError(404, 'NOT_FOUND', `grant '${grantId}' is not registered`) : e;
    });
    if (!active) throw new HttpError(409, 'GRANT_INACTIVE', `grant '${grantId}' is not active (its consent was revoked, or it expired)`);
    const index = reg.proxies.findIndex((p) => sameParty(p, this.me)) + 1;
    if (index === 0) throw new HttpError(403, 'UNAUTHORIZED', `${this.identity} is not a proxy of grant '${grantId}'`);
    if (!(await accessGoesThrough(entry, reg, async (id) => (await this.ledger.readGrant(id)).registration.parentGrantId))) throw new HttpError(403, 'UNAUTHORIZED', `access entry '${entryId}' does not go through grant '${grantId}'`);
    const record = await this.records.readRecord(entry.recordId);
    if (record.erased) throw new HttpError(409, 'ERASED', `record '${record.recordId}' was erased`);
    if (record.type !== reg.type) throw new HttpError(409, 'OUT_OF_SCOPE', `record '${record.recordId}' is ${record.type}, grant '${grantId}' is for ${reg.type}`);
    // One of the record's capsules (its category's or an ancestor's), as the chain has it; an
    // unlinked record's are the entry's patient's, since the chain checked the link to allow it.
    const original = capsuleForSlot(recordCapsules(record, entry.patientPseudonym), capsule.slot);
    const sameCapsule = original !== undefined && original.u0.equals(capsule.u0) && Buffer.from(original.w).equals(Buffer.from(capsule.w)) && Buffer.from(original.v).equals(Buffer.from(capsule.v));
    if (!original || !sameCapsule) throw new HttpError(400, 'INVALID_ARGUMENT', `capsule is not one of record '${record.recordId}''s`);
    if (capsule.hops !== reg.hop - 1 || (reg.hop === 1 && !capsule.u.equals(original.u))) throw new HttpError(400, 'INVALID_ARGUMENT', `grant '${grantId}' re-encrypts capsules at hop ${reg.hop - 1}`);
    const stored = this.loadShare(grantId);
    if (!stored || stored.index !== index) throw new HttpError(404, 'NO_SHARE', `${this.identity} holds no key share for grant '${grantId}'`);
    const grant = decodeGrant(fromBase64url(reg.grant, 'grant'));
    const share = hexScalar(stored.share, `the share held for grant '${grantId}'`);
    if (!G1.BASE.multiply(share).equals(commitmentAt(grant.commitments, BigInt(index)))) throw new HttpError(409, 'BAD_SHARE', `the share held for grant '${grantId}' does not match its registration`);
    let fragment;
    try {
      fragment = reEncrypt(capsule, grant, BigInt(index), share);
    } catch (err) {
      throw new HttpError(409, 'OUT_OF_SCOPE', (err as Error).message);
    }
    const signed = this.registry.signFragment(grantId, encodeCapsule(capsule), encodeFragment(fragment), signatureSchemeOf(record.cipherSuite));
    // Logged on chain before the fragment leaves; the commit is awaited in the background, so
    // the requester does not wait for a block. A submit that conflicted or whose outcome is
    // unknown is made again: the chaincode logs this proxy's (entry, grant) once however often it is asked.
    const { committed } = await retryIdempotent(() => this.registry.logReEncryptionAsync(entryId, grantId));
    committed.catch(() =>
      retryIdempotent(() => this.registry.logReEncryption(entryId, grantId)).catch((e: unknown) => this.log(`re-encryption log of ${entryId}/${grantId} failed: ${(e as Error).message}`)),
    );
    const served: ServedFragment = { entryId, grantId, recordId: entry.recordId, proxy: this.me, capsule: toBase64url(signed.capsule), fragment: toBase64url(signed.fragment), signature: signed.signature };
    writeFileSync(this.servedFile(entryId, grantId), JSON.stringify(served));
    return served;
  }

  /** Follows the chaincode events from the checkpoint until stopped. */
  private async followEvents(): Promise<void> {
    const checkpointer = await checkpointers.file(path.join(this.config.stateDir, 'checkpoint.json'));
    const { gateway, contract } = this.connection as EmrConnection;
    const network = gateway.getNetwork(this.config.channel);
    for (;;) {
      const events = await network.getChaincodeEvents(contract.getChaincodeName(), { checkpoint: checkpointer, startBlock: 0n });
      this.stopEvents = () => events.close();
      try {
        for await (const event of events) {
          await this.onEvent(event).catch((err: unknown) => this.log(`event ${event.eventName} in tx ${event.transactionId}: ${(err as Error).message}`));
          await checkpointer.checkpointChaincodeEvent(event);
        }
        return;
      } catch (err) {
        this.log(`event stream interrupted (${(err as Error).message}); resuming from the checkpoint`);
        await new Promise((r) => setTimeout(r, 1000));
      } finally {
        events.close();
      }
    }
  }

  private async onEvent(event: ChaincodeEvent): Promise<void> {
    const payload = JSON.parse(Buffer.from(event.payload).toString('utf8')) as Record<string, string>;
    switch (event.eventName) {
      case 'access.requested':
        // A request through a grant is served when asked; one by break-glass has no grants to serve ahead.
        if (payload.outcome === 'success' && (payload.consentId || payload.areaRule) && !payload.grantId) await this.serveAhead(payload.entryId!, payload.consentId, payload.recordId!);
        return;
      case 'consent.revoked':
        // Not a crash's leftover `.tmp`: a torn one would stop the other shares' destruction.
        for (const f of readdirSync(path.join(this.config.stateDir, 'shares')).filter((f) => f.endsWith('.json'))) {
          const stored = readPrivate<StoredShare>(path.join(this.config.stateDir, 'shares', f));
          if (stored.consentId === payload.consentId) {
            rmSync(path.join(this.config.stateDir, 'shares', f));
            this.log(`consent ${payload.consentId} revoked: share of grant ${stored.grantId} destroyed`);
          }
        }
        return;
      case 'record.erased':
        for (const f of readdirSync(path.join(this.config.stateDir, 'served'))) {
          const served = JSON.parse(readFileSync(path.join(this.config.stateDir, 'served', f), 'utf8')) as ServedFragment;
          if (served.recordId === payload.recordId) rmSync(path.join(this.config.stateDir, 'served', f));
        }
        return;
    }
  }

  /** An allowed hop-1 request, under a consent or by area: make (and log) this proxy's fragment before the requester asks. */
  private async serveAhead(entryId: string, consentId: string | undefined, recordId: string): Promise<void> {
    const record = await this.records.readRecord(recordId);
    if (record.erased) return;
    const entry = await this.ledger.readAccessEntry(entryId);
    const area = areaOfRule(entry.areaRule);
    const under = consentId ?? (area && areaKeysId(area, entry.patientPseudonym));
    if (!under) return;
    const capsules = recordCapsules(record, entry.patientPseudonym);
    for (const reg of await this.ledger.allGrants(under)) {
      const mine = reg.proxies.some((p) => sameParty(p, this.me)) && this.loadShare(reg.grantId);
      if (!mine || !(await accessGoesThrough(entry, reg, async () => null)) || reg.type !== record.type) continue;
      const capsule = capsuleForSlot(capsules, decodeGrant(fromBase64url(reg.grant, 'grant')).slot);
      if (capsule) await this.serve(entryId, reg.grantId, capsule);
    }
  }
}
