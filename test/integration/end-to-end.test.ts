/**
 * The end-to-end flows on the live network: real Kubo nodes in the private swarm, the key
 * centres' DKG keys, the proxy services, the chaincode. Every flow of the SDK, then the
 * faults: wrong CID, hash mismatch, bad fragment, proxies down below and at the threshold,
 * Kubo node down, revoked grant, unknown identity, timeouts. Processes are stopped and
 * restarted by pid to make the faults; every test leaves the network whole again.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { CIPHER_SUITE, decodeGrant, paddedLength, encodeCapsule, encryptRecord, fromBase64url, newDataKey, toBase64url } from '@emr/crypto';
import {
  AccessDeniedError,
  ContentUnavailableError,
  EmrClient,
  FlowError,
  capsuleForSlot,
  encapsulateForCategory,
  InsufficientFragmentsError,
  IntegrityError,
  KeyExtractionError,
  NotFoundError,
  ServiceError,
  ServiceUnavailableError,
  TimeoutError,
  UnauthorizedError,
  UnknownIdentityError,
  connectGateway,
  extractKey,
  loadConsortium,
  type ConsentInput,
} from '../../client/src';
import type { EmrRecord, Registration } from '@emr/protocol';
import { callService } from '../../client/src/wire/call';
import { kuboName, waitForKubo } from '../../network/src/kubo';
import { startNodes, stopNode } from '../../network/src/network';
import { stateDir } from '../../network/src/paths';
import { memberOrg, topology } from '../../network/src/topology';
import { pseudonym } from '../support/fixtures';
import { emrClients, newPatient } from '../support/network';

jest.setTimeout(180_000);
const hour = 3_600_000;
/** The record's capsule a grant re-encrypts (its own category's or an ancestor's), as the SDK sends it to the proxies. */
const capsuleOfGrant = (record: EmrRecord, grant: Registration): string => toBase64url(encodeCapsule(capsuleForSlot(record, decodeGrant(fromBase64url(grant.grant, 'grant')).slot)!));
const as = emrClients();

let p: string;
let patientUser: string;
let patient: EmrClient; // this file's own patient of HospitalA, enrolled for the run
const doctor = as('HospitalA', 'doctor1');
const researcher = as('ResearchInstitute', 'researcher1');
const doctorB = as('HospitalB', 'doctor1');
const specialist = as('HospitalB', 'specialist1');
const window = () => ({ validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString() });
const researchConsent = (category: string, extra: Partial<ConsentInput> = {}) => ({
  patientPseudonym: p,
  grantee: { kind: 'identity' as const, mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
  scope: { category },
  purpose: 'research' as const,
  ...window(),
  maxAccesses: 20,
  hopLimit: 1,
  ...extra,
});
const fhir = (text: string) => Buffer.from(JSON.stringify({ resourceType: 'Bundle', type: 'collection', entry: [{ resource: { resourceType: 'Observation', status: 'final', valueString: text } }] }));
/** A fresh category, so each test's consent reaches its own records only. */
const category = (name: string) => `${name}${randomUUID().slice(0, 8)}/notes`;

/** Runs `f` with the named processes stopped, then restarts them and waits until they serve again. */
async function withStopped<T>(names: string[], f: () => Promise<T>): Promise<T> {
  for (const n of names) await stopNode(n);
  try {
    return await f();
  } finally {
    await restart(names);
  }
}
/** Starts the nodes again; a Kubo node also has to rejoin the private swarm before content moves. */
async function restart(names: string[]): Promise<void> {
  await startNodes(names);
  const ids = new Map<string, string>();
  for (const m of topology.members) ids.set(m.name, (JSON.parse(readFileSync(path.join(stateDir, 'ipfs', m.name, 'config'), 'utf8')) as { Identity: { PeerID: string } }).Identity.PeerID);
  for (const m of topology.members.filter((x) => names.includes(kuboName(x)))) await waitForKubo(m, ids);
}
async function waitUntil(check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check().catch(() => false))) {
    if (Date.now() > deadline) throw new Error('timed out waiting for a restarted service');
    await new Promise((r) => setTimeout(r, 200));
  }
}
const pinCount = async (org: string) => {
  const res = await fetch(`http://127.0.0.1:${memberOrg(org).ipfs.apiPort}/api/v0/pin/ls?type=recursive`, { method: 'POST' });
  return Object.keys(((await res.json()) as { Keys: Record<string, unknown> }).Keys ?? {}).length;
};

beforeAll(async () => {
  ({ user: patientUser, pseudonym: p } = await newPatient('HospitalA', 'e2e-patient'));
  patient = as('HospitalA', patientUser);
});

describe('the flows', () => {
  it('upload → grant → read (t verified fragments, SHA-256, decryption, receipt) → revoke → refused by the chain and by the proxies', async () => {
    const cat = category('cardio');
    const bundle = fhir('Sinus rhythm, 72 bpm.');
    const up = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: bundle });
    expect(up.record).toMatchObject({ cid: expect.stringMatching(/^baf[ky][a-z2-7]+$/) /* CIDv1, base32 */, size: paddedLength(bundle.length) /* its size class, not its size */, cipherSuite: CIPHER_SUITE, ownerMsp: 'HospitalAMSP' });
    expect(up.pinnedOn).toEqual(['HospitalA']);
    expect(await up.replicated).toEqual({ pinnedOn: ['HospitalA', 'HospitalB'] });
    expect(JSON.stringify(up.record)).not.toContain('Sinus'); // nothing readable on chain

    const { consent, grants } = await patient.grantConsent(researchConsent(cat.split('/')[0]!));
    expect(grants).toHaveLength(1);
    expect(grants[0]).toMatchObject({ hop: 1, threshold: 2, delegatee: { enrollmentId: 'researcher1' } });
    expect(grants[0]!.proxies).toHaveLength(3);

    const read = await researcher.fetchRecord(up.record.recordId, { consentId: consent.consentId }, { purpose: 'research' });
    expect(read.data!.equals(bundle)).toBe(true);
    expect(read.receipt).toMatchObject({ action: 'receipt', outcome: 'success' });
    await read.receiptCommitted;
    expect(Object.keys(read.timings).sort()).toEqual(['chain', 'crypto', 'ipfs', 'keys', 'proxies']);

    // An allowed request made before the revocation: its proxies refuse it after.
    const before = await researcher.requestAccess(up.record.recordId, { consentId: consent.consentId }, 'research');
    await patient.revokeConsent(consent.consentId);
    const denied = await researcher.fetchRecord(up.record.recordId, { consentId: consent.consentId }, { purpose: 'research' }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(AccessDeniedError);
    expect((denied as AccessDeniedError).reason).toBe('revoked');
    const proxy = await callService('proxy', `http://127.0.0.1:${memberOrg('HospitalA').proxyPort}`, 'POST', '/v1/fragments', { entryId: before.entryId, grantId: grants[0]!.grantId, capsule: capsuleOfGrant(up.record, grants[0]!) }).catch((e: unknown) => e);
    expect(proxy).toBeInstanceOf(ServiceError);
    expect((proxy as ServiceError).code).toBe('GRANT_INACTIVE');

    const trail = await patient.auditTrail(p);
    const mine = trail.filter((e) => e.recordId === up.record.recordId || e.consentId === consent.consentId).map((e) => `${e.action}:${e.outcome}`);
    expect(mine).toEqual(expect.arrayContaining(['consent-grant:success', 'grant-registration:success', 'access-request:success', 're-encryption:success', 'receipt:success', 'consent-revoke:success', 'access-request:denied']));
  });

  it('a doctor re-delegates to a specialist within the hop limit; one hop further is refused', async () => {
    const cat = category('cardio');
    const data = fhir('Echo: EF 55%.');
    const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: data });
    const { consent, grants } = await patient.grantConsent({ ...researchConsent(cat.split('/')[0]!), grantee: { kind: 'identity', mspId: 'HospitalBMSP', enrollmentId: 'doctor1' }, purpose: 'treatment', hopLimit: 2 });
    const hop2 = await doctorB.delegate(grants[0]!.grantId, { mspId: 'HospitalBMSP', enrollmentId: 'specialist1' });
    expect(hop2).toMatchObject({ hop: 2, parentGrantId: grants[0]!.grantId, consentId: consent.consentId });
    const read = await specialist.fetchRecord(record.recordId, { grantId: hop2.grantId }, { purpose: 'treatment' });
    expect(read.data!.equals(data)).toBe(true);
    expect(read.entry).toMatchObject({ grantId: hop2.grantId, agent: { enrollmentId: 'specialist1' } });
    await expect(specialist.delegate(hop2.grantId, { mspId: 'HospitalAMSP', enrollmentId: 'doctor2' })).rejects.toThrow(/hop/i);
    // The doctor's own grant still reads too.
    expect((await doctorB.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'treatment' })).data!.equals(data)).toBe(true);
  });

  it('a 5 MiB file streams from disk to disk; the patient reads his own record without a consent', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'emr-e2e-'));
    try {
      const file = path.join(dir, 'scan.bin');
      writeFileSync(file, randomBytes(5 * 1024 * 1024 + 17));
      const seen: number[] = [];
      const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: category('radiology'), source: file, onProgress: (x) => seen.push(x.bytes) });
      expect(seen[seen.length - 1]).toBe(5 * 1024 * 1024 + 17);
      const out = path.join(dir, 'out.bin');
      const own = await patient.fetchRecord(record.recordId, undefined, { purpose: 'treatment', to: out });
      expect(own.bytes).toBe(5 * 1024 * 1024 + 17);
      expect(record.size).toBe(paddedLength(5 * 1024 * 1024 + 17));
      expect(readFileSync(out).equals(readFileSync(file))).toBe(true);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('switching to non-sharable stops new re-encryptions; the patient still reads it', async () => {
    const cat = category('psych');
    const data = fhir('Session notes.');
    const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: data });
    const { consent } = await patient.grantConsent(researchConsent(cat.split('/')[0]!));
    const switched = await patient.switchType(record.recordId, 'non-sharable');
    expect(switched.type).toBe('non-sharable');
    const refused = await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(FlowError); // no grant covers the non-sharable slot
    expect((await patient.fetchRecord(record.recordId, undefined, { purpose: 'treatment' })).data!.equals(data)).toBe(true);
  });

  it('erasure: the chain refuses every later request and no IPFS node holds the ciphertext', async () => {
    const cat = category('derm');
    const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: fhir('Mole, benign.') });
    const { consent } = await patient.grantConsent(researchConsent(cat.split('/')[0]!));
    const erased = await patient.eraseRecord(record.recordId);
    expect(erased.record.erased).toMatchObject({ erasedBy: patient.connection.enrollmentId }); // his opaque enrollment id
    expect(erased.record.encapsulatedKey).toBe('');
    expect(erased.record.ciphertextSha256).toBe(record.ciphertextSha256); // the chain keeps hashes
    expect(erased.unreachable).toEqual([]);
    for (const m of topology.members) expect(await doctor.ipfs.holds({ org: m.name, api: `http://127.0.0.1:${m.ipfs.apiPort}` }, record.cid)).toBe(false);
    const denied = await researcher.requestAccess(record.recordId, { consentId: consent.consentId }, 'research').catch((e: unknown) => e);
    expect((denied as AccessDeniedError).reason).toBe('erased');
    await expect(patient.fetchRecord(record.recordId, undefined, { purpose: 'treatment' })).rejects.toBeInstanceOf(FlowError);
  });
});

describe('bad input and faults', () => {
  /** A record indexed by hand: real capsule, chosen CID and hash (what a faulty uploader could write). */
  async function indexByHand(o: { cid: string; sha256?: string; cat: string }) {
    const { params } = await loadConsortium(doctor.connection);
    const recordId = `rec-${randomUUID()}`;
    const dataKey = newDataKey();
    const { ciphertext, sha256 } = await encryptRecord(fhir('x'), dataKey, { recordId, version: 1 });
    const capsules = encapsulateForCategory(params, p, 'sharable', o.cat, dataKey);
    return doctor.index.createRecord({ recordId, patientPseudonym: p, category: o.cat, type: 'sharable', cid: o.cid, ciphertextSha256: o.sha256 ?? sha256, size: ciphertext.length, cipherSuite: CIPHER_SUITE, ...capsules });
  }

  it('a CID no node holds: ContentUnavailableError; a hash that differs from the chain: IntegrityError, no file left', async () => {
    const cat = category('lab');
    const missing = await indexByHand({ cid: 'bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku', cat });
    const stored = await doctor.ipfs.add((await import('node:stream')).Readable.from([randomBytes(2048)]));
    const tampered = await indexByHand({ cid: stored.cid, sha256: createHash('sha256').update('other').digest('hex'), cat });
    await expect(patient.fetchRecord(missing.recordId, undefined, { purpose: 'treatment' })).rejects.toBeInstanceOf(ContentUnavailableError);
    const dir = mkdtempSync(path.join(tmpdir(), 'emr-e2e-'));
    try {
      const out = path.join(dir, 'out');
      const err = await patient.fetchRecord(tampered.recordId, undefined, { purpose: 'treatment', to: out }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(IntegrityError);
      expect(() => readFileSync(out)).toThrow();
      expect(() => readFileSync(`${out}.partial`)).toThrow();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an upload whose indexing fails leaves nothing pinned and nothing on chain', async () => {
    const before = await Promise.all(['HospitalA', 'HospitalB'].map(pinCount));
    const recordId = `rec-${randomUUID()}`;
    // For a pseudonym nobody registered: the chaincode refuses after the IPFS add.
    await expect(doctor.uploadRecord({ patientPseudonym: pseudonym(`unregistered-${randomUUID()}`), category: 'x/y', source: fhir('v1'), recordId })).rejects.toBeInstanceOf(NotFoundError);
    expect(await Promise.all(['HospitalA', 'HospitalB'].map(pinCount))).toEqual(before);
    // Supersedes a record of another patient: refused the same way.
    const other = await doctor.uploadRecord({ patientPseudonym: (await newPatient('HospitalB', 'e2e-other')).pseudonym, category: 'x/y', source: fhir('other') });
    const afterOther = await Promise.all(['HospitalA', 'HospitalB'].map(pinCount));
    await expect(doctor.uploadRecord({ patientPseudonym: p, category: 'x/y', source: fhir('v2'), recordId, supersedes: other.record.recordId })).rejects.toThrow(/another patient/);
    expect(await Promise.all(['HospitalA', 'HospitalB'].map(pinCount))).toEqual(afterOther);
    expect(afterOther).toEqual(before.map((n) => n + 1));
    await expect(doctor.index.readRecord(recordId)).rejects.toThrow(/does not exist/);
  });

  it('proxies down: one (still t of n) reads; two (below t) fail with InsufficientFragmentsError; restarted proxies catch up from their checkpoint', async () => {
    const cat = category('neuro');
    const data = fhir('MRI normal.');
    const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: data });
    const { consent } = await patient.grantConsent(researchConsent(cat.split('/')[0]!));
    const via = { consentId: consent.consentId };
    await withStopped(['proxy-HospitalB'], async () => {
      expect((await researcher.fetchRecord(record.recordId, via, { purpose: 'research' })).data!.equals(data)).toBe(true);
    });
    let entryWhileDown = '';
    await withStopped(['proxy-HospitalA', 'proxy-HospitalB'], async () => {
      const err = await researcher.fetchRecord(record.recordId, via, { purpose: 'research' }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InsufficientFragmentsError);
      expect((err as InsufficientFragmentsError).failures.map((f) => f.proxy).sort()).toEqual(['proxy@HospitalAMSP', 'proxy@HospitalBMSP']);
      entryWhileDown = (await researcher.requestAccess(record.recordId, via, 'research')).entryId;
    });
    // Back up, the proxies replay the events they missed from their checkpoint and serve each
    // allowed request ahead: three requests, three proxies, each re-encryption logged once.
    const reEncryptions = async () => (await patient.consents.recordLog(record.recordId, { pageSize: 100 })).entries.filter((e) => e.action === 're-encryption').length;
    await waitUntil(async () => (await reEncryptions()) === 9);
    await withStopped(['proxy-ResearchInstitute'], async () => undefined); // a restart repeats nothing
    await new Promise((r) => setTimeout(r, 2000));
    expect(await reEncryptions()).toBe(9);
    const [grant] = (await patient.consents.listGrants(consent.consentId)).grants;
    const served = await callService<{ entryId: string }>('proxy', `http://127.0.0.1:${memberOrg('HospitalA').proxyPort}`, 'POST', '/v1/fragments', { entryId: entryWhileDown, grantId: grant!.grantId, capsule: capsuleOfGrant(record, grant!) });
    expect(served.entryId).toBe(entryWhileDown);
  });

  it("a Kubo node down: reads come from the replica; an upload from the down node's org fails with nothing on chain", async () => {
    const cat = category('ortho');
    const data = fhir('Fracture healed.');
    const { record } = await doctor.uploadRecord({ patientPseudonym: p, category: cat, source: data });
    const { consent } = await patient.grantConsent(researchConsent(cat.split('/')[0]!));
    await withStopped([kuboName(memberOrg('HospitalA'))], async () => {
      expect((await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' })).data!.equals(data)).toBe(true);
      const recordId = `rec-${randomUUID()}`;
      await expect(doctor.uploadRecord({ patientPseudonym: p, category: cat, source: data, recordId })).rejects.toBeInstanceOf(ServiceUnavailableError);
      await expect(doctor.index.readRecord(recordId)).rejects.toThrow(/does not exist/);
    });
  });

  it('unknown identities, keys of others and timeouts each name what is wrong', async () => {
    expect(() => EmrClient.connect({ org: 'HospitalA', user: 'nobody', profile: stateDir })).toThrow(UnknownIdentityError);
    const consortium = await loadConsortium(researcher.connection);
    const slot = `emr-slot:v1:${JSON.stringify([p, 'sharable', 'cardio/notes'])}`;
    const stolen = await extractKey(consortium, slot, researcher.connection).catch((e: unknown) => e);
    expect(stolen).toBeInstanceOf(KeyExtractionError);
    expect((stolen as Error).message).toMatch(/may not get the key/);
    // Reading without a consent or grant is for the record's patient: others are told what to pass.
    const noVia = await researcher.fetchRecord('rec-any', undefined, { purpose: 'research' }).catch((e: unknown) => e);
    expect(noVia).toBeInstanceOf(FlowError);
    expect((noVia as Error).message).toMatch(/under a consent \(\{ consentId \}.*or a grant/);
    // A service that accepts the connection and never answers.
    const silent = net.createServer(() => undefined);
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    try {
      const port = (silent.address() as net.AddressInfo).port;
      const err = await callService('proxy', `http://127.0.0.1:${port}`, 'POST', '/v1/fragments', {}, undefined, 300).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ServiceUnavailableError);
      expect((err as Error).message).toMatch(/no answer within 300 ms/);
    } finally {
      silent.close();
    }
    const hurried = connectGateway({ org: 'HospitalA', user: 'doctor1', profile: stateDir, timeouts: { evaluate: 1 } });
    try {
      const { EmrIndex } = await import('../../client/src');
      await expect(new EmrIndex(hurried).listRecordsByPatient(p, { pageSize: 100 })).rejects.toBeInstanceOf(TimeoutError);
    } finally {
      hurried.close();
    }
    await expect(researcher.index.createRecord({} as never)).rejects.toBeInstanceOf(UnauthorizedError);
  });
});
