/**
 * What both services check before doing work: a signed, fresh request (nonce used once),
 * well-formed ids (refused here with 400, not by the chain with a 500), sealed answers for
 * secrets, and how much one caller may ask at once.
 */
import { ID_RULE, isId } from '@emr/protocol';
import { replyContext, sealReply, type SealedReply } from '../wire/signed-requests';
import { AuthenticationError, NonceCache, ReplayCacheFullError, verifySigned, type SignedRequest, type TrustedCas } from './auth';
import { HttpError, type Request } from './http';

/**
 * A signed request's caller, or 401 (503 when the replay memory is full). It must have been
 * signed for this service's `endpoint`: one captured on its way to another service is refused.
 */
export function authenticate(req: Request, trust: TrustedCas, nonces: NonceCache, endpoint: string): SignedRequest {
  try {
    return verifySigned(req.headers, req.method, `${endpoint}${req.path}`, req.body, trust, Date.now(), nonces);
  } catch (err) {
    if (err instanceof AuthenticationError) throw new HttpError(401, 'UNAUTHENTICATED', err.message);
    if (err instanceof ReplayCacheFullError) throw new HttpError(503, 'BUSY', err.message);
    throw err;
  }
}

/** A secret answer, sealed to the requester's ephemeral key and bound to this request. */
export function sealedAnswer(req: Request, signed: SignedRequest, value: unknown): { sealed: SealedReply } {
  if (!signed.replyKey) throw new HttpError(400, 'INVALID_ARGUMENT', 'x-emr-reply-key is required: this answer is only served sealed to the requester');
  try {
    return { sealed: sealReply(signed.replyKey, replyContext(req.method, req.path, signed.nonce), value) };
  } catch (err) {
    throw new HttpError(400, 'INVALID_ARGUMENT', `x-emr-reply-key is not a usable X25519 key: ${(err as Error).message}`);
  }
}

/** Access-log entry ids as the chaincode makes them, `<txId>.<n>` (access-log.ts); stricter than the protocol's shape check. */
const ENTRY_ID = /^[A-Za-z0-9_-]{1,128}\.[0-9]{1,6}$/;

export function checkGrantId(value: unknown, field = 'grantId'): string {
  if (!isId(value)) throw new HttpError(400, 'INVALID_ARGUMENT', `${field} ${ID_RULE}`);
  return value;
}

export function checkEntryId(value: unknown, field = 'entryId'): string {
  if (typeof value !== 'string' || !ENTRY_ID.test(value)) throw new HttpError(400, 'INVALID_ARGUMENT', `${field} must be an access-log entry id '<txId>.<n>'`);
  return value;
}

/** Refuses (400) a body with fields other than `allowed`. */
export function onlyFields(body: object, allowed: string[], shape: string): void {
  const extra = Object.keys(body).filter((k) => !allowed.includes(k));
  if (extra.length) throw new HttpError(400, 'INVALID_ARGUMENT', `body must be ${shape}; unexpected ${extra.join(', ')}`);
}

export interface CallerLimits {
  /** Requests of one caller being handled at once. */
  inFlight: number;
  /** Requests of one caller per window. */
  perWindow: number;
  windowMs: number;
}

/**
 * Per-caller admission (429 beyond it). Callers are authenticated members (certificates of
 * the consortium's CAs), so the map is bounded by them; idle entries are dropped as it grows.
 */
export class CallerLimiter {
  private readonly callers = new Map<string, { inFlight: number; count: number; since: number }>();
  constructor(readonly limits: CallerLimits) {}

  async run<T>(caller: string, work: () => Promise<T>, now = Date.now()): Promise<T> {
    if (this.callers.size > 10_000) for (const [k, v] of this.callers) if (v.inFlight === 0 && now - v.since >= this.limits.windowMs) this.callers.delete(k);
    const c = this.callers.get(caller) ?? { inFlight: 0, count: 0, since: now };
    if (now - c.since >= this.limits.windowMs) Object.assign(c, { count: 0, since: now });
    if (c.inFlight >= this.limits.inFlight) throw new HttpError(429, 'TOO_MANY_REQUESTS', `${caller} already has ${c.inFlight} requests in progress here`);
    if (c.count >= this.limits.perWindow) throw new HttpError(429, 'TOO_MANY_REQUESTS', `${caller} sent ${c.count} requests within ${this.limits.windowMs / 1000} s`);
    c.inFlight++;
    c.count++;
    this.callers.set(caller, c);
    try {
      return await work();
    } finally {
      c.inFlight--;
    }
  }
}
