/**
 * Unlinked records on the chain (docs/privacy.md, "Linkability"): filed under a record
 * pseudonym, with nothing in the filing that names the patient, and tied to him only by a
 * transaction that carries the link as transient data.
 */
import { linkKey, recordPseudonym } from '@emr/protocol';
import { consentInput, recordInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, proxyId, researcher1, unitLedger } from '../../support/unit-ledger';

const { consent, emr, proxy } = contracts;
const k = new Uint8Array(32).fill(9);
const t = (i: number) => linkKey(k, i);
const rp = (i: number) => recordPseudonym(p1, t(i));
const link = (i: number, patientPseudonym = p1) => ({ link: JSON.stringify({ patientPseudonym, linkKey: t(i) }) });
const at = (minute: number) => `2026-01-01T07:${String(minute).padStart(2, '0')}:00.000Z`;

async function filed() {
  const l = await unitLedger();
  const record = recordInput({ patientPseudonym: rp(0) });
  const reads: string[] = [];
  const getState = l.state.getState.bind(l.state);
  l.state.getState = async (key: string) => (reads.push(key), getState(key));
  await emr.CreateRecord(l.as(B, doctor1), JSON.stringify(record));
  l.state.getState = getState;
  return { ...l, unlinked: record, reads };
}

describe('unlinked records', () => {
  it('are filed under a record pseudonym; the filing reads, writes and logs nothing that names the patient', async () => {
    const { state, unlinked, reads } = await filed();
    expect(reads.length).toBeGreaterThan(0);
    expect(reads.filter((key) => key.includes(p1))).toEqual([]);
    const written = [...state.data].filter(([key, value]) => key.includes(unlinked.recordId) || Buffer.from(value).toString('utf8').includes(unlinked.recordId));
    expect(written.length).toBeGreaterThanOrEqual(3);
    for (const [key, value] of written) expect(key + Buffer.from(value).toString('utf8')).not.toContain(p1);
  });

  it('take one record per pseudonym, no patient signature, and no patient as filer; versions keep the pseudonym', async () => {
    const { as, unlinked, state } = await filed();
    const before = new Map(state.data);
    await expect(emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: rp(0) })))).rejects.toThrow(
      new RegExp(`^CONFLICT\\[patientPseudonym\\]: record pseudonym ${rp(0)} already names record '${unlinked.recordId}'`),
    );
    await expect(emr.CreateRecord(as(A, patient1), JSON.stringify(recordInput({ patientPseudonym: rp(1) })))).rejects.toThrow(/^INVALID_ARGUMENT\[patientPseudonym\]: is a record pseudonym: a patient files his own records under his pseudonym/);
    await expect(emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: rp(1), patientSignature: 'M'.repeat(96) })))).rejects.toThrow(/^INVALID_ARGUMENT\[patientSignature\]: is not taken on an unlinked record/);
    await expect(emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: `rp-${'A'.repeat(64)}` })))).rejects.toThrow(/^INVALID_ARGUMENT\[patientPseudonym\]: must be a record pseudonym/);
    await expect(emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: rp(1), supersedes: unlinked.recordId })))).rejects.toThrow(/^INVALID_ARGUMENT\[supersedes\]: names a record of another patient/);
    expect(state.data).toEqual(before);
    const v2 = JSON.parse(await emr.CreateRecord(as(B, doctor1), JSON.stringify(recordInput({ patientPseudonym: rp(0), supersedes: unlinked.recordId }))));
    expect(v2.version).toBe(2);
    const found = JSON.parse(await emr.FindUnlinkedRecords(as(A, admin), JSON.stringify({ recordPseudonyms: [rp(3), rp(0)] })));
    expect(found.map((r: { recordId: string }) => r.recordId).sort()).toEqual([unlinked.recordId, v2.recordId].sort());
    await expect(emr.FindUnlinkedRecords(as(A, admin), JSON.stringify({ recordPseudonyms: [p1] }))).rejects.toThrow(/^INVALID_ARGUMENT\[recordPseudonyms\[0\]\]/);
    await expect(emr.FindUnlinkedRecords(as(A, admin), '{"recordPseudonyms":[]}')).rejects.toThrow(/^INVALID_ARGUMENT\[recordPseudonyms\]/);
    await expect(emr.FindUnlinkedRecords(as(RI, researcher1), JSON.stringify({ recordPseudonyms: [rp(0)] }))).rejects.toThrow(/^UNAUTHORIZED: /);
  });

  it('are reached by a consent on their category only with the link; the entry and the re-encryption are logged under the patient', async () => {
    const l = await filed();
    const { as, unlinked } = l;
    const c = consentInput({ scope: { category: 'cardiology', type: 'sharable' } });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const { input } = await l.grant({ consentId: c.consentId });
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(input));
    const ask = (transient?: Record<string, string>) => consent.RequestAccess(as(RI, researcher1, at(0), transient), unlinked.recordId, c.consentId, 'research');
    await expect(ask()).rejects.toThrow(/^INVALID_ARGUMENT\[link\]: is required as transient data: record '.*' is unlinked/);
    await expect(ask(link(1))).rejects.toThrow(/^INVALID_ARGUMENT\[link\]: does not tie record/);
    await expect(ask({ link: '{"patientPseudonym":"x"}' })).rejects.toThrow(/^INVALID_ARGUMENT\[link.patientPseudonym\]/);
    await expect(ask({ link: JSON.stringify({ patientPseudonym: p1, linkKey: t(0), extra: 1 }) })).rejects.toThrow(/^INVALID_ARGUMENT\[link.extra\]/);
    const { entry } = JSON.parse(await ask(link(0)));
    expect(entry).toMatchObject({ outcome: 'success', patientPseudonym: p1, recordId: unlinked.recordId });
    const served = JSON.parse(await proxy.LogReEncryption(as(input.proxies[0]!.mspId, proxyId, at(1)), entry.entryId, input.grantId));
    expect(served).toMatchObject({ action: 're-encryption', patientPseudonym: p1, recordId: unlinked.recordId });
    // A consent may not name an unlinked record: it would tie it to the patient for every member.
    await expect(consent.GrantConsent(as(A, patient1), JSON.stringify(consentInput({ scope: { recordIds: [unlinked.recordId] } })))).rejects.toThrow(/^INVALID_ARGUMENT\[scope.recordIds\[0\]\]: names an unlinked record/);
  });

  it('are the patient\'s to erase with the link, and their owner\'s admin\'s without it', async () => {
    const { as, unlinked } = await filed();
    await expect(emr.EraseRecord(as(A, patient1), unlinked.recordId)).rejects.toThrow(/^INVALID_ARGUMENT\[link\]/);
    const otherPatient = { 'hf.EnrollmentID': 'patient2', role: 'patient' };
    await expect(emr.EraseRecord(as(A, otherPatient, at(0), link(0)), unlinked.recordId)).rejects.toThrow(/^(NOT_FOUND|UNAUTHORIZED)\[patientPseudonym\]/);
    const log = await consent.ListRecordLog(as(A, patient1, at(0), link(0)), unlinked.recordId, '10', '');
    expect(JSON.parse(log).entries[0]).toMatchObject({ action: 'record-upload', recordId: unlinked.recordId });
    await emr.EraseRecord(as(A, patient1, at(1), link(0)), unlinked.recordId);
    const entries = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '10', '')).entries;
    expect(entries[0]).toMatchObject({ action: 'record-erasure', patientPseudonym: p1, recordId: unlinked.recordId });
    const other = await filed();
    await expect(emr.EraseRecord(other.as(A, admin), other.unlinked.recordId)).rejects.toThrow(/^UNAUTHORIZED/);
    expect(JSON.parse(await emr.EraseRecord(other.as(B, admin), other.unlinked.recordId)).erased).toBeTruthy();
  });
});
