/**
 * The README's shell walk-through on the live network, with the real `emr` CLI
 * (`node client/dist/cli/emr.js`, as `npm run emr` runs it) and only CLI commands: a new
 * patient is enrolled at HospitalA's CA (`network enroll`), registers his pseudonym, a
 * doctor uploads a record for him, he grants a researcher, the researcher reads it, the
 * patient sees the consent's uses go down, lists his records and audit trail, revokes, and
 * the next read is refused. A fresh patient per run: nothing depends on other tests.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { emr, emrJson, networkScript, node, requireBuiltClis } from '../support/cli';

jest.setTimeout(240_000);

const work = mkdtempSync(path.join(tmpdir(), 'emr-cli-walkthrough-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('the README walk-through, from the shell', () => {
  const user = `patient-${randomUUID().slice(0, 8)}`;
  const file = path.join(work, 'ecg.json');
  const content = JSON.stringify({ resourceType: 'Bundle', type: 'collection', id: randomUUID(), entry: [{ resource: { resourceType: 'Observation', code: { text: 'ECG' }, valueString: randomBytes(512).toString('hex') } }] });
  let P: string;
  let RECORD: string;
  let CONSENT: string;

  beforeAll(() => {
    requireBuiltClis();
    writeFileSync(file, content);
  });

  it('enrolls a new patient at HospitalA with `network enroll`', async () => {
    const r = await node(networkScript, ['enroll', '--org', 'HospitalA', '--user', user, '--role', 'patient', '--json']);
    expect(r).toMatchObject({ code: 0 });
    expect(JSON.parse(r.stdout)).toMatchObject({ org: 'HospitalA', user, role: 'patient', mspId: 'HospitalAMSP' });
  });

  it('the patient registers and gets his full pseudonym ($P)', async () => {
    const { doc } = await emrJson('HospitalA', user, ['patient', 'register']);
    expect(doc).toMatchObject({ homeMsp: 'HospitalAMSP', alreadyRegistered: false, txId: expect.any(String) });
    expect(doc.patientPseudonym).toMatch(/^[0-9a-f]{64}$/);
    P = doc.patientPseudonym;

    // Again: nothing written, the same pseudonym, exit 0; human output names it in full.
    const again = await emr('HospitalA', user, ['patient', 'register']);
    expect(again.stdout).toMatch(new RegExp(`^pseudonym +${P}$`, 'm'));
    expect(again.stderr).toMatch(/^emr: already registered/);
    const shown = await emrJson('HospitalA', user, ['patient', 'show']);
    expect(shown.doc).toMatchObject({ patientPseudonym: P, registered: true, registration: { homeMsp: 'HospitalAMSP' } });
  });

  it("HospitalA's doctor uploads a record for $P ($RECORD)", async () => {
    const { doc } = await emrJson('HospitalA', 'doctor1', ['upload', file, '--patient', P, '--category', 'cardiology/ecg']);
    expect(doc).toMatchObject({ version: 1, size: expect.any(Number) });
    RECORD = doc.recordId;
  });

  it('the patient grants the researcher ($CONSENT)', async () => {
    const { doc } = await emrJson('HospitalA', user, ['grant', '--patient', P, '--grantee', 'researcher1@ResearchInstituteMSP', '--category', 'cardiology', '--purpose', 'research', '--max-accesses', '3']);
    expect(doc).toMatchObject({ status: 'active', grantIds: [expect.any(String)] });
    CONSENT = doc.consentId;
  });

  it('the researcher who forgets --consent is told what to pass', async () => {
    const r = await emr('ResearchInstitute', 'researcher1', ['fetch', RECORD, '--purpose', 'research'], false);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^emr: UsageError: fetch as a researcher needs --consent <consentId> .*, --grant <grantId> .* or --area/);
  });

  it('the researcher reads the record under the consent: the same bytes', async () => {
    const out = path.join(work, 'ecg-read.json');
    await emr('ResearchInstitute', 'researcher1', ['fetch', RECORD, '--consent', CONSENT, '--purpose', 'research', '--out', out]);
    expect(readFileSync(out, 'utf8')).toBe(content);
  });

  it("the patient's consents show one use fewer and the grant active", async () => {
    const { doc } = await emrJson('HospitalA', user, ['consents', '--patient', P]);
    expect(doc).toEqual([expect.objectContaining({ consentId: CONSENT, state: 'active', accessCount: 1, usesLeft: 2, grants: [expect.objectContaining({ hop: 1, delegatee: 'researcher1@ResearchInstituteMSP', active: true })] })]);
    const human = await emr('HospitalA', user, ['consents', '--patient', P]);
    expect(human.stdout).toMatch(/^uses left +2 of 3$/m);
    expect(human.stdout).toMatch(/^state +active$/m);
  });

  it('records lists the record under a header row', async () => {
    const { doc } = await emrJson('HospitalA', user, ['records', '--patient', P]);
    expect(doc).toEqual([expect.objectContaining({ recordId: RECORD, ownerMsp: 'HospitalAMSP', category: 'cardiology/ecg', type: 'sharable', supersededBy: null })]);
    const human = await emr('HospitalA', 'doctor1', ['records', '--patient', P]);
    const [header, line] = human.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^RECORD +VERSION +CATEGORY +TYPE +OWNER +SIZE +CREATED +MARKS$/);
    expect(line).toMatch(new RegExp(`^${RECORD} +1 +cardiology/ecg +sharable +HospitalAMSP `));
  });

  it('the audit trail shows the upload, the grant and the access, with purposes', async () => {
    const { doc } = await emrJson('HospitalA', user, ['audit', P]);
    const actions = (doc as { action: string; outcome: string; recordId: string | null; consentId: string | null; purpose: string | null; agent: { enrollmentId: string; mspId: string } }[]).map((e) => ({ action: e.action, outcome: e.outcome, recordId: e.recordId, consentId: e.consentId, purpose: e.purpose, agent: `${e.agent.enrollmentId}@${e.agent.mspId}` }));
    expect(actions).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ action: 'record-upload', outcome: 'success', recordId: RECORD, agent: 'doctor1@HospitalAMSP' }),
        expect.objectContaining({ action: 'consent-grant', outcome: 'success', consentId: CONSENT, purpose: 'research', agent: expect.stringMatching(/^pt-[0-9a-f]{24}@HospitalAMSP$/) }), // opaque on chain
        expect.objectContaining({ action: 'access-request', outcome: 'success', recordId: RECORD, consentId: CONSENT, purpose: 'research', agent: 'researcher1@ResearchInstituteMSP' }),
      ]),
    );
    const human = await emr('HospitalA', user, ['audit', P]);
    const lines = human.stdout.trimEnd().split('\n');
    expect(lines[0]).toMatch(/^TIME +ACTION +OUTCOME +AGENT +PURPOSE +RECORD +CONSENT +REASON$/);
    expect(lines.find((l) => /\baccess-request\b/.test(l))).toMatch(new RegExp(`access-request +success +researcher1@ResearchInstituteMSP +research +${RECORD} +${CONSENT}`));
    expect(lines.find((l) => /\bconsent-grant\b/.test(l))).toMatch(new RegExp(`consent-grant +success +${user}@HospitalAMSP +research`)); // himself, by his own name
  });

  it('the patient revokes, and the next read is refused', async () => {
    const revoked = await emrJson('HospitalA', user, ['revoke', CONSENT]);
    expect(revoked.doc).toMatchObject({ consentId: CONSENT, status: 'revoked', revokedAt: expect.any(String) });
    const refused = await emrJson('ResearchInstitute', 'researcher1', ['fetch', RECORD, '--consent', CONSENT, '--purpose', 'research', '--out', path.join(work, 'refused.json')], false);
    expect(refused.code).toBe(1);
    expect(refused.doc.error).toMatchObject({ name: 'AccessDeniedError', reason: 'revoked' });
    expect(existsSync(path.join(work, 'refused.json'))).toBe(false);
    const { doc } = await emrJson('HospitalA', user, ['consents', '--patient', P]);
    expect(doc).toEqual([expect.objectContaining({ consentId: CONSENT, state: 'revoked', grants: [expect.objectContaining({ active: false })] })]);
  });
});
