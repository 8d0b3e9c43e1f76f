/**
 * Sends the malformed HTTP requests over raw TCP (a client library would refuse to send some
 * of them: header blocks over the limit, bodies shorter than announced) and reads the
 * refusal: status line and JSON body `{code, message}`.
 */
import net from 'node:net';
import { loadProfile } from '../../../client/src';
import { stateDir } from '../../../network/src/paths';
import type { Gateways } from './gateways';
import { HTTP_ROUTES, httpPairs, malformedRequest, signedRequest, type HttpCall, type HttpClass, type HttpContext, type HttpRoute, type RawRequest, type SentRequest, type Service } from './http-calls';
import { Plan } from './plan';
import type { Outcome } from './tally';
import type { World } from './world';

export interface RawResponse {
  status: number;
  body: string;
}

/** One request on its own connection (`Connection: close`); resolves with what came back once the service closed it. */
export function sendRaw(port: number, req: RawRequest, timeoutMs = 20_000): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const guard = setTimeout(() => (socket.destroy(), reject(new Error(`no answer within ${timeoutMs} ms`))), timeoutMs);
    socket.on('data', (d: Buffer) => chunks.push(d));
    socket.on('error', () => undefined); // a reset after the service answered and closed
    socket.on('close', () => {
      clearTimeout(guard);
      const text = Buffer.concat(chunks).toString('utf8');
      const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? 0);
      const split = text.indexOf('\r\n\r\n');
      const head = split < 0 ? text : text.slice(0, split);
      let body = split < 0 ? '' : text.slice(split + 4);
      if (/^transfer-encoding:\s*chunked/im.test(head)) body = dechunk(body);
      resolve({ status, body });
    });
    socket.on('connect', () => {
      const body = Buffer.from(req.body, 'utf8');
      const headers = { ...req.headers, host: `127.0.0.1:${port}`, connection: 'close', 'content-length': String(req.announcedLength ?? body.length) };
      const head = `${req.method} ${req.path} HTTP/1.1\r\n${Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('')}\r\n`;
      socket.write(Buffer.concat([Buffer.from(head, 'utf8'), body]));
    });
  });
}

function dechunk(body: string): string {
  let out = '';
  for (let at = 0; at < body.length; ) {
    const eol = body.indexOf('\r\n', at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!size) break;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
  return out;
}

/** A response as an outcome: a refusal names its code in its JSON body, or it is unnamed. */
export function outcomeOf(res: RawResponse): Outcome {
  if (res.status >= 200 && res.status < 300) return { kind: 'accepted', detail: `${res.status} ${res.body.slice(0, 120)}` };
  let answer: { code?: unknown; message?: unknown } = {};
  try {
    answer = JSON.parse(res.body) as typeof answer;
  } catch {
    /* not JSON: unnamed */
  }
  if (res.status >= 400 && typeof answer.code === 'string' && answer.code) return { kind: 'refused', status: res.status, code: answer.code, message: String(answer.message ?? '') };
  return { kind: 'unnamed', message: `status ${res.status || 'none'}, body ${JSON.stringify(res.body.slice(0, 200))}` };
}

export function judgeHttp(call: HttpCall, outcome: Outcome): { ok: true } | { ok: false; expected: string } {
  const allowed = [call.expect, ...(call.expect.orElse ?? [])];
  const ok = outcome.kind === 'refused' && allowed.some((e) => e.status === outcome.status && e.code === outcome.code);
  return ok ? { ok } : { ok, expected: allowed.map((e) => `${e.status} ${e.code}`).join(' or ') };
}

/** Every key centre and proxy of the network, from the connection profile. */
export function services(): Service[] {
  const profile = loadProfile(stateDir);
  return Object.entries(profile.orgs).flatMap(([org, o]) =>
    (['kgc', 'proxy'] as const).map((kind) => {
      const endpoint = kind === 'kgc' ? o.kgcEndpoint : o.proxyEndpoint;
      return { kind, org, endpoint, port: Number(new URL(endpoint).port) };
    }),
  );
}

/**
 * The requests the replays send again, each sent once now and checked: a key request that is
 * answered (200), a DKG-share request and a share delivery that are refused (403, or 429
 * under the proxy's rate limit); the service remembers each one's nonce either way.
 */
export async function prepareReplays(gateways: Gateways, world: World, all: readonly Service[]): Promise<SentRequest[]> {
  const doctorA = gateways.connection({ org: 'HospitalA', user: 'doctor1' });
  const doctorB = gateways.connection({ org: 'HospitalB', user: 'doctor1' });
  type Base = { route: HttpRoute; service: Service; request: RawRequest; status: number[] };
  const plans = all.flatMap((service): Base[] =>
    service.kind === 'kgc'
      ? [
          { route: 'kgc POST /v1/keys', service, request: signedRequest(doctorA, service, 'POST', '/v1/keys', JSON.stringify({ identity: 'doctor1@HospitalAMSP' }), { replyKey: true }), status: [200] },
          { route: 'kgc GET /v1/dkg/share', service, request: signedRequest(doctorA, service, 'GET', '/v1/dkg/share', '', { replyKey: true }), status: [403] },
        ]
      : [{ route: 'proxy POST /v1/shares', service, request: signedRequest(doctorB, service, 'POST', '/v1/shares', JSON.stringify({ grantId: world.grant.grantId, share: 'AAAA' })), status: [403, 429] }],
  );
  for (const p of plans) {
    const res = await sendRaw(p.service.port, p.request);
    if (!p.status.includes(res.status)) throw new Error(`replay base ${p.route} at ${p.service.org} answered ${res.status} ${res.body.slice(0, 200)}, not ${p.status.join(' or ')}`);
  }
  const routes = new Set(plans.map((p) => p.route));
  for (const r of HTTP_ROUTES) if (httpPairs().some((x) => x.target === r && x.inputClass === 'replayed-request') && !routes.has(r)) throw new Error(`no replay base for ${r}`);
  return plans.map(({ route, service, request }) => ({ route, service, request }));
}

export function httpPlan(world: World, gateways: Gateways, seed: string, replays: readonly SentRequest[]): Plan<HttpRoute, HttpClass, HttpCall> {
  const all = services();
  const context = (r: HttpContext['r']): HttpContext => ({ w: world, r, services: all, signer: (id) => gateways.connection(id), replays });
  return new Plan(seed, httpPairs(), ({ target, inputClass }, r) => malformedRequest(target, inputClass, context(r)));
}
