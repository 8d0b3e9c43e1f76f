/**
 * The services' HTTP server: a small JSON router on 127.0.0.1 (the SDK's side is
 * wire/call.ts).
 *
 * The router answers every request, malformed ones included (400 and close), and bounds
 * what a client can hold: header and request deadlines, a body limit, a connection cap
 * (limits sized for a 2-core host; see docs/sharing.md).
 */
import http from 'node:http';
import type net from 'node:net';
import { InvalidArgumentError } from '../fabric/errors';
import type { Served } from '../wire/routes';

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
  /** The body as a JSON object (400 for anything else: not JSON, null, an array, a number). */
  json<T extends object>(): T;
}
export type Handler = (req: Request) => Promise<unknown>;
export type Routes = Record<string, Handler>;
/** A service's handlers for its route table (wire/routes.ts): each answers what its route promises. */
export type Handlers<R> = { [K in keyof R]: (req: Request) => Promise<Served<R[K]>> };

export interface ServerLimits {
  /** The whole header block must arrive within this. */
  headersTimeoutMs: number;
  /** The whole request (headers and body) must arrive within this, or 408 and close. */
  requestTimeoutMs: number;
  /** How often Node checks the two deadlines above (they are enforced to this granularity). */
  checkIntervalMs: number;
  /** Larger bodies get 413 (the largest legitimate body, a share or capsule, is a few KiB). */
  maxBodyBytes: number;
  /** Further connections are dropped at accept. */
  maxConnections: number;
}

export const DEFAULT_LIMITS: ServerLimits = { headersTimeoutMs: 10_000, requestTimeoutMs: 30_000, checkIntervalMs: 1_000, maxBodyBytes: 4 * 1024 * 1024, maxConnections: 256 };

/** The whole header block of a request (Node's limit; its default is 16 KiB too). */
const MAX_HEADER_BYTES = 16 * 1024;

const isJson = (type: string | undefined) => /^application\/json\s*(;|$)/i.test(type ?? '');

/** Routes are `METHOD /path/:param`; answers JSON. Resolves once listening. */
export function serveJson(port: number, routes: Routes, log: (line: string) => void, limits: Partial<ServerLimits> = {}): Promise<http.Server> {
  const l = { ...DEFAULT_LIMITS, ...limits };
  const table = Object.entries(routes).map(([key, handler]) => {
    const [method, pattern] = key.split(' ') as [string, string];
    const names: string[] = [];
    const re = new RegExp(`^${pattern.replace(/:([a-zA-Z]+)/g, (_, n: string) => (names.push(n), '([^/]+)'))}$`);
    return { method, re, names, handler };
  });
  /** The response each connection is writing, if any: a parser error after it began must not write another. */
  const responding = new WeakMap<object, http.ServerResponse>();
  const server = http.createServer(
    { headersTimeout: l.headersTimeoutMs, requestTimeout: l.requestTimeoutMs, connectionsCheckingInterval: l.checkIntervalMs, keepAliveTimeout: 5_000, maxHeaderSize: MAX_HEADER_BYTES },
    (req, res) => {
      responding.set(req.socket, res);
      // An answer given before the body was read closes the connection (the rest is not read).
      const answer = (status: number, value: unknown, close = false) => {
        if (res.headersSent) return;
        res.writeHead(status, { 'content-type': 'application/json', ...(close ? { connection: 'close' } : {}) });
        res.end(JSON.stringify(value));
      };
      const refuse = (status: number, code: string, message: string) => answer(status, { code, message }, true);
      const fail = (err: unknown) => {
        if (err instanceof HttpError) return answer(err.status, { code: err.code, message: err.message });
        if (err instanceof InvalidArgumentError) return answer(400, { code: 'INVALID_ARGUMENT', message: err.message });
        log(`${req.method} ${req.url} failed: ${(err as Error)?.stack ?? String(err)}`);
        answer(500, { code: 'INTERNAL', message: `internal error (${(err as Error)?.name ?? 'unknown'}); see the service log` }, true);
      };
      // A client that goes away mid-request is normal; nothing is left to answer.
      req.on('error', () => undefined);
      try {
        let url: URL;
        try {
          url = new URL(req.url ?? '/', 'http://localhost');
        } catch {
          return refuse(400, 'BAD_REQUEST', 'the request target is not a valid path');
        }
        const route = table.find((r) => r.method === req.method && r.re.test(url.pathname));
        if (!route) return refuse(404, 'NOT_FOUND', `no route ${req.method} ${url.pathname}`);
        if (req.method === 'POST' && !isJson(req.headers['content-type'])) return refuse(415, 'UNSUPPORTED_MEDIA_TYPE', 'the body must be application/json');
        if (Number(req.headers['content-length'] ?? 0) > l.maxBodyBytes) return refuse(413, 'TOO_LARGE', `the body exceeds ${l.maxBodyBytes} bytes`);
        const chunks: Buffer[] = [];
        let size = 0;
        req.on('data', (c: Buffer) => {
          size += c.length;
          if (size <= l.maxBodyBytes) return void chunks.push(c);
          chunks.length = 0;
          refuse(413, 'TOO_LARGE', `the body exceeds ${l.maxBodyBytes} bytes`);
        });
        req.on('end', () => {
          if (size > l.maxBodyBytes) return;
          try {
            const m = route.re.exec(url.pathname)!;
            let params: Record<string, string>;
            try {
              params = Object.fromEntries(route.names.map((n, i) => [n, decodeURIComponent(m[i + 1]!)]));
            } catch {
              return refuse(400, 'BAD_REQUEST', 'a path parameter is not valid percent-encoding');
            }
            const body = Buffer.concat(chunks).toString('utf8');
            const request: Request = {
              method: req.method!,
              path: url.pathname,
              params,
              headers: req.headers,
              body,
              json<T extends object>() {
                let value: unknown;
                try {
                  value = JSON.parse(body);
                } catch {
                  throw new HttpError(400, 'INVALID_ARGUMENT', 'the request body is not JSON');
                }
                if (typeof value !== 'object' || value === null || Array.isArray(value)) {
                  throw new HttpError(400, 'INVALID_ARGUMENT', `the request body must be a JSON object, not ${value === null ? 'null' : Array.isArray(value) ? 'an array' : typeof value}`);
                }
                return value as T;
              },
            };
            // catch after then: a value that cannot be answered (e.g. not serializable) is a 500 too.
            route.handler(request).then((value) => answer(200, value)).catch(fail);
          } catch (err) {
            fail(err);
          }
        });
      } catch (err) {
        fail(err);
      }
    },
  );
  // What Node's parser refuses before any route runs (a header block over the limit, a request
  // that is not HTTP, a deadline) is answered as every other refusal, with a code; Node's own
  // answer has none.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: net.Socket) => {
    if (socket.writable && err.code !== 'ECONNRESET' && !responding.get(socket)?.headersSent) {
      const [status, code, message] =
        err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'HEADERS_TOO_LARGE', `the request headers exceed ${MAX_HEADER_BYTES} bytes`]
        : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'REQUEST_TIMEOUT', `the request did not arrive within ${l.requestTimeoutMs / 1000} s`]
        : [400, 'BAD_REQUEST', 'the request is not valid HTTP/1.1'];
      const body = JSON.stringify({ code, message });
      socket.write(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nconnection: close\r\n\r\n${body}`);
    }
    socket.destroySoon();
  });
  server.maxConnections = l.maxConnections;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}
