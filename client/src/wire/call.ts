/**
 * The SDK side of the services' HTTP: a call turns refusals and unreachable services into
 * SDK errors naming the service, signs what needs signing and opens sealed answers.
 */
import { ServiceError, ServiceUnavailableError } from './errors';
import { KEY_CENTRE_SEALED, PROXY_SEALED, type KeyCentreRoutes, type ProxyRoutes, type Route, type SealedFlags } from './routes';
import { newReplyKey, openReply, replyContext, signedHeaders, type RequestSigner, type SealedReply } from './signed-requests';

export interface CallOptions {
  /**
   * The answer is secret (a partial key, a DKG share): ask for it sealed to a fresh X25519
   * key (signed with the request) and open it here. Needs a signer.
   */
  sealed?: boolean;
}

/** Calls a service; a refusal becomes ServiceError (with the service's code), no answer ServiceUnavailableError. */
export async function callService<T>(service: string, base: string, method: 'GET' | 'POST', path: string, body?: unknown, signer?: RequestSigner, timeoutMs = 15_000, options: CallOptions = {}): Promise<T> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const reply = options.sealed ? newReplyKey() : undefined;
  if (reply && !signer) throw new TypeError('a sealed reply needs a signed request');
  const signed = signer ? signedHeaders(signer, method, `${base}${path}`, text, reply?.publicKey) : {};
  const headers: Record<string, string> = { 'content-type': 'application/json', ...signed };
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers, ...(method === 'POST' ? { body: text } : {}), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new ServiceUnavailableError(service, `${service} at ${base} is unreachable: ${why}`, { cause: err });
  }
  const answer = (await res.json().catch(() => ({}))) as T & { code?: string; message?: string; sealed?: SealedReply };
  if (!res.ok) throw new ServiceError(service, res.status, answer.code ?? 'HTTP_ERROR', `${service} refused ${method} ${path}: ${answer.message ?? res.statusText}`);
  if (!reply) return answer;
  try {
    return openReply<T>(answer.sealed!, replyContext(method, path, signed['x-emr-nonce']!), reply);
  } catch (err) {
    throw new ServiceError(service, res.status, 'BAD_SEAL', `${service} answered ${method} ${path} with a reply that does not open with the request's key: ${(err as Error).message}`);
  }
}

type BodyOf<R> = R extends Route<infer B, unknown, boolean> ? B : never;
type AnswerOf<R> = R extends Route<unknown, infer A, boolean> ? A : never;

/** One service, called through its route table: the body and answer types follow the route. */
export class ServiceClient<Routes> {
  /**
   * @param sealed which routes answer sealed (the route table's own flags, at run time)
   * @param name how errors name the service, e.g. `proxy doctor1@HospitalAMSP`
   * @param signer signs every request (required by sealed routes)
   */
  constructor(
    private readonly sealed: SealedFlags<Routes>,
    readonly name: string,
    readonly base: string,
    private readonly signer?: RequestSigner,
    private readonly timeoutMs = 15_000,
  ) {}

  get<K extends Extract<keyof Routes, `GET ${string}`>>(route: K): Promise<AnswerOf<Routes[K]>> {
    return this.call<AnswerOf<Routes[K]>>(route, undefined);
  }

  post<K extends Extract<keyof Routes, `POST ${string}`>>(route: K, body: BodyOf<Routes[K]>): Promise<AnswerOf<Routes[K]>> {
    return this.call<AnswerOf<Routes[K]>>(route, body);
  }

  private call<A>(route: keyof Routes & string, body: unknown): Promise<A> {
    const [method, path] = route.split(' ') as ['GET' | 'POST', string];
    return callService(this.name, this.base, method, path, body, this.signer, this.timeoutMs, { sealed: this.sealed[route] as boolean });
  }
}

/** A key centre's client; `signer` signs (sealed routes need it). */
export const keyCentreClient = (index: number, endpoint: string, signer?: RequestSigner, timeoutMs?: number) =>
  new ServiceClient<KeyCentreRoutes>(KEY_CENTRE_SEALED, `key centre ${index}`, endpoint, signer, timeoutMs);

/** A proxy's client; `proxy` names it in errors (`enrollmentId@MSP`). */
export const proxyClient = (proxy: string, endpoint: string, signer?: RequestSigner, timeoutMs?: number) => new ServiceClient<ProxyRoutes>(PROXY_SEALED, `proxy ${proxy}`, endpoint, signer, timeoutMs);
