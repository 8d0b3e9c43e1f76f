import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { G1, deriveSm2Secret, encodeCapsule, encodeFragment, encrypt, openShare, reEncrypt, sm2PublicKey, sm2Sign, toBase64url, type Capsule, type Fragment } from '@emr/crypto';
import { fragmentSigningPayload, sm2KeyPayload, type Proxy } from '@emr/protocol';
import { electProxies, FAULT_PENALTY, REPUTATION_MAX, STAKE_BUDGET } from '../../../chaincode/src/proxies';
import { identity, signAs } from '../../support/chaincode-context';
import { consentInput } from '../../support/fixtures';
import { centresForTests, identityOf } from '../../support/grants';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, proxyId, researcher1, unitLedger } from '../../support/unit-ledger';

const { proxy, consent } = contracts;
const sha = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

describe('proxy registry and stake', () => {
  it("a member's proxy identity registers itself with its certificate key, once; other roles cannot", async () => {
    const { as } = await unitLedger();
    const registered = JSON.parse(await proxy.ReadProxy(as(RI, researcher1), A, 'proxy'));
    expect(registered).toMatchObject({ mspId: A, enrollmentId: 'proxy', endpoint: 'https://127.0.0.1:7300', stake: 90, reputation: REPUTATION_MAX, status: 'active', faults: 0 });
    expect(registered.publicKey).toMatch(/^-----BEGIN PUBLIC KEY-----/);
    await expect(proxy.RegisterProxy(as(A, proxyId), 'https://127.0.0.1:7300')).rejects.toThrow(/^CONFLICT\[proxy\]/);
    await expect(proxy.RegisterProxy(as(A, admin), 'https://127.0.0.1:7301')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(proxy.RegisterProxy(as(A, identity('proxy2', 'proxy')), 'ftp://example.org')).rejects.toThrow(/^INVALID_ARGUMENT\[endpoint\]/);
    // A port outside 1..65535 is no endpoint (the pattern alone took any five digits).
    for (const port of ['0', '00000', '65536', '99999']) await expect(proxy.RegisterProxy(as(A, identity('proxy2', 'proxy')), `https://127.0.0.1:${port}`)).rejects.toThrow(/^INVALID_ARGUMENT\[endpoint\]/);
    expect(JSON.parse(await proxy.ListProxies(as(A, doctor1))).map((p: Proxy) => p.mspId)).toEqual([A, B, RI]);
    expect(JSON.parse(await proxy.RegisterProxy(as(A, identity('proxy2', 'proxy')), 'https://127.0.0.1:65535')).endpoint).toBe('https://127.0.0.1:65535');
  });

  it("each member org stakes within its budget; a new vote replaces the org's previous one", async () => {
    const { as } = await unitLedger();
    // Every org already gave 30 to each of the 3 proxies: 90 of its budget.
    await expect(proxy.VoteStake(as(A, admin), B, 'proxy', '41')).rejects.toThrow(new RegExp(`^INVALID_ARGUMENT\\[amount\\]: HospitalAMSP would stake 101 in all; its budget is ${STAKE_BUDGET}`));
    const { proxy: after, voterTotal } = JSON.parse(await proxy.VoteStake(as(A, admin), B, 'proxy', '40'));
    expect([after.stake, voterTotal]).toEqual([100, 100]);
    expect(JSON.parse(await proxy.VoteStake(as(A, admin), B, 'proxy', '0')).proxy.stake).toBe(60);
    await expect(proxy.VoteStake(as(A, doctor1), B, 'proxy', '1')).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(proxy.VoteStake(as(A, admin), B, 'nobody', '1')).rejects.toThrow(/^NOT_FOUND\[proxy\]/);
    await expect(proxy.VoteStake(as(A, admin), B, 'proxy', '-1')).rejects.toThrow(/^INVALID_ARGUMENT\[amount\]/);
  });
});

describe('election', () => {
  const registry = (stakes: number[], overrides: Partial<Proxy>[] = []): Proxy[] =>
    stakes.map((stake, i) => ({ mspId: `Org${i}MSP`, enrollmentId: 'proxy', endpoint: '', publicKey: '', stake, reputation: REPUTATION_MAX, status: 'active', faults: 0, registeredAt: '', txId: '', ...overrides[i] }));

  it('is deterministic, distinct, and draws only active proxies with stake', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 3, maxLength: 12 }), fc.string(), fc.integer({ min: 1, max: 3 }), (stakes, seed, n) => {
        const proxies = registry(stakes, stakes.map((_, i) => (i % 4 === 3 ? { status: 'suspended' as const } : {})));
        const eligible = proxies.filter((p) => p.stake > 0 && p.status === 'active').length;
        if (eligible < n) {
          expect(() => electProxies(proxies, seed, n)).toThrow(/^CONFLICT\[proxies\]/);
          return;
        }
        const elected = electProxies(proxies, seed, n);
        expect(electProxies([...proxies].reverse(), seed, n)).toEqual(elected);
        expect(new Set(elected.map((p) => p.mspId)).size).toBe(n);
        for (const p of elected) expect(proxies.find((q) => q.mspId === p.mspId)).toMatchObject({ status: 'active', stake: expect.any(Number) });
        for (const p of elected) expect(proxies.find((q) => q.mspId === p.mspId)!.stake).toBeGreaterThan(0);
      }),
      { numRuns: 1000 },
    );
  });

  it('draws in proportion to stake × reputation', () => {
    const proxies = registry([10, 30, 60], [{}, {}, { reputation: REPUTATION_MAX / 2 }]); // weights 10 : 30 : 30
    const firsts = new Map<string, number>();
    for (let i = 0; i < 7000; i++) {
      const first = electProxies(proxies, `seed-${i}`, 1)[0]!.mspId;
      firsts.set(first, (firsts.get(first) ?? 0) + 1);
    }
    expect(firsts.get('Org0MSP')! / 7000).toBeCloseTo(1 / 7, 1);
    expect(firsts.get('Org1MSP')! / 7000).toBeCloseTo(3 / 7, 1);
    expect(firsts.get('Org2MSP')! / 7000).toBeCloseTo(3 / 7, 1);
  });

  it('RegisterGrant accepts only the proxies the election gives that grant', async () => {
    const { as, grant } = await unitLedger();
    const c = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g = (await grant({ consentId: c.consentId, n: 2 })).input;
    const swapped = { ...g, proxies: [...g.proxies].reverse() };
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify(swapped))).rejects.toThrow(/^CONFLICT\[proxies\]: are not the proxies elected/);
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g));
  });

  it('RegisterGrant checks the encoded grant says what the registration says', async () => {
    const { as, grant } = await unitLedger();
    const c = consentInput();
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g = (await grant({ consentId: c.consentId })).input;
    const other = (await grant({ consentId: c.consentId })).input;
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify({ ...g, commitments: other.commitments }))).rejects.toThrow(/^INVALID_ARGUMENT\[commitments\]: differs from the encoded grant/);
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify({ ...g, grant: 'AAAA' }))).rejects.toThrow(/^INVALID_ARGUMENT\[grant\]: is not an encoded grant/);
    await expect(consent.RegisterGrant(as(A, patient1), JSON.stringify({ ...g, conditionHash: 'a'.repeat(64) }))).rejects.toThrow(/^INVALID_ARGUMENT\[conditionHash\]: differs/);
  });
});

describe('proven bad fragments, re-encryption log and receipts', () => {
  /** A registered grant, a capsule for its slot, and each elected proxy's honest fragment. */
  async function served() {
    const l = await unitLedger();
    const c = consentInput({ scope: { category: 'cardiology', type: 'sharable' } });
    await consent.GrantConsent(l.as(A, patient1), JSON.stringify(c));
    const { input, grant, shares } = await l.grant({ consentId: c.consentId });
    await consent.RegisterGrant(l.as(A, patient1), JSON.stringify(input));
    const { params, keyOf } = centresForTests();
    const capsule: Capsule = encrypt(params, grant.slot, new Uint8Array(32).fill(7));
    const fragments = shares.map((s, i) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(identityOf(input.proxies[i]!)))));
    const report = (i: number, fragment: Fragment | Uint8Array, opts: { signer?: string; capsuleBytes?: Uint8Array; sm2?: bigint } = {}) => {
      const fragmentBytes = fragment instanceof Uint8Array ? fragment : encodeFragment(fragment);
      const capsuleBytes = opts.capsuleBytes ?? encodeCapsule(capsule);
      const p = input.proxies[i]!;
      const payload = fragmentSigningPayload({ grantId: input.grantId, capsuleSha256: sha(capsuleBytes), fragmentSha256: sha(fragmentBytes) });
      const signature = opts.sm2 !== undefined ? toBase64url(sm2Sign(Buffer.from(payload, 'utf8'), opts.sm2)) : signAs(p.mspId, opts.signer ?? p.enrollmentId, payload);
      return JSON.stringify({ grantId: input.grantId, proxy: p, capsule: toBase64url(capsuleBytes), fragment: toBase64url(fragmentBytes), signature });
    };
    return { ...l, c, input, fragments, report };
  }

  it('an honest fragment proves nothing; a signed bad one costs reputation once, and repeated faults suspend the proxy out of elections', async () => {
    const { as, input, fragments, report, elect } = await served();
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(0, fragments[0]!))).rejects.toThrow(/^INVALID_ARGUMENT\[fragment\]: verifies/);
    const bad = (k: number) => ({ ...fragments[0]!, u: fragments[0]!.u.add(G1.BASE.multiply(BigInt(k))) });
    const first = JSON.parse(await proxy.ReportBadFragment(as(RI, researcher1), report(0, bad(1))));
    expect(first).toMatchObject({ proxy: { reputation: REPUTATION_MAX - FAULT_PENALTY, faults: 1, status: 'active' }, fault: 'its proof fails against the commitments' });
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(0, bad(1)))).rejects.toThrow(/^CONFLICT\[fragment\]: this fragment was already reported/);
    await proxy.ReportBadFragment(as(RI, researcher1), report(0, { ...fragments[0]!, index: 2n }));
    const third = JSON.parse(await proxy.ReportBadFragment(as(A, patient1), report(0, new Uint8Array([1, 2, 3]))));
    expect(third.proxy).toMatchObject({ faults: 3, status: 'suspended' });
    expect(third.fault).toMatch(/^does not decode/);
    const culprit = input.proxies[0]!;
    for (let i = 0; i < 20; i++) expect(await elect(`g-${i}`, 'c', 2)).not.toContainEqual(culprit);
  });

  it('a report must carry the proxy\'s own signature over that capsule and fragment', async () => {
    const { as, fragments, report } = await served();
    const bad = { ...fragments[1]!, u: G1.BASE };
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(1, bad, { signer: 'researcher1' }))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    await expect(proxy.ReportBadFragment(as(RI, researcher1), JSON.stringify({ ...JSON.parse(report(1, bad)), capsule: 'AAAA' }))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(1, bad, { capsuleBytes: new Uint8Array([9]) }))).rejects.toThrow(/^INVALID_ARGUMENT\[capsule\]/);
    await expect(proxy.ReportBadFragment(as(RI, researcher1), JSON.stringify({ ...JSON.parse(report(1, bad)), proxy: { mspId: B, enrollmentId: 'doctor1' } }))).rejects.toThrow(/^INVALID_ARGUMENT\[proxy\]/);
  });

  it('a proxy registers its SM2 key once, with a proof; a fragment it signed with SM2 (an SM-suite record) is evidence too', async () => {
    const { state, as, input, fragments, report } = await served();
    const p = input.proxies[1]!;
    const d = deriveSm2Secret(Buffer.alloc(32, 5), 'proxy');
    const publicKey = Buffer.from(sm2PublicKey(d)).toString('hex');
    const key = (k = publicKey, secret = d, owner = `proxy@${p.mspId}`) => JSON.stringify({ publicKey: k, proof: toBase64url(sm2Sign(Buffer.from(sm2KeyPayload(owner, k), 'utf8'), secret)) });
    const bad = { ...fragments[1]!, u: G1.BASE };
    // Before the key is registered an SM2 signature proves nothing.
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(1, bad, { sm2: d }))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
    const before = new Map(state.data);
    await expect(proxy.RegisterSm2Key(as(p.mspId, proxyId), key(publicKey, d, 'proxy@OtherMSP'))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]/);
    await expect(proxy.RegisterSm2Key(as(p.mspId, doctor1), key())).rejects.toThrow(/^UNAUTHORIZED: role 'doctor'/);
    expect(state.data).toEqual(before);
    expect(JSON.parse(await proxy.RegisterSm2Key(as(p.mspId, proxyId), key())).sm2PublicKey).toBe(publicKey);
    const other = Buffer.from(sm2PublicKey(d + 1n)).toString('hex');
    await expect(proxy.RegisterSm2Key(as(p.mspId, proxyId), key(other, d + 1n))).rejects.toThrow(/^CONFLICT\[publicKey\]: proxy .* already has another SM2 key/);
    const reported = JSON.parse(await proxy.ReportBadFragment(as(RI, researcher1), report(1, bad, { sm2: d })));
    expect(reported.proxy).toMatchObject({ mspId: p.mspId, faults: 1 });
    await expect(proxy.ReportBadFragment(as(RI, researcher1), report(1, { ...bad, u: G1.BASE.multiply(2n) }, { sm2: d + 1n }))).rejects.toThrow(/^INVALID_ARGUMENT\[signature\]/);
  });

  it("the grant's proxies log each allowed access they serve once; the requester confirms receipt once", async () => {
    const { as, c, input, record } = await served();
    const [p0, p1st] = input.proxies;
    const outsider = [A, B, RI].find((m) => !input.proxies.some((p) => p.mspId === m))!;
    const access = JSON.parse(await consent.RequestAccess(as(RI, researcher1, '2026-01-01T07:00:00.000Z'), record.recordId, c.consentId, 'research')).entry;
    const entry = JSON.parse(await proxy.LogReEncryption(as(p0!.mspId, proxyId, '2026-01-01T07:00:01.000Z'), access.entryId, input.grantId));
    expect(entry).toMatchObject({ action: 're-encryption', agent: { role: 'proxy', mspId: p0!.mspId }, consentId: c.consentId, patientPseudonym: p1, recordId: record.recordId, accessEntryId: access.entryId });
    // A retry (the proxy did not learn whether its submit committed) logs nothing new.
    expect(JSON.parse(await proxy.LogReEncryption(as(p0!.mspId, proxyId, '2026-01-01T07:00:05.000Z'), access.entryId, input.grantId))).toEqual(entry);
    // Each of the grant's proxies logs its own fragment for the same access.
    const second = JSON.parse(await proxy.LogReEncryption(as(p1st!.mspId, proxyId, '2026-01-01T06:59:00.000Z'), access.entryId, input.grantId));
    expect(second).toMatchObject({ action: 're-encryption', agent: { mspId: p1st!.mspId }, accessEntryId: access.entryId });
    expect(second.entryId).not.toBe(entry.entryId);
    await expect(proxy.LogReEncryption(as(outsider, proxyId), access.entryId, input.grantId)).rejects.toThrow(/^UNAUTHORIZED\[grantId\]/);
    await expect(proxy.LogReEncryption(as(A, doctor1), access.entryId, input.grantId)).rejects.toThrow(/^UNAUTHORIZED: /);
    // Only an allowed access request through this grant can be served.
    await expect(proxy.LogReEncryption(as(p0!.mspId, proxyId), entry.entryId, input.grantId)).rejects.toThrow(/^INVALID_ARGUMENT\[entryId\]: is not an allowed access request/);
    await expect(proxy.LogReEncryption(as(p0!.mspId, proxyId), 'tx-none.0', input.grantId)).rejects.toThrow(/^NOT_FOUND\[entryId\]/);
    const other = consentInput({ scope: { category: 'cardiology', type: 'sharable' } });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(other));
    const elsewhere = JSON.parse(await consent.RequestAccess(as(RI, researcher1), record.recordId, other.consentId, 'research')).entry;
    await expect(proxy.LogReEncryption(as(p0!.mspId, proxyId), elsewhere.entryId, input.grantId)).rejects.toThrow(/^INVALID_ARGUMENT\[entryId\]: does not go through grant/);

    await expect(consent.ConfirmReceipt(as(B, doctor1), access.entryId)).rejects.toThrow(/^UNAUTHORIZED\[entryId\]/);
    const receipt = JSON.parse(await consent.ConfirmReceipt(as(RI, researcher1, '2026-01-01T07:00:02.000Z'), access.entryId));
    expect(receipt).toMatchObject({ action: 'receipt', recordId: record.recordId, consentId: c.consentId });
    await expect(consent.ConfirmReceipt(as(RI, researcher1), access.entryId)).rejects.toThrow(/^CONFLICT\[entryId\]/);
    const log = JSON.parse(await consent.ListRecordLog(as(A, patient1), record.recordId, '10', '')).entries.map((e: { action: string }) => e.action);
    expect(log.slice(0, 3)).toEqual(['receipt', 're-encryption', 'access-request']);

    await consent.RevokeConsent(as(A, patient1), c.consentId);
    await expect(proxy.LogReEncryption(as(p0!.mspId, proxyId), access.entryId, input.grantId)).rejects.toThrow(/^CONFLICT\[grantId\]: .*not active/);
  });
});
