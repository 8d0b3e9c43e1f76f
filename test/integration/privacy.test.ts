/**
 * Issue 21 on the live network: a curious member (ResearchInstitute's admin, its own peer,
 * nothing else) tries to recover who a patient is from the blocks. The patient is enrolled
 * under an opaque id, so the name his hospital knows him by appears nowhere in any block,
 * though he registered, was treated at two hospitals, consented and set an area rule; the
 * audit finds no identity for his pseudonym. His own audit trail still names him by his name.
 * A record filed with its category blinded, a consent, an area rule and a break-glass on the
 * blinded category, work end to end; the patient's listings name the department to him alone,
 * and the curious member reads no department of them.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';
import { MIN_PADDED_BYTES } from '@emr/crypto';
import { blindCategory } from '@emr/protocol';
import { readChannel } from '../../client/privacy/ledger-view';
import { buildReport } from '../../client/privacy/profiles';
import { connectGateway, type EmrClient } from '../../client/src';
import { stateDir } from '../../network/src/paths';
import { emr } from '../support/cli';
import { emrClients, newPatient } from '../support/network';

jest.setTimeout(180_000);
const as = emrClients();
const hour = 3_600_000;

/** The patient's consent for researcher1@ResearchInstitute on a category, blinded, for an hour. */
const blindedResearchConsent = (patient: EmrClient, patientPseudonym: string, category: string) =>
  patient.grantConsent({
    patientPseudonym,
    grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
    scope: { category },
    blindCategory: true,
    purpose: 'research',
    validFrom: new Date(Date.now() - hour).toISOString(),
    validUntil: new Date(Date.now() + hour).toISOString(),
    maxAccesses: 2,
    hopLimit: 1,
  });

it("a curious member finds the patient's name in no block, and no identity for his pseudonym", async () => {
  const { user, pseudonym } = await newPatient('HospitalA', 'privacy-victim');
  const patient = as('HospitalA', user);
  await as('HospitalB', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'psychiatry/inpatient', source: randomBytes(512) });
  await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'oncology/biopsy', source: randomBytes(512) });
  const { consent } = await patient.grantConsent({
    consentId: `privacy-${randomUUID()}`,
    patientPseudonym: pseudonym,
    grantee: { kind: 'identity', mspId: 'HospitalBMSP', enrollmentId: 'doctor1' },
    scope: { category: 'psychiatry' },
    purpose: 'treatment',
    validFrom: new Date(Date.now() - hour).toISOString(),
    validUntil: new Date(Date.now() + hour).toISOString(),
    maxAccesses: 1,
    hopLimit: 1,
  });
  await patient.consents.setAreaPolicy({ patientPseudonym: pseudonym, area: 'research', purposes: [] });
  expect(patient.connection.enrollmentId).toMatch(/^pt-[0-9a-f]{24}$/);

  const curious = connectGateway({ org: 'ResearchInstitute', user: 'admin', profile: stateDir });
  try {
    const { txs } = await readChannel(curious, curious.channel, curious.contract.getChaincodeName());
    const his = txs.filter((t) => t.creator.role === 'patient' && t.creator.enrollmentId === patient.connection.enrollmentId);
    expect(his.map((t) => t.fn).sort()).toEqual(expect.arrayContaining(['consent:GrantConsent', 'consent:RegisterGrant', 'consent:RegisterPatient', 'consent:SetAreaPolicy']));
    expect(his.some((t) => t.writes.some((w) => JSON.stringify(w.value ?? '').includes(consent.consentId)))).toBe(true);
    // Not in any transaction's decoded form, and not in the raw bytes of any block.
    expect(JSON.stringify(txs).includes(user)).toBe(false);
    const events = await curious.gateway.getNetwork(curious.channel).getBlockEvents({ startBlock: BigInt(his[0]!.block) });
    try {
      const last = Math.max(...his.map((t) => t.block));
      for await (const block of events) {
        expect(Buffer.from((block as unknown as common.Block).serializeBinary()).includes(Buffer.from(user))).toBe(false);
        if ((block as unknown as common.Block).getHeader()!.getNumber() >= last) break;
      }
    } finally {
      events.close();
    }
    const report = buildReport(txs, 'ResearchInstituteMSP');
    const profile = report.profiles.find((p) => p.pseudonym === pseudonym)!;
    expect(profile.nonParty.identity).toBeUndefined();
    expect(profile.nonParty.categories).toEqual(expect.arrayContaining(['psychiatry/inpatient', 'oncology/biopsy'])); // what is still public (docs/privacy.md)
  } finally {
    curious.close();
  }

  // The blinding key his hospital's key centre keeps for him, and the same blinding for another hospital's doctor (docs/privacy.md, "Categories").
  const key = await patient.blindingKey();
  expect((await as('HospitalB', 'doctor1').blindCategories(pseudonym, ['psychiatry/inpatient'])).blinded).toEqual([blindCategory(key, 'psychiatry/inpatient')]);
  await expect(as('HospitalB', 'doctor1').blindingKey()).rejects.toThrow(/only a patient of HospitalBMSP gets his blinding key here/);

  // The patient's own audit trail names him as he knows himself.
  const audit = (await emr('HospitalA', user, ['audit', pseudonym])).stdout;
  expect(audit).toMatch(new RegExp(`consent-grant\\s+success\\s+${user}@HospitalAMSP\\s+treatment`));
});

it('a record filed under a blinded category, a consent, an area rule and a break-glass on it, work end to end; the patient alone sees its name; the curious member reads no department', async () => {
  // A patient of HospitalB: the runs set no approval policy there, and a blinded consent is refused under one.
  const { user, pseudonym } = await newPatient('HospitalB', 'privacy-blinded');
  const patient = as('HospitalB', user);
  const researcher = as('ResearchInstitute', 'researcher1');
  await researcher.registerIdentity();
  const { record } = await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'psychiatry/inpatient', source: Buffer.from('blinded note'), blindCategory: true });
  const key = await patient.blindingKey();
  expect(record.category).toBe(blindCategory(key, 'psychiatry/inpatient'));
  // Padded by default: the 12-byte note and a 3,000-byte letter show the same size class.
  const letter = await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'psychiatry/outpatient', source: randomBytes(3_000), blindCategory: true });
  expect([record.size, letter.record.size]).toEqual([MIN_PADDED_BYTES, MIN_PADDED_BYTES]);
  const { consent, grants } = await blindedResearchConsent(patient, pseudonym, 'psychiatry');
  expect(consent.scope.category).toBe(blindCategory(key, 'psychiatry'));
  expect(grants).toHaveLength(1);
  // The grant's condition hash on chain is of the blinded path: a dictionary of department names, which inverts a clear one, finds nothing.
  const sha = (x: string) => createHash('sha256').update(x).digest('hex');
  expect(grants[0]!.conditionHash).toBe(sha(blindCategory(key, 'psychiatry')));
  expect(['psychiatry', 'psychiatry/inpatient', 'oncology', 'cardiology'].map(sha)).not.toContain(grants[0]!.conditionHash);
  const read = await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' });
  expect(read.data?.toString()).toBe('blinded note');
  // His own rule for the research area, on the blinded path too, decides the same record.
  const policy = await patient.setAreaPolicy({ patientPseudonym: pseudonym, area: 'research', purposes: ['research'], category: 'psychiatry', blindCategory: true });
  expect(policy.category).toBe(blindCategory(key, 'psychiatry'));
  expect(await researcher.requestAccess(record.recordId, { area: true }, 'research')).toMatchObject({ outcome: 'success', areaRule: 'research:patient' });
  // Break-glass at another hospital, on the blinded department, reaches the blinded record.
  const emergencyId = `eg-${randomUUID()}`;
  const emergency = await as('HospitalA', 'doctor1').breakGlass({ emergencyId, patientPseudonym: pseudonym, category: 'psychiatry', blindCategory: true, durationMinutes: 30, justification: 'Acute crisis in the emergency room; psychiatric history needed now.' });
  expect(emergency.category).toBe(blindCategory(key, 'psychiatry'));
  await as('HospitalA', 'doctor2').emergency.approve(emergencyId);
  await expect(as('HospitalA', 'doctor1').emergency.requestAccess(record.recordId, emergencyId)).resolves.toMatchObject({ outcome: 'success', emergencyId });

  // To the patient, and to him only, his listings name the blinded departments (the record's sealed label).
  expect(record.categoryLabel).toMatch(/^[A-Za-z0-9_-]+$/);
  expect(Object.fromEntries(await patient.clearCategories(pseudonym, [record.category], [record]))).toEqual({ [record.category]: 'psychiatry/inpatient', [blindCategory(key, 'psychiatry')]: 'psychiatry' });
  expect((await as('HospitalA', 'doctor1').clearCategories(pseudonym, [record.category], [record])).size).toBe(0);
  expect((await emr('HospitalB', user, ['records', '--patient', pseudonym])).stdout).toMatch(/psychiatry\/inpatient \(blinded\)/);
  expect((await emr('HospitalB', user, ['consents', '--patient', pseudonym])).stdout).toMatch(/scope\s+category psychiatry \(blinded\)/);
  expect((await emr('HospitalB', user, ['area', 'list', '--patient', pseudonym])).stdout).toMatch(/rule\s+research: research in psychiatry \(blinded\)/);
  const asDoctor = (await emr('HospitalA', 'doctor1', ['records', '--patient', pseudonym])).stdout;
  expect(asDoctor).toContain(record.category);
  expect(asDoctor).not.toContain('psychiatry');

  const curious = connectGateway({ org: 'ResearchInstitute', user: 'admin', profile: stateDir });
  try {
    const { txs } = await readChannel(curious, curious.channel, curious.contract.getChaincodeName());
    const about = txs.filter((t) => JSON.stringify(t.writes).includes(pseudonym) || JSON.stringify(t.args).includes(pseudonym));
    expect(about.length).toBeGreaterThan(3);
    expect(JSON.stringify(about).includes('psychiatry')).toBe(false);
    const profile = buildReport(txs, 'HospitalAMSP').profiles.find((p) => p.pseudonym === pseudonym)!; // as a member that filed the record: party to it, not to the consent
    expect(profile.nonParty.categories).toBeUndefined();
  } finally {
    curious.close();
  }
});

it("a blinded consent under the home hospital's approval policy: its key centre attests what the policy requires, the consent waits for it, then works", async () => {
  const category = `prv${randomUUID().slice(0, 8)}`;
  await as('HospitalA', 'admin').consents.setApprovalPolicy({ category, approvals: [{ role: 'doctor', count: 1 }] });
  const { user, pseudonym } = await newPatient('HospitalA', 'privacy-policy');
  const patient = as('HospitalA', user);
  const researcher = as('ResearchInstitute', 'researcher1');
  await researcher.registerIdentity();
  const { record } = await as('HospitalB', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: `${category}/notes`, source: Buffer.from('under a policy'), blindCategory: true });
  const { consent, grants } = await blindedResearchConsent(patient, pseudonym, category);
  expect([consent.status, consent.requiredApprovals, grants]).toEqual(['pending', [{ role: 'doctor', count: 1 }], []]);
  await expect(researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' })).rejects.toMatchObject({ reason: 'pending-approval' });
  expect((await as('HospitalA', 'doctor2').consents.approveConsent(consent.consentId)).status).toBe('active');
  expect(await patient.extendGrants(consent.consentId)).toHaveLength(1);
  expect((await researcher.fetchRecord(record.recordId, { consentId: consent.consentId }, { purpose: 'research' })).data?.toString()).toBe('under a policy');
  // A blinded category no policy covers: attested as needing nothing, active at once.
  expect((await blindedResearchConsent(patient, pseudonym, 'dermatology')).consent).toMatchObject({ status: 'active', requiredApprovals: [] });

  const curious = connectGateway({ org: 'ResearchInstitute', user: 'admin', profile: stateDir });
  try {
    const { txs } = await readChannel(curious, curious.channel, curious.contract.getChaincodeName());
    const attestations = txs.filter((t) => t.fn === 'consent:AttestBlindedReach' && JSON.stringify(t.args).includes(pseudonym));
    expect(attestations).toHaveLength(2);
    expect(attestations.every((t) => t.creator.role === 'kgc' && t.creator.mspId === 'HospitalAMSP')).toBe(true);
    const about = txs.filter((t) => JSON.stringify(t.writes).includes(pseudonym) || JSON.stringify(t.args).includes(pseudonym));
    expect(JSON.stringify(about).includes(category)).toBe(false);
    expect(JSON.stringify(about).includes('dermatology')).toBe(false);
  } finally {
    curious.close();
  }
});

it('a consortium that blinds categories and unlinks records: the SDK does both by default, and the chain refuses a clear category or a linked filing', async () => {
  const settingsWith = async (on: boolean) => {
    const current = await as('HospitalA', 'admin').settings.read();
    const id = `blind-${randomUUID().slice(0, 8)}`;
    const { members, defaultCipherSuite, categories, areas, areaDefaults } = current;
    await as('HospitalA', 'admin').settings.propose(id, { members, defaultCipherSuite, categories, areas, areaDefaults, blindCategories: on, unlinkRecords: on });
    await as('HospitalB', 'admin').settings.approve(id);
    expect(await as('HospitalA', 'doctor1').settings.read()).toMatchObject({ blindCategories: on, unlinkRecords: on });
  };
  const { user, pseudonym } = await newPatient('HospitalB', 'privacy-default');
  await settingsWith(true);
  try {
    const key = await as('HospitalB', user).blindingKey();
    const { record } = await as('HospitalA', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'oncology/biopsy', source: Buffer.from('blinded by default') });
    expect(record.category).toBe(blindCategory(key, 'oncology/biopsy'));
    expect(record.patientPseudonym).toMatch(/^rp-[0-9a-f]{64}$/);
    expect((await as('HospitalB', user).patientRecords(pseudonym)).map((r) => r.recordId)).toContain(record.recordId);
    // A client that does not blind, or does not unlink, is refused by the chain, naming why.
    const { type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys } = record;
    const clear = { recordId: `rec-${randomUUID()}`, patientPseudonym: pseudonym, category: 'oncology/biopsy', type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys };
    await expect(as('HospitalA', 'doctor1').index.createRecord(clear)).rejects.toThrow(/is a clear category, and the consortium blinds categories/);
    await expect(as('HospitalA', 'doctor1').index.createRecord({ ...clear, category: record.category })).rejects.toThrow(/INVALID_ARGUMENT\[patientPseudonym\]: is the patient's own pseudonym, and the consortium files records unlinked/);
    expect((await emr('HospitalA', 'admin', ['consortium', 'show'])).stdout).toMatch(/blind categories\s+yes[\s\S]*unlink records\s+yes/);
  } finally {
    await settingsWith(false);
  }
});


it('records filed unlinked: nothing on chain ties them to the patient until a party acts on one; he lists, reads and audits them; a grantee and his hospital read them with a link', async () => {
  // A patient of HospitalB (no approval policy there), seen at both hospitals.
  const { user, pseudonym } = await newPatient('HospitalB', 'privacy-unlinked');
  const patient = as('HospitalB', user);
  const researcher = as('ResearchInstitute', 'researcher1');
  await researcher.registerIdentity();
  const filed = [];
  for (const [org, category, text] of [['HospitalA', 'psychiatry/inpatient', 'unlinked note A'], ['HospitalB', 'oncology/biopsy', 'unlinked note B']] as const) {
    filed.push((await as(org, 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from(text), blindCategory: true, unlinked: true })).record);
  }
  const [atA, atB] = filed as [typeof filed[0], typeof filed[0]];
  expect(atA.patientPseudonym).toMatch(/^rp-[0-9a-f]{64}$/);
  expect(new Set([atA.patientPseudonym, atB.patientPseudonym, pseudonym]).size).toBe(3);
  await expect(patient.uploadRecord({ patientPseudonym: pseudonym, category: 'oncology', source: Buffer.from('x'), unlinked: true })).rejects.toThrow(/a patient files his own records linked/);
  // A new version keeps the record pseudonym of the one it supersedes.
  const v2 = (await as('HospitalB', 'doctor1').uploadRecord({ patientPseudonym: pseudonym, category: 'oncology/biopsy', source: Buffer.from('unlinked note B, v2'), blindCategory: true, supersedes: atB.recordId })).record;
  expect([v2.version, v2.patientPseudonym]).toEqual([2, atB.patientPseudonym]);

  // Before anyone shared them, the curious member finds nothing of them under the patient.
  const curious = connectGateway({ org: 'ResearchInstitute', user: 'admin', profile: stateDir });
  const chain = async () => (await readChannel(curious, curious.channel, curious.contract.getChaincodeName())).txs;
  try {
    const filings = (await chain()).filter((t) => t.fn === 'emr:CreateRecord' && [atA, atB, v2].some((r) => JSON.stringify(t.writes).includes(r.recordId)));
    expect(filings).toHaveLength(3);
    expect(JSON.stringify(filings).includes(pseudonym)).toBe(false); // not in the writes, reads, arguments or capsules
    const before = buildReport(await chain(), 'ResearchInstituteMSP');
    expect(before.profiles.find((p) => p.pseudonym === pseudonym)?.records ?? 0).toBe(0);
    const mine = (r: typeof atA) => before.profiles.some((p) => p.nonParty.hospitals?.includes(r.ownerMsp) && p.pseudonym === pseudonym);
    expect([mine(atA), mine(atB)]).toEqual([false, false]);

    // The patient finds both with his key, reads one without any request, and sees their names and their filings in his audit.
    const listed = await patient.patientRecords(pseudonym);
    expect(listed.map((r) => r.recordId).sort()).toEqual([atA.recordId, atB.recordId, v2.recordId].sort());
    const own = await patient.fetchRecord(atA.recordId, undefined, { purpose: 'treatment', keepDataKey: true });
    expect(own.data?.toString()).toBe('unlinked note A');
    expect((await emr('HospitalB', user, ['records', '--patient', pseudonym])).stdout).toMatch(/psychiatry\/inpatient \(blinded\)/);
    const trail = await patient.auditTrail(pseudonym);
    expect(trail.filter((e) => e.action === 'record-upload').map((e) => e.recordId).sort()).toEqual([atA.recordId, atB.recordId].sort());
    expect(trail.filter((e) => e.action === 'record-version').map((e) => e.recordId)).toEqual([v2.recordId]);
    // Another hospital's doctor lists the patient and sees neither.
    expect((await as('HospitalA', 'doctor1').patientRecords(pseudonym)).map((r) => r.recordId)).toEqual([]);

    // A consent on the category: the researcher gets the link from HospitalB's centre, and reads.
    const { consent } = await blindedResearchConsent(patient, pseudonym, 'psychiatry');
    expect((await researcher.fetchRecord(atA.recordId, { consentId: consent.consentId }, { purpose: 'research' })).data?.toString()).toBe('unlinked note A');
    expect((await emr('ResearchInstitute', 'researcher1', ['request', atA.recordId, '--consent', consent.consentId, '--purpose', 'research'])).stdout).toMatch(/outcome\s+success/);
    // Outside the consent's category the centre gives no link, and the chain would refuse one anyway.
    await expect(researcher.fetchRecord(atB.recordId, { consentId: consent.consentId }, { purpose: 'research' })).rejects.toThrow(/the chain would refuse this request: .*outside the scope/);
    await expect(researcher.consents.requestAccess(atB.recordId, consent.consentId, 'research')).rejects.toThrow(/INVALID_ARGUMENT\[link\]/);
    // His own hospital's doctor reads by area, naming him.
    await patient.makeAreaGrants();
    expect((await as('HospitalB', 'doctor1').fetchRecord(atB.recordId, { area: true, patientPseudonym: pseudonym }, { purpose: 'treatment' })).data?.toString()).toBe('unlinked note B');
    await expect(as('HospitalA', 'doctor1').fetchRecord(atB.recordId, { area: true, patientPseudonym: pseudonym }, { purpose: 'treatment' })).rejects.toThrow(/the chain would refuse this request/);
    // A break-glass at HospitalA reaches it too, through its link.
    const emergencyId = `eg-${randomUUID()}`;
    await as('HospitalA', 'doctor1').breakGlass({ emergencyId, patientPseudonym: pseudonym, durationMinutes: 30, justification: 'Unconscious on arrival; every part of the history may matter now.' });
    await expect(as('HospitalA', 'doctor1').requestEmergencyAccess(v2.recordId, emergencyId)).rejects.toThrow(/the chain would refuse this request: .*never approved/);
    await as('HospitalA', 'doctor2').emergency.approve(emergencyId);
    expect(await as('HospitalA', 'doctor1').requestEmergencyAccess(v2.recordId, emergencyId)).toMatchObject({ outcome: 'success', patientPseudonym: pseudonym, recordId: v2.recordId });

    // He traces a leaked data key of it: its record log and the report take its link.
    const trace = await patient.traceLeakedDataKey(atA.recordId, own.dataKey!);
    expect(trace.entry).toMatchObject({ action: 'key-leak', patientPseudonym: pseudonym, recordId: atA.recordId });
    expect(trace.reads.map((e) => e.action)).toContain('record-upload');

    // What the reads tied, the curious member now ties; nothing else.
    const after = buildReport(await chain(), 'ResearchInstituteMSP');
    const profile = after.profiles.find((p) => p.pseudonym === pseudonym)!;
    expect(profile.party.hospitals ?? []).toContain('HospitalAMSP'); // the record it read itself
    expect(after.linkage.unlinkedTied).toBeGreaterThanOrEqual(2);
  } finally {
    curious.close();
  }
});
