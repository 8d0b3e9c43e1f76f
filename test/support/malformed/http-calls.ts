/**
 * Malformed requests to the key centres and proxies (client/src/services), every signed or
 * body-taking route of each, and the refusal each must get: its HTTP status and code.
 *
 * Input classes: malformed bodies (signed correctly, so the body is what is judged), wrong
 * signatures (every part of the signed-request format broken in turn), replayed requests
 * (sent once before the run, then again), oversized payloads (announced bodies over the
 * limit, header blocks over the limit, fields over theirs) and other identities (a key, a
 * share or a fragment of someone else).
 */
import { randomBytes } from 'node:crypto';
import { encodeParty } from '@emr/protocol';
import { newReplyKey, requestPayload, type RequestSigner } from '../../../client/src/wire/signed-requests';
import { testCa } from '../test-certs';
import type { Identity } from './gateways';
import type { Random } from './random';
import { hugeString, unicodeVariant, wrongTypeJson } from './values';
import type { World } from './world';

export const HTTP_CLASSES = ['malformed-body', 'wrong-signature', 'replayed-request', 'oversized-payload', 'other-identity'] as const;
export type HttpClass = (typeof HTTP_CLASSES)[number];
export const HTTP_ROUTES = ['kgc POST /v1/keys', 'kgc GET /v1/dkg/share', 'kgc POST /v1/blinding-key', 'kgc POST /v1/blind', 'kgc POST /v1/attest-reach', 'kgc POST /v1/record-pseudonym', 'kgc POST /v1/link', 'proxy POST /v1/shares', 'proxy POST /v1/fragments'] as const;
export type HttpRoute = (typeof HTTP_ROUTES)[number];

export interface Service {
  kind: 'kgc' | 'proxy';
  org: string;
  /** The base URL the service was started with (signatures cover it). */
  endpoint: string;
  port: number;
}

export interface RawRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: string;
  /** Announce this Content-Length while sending only `body`. */
  announcedLength?: number;
}

/** The status and code a refusal must have; `orElse` lists other refusals the route may give instead (a caller's rate limit). */
export interface HttpExpected {
  status: number;
  code: string;
  orElse?: readonly { status: number; code: string }[];
}

export interface HttpCall {
  route: HttpRoute;
  inputClass: HttpClass;
  what: string;
  service: Service;
  request: RawRequest;
  expect: HttpExpected;
}

/** A request sent once before the run (its outcome checked), to be sent again. */
export interface SentRequest {
  route: HttpRoute;
  service: Service;
  request: RawRequest;
}

export interface HttpContext {
  w: World;
  r: Random;
  services: readonly Service[];
  signer(id: Identity): RequestSigner;
  replays: readonly SentRequest[];
}

const INVALID = { status: 400, code: 'INVALID_ARGUMENT' };
const UNAUTHENTICATED = { status: 401, code: 'UNAUTHENTICATED' };
const FORBIDDEN = { status: 403, code: 'UNAUTHORIZED' };
const TOO_LARGE = { status: 413, code: 'TOO_LARGE' };
const HEADERS_TOO_LARGE = { status: 431, code: 'HEADERS_TOO_LARGE' };
/** The proxies admit 4 share deliveries at once and 120 a minute per caller (services/proxy-service.ts). */
const RATE_LIMITED = [{ status: 429, code: 'TOO_MANY_REQUESTS' }];
const shareRefusal = (e: { status: number; code: string }): HttpExpected => ({ ...e, orElse: RATE_LIMITED });

const doctorA = { org: 'HospitalA', user: 'doctor1' };
const doctorB = { org: 'HospitalB', user: 'doctor1' };
const researcher = { org: 'ResearchInstitute', user: 'researcher1' };
const adminB = { org: 'HospitalB', user: 'admin' };

/** A service's own signed request, as the SDK makes one (fresh nonce; `replyKey` true asks for a sealed answer). */
export function signedRequest(signer: RequestSigner, service: Service, method: string, path: string, body: string, options: { replyKey?: boolean | string; timestamp?: string; nonce?: string; signedTarget?: string; signedMethod?: string; signedBody?: string } = {}): RawRequest {
  const timestamp = options.timestamp ?? new Date().toISOString();
  const nonce = options.nonce ?? randomBytes(18).toString('base64url');
  const replyKey = options.replyKey === true ? newReplyKey().publicKey : options.replyKey || '';
  const payload = requestPayload(options.signedMethod ?? method, options.signedTarget ?? `${service.endpoint}${path}`, options.signedBody ?? body, timestamp, nonce, replyKey);
  return {
    method,
    path,
    body,
    headers: {
      'content-type': 'application/json',
      'x-emr-certificate': Buffer.from(signer.certificate).toString('base64url'),
      'x-emr-timestamp': timestamp,
      'x-emr-nonce': nonce,
      ...(replyKey ? { 'x-emr-reply-key': replyKey } : {}),
      'x-emr-signature': signer.sign(payload),
    },
  };
}

const unsigned = (method: string, path: string, body: string): RawRequest => ({ method, path, body, headers: { 'content-type': 'application/json' } });

const NOT_AN_OBJECT = ['{', '', 'null', '[]', '42', '"text"', '{"identity":', 'undefined', '[{}]', 'true'];
const UNKNOWN_FIELDS = ['extra', 'role', 'admin', '__proto__', 'sealed', 'commitments'];
/** An object with one more field (`__proto__` as an own field, as JSON.parse makes it). */
const withField = (obj: Record<string, unknown>, name: string, value: unknown): string => JSON.stringify(Object.defineProperty({ ...obj }, name, { value, enumerable: true, configurable: true, writable: true }));

type Build = (c: HttpContext, s: Service) => Omit<HttpCall, 'route' | 'inputClass' | 'service'> & { service?: Service };
type RouteSpec = { kind: Service['kind'] } & Partial<Record<HttpClass, Build>>;

/** One of many ways to break a signed request that is otherwise right; all are refused 401. */
function brokenSignature(c: HttpContext, s: Service, caller: Identity, method: string, path: string, body: string, replyKey: boolean): Omit<HttpCall, 'route' | 'inputClass' | 'service'> {
  const signer = c.signer(caller);
  const good = () => signedRequest(signer, s, method, path, body, { replyKey });
  const variants: (() => [string, RawRequest])[] = [
    () => {
      const header = c.r.pick(['x-emr-certificate', 'x-emr-timestamp', 'x-emr-nonce', 'x-emr-signature']);
      const req = good();
      delete req.headers[header];
      return [`without ${header}`, req];
    },
    () => ['signed over another body', signedRequest(signer, s, method, path, body, { replyKey, signedBody: `${body} ` })],
    () => {
      const other = c.signer(c.r.pick([doctorB, researcher, c.w.victim].filter((i) => i.user !== caller.user || i.org !== caller.org)));
      return ["signed with another member's key", signedRequest({ certificate: signer.certificate, sign: other.sign }, s, method, path, body, { replyKey })];
    },
    () => {
      const req = good();
      const sig = Buffer.from(req.headers['x-emr-signature']!, 'base64url');
      sig[c.r.int(8, sig.length - 1)]! ^= 1 << c.r.int(0, 7);
      req.headers['x-emr-signature'] = sig.toString('base64url');
      return ['a flipped bit in the signature', req];
    },
    () => {
      const req = good();
      req.headers['x-emr-signature'] = c.r.pick(['', 'AAAA', randomBytes(72).toString('base64url'), '!!!', 'MEUCIQ']);
      return ['a signature that is no signature', req];
    },
    () => {
      const req = good();
      req.headers['x-emr-certificate'] = c.r.pick(['AAAA', randomBytes(600).toString('base64url'), Buffer.from('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----').toString('base64url')]);
      return ['a certificate that is no certificate', req];
    },
    () => ['a certificate of a CA outside the consortium', signedRequest(testCa(c.r.pick(['HospitalAMSP', 'EvilMSP'])).enroll(caller.user, 'doctor'), s, method, path, body, { replyKey })],
    () => {
      const timestamp = c.r.pick([new Date(Date.now() - 120_000).toISOString(), new Date(Date.now() + 120_000).toISOString(), 'yesterday', '', new Date(Date.now() - 3_600_000).toUTCString()]);
      return [`timestamp ${JSON.stringify(timestamp)}`, signedRequest(signer, s, method, path, body, { replyKey, timestamp })];
    },
    () => {
      const nonce = c.r.pick(['', 'short', 'a'.repeat(65), `${'a'.repeat(30)}+/`, '\u0430'.repeat(24)]);
      return [`nonce ${JSON.stringify(nonce)}`, signedRequest(signer, s, method, path, body, { replyKey, nonce })];
    },
    () => {
      const key = c.r.pick(['short', 'a'.repeat(44), `${'a'.repeat(42)}=`, '\u0430'.repeat(43)]);
      return [`reply key ${JSON.stringify(key)}`, signedRequest(signer, s, method, path, body, { replyKey: key })];
    },
    () => {
      const other = c.r.pick(c.services.filter((o) => o.endpoint !== s.endpoint));
      return [`signed for ${other.kind} ${other.org}`, signedRequest(signer, s, method, path, body, { replyKey, signedTarget: `${other.endpoint}${path}` })];
    },
    () => ['signed for another method', signedRequest(signer, s, method, path, body, { replyKey, signedMethod: method === 'GET' ? 'POST' : 'GET' })],
  ];
  const [what, request] = c.r.pick(variants)();
  return { what, request, expect: UNAUTHENTICATED };
}

/** A request whose header block is over the services' 16 KiB: refused before any route runs. */
const hugeHeaders = (c: HttpContext, method: string, path: string): Omit<HttpCall, 'route' | 'inputClass' | 'service'> => {
  const size = c.r.int(17 * 1024, 64 * 1024);
  return { what: `a ${size}-byte header`, request: { ...unsigned(method, path, ''), headers: { 'content-type': 'application/json', [c.r.pick(['x-emr-certificate', 'x-padding', 'cookie'])]: 'A'.repeat(size) } }, expect: HEADERS_TOO_LARGE };
};

/** A body announced over the 4 MiB limit: refused on its Content-Length, before it is read. */
const announcedTooLarge = (c: HttpContext, path: string): Omit<HttpCall, 'route' | 'inputClass' | 'service'> => {
  const length = c.r.pick([4 * 1024 * 1024 + 1, 5 * 1024 * 1024, 1024 * 1024 * 1024, 2 ** 40]);
  return { what: `a body announced at ${length} bytes`, request: { ...unsigned('POST', path, '{"a":"'), announcedLength: length }, expect: TOO_LARGE };
};

const keyCaller = (c: HttpContext): Identity => c.r.pick([doctorA, doctorB, researcher, c.w.victim, c.w.attacker, adminB]);
/** The identity a caller may get the key of: his own, `enrollmentId@MSP` (the topology's MSP ids are `<org>MSP`). */
const ownIdentity = (id: Identity): string => encodeParty({ mspId: `${id.org}MSP`, enrollmentId: id.user });
const slotOf = (owner: string) => `emr-slot:v1:${JSON.stringify([owner, 'sharable', 'notes'])}`;

const ROUTES: Record<HttpRoute, RouteSpec> = {
  'kgc POST /v1/keys': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const caller = keyCaller(c);
      const signer = c.signer(caller);
      const own = ownIdentity(caller);
      const body = c.r.pick<() => [string, string, boolean?]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => ['identity of another JSON type', JSON.stringify({ identity: wrongTypeJson('id', c.r) })],
        () => ['no identity', '{}'],
        () => ['an empty identity', '{"identity":""}'],
        () => {
          const name = c.r.pick(UNKNOWN_FIELDS);
          return [`unknown field '${name}'`, withField({ identity: own }, name, c.r.pick<unknown>([true, 'x', 1, {}]))];
        },
        () => ['no reply key: the key would travel unsealed', JSON.stringify({ identity: own }), false],
      ])();
      const [what, text, replyKey = true] = body;
      return { what, request: signedRequest(signer, s, 'POST', '/v1/keys', text, { replyKey }), expect: INVALID };
    },
    'other-identity': (c, s) => {
      const [what, caller, identity] = c.r.pick<() => [string, Identity, string]>([
        () => {
          const caller = keyCaller(c);
          const others = ['doctor1@HospitalBMSP', 'researcher1@ResearchInstituteMSP', 'admin@HospitalAMSP', 'kgc@HospitalAMSP', 'proxy@HospitalBMSP', ownIdentity(c.w.victim)];
          return ["another member's identity", caller, c.r.pick(others.filter((i) => i !== ownIdentity(caller)))];
        },
        () => {
          const caller = keyCaller(c);
          return ['a look-alike of his own identity', caller, unicodeVariant(ownIdentity(caller), c.r)];
        },
        () => ["a slot of the victim's records", c.r.pick([c.w.attacker, doctorA, researcher]), slotOf(c.w.victim.pseudonym)],
        () => ['a slot identity that does not parse', keyCaller(c), c.r.pick(['emr-slot:v1:', 'emr-slot:v1:[', `emr-slot:v1:{"owner":"${c.w.attacker.pseudonym}"}`, 'emr-slot:v1:[1]'])],
      ])();
      return { what, request: signedRequest(c.signer(caller), s, 'POST', '/v1/keys', JSON.stringify({ identity }), { replyKey: true }), expect: FORBIDDEN };
    },
    'wrong-signature': (c, s) => {
      const caller = keyCaller(c);
      return brokenSignature(c, s, caller, 'POST', '/v1/keys', JSON.stringify({ identity: ownIdentity(caller) }), true);
    },
    'replayed-request': (c) => replayOf(c, 'kgc POST /v1/keys'),
    'oversized-payload': (c, s) =>
      c.r.pick([
        () => announcedTooLarge(c, '/v1/keys'),
        () => hugeHeaders(c, 'POST', '/v1/keys'),
        () => {
          const identity = hugeString(c.r).slice(0, c.r.pick([1_025, 4_096, 64 * 1024, 1024 * 1024]));
          return { what: `an identity of ${identity.length} characters`, request: signedRequest(c.signer(keyCaller(c)), s, 'POST', '/v1/keys', JSON.stringify({ identity }), { replyKey: true }), expect: INVALID };
        },
      ])(),
  },
  'kgc POST /v1/blinding-key': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT.filter((b) => b !== ''))],
        () => [`a field where none is taken`, withField({}, c.r.pick(UNKNOWN_FIELDS), c.r.pick<unknown>([true, 'x', c.w.victim.pseudonym]))],
      ])();
      return { what, request: signedRequest(c.signer(c.r.pick([c.w.victim, c.w.attacker])), s, 'POST', '/v1/blinding-key', text, { replyKey: true }), expect: INVALID };
    },
    'other-identity': (c, s) => ({ what: 'staff ask for a patient\'s blinding key', request: signedRequest(c.signer(c.r.pick([doctorA, doctorB, researcher, adminB])), s, 'POST', '/v1/blinding-key', '{}', { replyKey: true }), expect: FORBIDDEN }),
    'wrong-signature': (c, s) => brokenSignature(c, s, c.w.victim, 'POST', '/v1/blinding-key', '{}', true),
    'oversized-payload': (c) => c.r.pick([() => announcedTooLarge(c, '/v1/blinding-key'), () => hugeHeaders(c, 'POST', '/v1/blinding-key')])(),
  },
  'kgc POST /v1/blind': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const patientPseudonym = c.w.victim.pseudonym;
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => ['categories of another JSON type', JSON.stringify({ patientPseudonym, categories: wrongTypeJson('array', c.r) })],
        () => ['no categories', JSON.stringify({ patientPseudonym, categories: [] })],
        () => ['a category that is no department path', JSON.stringify({ patientPseudonym, categories: [c.r.pick(['Oncology', 'a//b', '/x', 'x/', '../etc', unicodeVariant('oncology', c.r)])] })],
        () => ['a pseudonym that is none', JSON.stringify({ patientPseudonym: c.r.pick(['', 'abc', patientPseudonym.toUpperCase(), unicodeVariant(patientPseudonym, c.r)]), categories: ['oncology'] })],
        () => [`unknown field`, withField({ patientPseudonym, categories: ['oncology'] }, c.r.pick(UNKNOWN_FIELDS), 1)],
      ])();
      return { what, request: signedRequest(c.signer(c.r.pick([doctorA, doctorB, adminB])), s, 'POST', '/v1/blind', text, { replyKey: true }), expect: INVALID };
    },
    'other-identity': (c, s) => ({
      what: 'a patient or a researcher asks to blind paths (they file no records)',
      request: signedRequest(c.signer(c.r.pick([c.w.victim, c.w.attacker, researcher])), s, 'POST', '/v1/blind', JSON.stringify({ patientPseudonym: c.w.victim.pseudonym, categories: ['oncology'] }), { replyKey: true }),
      expect: FORBIDDEN,
    }),
    'wrong-signature': (c, s) => brokenSignature(c, s, doctorB, 'POST', '/v1/blind', JSON.stringify({ patientPseudonym: c.w.victim.pseudonym, categories: ['oncology'] }), true),
    'oversized-payload': (c, s) =>
      c.r.pick([
        () => announcedTooLarge(c, '/v1/blind'),
        () => hugeHeaders(c, 'POST', '/v1/blind'),
        () => ({
          what: 'more paths than a request takes',
          request: signedRequest(c.signer(doctorA), s, 'POST', '/v1/blind', JSON.stringify({ patientPseudonym: c.w.victim.pseudonym, categories: Array.from({ length: c.r.int(17, 2000) }, () => 'oncology') }), { replyKey: true }),
          expect: INVALID,
        }),
      ])(),
  },
  'kgc POST /v1/attest-reach': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => ['a category of another JSON type', JSON.stringify({ category: wrongTypeJson('id', c.r) })],
        () => ['a category that is no department path', JSON.stringify({ category: c.r.pick(['', 'Oncology', 'a//b', '/x', '../etc', unicodeVariant('oncology', c.r)]) })],
        () => [`unknown field`, withField({ category: 'oncology' }, c.r.pick(UNKNOWN_FIELDS), c.w.victim.pseudonym)],
      ])();
      return { what, request: signedRequest(c.signer(c.r.pick([c.w.victim, c.w.attacker])), s, 'POST', '/v1/attest-reach', text), expect: INVALID };
    },
    'other-identity': (c, s) => ({
      what: "staff ask a centre to attest a patient's category",
      request: signedRequest(c.signer(c.r.pick([doctorA, doctorB, researcher, adminB])), s, 'POST', '/v1/attest-reach', JSON.stringify({ category: 'oncology' })),
      expect: FORBIDDEN,
    }),
    'wrong-signature': (c, s) => brokenSignature(c, s, c.w.victim, 'POST', '/v1/attest-reach', JSON.stringify({ category: 'oncology' }), false),
    'oversized-payload': (c) => c.r.pick([() => announcedTooLarge(c, '/v1/attest-reach'), () => hugeHeaders(c, 'POST', '/v1/attest-reach')])(),
  },
  'kgc POST /v1/record-pseudonym': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const patientPseudonym = c.w.victim.pseudonym;
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => ['a pseudonym of another JSON type', JSON.stringify({ patientPseudonym: wrongTypeJson('id', c.r) })],
        () => ['a pseudonym that is none', JSON.stringify({ patientPseudonym: c.r.pick(['', 'abc', patientPseudonym.toUpperCase(), `rp-${patientPseudonym}`, unicodeVariant(patientPseudonym, c.r)]) })],
        () => [`unknown field`, withField({ patientPseudonym }, c.r.pick(UNKNOWN_FIELDS), 1)],
      ])();
      return { what, request: signedRequest(c.signer(c.r.pick([doctorA, doctorB, adminB])), s, 'POST', '/v1/record-pseudonym', text), expect: INVALID };
    },
    'other-identity': (c, s) => ({
      what: 'a patient or a researcher asks for a record pseudonym (they file no records for others)',
      request: signedRequest(c.signer(c.r.pick([c.w.victim, c.w.attacker, researcher])), s, 'POST', '/v1/record-pseudonym', JSON.stringify({ patientPseudonym: c.w.victim.pseudonym })),
      expect: FORBIDDEN,
    }),
    'wrong-signature': (c, s) => brokenSignature(c, s, doctorB, 'POST', '/v1/record-pseudonym', JSON.stringify({ patientPseudonym: c.w.victim.pseudonym }), false),
    'oversized-payload': (c) => c.r.pick([() => announcedTooLarge(c, '/v1/record-pseudonym'), () => hugeHeaders(c, 'POST', '/v1/record-pseudonym')])(),
  },
  'kgc POST /v1/link': {
    kind: 'kgc',
    'malformed-body': (c, s) => {
      const base = { recordId: c.w.victimRecord.recordId, purpose: 'research', consentId: c.w.consent.consentId };
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => ['a record id of another JSON type', JSON.stringify({ ...base, recordId: wrongTypeJson('id', c.r) })],
        () => ['a purpose that is none', JSON.stringify({ ...base, purpose: c.r.pick(['', 'Research', 'fun', unicodeVariant('research', c.r)]) })],
        () => ['nothing the request goes under', JSON.stringify({ recordId: base.recordId, purpose: 'research' })],
        () => ['a consent and a grant at once', JSON.stringify({ ...base, grantId: c.w.grant.grantId })],
        () => ['a patient that is no pseudonym, by area', JSON.stringify({ recordId: base.recordId, purpose: 'treatment', patientPseudonym: c.r.pick(['abc', c.w.victim.pseudonym.toUpperCase()]) })],
        () => [`unknown field`, withField(base, c.r.pick(UNKNOWN_FIELDS), 1)],
      ])();
      return { what, request: signedRequest(c.signer(c.r.pick([doctorA, doctorB, researcher])), s, 'POST', '/v1/link', text, { replyKey: true }), expect: INVALID };
    },
    'wrong-signature': (c, s) => brokenSignature(c, s, researcher, 'POST', '/v1/link', JSON.stringify({ recordId: c.w.victimRecord.recordId, purpose: 'research', consentId: c.w.consent.consentId }), true),
    'oversized-payload': (c) => c.r.pick([() => announcedTooLarge(c, '/v1/link'), () => hugeHeaders(c, 'POST', '/v1/link')])(),
  },
  'kgc GET /v1/dkg/share': {
    kind: 'kgc',
    'other-identity': (c, s) => ({ what: 'a member that is no key centre asks for a DKG share', request: signedRequest(c.signer(keyCaller(c)), s, 'GET', '/v1/dkg/share', '', { replyKey: true }), expect: FORBIDDEN }),
    'wrong-signature': (c, s) => brokenSignature(c, s, keyCaller(c), 'GET', '/v1/dkg/share', '', true),
    'replayed-request': (c) => replayOf(c, 'kgc GET /v1/dkg/share'),
    'oversized-payload': (c) => hugeHeaders(c, 'GET', '/v1/dkg/share'),
  },
  'proxy POST /v1/shares': {
    kind: 'proxy',
    'malformed-body': (c, s) => {
      const [what, text, expect] = c.r.pick<() => [string, string, HttpExpected]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT), INVALID],
        () => {
          const name = c.r.pick(UNKNOWN_FIELDS);
          return [`unknown field '${name}'`, withField({ grantId: c.w.grant.grantId, share: 'AAAA' }, name, c.r.pick<unknown>([[], 'x', 1])), INVALID];
        },
        () => ['a grant id of another type', JSON.stringify({ grantId: wrongTypeJson('id', c.r), share: 'AAAA' }), INVALID],
        () => ['a grant id with unicode', JSON.stringify({ grantId: unicodeVariant(c.w.grant.grantId, c.r), share: 'AAAA' }), INVALID],
        () => ['a path for a grant id', JSON.stringify({ grantId: c.r.pick(['../..', '../shares/x', '/etc/passwd', '.', 'a/b']), share: 'AAAA' }), INVALID],
        () => ['a share of another type', JSON.stringify({ grantId: c.w.grant.grantId, share: wrongTypeJson('base64url', c.r) }), INVALID],
        () => ["the delegator's share that is no share", JSON.stringify({ grantId: c.w.grant.grantId, share: c.r.pick(['AAAA', randomBytes(200).toString('base64url'), '!!', '']) }), shareRefusal(INVALID)],
      ])();
      return { what, request: signedRequest(c.signer(c.w.victim), s, 'POST', '/v1/shares', text), expect };
    },
    'other-identity': (c, s) =>
      c.r.pick([
        () => ({ what: "someone else delivers a share of the victim's grant", request: signedRequest(c.signer(c.r.pick([doctorB, c.w.attacker, researcher, adminB])), s, 'POST', '/v1/shares', JSON.stringify({ grantId: c.w.grant.grantId, share: 'AAAA' })), expect: shareRefusal(FORBIDDEN) }),
        () => ({ what: 'a share of a grant that is not registered', request: signedRequest(c.signer(c.r.pick([c.w.victim, c.w.attacker, doctorA])), s, 'POST', '/v1/shares', JSON.stringify({ grantId: `grant-${c.w.tag}-${c.r.int(0, 1e9)}`, share: 'AAAA' })), expect: shareRefusal({ status: 404, code: 'NOT_REGISTERED' }) }),
      ])(),
    'wrong-signature': (c, s) => brokenSignature(c, s, c.w.victim, 'POST', '/v1/shares', JSON.stringify({ grantId: c.w.grant.grantId, share: 'AAAA' }), false),
    'replayed-request': (c) => replayOf(c, 'proxy POST /v1/shares'),
    'oversized-payload': (c, s) =>
      c.r.pick([
        () => announcedTooLarge(c, '/v1/shares'),
        () => hugeHeaders(c, 'POST', '/v1/shares'),
        () => {
          const share = 'A'.repeat(c.r.pick([4_097, 64 * 1024, 1024 * 1024]));
          return { what: `a share of ${share.length} characters`, request: signedRequest(c.signer(c.w.victim), s, 'POST', '/v1/shares', JSON.stringify({ grantId: c.w.grant.grantId, share })), expect: INVALID };
        },
      ])(),
  },
  'proxy POST /v1/fragments': {
    kind: 'proxy',
    'malformed-body': (c) => {
      const good = { entryId: c.w.access.entryId, grantId: c.w.grant.grantId, capsule: c.w.grantCapsule };
      const [what, text] = c.r.pick<() => [string, string]>([
        () => ['a body that is no JSON object', c.r.pick(NOT_AN_OBJECT)],
        () => {
          const name = c.r.pick(UNKNOWN_FIELDS);
          return [`unknown field '${name}'`, withField(good, name, 1)];
        },
        () => {
          const field = c.r.pick(['entryId', 'grantId', 'capsule'] as const);
          const { [field]: _, ...rest } = good;
          return [`${field} missing`, JSON.stringify(rest)];
        },
        () => {
          const field = c.r.pick(['entryId', 'grantId', 'capsule'] as const);
          return [`${field} of another type`, JSON.stringify({ ...good, [field]: wrongTypeJson('id', c.r) })];
        },
        () => {
          const field = c.r.pick(['entryId', 'grantId'] as const);
          return [`${field} with unicode or a path`, JSON.stringify({ ...good, [field]: c.r.chance(0.5) ? unicodeVariant(good[field], c.r) : c.r.pick(['../..', '..', 'a/b', '/x', '']) })];
        },
        () => ['a capsule that is no capsule', JSON.stringify({ ...good, capsule: c.r.pick(['', 'AAAA', '!!!', randomBytes(96).toString('base64url'), unicodeVariant(good.capsule, c.r), good.capsule.slice(0, -4)]) })],
      ])();
      return { what, request: unsigned('POST', '/v1/fragments', text), expect: INVALID };
    },
    'other-identity': (c) =>
      c.r.pick([
        () => ({ what: "another record's capsule for the researcher's access", request: unsigned('POST', '/v1/fragments', JSON.stringify({ entryId: c.w.access.entryId, grantId: c.w.grant.grantId, capsule: c.w.attackerRecord.encapsulatedKey })), expect: { status: 409, code: 'CONFLICT' } }),
        () => ({ what: 'an entry that is not an access request', request: unsigned('POST', '/v1/fragments', JSON.stringify({ entryId: c.w.uploadEntryId, grantId: c.w.grant.grantId, capsule: c.w.grantCapsule })), expect: INVALID }),
        () => ({ what: 'a grant that is not registered', request: unsigned('POST', '/v1/fragments', JSON.stringify({ entryId: c.w.access.entryId, grantId: `grant-${c.w.tag}-${c.r.int(0, 1e9)}`, capsule: c.w.grantCapsule })), expect: { status: 404, code: 'NOT_FOUND' } }),
        () => ({ what: 'an access entry that does not exist', request: unsigned('POST', '/v1/fragments', JSON.stringify({ entryId: `${randomBytes(32).toString('hex')}.0`, grantId: c.w.grant.grantId, capsule: c.w.grantCapsule })), expect: { status: 404, code: 'NOT_FOUND' } }),
      ])(),
    'oversized-payload': (c) =>
      c.r.pick([
        () => announcedTooLarge(c, '/v1/fragments'),
        () => hugeHeaders(c, 'POST', '/v1/fragments'),
        () => {
          const capsule = 'A'.repeat(c.r.pick([64 * 1024, 1024 * 1024, 3 * 1024 * 1024]));
          return { what: `a capsule of ${capsule.length} characters`, request: unsigned('POST', '/v1/fragments', JSON.stringify({ entryId: c.w.access.entryId, grantId: c.w.grant.grantId, capsule })), expect: INVALID };
        },
      ])(),
  },
};

/** A request sent before the run, sent again as it was: refused as a replay (or, once the 60 s window passed, as stale). */
function replayOf(c: HttpContext, route: HttpRoute): Omit<HttpCall, 'route' | 'inputClass' | 'service'> & { service: Service } {
  const sent = c.r.pick(c.replays.filter((s) => s.route === route));
  const elsewhere = c.r.chance(0.3) ? c.services.filter((o) => o.kind === sent.service.kind && o.endpoint !== sent.service.endpoint) : [];
  const service = elsewhere.length ? c.r.pick(elsewhere) : sent.service;
  return { what: service === sent.service ? 'a request sent again' : `a request for ${sent.service.org}'s ${sent.service.kind} sent to ${service.org}'s`, service, request: sent.request, expect: UNAUTHENTICATED };
}

/** The (route, class) pairs that exist. */
export const httpPairs = (): { target: HttpRoute; inputClass: HttpClass }[] =>
  HTTP_ROUTES.flatMap((target) => HTTP_CLASSES.filter((k) => ROUTES[target][k] !== undefined).map((inputClass) => ({ target, inputClass })));

export function malformedRequest(route: HttpRoute, inputClass: HttpClass, c: HttpContext): HttpCall {
  const spec = ROUTES[route];
  const build = spec[inputClass];
  if (!build) throw new Error(`${inputClass} does not apply to ${route}`);
  const service = c.r.pick(c.services.filter((s) => s.kind === spec.kind));
  const { service: chosen, ...call } = build(c, service);
  return { route, inputClass, service: chosen ?? service, ...call };
}
