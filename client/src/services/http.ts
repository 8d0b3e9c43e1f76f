/**
 * The services' HTTP plumbing: a small JSON router on 127.0.0.1, and a client that turns
 * refusals and unreachable services into SDK errors naming the service.
 */
import http from 'node:http';
import { ServiceError, ServiceUnavailableError } from '../sharing/errors';
import { signedHeaders, type RequestSigner } from './auth';

/** Thrown inside a handler: answered as `{code, message}` with this status. */
export class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

export interface Request {
  method: string;
  path: string;
  params: Record<string, string>;
  headers: http.IncomingHttpHeaders;
  body: string;
  json<T>(): T;
}
export type Handler = (req: Request) => Promise<unknown>;
export type Routes = Record<string, Handler>;

const MAX_BODY = 4 * 1024 * 1024;

/** Routes are `METHOD /path/:param`; answers JSON. Resolves once listening. */
export function serveJson(port: number, routes: Routes, log: (line: string) => void): Promise<http.Server> {
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const names: string[] = [];
    const re = new RegExp(`^${pattern.replace(/:([a-zA-Z]+)/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    return { method, re, names, handler };
  });
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) req.destroy();
      else chunks.push(c);
    });
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://localhost');
      const answer = (status: number, value: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(value));
      };
      const route = table.find((r) => r.method === req.method && r.re.test(url.pathname));
      if (!route) return answer(404, { code: 'NOT_FOUND', message: `no route ${req.method} ${url.pathname}` });
      const m = route.re.exec(url.pathname)!;
      const body = Buffer.concat(chunks).toString('utf8');
      const request: Request = {
        method: req.method!,
        path: url.pathname,
        params: Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)])),
        headers: req.headers,
        body,
        json<T>() {
          try {
            return JSON.parse(body) as T;
          } catch {
            throw new HttpError(400, 'INVALID_ARGUMENT', 'the body is not JSON');
          }
        },
      };
      route.handler(request).then(
        (value) => answer(200, value),
        (err: unknown) => {
          if (err instanceof HttpError) return answer(err.status, { code: err.code, message: err.message });
          log(`${req.method} ${url.pathname} failed: ${(err as Error).stack ?? String(err)}`);
          answer(500, { code: 'INTERNAL', message: (err as Error).message });
        },
      );
    });
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

/** Calls a service; a refusal becomes ServiceError (with the service's code), no answer ServiceUnavailableError. */
export async function callService<T>(service: string, base: string, method: 'GET' | 'POST', path: string, body?: unknown, signer?: RequestSigner, timeoutMs = 15_000): Promise<T> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers: Record<string, string> = { 'content-type': 'application/json', ...(signer ? signedHeaders(signer, method, path, text) : {}) };
  let res: Response;
  try {
    res = await fetch(`${base}${path}`, { method, headers, ...(method === 'POST' ? { body: text } : {}), signal: AbortSignal.timeout(timeoutMs) });
  } catch (err) {
    const why = (err as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : ((err as Error & { cause?: Error }).cause?.message ?? (err as Error).message);
    throw new ServiceUnavailableError(service, `${service} at ${base} is unreachable: ${why}`, { cause: err });
  }
  const answer = (await res.json().catch(() => ({}))) as T & { code?: string; message?: string };
  if (!res.ok) throw new ServiceError(service, res.status, answer.code ?? 'HTTP_ERROR', `${service} refused ${method} ${path}: ${answer.message ?? res.statusText}`);
  return answer;
}
