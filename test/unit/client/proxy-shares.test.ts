/**
 * A proxy on 127.0.0.1 receiving key shares: only the delegator of a grant registered on
 * chain, in a signed request, for this proxy's position, verified against the commitments
 * on chain, never replacing a stored share, and bounded per caller. The chain is a fake
 * ledger; the crypto is real. Also: ids and bodies the fragment endpoint refuses early, and
 * secrets at rest: shares 0600 in 0700 directories, older loose state tightened, no share logged.
 */
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { encodeCapsule, encodeGrant, encodeProxyShare, encrypt, hashToG2, reKeyGen, toBase64url, type ProxyShare } from '@emr/crypto';
import type { Party, Registration } from '@emr/protocol';
import { EmrClient, InsufficientFragmentsError, NotFoundError, ServiceError } from '../../../client/src';
import { callService } from '../../../client/src/wire/call';
import { signedHeaders } from '../../../client/src/wire/signed-requests';
import { ProxyService, type ProxyDeps } from '../../../client/src/services/proxy-service';
import { centresForTests } from '../../support/grants';
import { testCa, trustOf } from '../../support/test-certs';

const orgs = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'];
const cas = orgs.map((msp) => testCa(msp));
const [A, B] = cas as [(typeof cas)[0], (typeof cas)[0]];
const patient = A.enroll('patient1', 'patient');
const stranger = B.enroll('doctor1', 'doctor');
const proxies: Party[] = orgs.map((mspId) => ({ mspId, enrollmentId: 'proxy' }));
const idOf = (p: Party) => `${p.enrollmentId}@${p.mspId}`;
const { params, keyOf } = centresForTests();
const slot = { owner: 'a'.repeat(64), type: 'sharable' as const, condition: 'cardiology/ecg' };

/** A grant for `order` (share i to order[i]); `seed` picks the delegator key, so two seeds give two polynomials. */
const makeGrant = (grantId: string, order: Party[] = proxies, seed = 'legit') =>
  reKeyGen(params, { grantId, slot, delegatorKey: hashToG2(`delegator:${seed}:${grantId}`), delegatee: 'researcher1@ResearchInstituteMSP', hop: 1, proxies: order.map(idOf), threshold: 2 });
const share64 = (s: ProxyShare) => toBase64url(encodeProxyShare(s));
const mode = (p: string) => statSync(p).mode & 0o777;

describe('a proxy receiving key shares', () => {
  const stateDir = mkdtempSync(path.join(os.tmpdir(), 'proxy-test-'));
  const grants = new Map<string, { registration: Registration; active: boolean }>();
  const madeGrants = new Map<string, ReturnType<typeof makeGrant>>();
  let slowLedgerMs = 0;
  const register = (grantId: string, active = true) => {
    const made = makeGrant(grantId);
    const registration = {
      grantId,
      consentId: `consent-of-${grantId}`,
      delegatee: { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
      delegator: { mspId: 'HospitalAMSP', enrollmentId: 'patient1' },
      type: 'sharable',
      conditionHash: '0'.repeat(64),
      hop: 1,
      parentGrantId: null,
      proxies,
      threshold: 2,
      commitments: made.grant.commitments.map((c) => toBase64url(c.toBytes())),
      grant: toBase64url(encodeGrant(made.grant)),
      expiresAt: '2099-01-01T00:00:00.000Z',
      createdAt: '',
      txId: '',
    } as Registration;
    grants.set(grantId, { registration, active });
    madeGrants.set(grantId, made);
    return made;
  };
  const ledger: ProxyDeps['ledger'] = {
    readGrant: async (grantId) => {
      if (slowLedgerMs) await new Promise((r) => setTimeout(r, slowLedgerMs));
      const g = grants.get(grantId);
      if (!g) throw new NotFoundError('NOT_FOUND', `grant '${grantId}' is not registered`, 'grantId');
      return g;
    },
    readAccessEntry: async (entryId) => {
      throw new NotFoundError('NOT_FOUND', `log entry '${entryId}' does not exist`, 'entryId');
    },
    allGrants: async () => [],
  };
  const unused = () => {
    throw new Error('not used here');
  };
  const config = { port: 0, endpoint: '', stateDir, channel: 'emr', trust: trustOf(...cas) };
  // Everything the proxy logs, and anything written to the console meanwhile.
  const logged: string[] = [];
  const log = (line: string) => void logged.push(line);
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...args: unknown[]) => log(args.map(String).join(' '))));
  const service = new ProxyService(config, { mspId: 'HospitalAMSP', enrollmentId: 'proxy' }, keyOf('proxy@HospitalAMSP'), log, {
    ledger,
    records: { readRecord: unused },
    registry: { register: unused, registerSm2Key: unused, signFragment: unused, logReEncryptionAsync: unused, logReEncryption: unused },
  });
  let base: string;
  beforeAll(async () => {
    base = `http://127.0.0.1:${((await service.listen()).address() as AddressInfo).port}`;
    config.endpoint = base; // requests are signed for the endpoint they address
  });
  afterAll(() => {
    service.stop();
    consoleSpies.forEach((s) => s.mockRestore());
    rmSync(stateDir, { recursive: true, force: true });
  });

  const deliver = (body: unknown, signer = patient) => callService<{ index: number }>('proxy', base, 'POST', '/v1/shares', body, signer).catch((e: unknown) => e as ServiceError);
  const refusal = (e: unknown) => [(e as ServiceError).status, (e as ServiceError).code];
  const shareFiles = () => readdirSync(path.join(stateDir, 'shares'));
  const stored = (grantId: string) => JSON.parse(readFileSync(path.join(stateDir, 'shares', `${grantId}.json`), 'utf8')) as { share: string; consentId: string; index: number };

  it('the delegator of a registered grant delivers a verified share; the same share again is a no-op', async () => {
    const { shares } = register('grant-ok');
    expect(await deliver({ grantId: 'grant-ok', share: share64(shares[0]!) })).toEqual({ index: 1 });
    expect(stored('grant-ok')).toMatchObject({ consentId: 'consent-of-grant-ok', index: 1 });
    expect(await deliver({ grantId: 'grant-ok', share: share64(shares[0]!) })).toEqual({ index: 1 });
  });

  it('an attempted overwrite of a stored share is refused, whoever signs it, and the share stays', async () => {
    const { shares } = register('grant-kept');
    await deliver({ grantId: 'grant-kept', share: share64(shares[0]!) });
    const before = readFileSync(path.join(stateDir, 'shares', 'grant-kept.json'), 'utf8');
    const crafted = makeGrant('grant-kept', proxies, 'attacker').shares[0]!; // sealed to this proxy, index 1, another polynomial
    const overwrite = await deliver({ grantId: 'grant-kept', share: share64(crafted) });
    expect(refusal(overwrite)).toEqual([400, 'INVALID_ARGUMENT']); // off the commitments: refused before the stored share is looked at
    expect((overwrite as Error).message).toMatch(/share 1 of grant 'grant-kept' does not match the grant's commitments/);
    expect(refusal(await deliver({ grantId: 'grant-kept', share: share64(crafted) }, stranger))).toEqual([403, 'UNAUTHORIZED']);
    const unsigned = await callService('proxy', base, 'POST', '/v1/shares', { grantId: 'grant-kept', share: share64(crafted) }).catch((e: unknown) => e);
    expect(refusal(unsigned)).toEqual([401, 'UNAUTHENTICATED']);
    expect(readFileSync(path.join(stateDir, 'shares', 'grant-kept.json'), 'utf8')).toBe(before);
  });

  it('a share that does not match the commitments on chain is refused; commitments in the body are not accepted', async () => {
    const { shares } = register('grant-checked');
    const crafted = makeGrant('grant-checked', proxies, 'attacker').shares[0]!;
    expect(refusal(await deliver({ grantId: 'grant-checked', share: share64(crafted) }))).toEqual([400, 'INVALID_ARGUMENT']);
    const withCommitments = await deliver({ grantId: 'grant-checked', share: share64(shares[0]!), commitments: [] });
    expect(refusal(withCommitments)).toEqual([400, 'INVALID_ARGUMENT']);
    expect((withCommitments as Error).message).toMatch(/unexpected commitments/);
    expect(shareFiles()).not.toContain('grant-checked.json');
  });

  it('a share for another proxy, or for another position, is refused', async () => {
    const { shares } = register('grant-pos');
    const forB = await deliver({ grantId: 'grant-pos', share: share64(shares[1]!) });
    expect(refusal(forB)).toEqual([400, 'INVALID_ARGUMENT']);
    expect((forB as Error).message).toMatch(/sealed to proxy@HospitalBMSP/);
    const reordered = makeGrant('grant-pos', [proxies[1]!, proxies[0]!, proxies[2]!]).shares[1]!; // sealed to this proxy as share 2
    const wrongIndex = await deliver({ grantId: 'grant-pos', share: share64(reordered) });
    expect((wrongIndex as Error).message).toMatch(/it is share 2; proxy@HospitalAMSP holds share 1/);
  });

  it('grants that are not registered, not active or not this proxy’s are refused, and nothing is stored', async () => {
    const files = shareFiles().length;
    for (let i = 0; i < 5; i++) {
      const { shares } = makeGrant(`grant-random-${i}`);
      expect(refusal(await deliver({ grantId: `grant-random-${i}`, share: share64(shares[0]!) }))).toEqual([404, 'NOT_REGISTERED']);
    }
    const { shares } = register('grant-revoked', false);
    expect(refusal(await deliver({ grantId: 'grant-revoked', share: share64(shares[0]!) }))).toEqual([409, 'GRANT_INACTIVE']);
    const other = register('grant-elsewhere');
    grants.get('grant-elsewhere')!.registration.proxies = [proxies[1]!, proxies[2]!, { mspId: 'HospitalBMSP', enrollmentId: 'proxy2' }];
    expect(refusal(await deliver({ grantId: 'grant-elsewhere', share: share64(other.shares[0]!) }))).toEqual([403, 'UNAUTHORIZED']);
    expect(shareFiles().length).toBe(files);
  });

  it('ids are checked before the chain is asked: ../.. and friends get 400', async () => {
    for (const grantId of ['../..', '../../etc/passwd', '', 'a'.repeat(200), 42]) {
      expect(refusal(await deliver({ grantId, share: 'AAAA' }))).toEqual([400, 'INVALID_ARGUMENT']);
    }
    const fragment = (body: unknown) => callService('proxy', base, 'POST', '/v1/fragments', body).catch((e: unknown) => e);
    for (const entryId of ['../..', '..', 'abc', 'abc.', '.1', 'a/b.1', 'x'.repeat(200) + '.1']) {
      const err = await fragment({ entryId, grantId: 'grant-ok', capsule: 'AAAA' });
      expect([entryId, ...refusal(err)]).toEqual([entryId, 400, 'INVALID_ARGUMENT']);
    }
    expect(refusal(await fragment({ entryId: `${'ab'.repeat(32)}.0`, grantId: '../..', capsule: 'AAAA' }))).toEqual([400, 'INVALID_ARGUMENT']);
    // Well-formed ids and capsule reach the chain, which does not know the entry.
    const capsule = toBase64url(encodeCapsule(encrypt(params, slot, new Uint8Array(32))));
    expect(refusal(await fragment({ entryId: `${'ab'.repeat(32)}.0`, grantId: 'grant-ok', capsule }))).toEqual([404, 'NOT_FOUND']);
  });

  it('a null body gets 400 naming the body; non-JSON content 415', async () => {
    for (const route of ['/v1/fragments', '/v1/shares']) {
      const res = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'application/json', ...(route === '/v1/shares' ? signedHeaders(patient, 'POST', `${base}${route}`, 'null') : {}) }, body: 'null' });
      expect([route, res.status, ((await res.json()) as { message: string }).message]).toEqual([route, 400, 'the request body must be a JSON object, not null']);
      const text = await fetch(`${base}${route}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' });
      expect(text.status).toBe(415);
    }
  });

  it('one caller cannot keep more than 4 uploads in progress', async () => {
    const { shares } = register('grant-busy');
    slowLedgerMs = 300;
    try {
      const results = await Promise.all(Array.from({ length: 8 }, () => deliver({ grantId: 'grant-busy', share: share64(shares[0]!) })));
      const statuses = results.map((r) => (r instanceof ServiceError ? r.status : 200));
      expect(statuses.filter((s) => s === 200)).toHaveLength(4);
      expect(statuses.filter((s) => s === 429)).toHaveLength(4);
    } finally {
      slowLedgerMs = 0;
    }
  });

  it('a revoked consent destroys the share stored for it (consent known from the chain at acceptance)', async () => {
    const { shares } = register('grant-to-revoke');
    await deliver({ grantId: 'grant-to-revoke', share: share64(shares[0]!) });
    expect(shareFiles()).toContain('grant-to-revoke.json');
    await service['onEvent']({ eventName: 'consent.revoked', payload: Buffer.from(JSON.stringify({ consentId: 'consent-of-grant-to-revoke' })) } as never);
    expect(shareFiles()).not.toContain('grant-to-revoke.json');
    expect(shareFiles()).toContain('grant-ok.json');
  });

  it('shares are kept 0600 in 0700 directories; a crash-left 0644 .tmp does not pass its mode on', async () => {
    const { shares } = register('grant-modes');
    const file = path.join(stateDir, 'shares', 'grant-modes.json');
    writeFileSync(`${file}.tmp`, 'torn');
    chmodSync(`${file}.tmp`, 0o644);
    expect(await deliver({ grantId: 'grant-modes', share: share64(shares[0]!) })).toEqual({ index: 1 });
    expect(shareFiles()).not.toContain('grant-modes.json.tmp');
    for (const dir of ['', 'shares', 'served']) expect([dir, mode(path.join(stateDir, dir))]).toEqual([dir, 0o700]);
    for (const f of shareFiles()) expect([f, mode(path.join(stateDir, 'shares', f))]).toEqual([f, 0o600]);
  });

  it('a state directory and share files left loose by an older version are tightened at start', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-old-'));
    try {
      mkdirSync(path.join(dir, 'shares'), { mode: 0o755 });
      writeFileSync(path.join(dir, 'shares', 'grant-old.json'), readFileSync(path.join(stateDir, 'shares', 'grant-ok.json')), { mode: 0o644 });
      chmodSync(path.join(dir, 'shares', 'grant-old.json'), 0o644);
      chmodSync(path.join(dir, 'shares'), 0o755);
      chmodSync(dir, 0o755);
      new ProxyService({ ...config, stateDir: dir }, { mspId: 'HospitalAMSP', enrollmentId: 'proxy' }, keyOf('proxy@HospitalAMSP'), log, { ledger });
      expect([mode(dir), mode(path.join(dir, 'shares')), mode(path.join(dir, 'served')), mode(path.join(dir, 'shares', 'grant-old.json'))]).toEqual([0o700, 0o700, 0o700, 0o600]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('no log line quotes a share: not on acceptance or revocation, nor when a damaged share file fails a request or a revocation', async () => {
    const { shares } = register('grant-logged');
    await deliver({ grantId: 'grant-logged', share: share64(shares[0]!) });
    const held = shareFiles().map((f) => JSON.parse(readFileSync(path.join(stateDir, 'shares', f), 'utf8')) as { grantId: string; share: string });
    await service['onEvent']({ eventName: 'consent.revoked', payload: Buffer.from(JSON.stringify({ consentId: 'consent-of-grant-logged' })) } as never);
    // A share file damaged on disk: its scalar, or its JSON, would be quoted by BigInt and JSON.parse.
    const kept = stored('grant-ok');
    const file = path.join(stateDir, 'shares', 'grant-ok.json');
    const before = readFileSync(file, 'utf8');
    try {
      writeFileSync(file, JSON.stringify({ ...kept, share: `0x${kept.share}` }));
      const failed = await deliver({ grantId: 'grant-ok', share: share64(madeGrants.get('grant-ok')!.shares[0]!) });
      expect(refusal(failed)).toEqual([500, 'INTERNAL']);
      expect(logged.some((l) => l.includes('/v1/shares failed'))).toBe(true); // the capture sees the service's error log
      writeFileSync(file, before.replace(`"${kept.share}"`, kept.share));
      const revocation = await service['onEvent']({ eventName: 'consent.revoked', payload: Buffer.from(JSON.stringify({ consentId: 'none' })) } as never).catch((e: unknown) => e);
      expect((revocation as Error).message).toMatch(/grant-ok\.json is not valid JSON/);
      logged.push((revocation as Error).message, (revocation as Error).stack ?? '');
    } finally {
      writeFileSync(file, before);
    }
    expect(logged.some((l) => l.includes('share of grant grant-logged destroyed'))).toBe(true);
    expect(held.map((h) => h.grantId)).toEqual(expect.arrayContaining(['grant-logged', 'grant-ok']));
    for (const { share } of held) expect(logged.filter((l) => l.includes(share.slice(0, 8)))).toEqual([]);
  });
});

describe("the SDK's makeGrant against real proxies", () => {
  const dirs: string[] = [];
  const grants = new Map<string, { registration: Registration; active: boolean }>();
  const order: string[] = [];
  const ledger: ProxyDeps['ledger'] = {
    readGrant: async (grantId) => {
      const g = grants.get(grantId);
      if (!g) throw new NotFoundError('NOT_FOUND', `grant '${grantId}' is not registered`, 'grantId');
      return g;
    },
    readAccessEntry: async () => {
      throw new Error('not used here');
    },
    allGrants: async () => [],
  };
  const configs = proxies.map(() => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'proxy-grant-test-'));
    dirs.push(dir);
    return { port: 0, endpoint: '', stateDir: dir, channel: 'emr', trust: trustOf(...cas) };
  });
  const services = proxies.map((p, i) => new ProxyService(configs[i]!, { mspId: p.mspId, enrollmentId: 'proxy' }, keyOf(idOf(p)), () => undefined, { ledger }));
  const endpoints: string[] = [];
  beforeAll(async () => {
    for (const [i, s] of services.entries()) endpoints.push((configs[i]!.endpoint = `http://127.0.0.1:${((await s.listen()).address() as AddressInfo).port}`));
  });
  afterAll(() => {
    services.forEach((s) => s.stop());
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  const grantInput = { consentId: 'consent-1', slot, delegatorKey: hashToG2('the slot key'), delegatee: { mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' }, hop: 1, expiresAt: '2099-01-01T00:00:00.000Z' };
  /** An EmrClient whose chain is the fake ledger: registerGrant records the caller as delegator. */
  type MakeGrant = { makeGrant(g: typeof grantInput): Promise<Registration> };
  const client = (reachable: boolean[]) =>
    Object.assign(Object.create(EmrClient.prototype) as MakeGrant, {
      connection: patient,
      grantProxies: { n: 3, threshold: 2 },
      consortium: { params, threshold: 2, centres: [] },
      proxies: {
        elect: async () => proxies,
        list: async () => proxies.map((p, i) => ({ ...p, endpoint: reachable[i] ? endpoints[i] : 'http://127.0.0.1:9' })),
      },
      consents: {
        registerGrant: async (input: Registration) => {
          order.push(`register ${input.grantId}`);
          const registration = { ...input, parentGrantId: null, delegator: { mspId: 'HospitalAMSP', enrollmentId: 'patient1' }, createdAt: '', txId: '' };
          grants.set(input.grantId, { registration, active: true });
          return registration;
        },
      },
    });

  // A proxy refuses shares of unregistered grants (404), so acceptance proves the order.
  it('registers the grant first, then delivers signed shares that every proxy accepts', async () => {
    const reg = await client([true, true, true]).makeGrant(grantInput);
    expect(order).toEqual([`register ${reg.grantId}`]);
    expect(reg.commitments).toHaveLength(2);
    for (const s of services) expect((await callService<{ shares: number }>('proxy', endpoints[services.indexOf(s)]!, 'GET', '/v1/health')).shares).toBe(1);
  });

  it('fewer than t accepting proxies: InsufficientFragmentsError saying the grant is registered but unusable', async () => {
    const err = await client([true, false, false]).makeGrant(grantInput).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientFragmentsError);
    expect((err as Error).message).toMatch(/proxy@HospitalBMSP: .*unreachable.*registered on chain under consent 'consent-1' but cannot be used; revoke the consent/);
    expect(grants.has((err as InsufficientFragmentsError).grantId)).toBe(true);
  });
});
