/**
 * The privacy audit's reconstruction (client/privacy/profiles.ts) on a hand-made ledger: a
 * patient of HospitalA with records at A and B, a consent to a researcher, requests. What a
 * member learns is split by whether its org is a party to each fact.
 */
import type { SeenTx, Write } from '../../../client/privacy/ledger-view';
import { buildReport } from '../../../client/privacy/profiles';

const A = 'HospitalAMSP';
const B = 'HospitalBMSP';
const RI = 'ResearchInstituteMSP';
const P = 'a1'.repeat(32);
let n = 0;
const tx = (creator: SeenTx['creator'], writes: Write[], minutes: number, fn = 'x', reads: SeenTx['reads'] = []): SeenTx => ({
  block: ++n,
  txId: `tx${n}`,
  timestamp: new Date(Date.UTC(2026, 11, 1, 8, minutes)),
  creator,
  fn,
  args: [],
  reads,
  writes,
  privateWrites: [],
  events: [],
  envelopeBytes: 1000,
});
const write = (objectType: string, attributes: string[], value: unknown): Write => ({ objectType, attributes, value, bytes: 1 });
const patient = { mspId: A, enrollmentId: 'alice', role: 'patient' };
const doctorA = { mspId: A, enrollmentId: 'doctor1', role: 'doctor' };
const doctorB = { mspId: B, enrollmentId: 'doctor1', role: 'doctor' };
const researcher = { mspId: RI, enrollmentId: 'researcher1', role: 'researcher' };
const record = (recordId: string, ownerMsp: string, category: string, size: number) => write('emr.record', [recordId], { recordId, patientPseudonym: P, ownerMsp, category, size });

const ledger: SeenTx[] = [
  tx(patient, [write('emr.patient', [P], { patientPseudonym: P, homeMsp: A })], 0),
  tx(doctorA, [record('r1', A, 'cardiology/ecg', 2_000), write('emr.record~patient', [P, 'r1'], 0)], 1, 'emr:CreateRecord', [{ objectType: 'emr.patient', attributes: [P] }]),
  tx(doctorA, [record('r2', A, 'cardiology/echo', 5_000_000)], 2, 'emr:CreateRecord'),
  tx(doctorB, [record('r3', B, 'oncology/biopsy', 3_000)], 200, 'emr:CreateRecord'),
  tx(patient, [write('emr.consent', ['c1'], { consentId: 'c1', patientPseudonym: P, grantee: { kind: 'identity', mspId: RI, enrollmentId: 'researcher1' }, scope: { category: 'cardiology' }, purpose: 'research' })], 210),
  tx(patient, [write('emr.registration', ['g1'], { grantId: 'g1', consentId: 'c1', hop: 1, delegator: { mspId: A, enrollmentId: 'alice' } })], 211),
  tx(researcher, [write('emr.log', ['e1'], { entryId: 'e1', action: 'access-request', outcome: 'success', agent: researcher, patientPseudonym: P, recordId: 'r1', purpose: 'research' })], 220),
  tx(doctorB, [write('emr.log', ['e2'], { entryId: 'e2', action: 'access-request', outcome: 'denied', agent: doctorB, patientPseudonym: P, recordId: 'r2', purpose: 'treatment' })], 230),
];

describe('the privacy audit', () => {
  it("the per-hospital what-if: an access that reads a record and the patient's consent ties the record to him; so does his own certificate", () => {
    const read = tx(doctorB, [], 240, 'consent:RequestAccess', [{ objectType: 'emr.record', attributes: ['r3'] }, { objectType: 'emr.consent', attributes: ['c1'] }]);
    expect(buildReport([...ledger, read], 'OutsiderMSP').linkage.perHospitalPseudonyms).toEqual({ linkablePairs: 3, crossHospitalPairs: 2 });
    const approval = tx(patient, [write('emr.record', ['r3'], { recordId: 'r3', patientPseudonym: P, ownerMsp: B, category: 'oncology/biopsy', size: 3_000 })], 250, 'emr:ApproveRecord');
    expect(buildReport([...ledger, approval], 'OutsiderMSP').linkage.perHospitalPseudonyms).toEqual({ linkablePairs: 3, crossHospitalPairs: 2 });
    // One pseudonym per record: A's two records are tied only because both were accessed; an unread third at A would not be.
    const unread = tx(doctorA, [write('emr.record', ['r4'], { recordId: 'r4', patientPseudonym: P, ownerMsp: A, category: 'cardiology/ecg', size: 10 })], 260, 'emr:CreateRecord');
    expect(buildReport([...ledger, unread], 'OutsiderMSP').linkage).toMatchObject({ linkablePairs: 6, perHospitalPseudonyms: { linkablePairs: 3 }, perRecordPseudonyms: { linkablePairs: 1 } });
    // A member party to every record links nothing it is not entitled to.
    expect(buildReport([...ledger, read], A).linkage.perHospitalPseudonyms).toEqual({ linkablePairs: 0, crossHospitalPairs: 0 });
  });

  it('a member that is party to nothing learns the whole profile, the identity and every link', () => {
    const r = buildReport(ledger, 'OutsiderMSP');
    expect(r.pseudonyms).toBe(1);
    const p = r.profiles[0]!;
    expect(p.party).toEqual({});
    expect(p.nonParty.identity).toEqual(['alice@HospitalAMSP']);
    expect(p.nonParty['home hospital']).toEqual([A]);
    expect(p.nonParty.categories).toEqual(['cardiology/ecg', 'cardiology/echo', 'oncology/biopsy', 'cardiology']);
    expect(p.nonParty.hospitals).toEqual([A, B]);
    expect(p.nonParty.requesters).toEqual(['researcher1@ResearchInstituteMSP (researcher)', 'doctor1@HospitalBMSP (doctor)']);
    expect(p.nonParty.purposes).toEqual(['research', 'treatment']);
    expect(p.visits).toBe(2); // A's two uploads a minute apart, B's hours later
    // With per-hospital pseudonyms, A's two records would still be tied (and through their accesses); B's record, never accessed, not.
    expect(r.linkage).toEqual({ records: 3, linkablePairs: 3, crossHospitalPairs: 2, pseudonymsWithIdentity: 1, unlinkedRecords: 0, unlinkedTied: 0, perHospitalPseudonyms: { linkablePairs: 1, crossHospitalPairs: 0 }, perRecordPseudonyms: { linkablePairs: 1, crossHospitalPairs: 0 } });
    expect(r.sizesAndTiming).toEqual({ recordsWithSize: 3, distinctSizes: 3, largeRecords: 1, visits: 2 });
    expect(r.meanFieldsPerPseudonym).toBe(9);
  });

  it("an unlinked record is nobody's until a transaction ties it to its patient; then its facts are his", () => {
    const rp = (i: number) => `rp-${String(i).repeat(64)}`;
    const unlinked = (recordId: string, pseudonym: string, ownerMsp: string, category: string, minutes: number) =>
      tx(ownerMsp === A ? doctorA : doctorB, [write('emr.record', [recordId], { recordId, patientPseudonym: pseudonym, ownerMsp, category, size: 4096 }), write('emr.log', [`up-${recordId}`], { entryId: `up-${recordId}`, action: 'record-upload', outcome: 'success', agent: ownerMsp === A ? doctorA : doctorB, patientPseudonym: pseudonym, recordId })], minutes, 'emr:CreateRecord', [{ objectType: 'emr.record~claim', attributes: [pseudonym] }]);
    const filed = [ledger[0]!, ledger[1]!, unlinked('u1', rp(1), B, 'oncology/biopsy', 300), unlinked('u2', rp(2), A, 'psychiatry', 301)];
    const before = buildReport(filed, 'OutsiderMSP');
    expect(before.pseudonyms).toBe(1); // the record pseudonyms are no patients
    expect(before.profiles[0]!.nonParty.categories).toEqual(['cardiology/ecg']);
    expect(before.profiles[0]!.nonParty.hospitals).toEqual([A]);
    expect(before.linkage).toMatchObject({ records: 3, linkablePairs: 0, unlinkedRecords: 2, unlinkedTied: 0 });
    // The researcher reads u1 under the patient's consent: the entry names both.
    const read = tx(researcher, [write('emr.log', ['e9'], { entryId: 'e9', action: 'access-request', outcome: 'success', agent: researcher, patientPseudonym: P, recordId: 'u1', purpose: 'research' })], 310, 'consent:RequestAccess', [{ objectType: 'emr.record', attributes: ['u1'] }, { objectType: 'emr.consent', attributes: ['c1'] }]);
    const after = buildReport([...filed, ledger[4]!, read], 'OutsiderMSP');
    expect(after.profiles[0]!.nonParty.categories).toEqual(expect.arrayContaining(['cardiology/ecg', 'oncology/biopsy']));
    expect(after.profiles[0]!.nonParty.categories).not.toContain('psychiatry');
    expect(after.linkage).toMatchObject({ linkablePairs: 1, crossHospitalPairs: 1, unlinkedRecords: 2, unlinkedTied: 1 });
    // Once tied, the patient's home hospital is a party to the record, as to all his records: no pair is a leak to it.
    expect(buildReport([...filed, ledger[4]!, read], A).linkage.linkablePairs).toBe(0);
    // The reader's own org is a party to what it read, not to the record nobody shared.
    expect(buildReport([...filed, ledger[4]!, read], RI).profiles[0]!.party.categories).toContain('oncology/biopsy');
  });

  it('a blinded category is no category', () => {
    const blinded = ledger.map((t) => ({ ...t, writes: t.writes.map((w) => (w.objectType === 'emr.record' ? { ...w, value: { ...(w.value as object), category: `${'ab'.repeat(16)}/${'cd'.repeat(16)}` } } : w)) }));
    expect(buildReport(blinded, 'OutsiderMSP').profiles[0]!.nonParty.categories).toEqual(['cardiology']); // only the consent's clear scope is left
  });

  it('an opaque enrollment id is no identity', () => {
    const opaque = { mspId: A, enrollmentId: 'pt-0123456789abcdef01234567', role: 'patient' };
    const renamed = ledger.map((t) => (t.creator === patient ? { ...t, creator: opaque } : t)).map((t) => ({
      ...t,
      writes: t.writes.map((w) => (w.objectType === 'emr.registration' ? { ...w, value: { ...(w.value as object), delegator: opaque } } : w)),
    }));
    const r = buildReport(renamed, 'OutsiderMSP');
    expect(r.profiles[0]!.nonParty.identity).toBeUndefined();
    expect(r.linkage.pseudonymsWithIdentity).toBe(0);
  });

  it('splits what a member learns as a party from the leak', () => {
    const home = buildReport(ledger, A);
    expect(home.profiles[0]!.nonParty).toEqual({}); // the home hospital is a party to all of it
    expect(home.linkage.linkablePairs).toBe(0);
    const b = buildReport(ledger, B).profiles[0]!;
    expect(b.party.categories).toEqual(['oncology/biopsy']); // its own record
    expect(b.nonParty.categories).toEqual(['cardiology/ecg', 'cardiology/echo', 'cardiology']);
    expect(b.party.requesters).toEqual(['doctor1@HospitalBMSP (doctor)']);
    expect(buildReport(ledger, B).linkage.linkablePairs).toBe(3); // party to r3 only: r1–r2, r1–r3, r2–r3
    const ri = buildReport(ledger, RI).profiles[0]!;
    expect(ri.party['consent grantees']).toEqual(['researcher1@ResearchInstituteMSP']);
    expect(ri.nonParty.requesters).toEqual(['doctor1@HospitalBMSP (doctor)']);
  });
});
