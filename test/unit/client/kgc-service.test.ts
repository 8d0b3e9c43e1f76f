/**
 * Three key centres on 127.0.0.1 run the DKG among themselves over HTTP (DKG shares fetched
 * sealed to the fetching centre), then serve partial keys sealed to the requester. Hostile
 * requests: replays, unsealed asks, eavesdropped answers, other people's slots, null bodies.
 * Secrets at rest: shares 0600 in a 0700 directory, older loose state tightened, no share in
 * any log line. The chain is a fake registry; certificates come from throw-away test CAs.
 */
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { G1, fromBase64url, slotIdentity } from '@emr/crypto';
import { HOME_ORG, blindCategory, linkKey, patientBlindingKey, pseudonymOf, recordPseudonym, type AreaPolicy, type Consent, type Emergency, type EmrRecord, type KeyCentre, type KeyCentreInput, type PolicySet, type ReachAttestationInput, type Registration } from '@emr/protocol';
import { consentInput, recordInput } from '../../support/fixtures';
import { KeyExtractionError, ServiceError } from '../../../client/src';
import { callService, keyCentreClient } from '../../../client/src/wire/call';
import { newReplyKey, openReply, signedHeaders, type SealedReply } from '../../../client/src/wire/signed-requests';
import { KeyGenerationCentreService, type KgcConfig } from '../../../client/src/services/kgc-service';
import { extractKey, type Consortium } from '../../../client/src/wire/key-centres';
import { memoryDkgBoard } from '../../support/memory-dkg-board';
import { testCa, trustOf } from '../../support/test-certs';

const orgs = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'];
const cas = orgs.map((msp) => testCa(msp));
const trust = trustOf(...cas);
const [A, B] = cas as [(typeof cas)[0], (typeof cas)[0]];
const doctor = A.enroll('doctor1', 'doctor');
const patient = A.enroll('patient1', 'patient');
const otherPatient = B.enroll('patient1', 'patient');
const mode = (p: string) => statSync(p).mode & 0o777;

describe('key centres over HTTP', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'kgc-test-'));
  const stateDir = path.join(root, 'services', 'kgc'); // made by the centres
  const peers = new Map<number, string>();
  const registered: KeyCentreInput[] = [];
  // Everything the centres log, and anything written to the console meanwhile.
  const logged: string[] = [];
  const log = (line: string) => void logged.push(line);
  const consoleSpies = (['log', 'info', 'warn', 'error', 'debug'] as const).map((m) => jest.spyOn(console, m).mockImplementation((...args: unknown[]) => log(args.map(String).join(' '))));
  const configs: KgcConfig[] = orgs.map((_, i) => ({
    index: i + 1,
    n: 3,
    threshold: 2,
    port: 0,
    endpoint: '',
    peers,
    memberOf: new Map(orgs.map((m, j) => [j + 1, `kgc@${m}`])),
    dkgId: 'unit-dkg',
    stateDir,
    trust,
    limits: { headersTimeoutMs: 2_000, requestTimeoutMs: 5_000, checkIntervalMs: 200 },
  }));
  const board = memoryDkgBoard();
  // Each org's approval policies, and the attestations its centre submits.
  const policySets = new Map<string, PolicySet>();
  const attested: ReachAttestationInput[] = [];
  // The ledger the link routes read: patients' homes, consents, grants, area rules, records.
  const homes = new Map<string, string>();
  const consents = new Map<string, Consent>();
  const grants = new Map<string, Registration>();
  const areaRules = new Map<string, AreaPolicy[]>();
  const records = new Map<string, EmrRecord>();
  const emergencies = new Map<string, Emergency>();
  const missing = (what: string) => Promise.reject(new Error(`${what} does not exist`));
  const services = configs.map(
    (config, i) =>
      new KeyGenerationCentreService(
        config,
        {
          signer: cas[i]!.enroll('kgc', 'kgc'),
          registry: { ...board(orgs[i]!), list: async () => registered as unknown as KeyCentre[], register: async (input) => (registered.push(input), input as unknown as KeyCentre) },
          settings: async () => ({ areas: [{ name: 'own-hospital', members: [{ org: HOME_ORG, roles: ['doctor' as const] }] }], members: orgs, areaDefaults: [{ area: 'own-hospital', purposes: ['treatment' as const] }] }),
          consents: {
            readApprovalPolicies: async (mspId: string) => policySets.get(mspId) ?? { mspId, policies: [], updatedBy: '', updatedAt: '', txId: '' },
            attestBlindedReach: async (a: ReachAttestationInput) => (attested.push(a), { ...a, attestedBy: `kgc@${orgs[i]}`, attestedAt: new Date().toISOString(), txId: `attest-${attested.length}` }),
            readPatient: async (p: string) => (homes.has(p) ? { patientPseudonym: p, homeMsp: homes.get(p)!, registeredAt: '', txId: '' } : missing(p)),
            readConsent: async (id: string) => consents.get(id) ?? missing(id),
            readGrant: async (id: string) => (grants.has(id) ? { registration: grants.get(id)!, active: true } : missing(id)),
            listAreaPolicies: async (p: string) => areaRules.get(p) ?? [],
          },
          records: {
            readRecord: async (id: string) => records.get(id) ?? missing(id),
            findUnlinkedRecords: async (rps: string[]) => [...records.values()].filter((r) => rps.includes(r.patientPseudonym)),
          },
          emergencies: { read: async (id: string) => (emergencies.has(id) ? { emergency: emergencies.get(id)!, status: 'active' as const } : missing(id)) },
        },
        log,
      ),
  );
  const deps = (i: number) => services[i]!['deps'];
  let consortium: Consortium;
  const kgc1 = () => peers.get(1)!;

  beforeAll(async () => {
    for (const [i, s] of services.entries()) {
      const port = ((await s.listen()).address() as AddressInfo).port;
      configs[i]!.endpoint = `http://127.0.0.1:${port}`;
      peers.set(i + 1, configs[i]!.endpoint);
    }
    await Promise.all(services.map((s) => s.start()));
    const first = registered[0]!;
    consortium = {
      params: { mpk: G1.fromBytes(fromBase64url(first.mpk, 'mpk')) },
      threshold: 2,
      centres: registered.map((c) => ({ index: c.index, endpoint: c.endpoint, publicShare: G1.fromBytes(fromBase64url(first.publicShares[c.index - 1]!, 'publicShare')) })),
    };
  }, 120_000);
  afterAll(() => {
    services.forEach((s) => s.close());
    consoleSpies.forEach((s) => s.mockRestore());
    rmSync(root, { recursive: true, force: true });
  });

  it('the DKG completes over HTTP with sealed shares, and every centre registers the same outcome', () => {
    expect(registered.map((r) => r.index).sort()).toEqual([1, 2, 3]);
    expect(new Set(registered.map((r) => JSON.stringify([r.mpk, r.publicShares, r.qual]))).size).toBe(1);
    expect(registered[0]!.qual).toEqual([1, 2, 3]);
  });

  it('a user gets his own key, each partial key sealed to his request and verified', async () => {
    await expect(extractKey(consortium, 'doctor1@HospitalAMSP', doctor)).resolves.toBeDefined();
  });

  it("a patient gets the slots of his own key's pseudonym, never another patient's", async () => {
    const slot = (owner: string) => slotIdentity({ owner, type: 'sharable', condition: 'cardiology/ecg' });
    await expect(extractKey(consortium, slot(pseudonymOf('HospitalAMSP', patient.certificate)), patient)).resolves.toBeDefined();
    const stolen = await extractKey(consortium, slot(pseudonymOf('HospitalBMSP', otherPatient.certificate)), patient).catch((e: unknown) => e);
    expect(stolen).toBeInstanceOf(KeyExtractionError);
    expect((stolen as Error).message).toMatch(/may not get the key/);
  });

  describe('blinding categories (docs/privacy.md)', () => {
    const centre = (i: number) => keyCentreClient(i, peers.get(i)!, undefined, 5000);
    const as = (i: number, signer: typeof doctor) => keyCentreClient(i, peers.get(i)!, signer, 5000);
    const secretOf = (i: number) => Buffer.from(JSON.parse(readFileSync(path.join(stateDir, `blinding-${i}.json`), 'utf8')).secret, 'hex');

    it("a patient gets his own key from his hospital's centre only; staff get paths blinded under it, and each request is logged", async () => {
      const pseudonym = pseudonymOf('HospitalAMSP', patient.certificate);
      const { patientPseudonym, key } = await as(1, patient).post('POST /v1/blinding-key', {});
      expect(patientPseudonym).toBe(pseudonym);
      expect(key).toBe(Buffer.from(patientBlindingKey(secretOf(1), pseudonym)).toString('hex'));
      await expect(as(2, patient).post('POST /v1/blinding-key', {})).rejects.toThrow(/only a patient of HospitalBMSP gets his blinding key here/);
      await expect(as(1, doctor).post('POST /v1/blinding-key', {})).rejects.toThrow(/only a patient of HospitalAMSP/);
      await expect(as(1, otherPatient).post('POST /v1/blinding-key', {})).rejects.toThrow(/only a patient of HospitalAMSP/);
      const { blinded } = await as(1, B.enroll('doctor9', 'doctor')).post('POST /v1/blind', { patientPseudonym: pseudonym, categories: ['oncology/biopsy', 'oncology'] });
      expect(blinded).toEqual(['oncology/biopsy', 'oncology'].map((c) => blindCategory(Buffer.from(key, 'hex'), c)));
      expect(logged.some((l) => l.includes(`for patient ${pseudonym.slice(0, 16)}… at the request of doctor9@HospitalBMSP`))).toBe(true);
      expect(logged.some((l) => l.includes(key))).toBe(false);
    });

    it('refuses what does not file records, malformed paths and unsigned asks', async () => {
      const pseudonym = pseudonymOf('HospitalAMSP', patient.certificate);
      await expect(as(1, patient).post('POST /v1/blind', { patientPseudonym: pseudonym, categories: ['oncology'] })).rejects.toThrow(/a patient does not file records/);
      await expect(as(1, doctor).post('POST /v1/blind', { patientPseudonym: pseudonym, categories: ['Oncology!'] })).rejects.toThrow(/categories: .*department path/);
      await expect(as(1, doctor).post('POST /v1/blind', { patientPseudonym: pseudonym, categories: [] })).rejects.toThrow(/categories must be 1 to 16/);
      await expect(as(1, doctor).post('POST /v1/blind', { patientPseudonym: 'not-hex', categories: ['oncology'] })).rejects.toThrow(/patientPseudonym must be 64/);
      await expect(centre(1).post('POST /v1/blind', { patientPseudonym: pseudonym, categories: ['oncology'] })).rejects.toThrow();
    });
  });

  describe("attesting a blinded consent category for the hospital's approval policies (docs/privacy.md)", () => {
    const as = (i: number, signer: typeof doctor) => keyCentreClient(i, peers.get(i)!, signer, 5000);

    it("blinds the patient's category; with policies, attests what they require of it, bound to the policies' transaction", async () => {
      const pseudonym = pseudonymOf('HospitalAMSP', patient.certificate);
      const key = patientBlindingKey(Buffer.from(JSON.parse(readFileSync(path.join(stateDir, 'blinding-1.json'), 'utf8')).secret, 'hex'), pseudonym);
      expect(await as(1, patient).post('POST /v1/attest-reach', { category: 'oncology' })).toEqual({ category: blindCategory(key, 'oncology'), requiredApprovals: [], attestationTxId: null });
      expect(attested).toEqual([]);
      policySets.set('HospitalAMSP', { mspId: 'HospitalAMSP', policies: [{ category: 'oncology/biopsy', approvals: [{ role: 'doctor', count: 2 }] }, { category: 'psychiatry', approvals: [{ role: 'admin', count: 1 }] }], updatedBy: 'admin', updatedAt: '', txId: 'policies-tx' });
      const answer = await as(1, patient).post('POST /v1/attest-reach', { category: 'oncology' });
      expect(answer).toEqual({ category: blindCategory(key, 'oncology'), requiredApprovals: [{ role: 'doctor', count: 2 }], attestationTxId: 'attest-1' });
      expect(attested).toEqual([{ patientPseudonym: pseudonym, category: blindCategory(key, 'oncology'), requiredApprovals: [{ role: 'doctor', count: 2 }], policiesTxId: 'policies-tx' }]);
      expect(logged.some((l) => l.includes('oncology'))).toBe(false); // the log names no clear category
    });

    it("refuses anyone but the centre's own patients, and a path that is none", async () => {
      await expect(as(1, doctor).post('POST /v1/attest-reach', { category: 'oncology' })).rejects.toThrow(/only a patient of HospitalAMSP has his categories attested here/);
      await expect(as(2, patient).post('POST /v1/attest-reach', { category: 'oncology' })).rejects.toThrow(/only a patient of HospitalBMSP/);
      await expect(as(1, patient).post('POST /v1/attest-reach', { category: '../etc' })).rejects.toThrow(/category: .*department path/);
      await expect(as(1, patient).post('POST /v1/attest-reach', { category: 'oncology', patientPseudonym: 'x' } as { category: string })).rejects.toThrow(/unknown field|not a field|patientPseudonym/);
    });
  });

  describe('unlinked records (docs/privacy.md, "Linkability")', () => {
    const as = (i: number, signer: typeof doctor) => keyCentreClient(i, peers.get(i)!, signer, 5000);
    const pseudonym = pseudonymOf('HospitalAMSP', patient.certificate);
    const key = () => patientBlindingKey(Buffer.from(JSON.parse(readFileSync(path.join(stateDir, 'blinding-1.json'), 'utf8')).secret, 'hex'), pseudonym);
    const rp = (i: number) => recordPseudonym(pseudonym, linkKey(key(), i));
    const researcher = cas[2]!.enroll('researcher1', 'researcher');
    beforeAll(() => homes.set(pseudonym, 'HospitalAMSP'));

    it("staff get the patient's next record pseudonym from his hospital's centre, walking past those in use", async () => {
      const doctorB = B.enroll('doctor9', 'doctor');
      expect(await as(1, doctorB).post('POST /v1/record-pseudonym', { patientPseudonym: pseudonym })).toEqual({ recordPseudonym: rp(0) });
      const filed = recordInput({ patientPseudonym: rp(0), category: 'oncology/biopsy' });
      records.set(filed.recordId, { ...filed, version: 1 } as EmrRecord);
      expect(await as(1, doctorB).post('POST /v1/record-pseudonym', { patientPseudonym: pseudonym })).toEqual({ recordPseudonym: rp(1) });
      expect(logged.some((l) => l.includes(`record pseudonym 1 of patient ${pseudonym.slice(0, 16)}… to doctor9@HospitalBMSP`))).toBe(true);
      await expect(as(2, doctorB).post('POST /v1/record-pseudonym', { patientPseudonym: pseudonym })).rejects.toThrow(/the patient is HospitalAMSP's: ask its key centre/);
      await expect(as(1, patient).post('POST /v1/record-pseudonym', { patientPseudonym: pseudonym })).rejects.toThrow(/a patient does not file records/);
      await expect(as(1, doctorB).post('POST /v1/record-pseudonym', { patientPseudonym: 'f'.repeat(64) })).rejects.toThrow(/no patient is registered/);
    });

    it('gives the link only to a requester the chain would allow, and only for that patient\'s record', async () => {
      const filed = [...records.values()].find((r) => r.patientPseudonym === rp(0))!;
      const consent = consentInput({ patientPseudonym: pseudonym, scope: { category: 'oncology' }, validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2099-01-01T00:00:00.000Z' });
      consents.set(consent.consentId, { ...consent, status: 'active', accessCount: 0 } as unknown as Consent);
      const ask = (signer: typeof doctor, body: Record<string, unknown>) => callService('kgc', peers.get(1)!, 'POST', '/v1/link', body, signer, 5_000, { sealed: true });
      const link = await ask(researcher, { recordId: filed.recordId, purpose: 'research', consentId: consent.consentId });
      expect(link).toEqual({ patientPseudonym: pseudonym, linkKey: linkKey(key(), 0) });
      await expect(ask(doctor, { recordId: filed.recordId, purpose: 'research', consentId: consent.consentId })).rejects.toThrow(/the chain would refuse this request: .*not the grantee/);
      await expect(ask(researcher, { recordId: filed.recordId, purpose: 'treatment', consentId: consent.consentId })).rejects.toThrow(/the chain would refuse this request: .*is for research/);
      // A record of another patient's, under this patient's consent.
      const other = recordInput({ patientPseudonym: recordPseudonym('e'.repeat(64), 'a'.repeat(64)), category: 'oncology/biopsy' });
      records.set(other.recordId, { ...other, version: 1 } as EmrRecord);
      await expect(ask(researcher, { recordId: other.recordId, purpose: 'research', consentId: consent.consentId })).rejects.toThrow(/is not this patient's/);
      // By area: the patient named; the home hospital's doctors treat.
      expect(await ask(doctor, { recordId: filed.recordId, purpose: 'treatment', patientPseudonym: pseudonym })).toEqual(link);
      await expect(ask(B.enroll('doctor1', 'doctor'), { recordId: filed.recordId, purpose: 'treatment', patientPseudonym: pseudonym })).rejects.toThrow(/the chain would refuse/);
      // Under an approved break-glass of the asking doctor's, and no other.
      const now = Date.now();
      const glass = (requester: string, minutes: number): Emergency => ({ emergencyId: `eg-${requester}-${minutes}`, patientPseudonym: pseudonym, category: null, durationMinutes: 30, requester: { mspId: 'HospitalAMSP', enrollmentId: requester }, justificationHash: '0'.repeat(64), requestedAt: new Date(now - 60_000).toISOString(), txId: 't', approver: { mspId: 'HospitalAMSP', enrollmentId: 'doctor2' }, approvedAt: new Date(now - 30_000).toISOString(), expiresAt: new Date(now + minutes * 60_000).toISOString(), approveTxId: 't' });
      for (const e of [glass('doctor1', 30), glass('doctor1', -1), glass('doctor7', 30)]) emergencies.set(e.emergencyId, e);
      expect(await ask(doctor, { recordId: filed.recordId, purpose: 'emergency', emergencyId: 'eg-doctor1-30' })).toEqual(link);
      await expect(ask(doctor, { recordId: filed.recordId, purpose: 'emergency', emergencyId: 'eg-doctor1--1' })).rejects.toThrow(/the chain would refuse this request: .*expired/);
      await expect(ask(doctor, { recordId: filed.recordId, purpose: 'emergency', emergencyId: 'eg-doctor7-30' })).rejects.toThrow(/the chain would refuse this request: .*is for 'doctor7'/);
      // A linked record needs none; malformed asks are named; the answer is sealed.
      const linked = recordInput({ patientPseudonym: pseudonym });
      records.set(linked.recordId, { ...linked, version: 1 } as EmrRecord);
      await expect(ask(researcher, { recordId: linked.recordId, purpose: 'research', consentId: consent.consentId })).rejects.toThrow(/is linked: a request for it needs no link/);
      await expect(ask(researcher, { recordId: filed.recordId, purpose: 'research' })).rejects.toThrow(/name exactly one of consentId, grantId, emergencyId and patientPseudonym/);
      await expect(ask(researcher, { recordId: filed.recordId, purpose: 'fun', consentId: consent.consentId })).rejects.toThrow(/purpose must be one of/);
      const unsealed = await callService('kgc', peers.get(1)!, 'POST', '/v1/link', { recordId: filed.recordId, purpose: 'research', consentId: consent.consentId }, researcher).catch((e: unknown) => e);
      expect((unsealed as ServiceError).status).toBe(400);
      expect(logged.some((l) => l.includes(linkKey(key(), 0)))).toBe(false);
    });
  });

  it('a replayed request is refused (401) and its answer is useless to whoever overheard it', async () => {
    const body = JSON.stringify({ identity: 'doctor1@HospitalAMSP' });
    const mine = newReplyKey();
    const signed = signedHeaders(doctor, 'POST', `${kgc1()}/v1/keys`, body, mine.publicKey);
    const headers = { 'content-type': 'application/json', ...signed };
    const send = () => fetch(`${kgc1()}/v1/keys`, { method: 'POST', headers, body });
    const first = await send();
    expect(first.status).toBe(200);
    const answer = (await first.json()) as { sealed: SealedReply; key?: string };
    expect(answer.key).toBeUndefined();
    expect(Object.keys(answer)).toEqual(['sealed']);
    const context = `POST /v1/keys ${signed['x-emr-nonce']}`;
    expect(openReply<{ index: number }>(answer.sealed, context, mine).index).toBe(1);
    expect(() => openReply(answer.sealed, context, newReplyKey())).toThrow(); // an eavesdropper's key
    for (let i = 0; i < 5; i++) {
      const again = await send();
      expect([again.status, ((await again.json()) as { message: string }).message]).toEqual([401, 'this request was already received (replayed nonce)']);
    }
    // Signed for centre 1, so captured on its way there it is refused by every other centre too.
    for (const other of [2, 3]) {
      const elsewhere = await fetch(`${peers.get(other)!}/v1/keys`, { method: 'POST', headers, body });
      expect([elsewhere.status, ((await elsewhere.json()) as { message: string }).message]).toEqual([401, 'the request signature does not verify with the certificate']);
    }
  });

  it('partial keys and DKG shares are only served sealed: an ask without a reply key gets 400', async () => {
    const unsealed = await callService('kgc', kgc1(), 'POST', '/v1/keys', { identity: 'doctor1@HospitalAMSP' }, doctor).catch((e: unknown) => e);
    expect([(unsealed as ServiceError).status, (unsealed as ServiceError).message]).toEqual([400, expect.stringMatching(/x-emr-reply-key is required/)]);
    const kgc2 = cas[1]!.enroll('kgc', 'kgc');
    const share = await callService('kgc', kgc1(), 'GET', '/v1/dkg/share', undefined, kgc2).catch((e: unknown) => e);
    expect((share as ServiceError).status).toBe(400);
    const sealed = await callService<{ s: string; b: string }>('kgc', kgc1(), 'GET', '/v1/dkg/share', undefined, kgc2, 5_000, { sealed: true });
    expect(sealed.s).toMatch(/^[0-9a-f]+$/);
    const byDoctor = await callService('kgc', kgc1(), 'GET', '/v1/dkg/share', undefined, doctor, 5_000, { sealed: true }).catch((e: unknown) => e);
    expect((byDoctor as ServiceError).status).toBe(403);
  });

  it('a null body, a field other than identity, an unsigned request and a non-JSON content type get 400, 400, 401 and 415', async () => {
    const mine = newReplyKey();
    const post = (body: string, headers: Record<string, string>) => fetch(`${kgc1()}/v1/keys`, { method: 'POST', headers, body });
    const nullBody = await post('null', { 'content-type': 'application/json', ...signedHeaders(doctor, 'POST', `${kgc1()}/v1/keys`, 'null', mine.publicKey) });
    expect([nullBody.status, ((await nullBody.json()) as { message: string }).message]).toEqual([400, 'the request body must be a JSON object, not null']);
    // Was answered with the key, the extra field ignored.
    const extra = '{"identity":"doctor1@HospitalAMSP","role":"admin"}';
    const withExtra = await post(extra, { 'content-type': 'application/json', ...signedHeaders(doctor, 'POST', `${kgc1()}/v1/keys`, extra, newReplyKey().publicKey) });
    expect([withExtra.status, await withExtra.json()]).toEqual([400, { code: 'INVALID_ARGUMENT', message: 'body must be {identity}; unexpected role' }]);
    expect((await post('{"identity":"doctor1@HospitalAMSP"}', { 'content-type': 'application/json' })).status).toBe(401);
    expect((await post('identity=doctor1@HospitalAMSP', { 'content-type': 'application/x-www-form-urlencoded' })).status).toBe(415);
  });

  it('each centre keeps its share 0600, in a 0700 directory', () => {
    expect([mode(stateDir), mode(path.dirname(stateDir))]).toEqual([0o700, 0o700]);
    expect(readdirSync(stateDir).filter((f) => f.startsWith('kgc-')).sort()).toEqual(['kgc-1.json', 'kgc-2.json', 'kgc-3.json']);
    expect(mode(path.join(stateDir, 'blinding-1.json'))).toBe(0o600); // the blinding secret too
    for (const f of readdirSync(stateDir)) expect([f, mode(path.join(stateDir, f))]).toEqual([f, 0o600]);
  });

  it('no log line or console output of the DKG and of key extraction holds a share', async () => {
    await extractKey(consortium, 'doctor1@HospitalAMSP', doctor);
    const secrets = services.flatMap((s, i) => {
      const dealt = [1, 2, 3].flatMap((to) => [s['round']!.shareFor(to)!.s, s['round']!.shareFor(to)!.b]);
      const kept = JSON.parse(readFileSync(path.join(stateDir, `kgc-${i + 1}.json`), 'utf8')) as { outcome: { secretShare: string } };
      return [...dealt, BigInt(`0x${kept.outcome.secretShare}`)];
    });
    expect(logged.filter((l) => l.startsWith("DKG 'unit-dkg': done"))).toHaveLength(3); // the capture sees what the centres log
    for (const secret of secrets.flatMap((x) => [x.toString(16), x.toString()])) expect(logged.filter((l) => l.includes(secret))).toEqual([]);
  });

  describe('state an older version left', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'kgc-old-'));
    const file = path.join(dir, 'kgc-1.json');
    const kept = () => (JSON.parse(readFileSync(path.join(stateDir, 'kgc-1.json'), 'utf8')) as { outcome: { secretShare: string } }).outcome;
    const centre = () => new KeyGenerationCentreService({ ...configs[0]!, port: 0, stateDir: dir }, deps(0), log);
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it('a share file left 0644 in a 0755 directory is tightened at start, and its share still read', async () => {
      writeFileSync(file, readFileSync(path.join(stateDir, 'kgc-1.json')));
      chmodSync(file, 0o644);
      chmodSync(dir, 0o755);
      const c = centre();
      await c.listen();
      c.close();
      expect([mode(dir), mode(file)]).toEqual([0o700, 0o600]);
      expect(c['outcome']?.secretShare).toBe(kept().secretShare);
    });

    it('a share file from before the DKG ran on the chain (the outcome itself) is read as the outcome', async () => {
      const { dkgId: _id, outcome } = JSON.parse(readFileSync(path.join(stateDir, 'kgc-1.json'), 'utf8')) as { dkgId: string; outcome: Record<string, unknown> };
      const { faults: _f, ...legacy } = outcome;
      writeFileSync(file, JSON.stringify(legacy));
      const c = centre();
      await c.listen();
      c.close();
      expect(c['outcome']?.secretShare).toBe(kept().secretShare);
      expect(await c.runDkg()).toMatchObject({ mpk: legacy.mpk, secretShare: kept().secretShare }); // no new DKG
    });

    it('a damaged share file stops the centre at start, and neither the error nor the log quotes it', async () => {
      const { secretShare } = kept();
      const damaged = [JSON.stringify({ dkgId: 'unit-dkg', outcome: { ...kept(), secretShare: `0x${secretShare}` } }), readFileSync(path.join(stateDir, 'kgc-1.json'), 'utf8').replace(`"${secretShare}"`, secretShare)];
      for (const text of damaged) {
        writeFileSync(file, text);
        const before = logged.length;
        const c = centre();
        const err = await c.listen().catch((e: unknown) => e);
        c.close();
        expect(err).toBeInstanceOf(Error);
        expect((err as Error).message).toMatch(/kgc-1\.json.*secret and not shown/);
        expect([(err as Error).message, (err as Error).stack, ...logged.slice(before)].filter((l) => l?.includes(secretShare.slice(0, 6)))).toEqual([]);
      }
    });
  });
});
