/**
 * Issue 15, section 2, on the live network: the hostile requests that were accepted, hung or
 * answered 500 by the key centres and proxies, sent again to the real services. Share
 * overwrites (unsigned, by another member, by the delegator himself), shares for grants that
 * do not exist, replayed key requests, unsealed asks for secrets, malformed request lines,
 * null bodies, path-like ids, wrong content types, oversized and slow bodies. A legitimate
 * grant still reads after every attempt on it.
 */
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import { encodeProxyShare, hashToG2, reKeyGen, toBase64url } from '@emr/crypto';
import { EmrClient, ServiceError, loadConsortium } from '../../client/src';
import { callService } from '../../client/src/wire/call';
import { newReplyKey, openReply, signedHeaders, type SealedReply } from '../../client/src/wire/signed-requests';
import { emrClients, patientAndResearcher, researchConsent } from '../support/network';
import { topology } from '../../network/src/topology';

jest.setTimeout(180_000);
const as = emrClients();

const doctor = as('HospitalA', 'doctor1');
const patient = as('HospitalA', 'patient1');
const researcher = as('ResearchInstitute', 'researcher1');
const doctorB = as('HospitalB', 'doctor1');
const kgcs = topology.members.map((m) => `http://127.0.0.1:${m.kgcPort}`);
const proxyPorts = topology.members.map((m) => m.proxyPort);
const proxyUrl = (port: number) => `http://127.0.0.1:${port}`;
const refusal = (e: unknown) => [(e as ServiceError).status, (e as ServiceError).code];
const shareCount = async (port: number) => (await callService<{ shares: number }>('proxy', proxyUrl(port), 'GET', '/v1/health')).shares;

/** Sends raw bytes (optionally in timed pieces); resolves with what came back once the service closed. */
function raw(port: number, pieces: (string | number)[], giveUpMs = 10_000): Promise<{ text: string; closedAfterMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const t0 = Date.now();
    let text = '';
    const guard = setTimeout(() => (socket.destroy(), reject(new Error(`still open after ${giveUpMs} ms; got ${JSON.stringify(text)}`))), giveUpMs);
    socket.on('data', (d) => (text += d.toString('latin1')));
    socket.on('error', () => undefined);
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

let pseudonym: string;
let recordId: string;
let consentId: string;
let grant: { grantId: string; proxies: { mspId: string; enrollmentId: string }[] };

beforeAll(async () => {
  pseudonym = await patientAndResearcher(patient, researcher);
  const category = `harden${randomUUID().slice(0, 8)}/notes`;
  recordId = (await doctor.uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from('{"resourceType":"Bundle"}') })).record.recordId;
  ({ consentId, grant } = await researchConsent(patient, category, 20));
});

describe('key shares on the proxies', () => {
  it('an overwrite of a live grant\'s shares is refused (unsigned 401, another member 403, the delegator 400: not on the registered commitments), and the grant still reads', async () => {
    const { params } = await loadConsortium(doctor.connection);
    // Shares of another polynomial for the same grant id and proxies: sealed correctly, but off the commitments on chain.
    const crafted = reKeyGen(params, { grantId: grant.grantId, slot: { owner: pseudonym, type: 'sharable', condition: 'x' }, delegatorKey: hashToG2(`attacker:${randomUUID()}`), delegatee: 'researcher1@ResearchInstituteMSP', hop: 1, proxies: grant.proxies.map((p) => `${p.enrollmentId}@${p.mspId}`), threshold: 2 }).shares;
    const endpoints = new Map((await doctor.proxies.list()).map((p) => [`${p.enrollmentId}@${p.mspId}`, p.endpoint]));
    for (const [i, share] of crafted.entries()) {
      const endpoint = endpoints.get(share.proxy)!;
      const body = { grantId: grant.grantId, share: toBase64url(encodeProxyShare(share)) };
      const send = (signer?: EmrClient) => callService('proxy', endpoint, 'POST', '/v1/shares', body, signer?.connection).catch((e: unknown) => e);
      expect([i, ...refusal(await send())]).toEqual([i, 401, 'UNAUTHENTICATED']);
      expect([i, ...refusal(await send(doctorB))]).toEqual([i, 403, 'UNAUTHORIZED']);
      const overwrite = await send(patient);
      expect([i, ...refusal(overwrite)]).toEqual([i, 400, 'INVALID_ARGUMENT']);
      expect((overwrite as Error).message).toMatch(/commitment/);
      const withCommitments = await callService('proxy', endpoint, 'POST', '/v1/shares', { ...body, commitments: [] }, patient.connection).catch((e: unknown) => e);
      expect(refusal(withCommitments)).toEqual([400, 'INVALID_ARGUMENT']);
    }
    const read = await researcher.fetchRecord(recordId, { consentId }, { purpose: 'research' });
    expect(read.data!.toString()).toBe('{"resourceType":"Bundle"}');
    await read.receiptCommitted;
  });

  it('shares for grants that are not registered are refused and nothing is stored', async () => {
    const { params } = await loadConsortium(doctor.connection);
    const before = await Promise.all(proxyPorts.map(shareCount));
    const proxies = topology.members.map((m) => `proxy@${m.mspId}`);
    for (let i = 0; i < 10; i++) {
      const grantId = `grant-${randomUUID()}`;
      const { shares } = reKeyGen(params, { grantId, slot: { owner: pseudonym, type: 'sharable', condition: 'x' }, delegatorKey: hashToG2(grantId), delegatee: 'researcher1@ResearchInstituteMSP', hop: 1, proxies, threshold: 2 });
      for (const [j, share] of shares.entries()) {
        const err = await callService('proxy', proxyUrl(proxyPorts[j]!), 'POST', '/v1/shares', { grantId, share: toBase64url(encodeProxyShare(share)) }, patient.connection).catch((e: unknown) => e);
        expect(refusal(err)).toEqual([404, 'NOT_REGISTERED']);
      }
    }
    expect(await Promise.all(proxyPorts.map(shareCount))).toEqual(before);
  });
});

describe('the key centres', () => {
  it('a replayed key request is refused by every centre; the answer it got is sealed to the requester', async () => {
    const body = JSON.stringify({ identity: 'doctor1@HospitalAMSP' });
    for (const [i, kgc] of kgcs.entries()) {
      const mine = newReplyKey();
      const signed = signedHeaders(doctor.connection, 'POST', `${kgc}/v1/keys`, body, mine.publicKey);
      const send = () => fetch(`${kgc}/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json', ...signed }, body });
      const first = await send();
      expect(first.status).toBe(200);
      const answer = (await first.json()) as { sealed: SealedReply };
      expect(Object.keys(answer)).toEqual(['sealed']);
      expect(openReply<{ index: number }>(answer.sealed, `POST /v1/keys ${signed['x-emr-nonce']}`, mine).index).toBe(i + 1);
      expect(() => openReply(answer.sealed, `POST /v1/keys ${signed['x-emr-nonce']}`, newReplyKey())).toThrow();
      for (let k = 0; k < 5; k++) expect((await send()).status).toBe(401);
      // Signed for this centre: replayed to any other, it is refused as well.
      for (const other of kgcs.filter((k) => k !== kgc)) expect((await fetch(`${other}/v1/keys`, { method: 'POST', headers: { 'content-type': 'application/json', ...signed }, body })).status).toBe(401);
    }
  });

  it('partial keys and DKG shares are not served unsealed', async () => {
    for (const kgc of kgcs) {
      const err = await callService('kgc', kgc, 'POST', '/v1/keys', { identity: 'doctor1@HospitalAMSP' }, doctor.connection).catch((e: unknown) => e);
      expect(refusal(err)).toEqual([400, 'INVALID_ARGUMENT']);
      const share = await callService('kgc', kgc, 'GET', '/v1/dkg/share', undefined, doctor.connection, 5_000, { sealed: true }).catch((e: unknown) => e);
      expect((share as ServiceError).status).toBe(403);
    }
  });
});

describe('malformed and abusive HTTP, on every service', () => {
  it('a malformed request line gets 400 and the connection closes', async () => {
    for (const port of [...topology.members.map((m) => m.kgcPort), ...proxyPorts]) {
      for (const target of ['http://[', '//[']) {
        const { text, closedAfterMs } = await raw(port, [`GET ${target} HTTP/1.1\r\nHost: x\r\n\r\n`]);
        expect([port, target, status(text)]).toEqual([port, target, 400]);
        expect(closedAfterMs).toBeLessThan(2_000);
      }
    }
  });

  it('a null body gets 400 naming the body; non-JSON content 415; a body over 4 MiB 413', async () => {
    const targets = [...kgcs.map((base) => [base, '/v1/keys'] as const), ...proxyPorts.map((port) => [proxyUrl(port), '/v1/fragments'] as const)];
    for (const [base, path] of targets) {
      const headers = { 'content-type': 'application/json', ...(path === '/v1/keys' ? signedHeaders(doctor.connection, 'POST', `${base}${path}`, 'null', newReplyKey().publicKey) : {}) };
      const nullBody = await fetch(`${base}${path}`, { method: 'POST', headers, body: 'null' });
      expect([base, nullBody.status, ((await nullBody.json()) as { message: string }).message]).toEqual([base, 400, 'the request body must be a JSON object, not null']);
      expect((await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: '{}' })).status).toBe(415);
      const big = await fetch(`${base}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: `{"a":"${'x'.repeat(4 * 1024 * 1024)}"}` }).catch((e: unknown) => e);
      if (big instanceof Response) expect(big.status).toBe(413); // or the service closed on us mid-upload
    }
  });

  it('path-like ids get 400 before the chain is asked', async () => {
    for (const port of proxyPorts) {
      for (const body of [{ entryId: '../..', grantId: grant.grantId, capsule: 'AAAA' }, { entryId: `${'ab'.repeat(32)}.0`, grantId: '../..', capsule: 'AAAA' }]) {
        const err = await callService('proxy', proxyUrl(port), 'POST', '/v1/fragments', body).catch((e: unknown) => e);
        expect(refusal(err)).toEqual([400, 'INVALID_ARGUMENT']);
      }
    }
  });

  it('a slow body is cut at the 30 s request deadline (not after 5 minutes)', async () => {
    const drip: (string | number)[] = ['POST /v1/fragments HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{'];
    for (let i = 0; i < 60; i++) drip.push(1_000, ' ');
    const results = await Promise.all(proxyPorts.map((port) => raw(port, drip, 60_000)));
    for (const r of results) {
      expect(status(r.text)).toBe(408);
      expect(r.closedAfterMs).toBeLessThan(30_000 + 3_000);
    }
  }, 90_000);
});
