/**
 * The services' HTTP plumbing and signed requests under hostile input, on real servers on
 * 127.0.0.1: malformed request lines, bodies that are null, too large, not JSON or too slow,
 * too many connections, unexpected errors, replayed requests, and sealed answers.
 */
import { spawnSync } from 'node:child_process';
import type http from 'node:http';
import net from 'node:net';
import path from 'node:path';
import { AuthenticationError, NonceCache, ReplayCacheFullError, verifySigned } from '../../../client/src/services/auth';
import { MAX_SKEW_MS, newReplyKey, openReply, replyContext, sealReply, signedHeaders } from '../../../client/src/wire/signed-requests';
import { HttpError, serveJson } from '../../../client/src/services/http';
import { testCa, trustOf } from '../../support/test-certs';

/** Sends raw bytes (optionally in timed pieces); resolves with what came back once the server closed. */
function raw(port: number, pieces: (string | number)[], giveUpMs = 5_000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    let text = '';
    const guard = setTimeout(() => (socket.destroy(), reject(new Error(`still open after ${giveUpMs} ms; got ${JSON.stringify(text)}`))), giveUpMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined); // a reset after the answer is fine
    socket.on('close', () => (clearTimeout(guard), resolve({ text, closedAfterMs: Date.now() - t0 })));
    socket.on('connect', async () => {
      for (const p of pieces) {
        if (socket.destroyed) break;
        if (typeof p === 'number') await new Promise((r) => setTimeout(r, p));
        else socket.write(p);
      }
    });
  });
}
const status = (text: string) => Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1]);

describe('the services router', () => {
  const logged: string[] = [];
  let server: http.Server;
  let port: number;
  beforeAll(async () => {
    server = await serveJson(
      0,
      {
        'GET /v1/health': async () => ({ ok: true }),
        'POST /v1/echo': async (req) => ({ got: req.json<{ a?: unknown }>() }),
        'POST /v1/oops': async () => {
          throw new TypeError('an unexpected bug');
        },
        'POST /v1/refused': async () => {
          throw new HttpError(409, 'CONFLICT', 'no');
        },
      },
      (line) => logged.push(line),
      { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50, maxBodyBytes: 1024, maxConnections: 20 },
    );
    port = (server.address() as net.AddressInfo).port;
  });
  afterAll(() => {
    server.close();
    server.closeAllConnections();
  });
  const post = (p: string, body: string, type = 'application/json') => fetch(`http://127.0.0.1:${port}${p}`, { method: 'POST', headers: { 'content-type': type }, body });

  it('a malformed request line gets 400 and the connection is closed, not left hanging', async () => {
    for (const target of ['http://[', '//[', 'http://[::1', '//[/v1/health']) {
      const { text, closedAfterMs } = await raw(port, [`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`]);
      expect([target, status(text)]).toEqual([target, 400]);
      expect(text).toMatch(/"code":"BAD_REQUEST"/);
      expect(closedAfterMs).toBeLessThan(1_000);
    }
    // Still serving.
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(200);
  });

  it("what Node's parser refuses gets a JSON refusal with a code too: a header block over 16 KiB 431, a request that is not HTTP 400", async () => {
    for (const header of ['X-Padding', 'X-Emr-Certificate']) {
      const huge = await raw(port, [`POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${header}: ${'A'.repeat(17 * 1024)}\r\nContent-Length: 2\r\n\r\n{}`]);
      expect([status(huge.text), huge.text.slice(huge.text.indexOf('\r\n\r\n') + 4)]).toEqual([431, '{"code":"HEADERS_TOO_LARGE","message":"the request headers exceed 16384 bytes"}']);
    }
    for (const garbage of ['GARBAGE\r\n\r\n', 'GET / HTTP/9.9\r\n\r\n', 'POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: nope\r\n\r\n']) {
      const refused = await raw(port, [garbage]);
      expect([garbage, status(refused.text)]).toEqual([garbage, 400]);
      expect(refused.text).toMatch(/"code":"BAD_REQUEST"/);
      expect(refused.closedAfterMs).toBeLessThan(1_000);
    }
    expect((await fetch(`http://127.0.0.1:${port}/v1/health`)).status).toBe(200);
  });

  it('bodies: null, arrays and numbers get 400 naming the body; not JSON 400; other content types 415', async () => {
    for (const [body, what] of [['null', 'null'], ['[1]', 'an array'], ['42', 'number'], ['"s"', 'string']] as const) {
      const res = await post('/v1/echo', body);
      expect(res.status).toBe(400);
      expect(((await res.json()) as { message: string }).message).toBe(`the request body must be a JSON object, not ${what}`);
    }
    expect((await post('/v1/echo', '{"a":')).status).toBe(400);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded', 'application/jsonx', 'multipart/form-data; boundary=x']) {
      const res = await post('/v1/echo', '{"a":1}', type);
      expect([type, res.status]).toEqual([type, 415]);
    }
    const ok = await post('/v1/echo', '{"a":1}', 'application/json; charset=utf-8');
    expect(await ok.json()).toEqual({ got: { a: 1 } });
  });

  it('a body over the limit gets 413, announced or streamed', async () => {
    expect((await post('/v1/echo', JSON.stringify({ a: 'x'.repeat(2_000) }))).status).toBe(413);
    const chunked = await raw(port, ['POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n', `400\r\n${'x'.repeat(1024)}\r\n`, `400\r\n${'x'.repeat(1024)}\r\n`]);
    expect(status(chunked.text)).toBe(413);
  });

  it('a slow body (slow loris) is cut at the request deadline; slow headers at the header deadline', async () => {
    const drip: (string | number)[] = ['POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{'];
    for (let i = 0; i < 30; i++) drip.push(100, 'x');
    const body = await raw(port, drip);
    expect(status(body.text)).toBe(408);
    expect(body.text).toMatch(/"code":"REQUEST_TIMEOUT"/);
    expect(body.closedAfterMs).toBeLessThan(600 + 400);
    const headers = await raw(port, ['POST /v1/echo HTTP/1.1\r\n', 100, 'Host: x\r\n', 100, 'X-A: 1\r\n', 100, 'X-B: 1\r\n', 100, 'X-C: 1\r\n', 100, 'X-D: 1\r\n']);
    expect(headers.closedAfterMs).toBeLessThan(600 + 400);
  });

  it('connections beyond the cap are dropped at once', async () => {
    const small = await serveJson(0, { 'GET /v1/health': async () => ({}) }, () => undefined, { maxConnections: 2 });
    const p = (small.address() as net.AddressInfo).port;
    const held = [net.connect(p, '127.0.0.1'), net.connect(p, '127.0.0.1')];
    await Promise.all(held.map((s) => new Promise((r) => s.on('connect', r))));
    await new Promise((r) => setTimeout(r, 50));
    try {
      const third = await raw(p, ['GET /v1/health HTTP/1.1\r\nHost: x\r\n\r\n'], 2_000);
      expect(third.text).toBe('');
    } finally {
      held.forEach((s) => s.destroy());
      small.close();
    }
  });

  it('an unexpected error is answered 500 without its message, and logged with its stack', async () => {
    const res = await post('/v1/oops', '{}');
    expect(res.status).toBe(500);
    expect(await res.json()).toEqual({ code: 'INTERNAL', message: 'internal error (TypeError); see the service log' });
    expect(logged.join('\n')).toMatch(/POST \/v1\/oops failed: TypeError: an unexpected bug\n\s+at /);
    const refused = await post('/v1/refused', '{}');
    expect([refused.status, await refused.json()]).toEqual([409, { code: 'CONFLICT', message: 'no' }]);
  });

  it('a service process does not swallow uncaught errors: nothing it loads installs process-wide handlers (fabric-shim would)', () => {
    const script = [
      "for (const m of ['index', 'services/kgc-service', 'services/proxy-service', 'cli/emr']) require(`./client/src/${m}.ts`);",
      "console.log('handlers', process.listenerCount('uncaughtException'), process.listenerCount('unhandledRejection'));",
      "setTimeout(() => { throw new Error('boom from a timer'); }, 10);",
      "setTimeout(() => console.log('still alive'), 500);",
    ].join('\n');
    const root = path.resolve(__dirname, '../../..');
    const run = spawnSync(process.execPath, ['--import', 'tsx', '-e', script], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    expect(run.stdout).toMatch(/handlers 0 0/);
    expect(run.stdout).not.toMatch(/still alive/);
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(/Error: boom from a timer\n\s+at /);
  }, 60_000);
});

describe('signed requests: nonces and sealed answers', () => {
  const ca = testCa('HospitalAMSP');
  const trust = trustOf(ca);
  const doctor = ca.enroll('doctor1', 'doctor');
  const body = '{"identity":"doctor1@HospitalAMSP"}';

  it('a nonce is accepted once; a stale or future timestamp is refused (60 s window)', () => {
    const nonces = new NonceCache();
    const headers = signedHeaders(doctor, 'POST', '/v1/keys', body);
    expect(verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now(), nonces).caller).toEqual({ mspId: 'HospitalAMSP', enrollmentId: 'doctor1', role: 'doctor' });
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now(), nonces)).toThrow(/replayed nonce/);
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now() + MAX_SKEW_MS + 1_000)).toThrow(/outside the 60-second window/);
    expect(() => verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now() - MAX_SKEW_MS - 1_000)).toThrow(/outside the 60-second window/);
    // The nonce and the reply key are signed: changing either breaks the signature.
    expect(() => verifySigned({ ...headers, 'x-emr-nonce': 'A'.repeat(24) }, 'POST', '/v1/keys', body, trust)).toThrow(/does not verify/);
    expect(() => verifySigned({ ...headers, 'x-emr-reply-key': newReplyKey().publicKey }, 'POST', '/v1/keys', body, trust)).toThrow(/does not verify/);
    const { 'x-emr-nonce': _, ...noNonce } = headers;
    expect(() => verifySigned(noNonce, 'POST', '/v1/keys', body, trust)).toThrow(/missing x-emr-nonce/);
  });

  it('a forged request cannot burn a genuine nonce', () => {
    const nonces = new NonceCache();
    const headers = signedHeaders(doctor, 'POST', '/v1/keys', body);
    expect(() => verifySigned({ ...headers, 'x-emr-signature': 'AAAA' }, 'POST', '/v1/keys', body, trust, Date.now(), nonces)).toThrow(AuthenticationError);
    expect(verifySigned(headers, 'POST', '/v1/keys', body, trust, Date.now(), nonces).nonce).toBe(headers['x-emr-nonce']);
  });

  it('the nonce memory is bounded: nonces expire after twice the window, and a full memory refuses', () => {
    const nonces = new NonceCache(3);
    const t = 1_000_000;
    for (const n of ['a', 'b', 'c']) expect(nonces.use(n, t)).toBe(true);
    expect(() => nonces.use('d', t + 1)).toThrow(ReplayCacheFullError);
    expect(nonces.use('a', t + 2 * MAX_SKEW_MS - 1)).toBe(false); // still remembered while a replay could pass the clock check
    expect(nonces.use('d', t + 2 * MAX_SKEW_MS)).toBe(true); // a, b, c expired
    expect(nonces.size).toBe(1);
  });

  it('a sealed answer opens only with the request key and for the request it answers', () => {
    const mine = newReplyKey();
    const context = replyContext('POST', '/v1/keys', 'nonce-1');
    const sealed = sealReply(mine.publicKey, context, { key: 'secret' });
    expect(JSON.stringify(sealed)).not.toMatch(/secret/);
    expect(openReply(sealed, context, mine)).toEqual({ key: 'secret' });
    expect(() => openReply(sealed, context, newReplyKey())).toThrow();
    expect(() => openReply(sealed, replyContext('POST', '/v1/keys', 'nonce-2'), mine)).toThrow();
    const flipped = Buffer.from(sealed.ct, 'base64url');
    flipped[0]! ^= 1;
    expect(() => openReply({ ...sealed, ct: flipped.toString('base64url') }, context, mine)).toThrow();
  });
});
