/**
 * The transactions the end-to-end flows added: key centres publishing the DKG outcome,
 * delegated access requests, access entries and grants for the proxies, the patient
 * registration read, and record erasure.
 */
import { toBase64url } from '@emr/crypto';
import { G1 } from '@emr/crypto';
import { KeyCentreContract } from '../../../chaincode/src/key-centre-contract';
import { identity } from '../../support/chaincode-context';
import { consentInput } from '../../support/fixtures';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, proxyId, researcher1, unitLedger } from '../../support/unit-ledger';

const { consent, emr, proxy } = contracts;
const kgc = new KeyCentreContract();
const kgcId = identity('kgc', 'kgc');
const point = (k: bigint) => toBase64url(G1.BASE.multiply(k).toBytes());
const centre = (index: number, over: Record<string, unknown> = {}) =>
  JSON.stringify({ index, endpoint: `http://127.0.0.1:${7359 + index}`, n: 3, threshold: 2, mpk: point(7n), publicShares: [point(1n), point(2n), point(3n)], qual: [1, 2, 3], ...over });

describe('key centres', () => {
  it('each centre registers its index once per org; anyone lists them in index order; other roles cannot register', async () => {
    const { as } = await unitLedger();
    await kgc.RegisterKeyCentre(as(B, kgcId), centre(2));
    await kgc.RegisterKeyCentre(as(A, kgcId), centre(1));
    const list = JSON.parse(await kgc.ListKeyCentres(as(RI, researcher1)));
    expect(list.map((c: { index: number; mspId: string }) => [c.index, c.mspId])).toEqual([[1, A], [2, B]]);
    await expect(kgc.RegisterKeyCentre(as(RI, kgcId), centre(1))).rejects.toThrow(/^INVALID_ARGUMENT\[index\]: centre 1 is already held by HospitalAMSP/);
    await expect(kgc.RegisterKeyCentre(as(RI, admin), centre(3))).rejects.toThrow(/^UNAUTHORIZED: /);
    // Re-registering (after a new DKG) replaces the org's own entry.
    await kgc.RegisterKeyCentre(as(A, kgcId), centre(1, { endpoint: 'http://127.0.0.1:7399' }));
    expect(JSON.parse(await kgc.ListKeyCentres(as(A, doctor1)))[0].endpoint).toBe('http://127.0.0.1:7399');
  });

  it('names what is wrong in a registration', async () => {
    const { as } = await unitLedger();
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ index: 4 }, /\[index\]/],
      [{ threshold: 4 }, /\[threshold\]/],
      [{ mpk: 'abc' }, /\[mpk\]/],
      [{ publicShares: [point(1n)] }, /\[publicShares\]/],
      [{ qual: [2, 1] }, /\[qual\]/],
      [{ qual: [1] }, /\[qual\]/],
      [{ endpoint: 'ftp://x' }, /\[endpoint\]/],
      [{ extra: 1 }, /extra/],
    ];
    for (const [over, field] of cases) await expect(kgc.RegisterKeyCentre(as(A, kgcId), centre(1, over))).rejects.toThrow(field);
    expect(JSON.parse(await kgc.ListKeyCentres(as(A, doctor1)))).toEqual([]);
  });
});

describe('delegated access, access entries, grants by consent', () => {
  it('only the delegatee of a grant requests through it, at its hop; the entry names the grant; the proxies read it', async () => {
    const { as, grant, record, state } = await unitLedger();
    const c = consentInput({ hopLimit: 2, validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-01-02T00:00:00.000Z', purpose: 'research' });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g1 = (await grant({ consentId: c.consentId })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g1));
    const g2 = (await grant({ consentId: c.consentId, hop: 2, parentGrantId: g1.grantId, delegatee: { mspId: B, enrollmentId: 'doctor1' } })).input;
    await consent.RegisterGrant(as(RI, researcher1), JSON.stringify(g2));

    await expect(consent.RequestDelegatedAccess(as(RI, researcher1), record.recordId, g2.grantId, 'research')).rejects.toThrow(/^UNAUTHORIZED\[grantId\]/);
    const { entry } = JSON.parse(await consent.RequestDelegatedAccess(as(B, doctor1), record.recordId, g2.grantId, 'research'));
    expect(entry).toMatchObject({ action: 'access-request', outcome: 'success', grantId: g2.grantId, consentId: c.consentId, agent: { mspId: B, enrollmentId: 'doctor1' } });
    expect(state.events.at(-1)).toEqual({ name: 'access.requested', payload: { entryId: entry.entryId, recordId: record.recordId, consentId: c.consentId, grantId: g2.grantId, outcome: 'success' } });
    const wrongPurpose = JSON.parse(await consent.RequestDelegatedAccess(as(B, doctor1), record.recordId, g2.grantId, 'treatment'));
    expect(wrongPurpose.entry).toMatchObject({ outcome: 'denied', reason: 'wrong-purpose' });

    expect(JSON.parse(await consent.ReadAccessEntry(as(A, proxyId), entry.entryId))).toEqual(entry);
    expect(JSON.parse(await consent.ReadAccessEntry(as(B, doctor1), entry.entryId))).toEqual(entry);
    await expect(consent.ReadAccessEntry(as(RI, researcher1), entry.entryId)).rejects.toThrow(/^UNAUTHORIZED\[entryId\]/);
    await expect(consent.ReadAccessEntry(as(A, patient1), entry.entryId)).rejects.toThrow(/^UNAUTHORIZED: /);

    const grants = JSON.parse(await consent.ListGrantsByConsent(as(A, proxyId), c.consentId, '10', ''));
    expect(grants.grants.map((g: { grantId: string }) => g.grantId).sort()).toEqual([g1.grantId, g2.grantId].sort());

    await consent.RevokeConsent(as(A, patient1), c.consentId);
    expect(JSON.parse(await consent.RequestDelegatedAccess(as(B, doctor1), record.recordId, g2.grantId, 'research')).entry).toMatchObject({ outcome: 'denied', reason: 'revoked' });
  });

  it('a grant past its own expiry refuses requests though the consent is still valid', async () => {
    const { as, grant, record } = await unitLedger();
    const c = consentInput({ validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-01-03T00:00:00.000Z' });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g = (await grant({ consentId: c.consentId, expiresAt: '2026-01-01T12:00:00.000Z' })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g));
    const late = JSON.parse(await consent.RequestDelegatedAccess(as(RI, researcher1, '2026-01-01T13:00:00.000Z'), record.recordId, g.grantId, 'research'));
    expect(late.entry).toMatchObject({ outcome: 'denied', reason: 'expired' });
  });

  it('the key centres and requesters read a pseudonym registration: the home hospital (whose centre gives links), no name', async () => {
    const { as } = await unitLedger();
    const reg = JSON.parse(await consent.ReadPatient(as(B, kgcId), p1));
    expect(reg).toEqual({ patientPseudonym: p1, homeMsp: A, registeredAt: '2026-01-01T06:00:00.000Z', txId: 'tx-1' });
    expect(JSON.parse(await consent.ReadPatient(as(RI, researcher1), p1))).toEqual(reg);
    await expect(consent.ReadPatient(as(RI, proxyId), p1)).rejects.toThrow(/^UNAUTHORIZED: /);
  });
});

describe('EraseRecord', () => {
  it('the patient or an admin of the owning hospital erases; the capsule goes, the hashes stay; everything later is refused', async () => {
    const { as, grant, record } = await unitLedger();
    const c = consentInput({ validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-01-02T00:00:00.000Z' });
    await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
    const g = (await grant({ consentId: c.consentId })).input;
    await consent.RegisterGrant(as(A, patient1), JSON.stringify(g));
    const before = JSON.parse(await consent.RequestAccess(as(RI, researcher1), record.recordId, c.consentId, 'research')).entry;

    await expect(emr.EraseRecord(as(B, admin), record.recordId)).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    await expect(emr.EraseRecord(as(A, doctor1), record.recordId)).rejects.toThrow(/^UNAUTHORIZED: /);
    await expect(emr.EraseRecord(as(B, patient1), record.recordId)).rejects.toThrow(/^UNAUTHORIZED/); // same name, another person
    const erased = JSON.parse(await emr.EraseRecord(as(A, patient1), record.recordId));
    expect(erased).toMatchObject({ encapsulatedKey: '', cid: record.cid, ciphertextSha256: record.ciphertextSha256, erased: { erasedBy: 'patient1' } });
    await expect(emr.EraseRecord(as(A, admin), record.recordId)).rejects.toThrow(/^CONFLICT\[recordId\]/);

    const denied = JSON.parse(await consent.RequestAccess(as(RI, researcher1), record.recordId, c.consentId, 'research'));
    expect(denied.entry).toMatchObject({ outcome: 'denied', reason: 'erased' });
    await expect(proxy.LogReEncryption(as(g.proxies[0]!.mspId, proxyId), before.entryId, g.grantId)).rejects.toThrow(/^CONFLICT\[recordId\]/);
    await expect(emr.ApproveRecord(as(A, patient1), record.recordId, 'MEUCIQ')).rejects.toThrow(/CONFLICT|INVALID_ARGUMENT/);
    const log = JSON.parse(await consent.ListRecordLog(as(A, patient1), record.recordId, '10', ''));
    expect(log.entries.map((e: { action: string }) => e.action)).toContain('record-erasure');
  });
});
