/**
 * ReportKeyLeak and ListGrants: a leaked grant key is proven on chain without being put
 * there, and lands in the patient's log naming the grant's holders; a data key report is
 * the patient's or the record hospital's word, logged as unproven.
 */
import { G2, encodeKeyPossession, hashToG2, proveKeyPossession, toBase64url, type G2Point, type GrantPublic } from '@emr/crypto';
import { KeyCentreContract } from '../../../chaincode/src/key-centre-contract';
import { identity } from '../../support/chaincode-context';
import { consentInput } from '../../support/fixtures';
import { centresForTests } from '../../support/grants';
import { A, B, RI, admin, contracts, doctor1, p1, patient1, researcher1, unitLedger } from '../../support/unit-ledger';

const { consent } = contracts;
const kgc = new KeyCentreContract();
const kgcId = identity('kgc', 'kgc');

async function ledgerWithGrants({ centres = true } = {}) {
  const ledger = await unitLedger();
  const { as, grant } = ledger;
  if (centres) {
    const { params, publicShares } = centresForTests();
    const point = (p: { toBytes(): Uint8Array }) => toBase64url(p.toBytes());
    const input = (index: number) => JSON.stringify({ index, endpoint: `http://127.0.0.1:${7359 + index}`, n: 3, threshold: 2, mpk: point(params.mpk), publicShares: publicShares.map(point), qual: [1, 2, 3] });
    await kgc.RegisterKeyCentre(as(A, kgcId), input(1));
    await kgc.RegisterKeyCentre(as(B, kgcId), input(2));
  }
  const c = consentInput({ hopLimit: 2, validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2026-01-02T00:00:00.000Z', purpose: 'research' });
  await consent.GrantConsent(as(A, patient1), JSON.stringify(c));
  const g1 = await grant({ consentId: c.consentId });
  await consent.RegisterGrant(as(A, patient1), JSON.stringify(g1.input));
  const g2 = await grant({ consentId: c.consentId, hop: 2, parentGrantId: g1.input.grantId, delegatee: { mspId: B, enrollmentId: 'doctor1' } });
  await consent.RegisterGrant(as(RI, researcher1), JSON.stringify(g2.input));
  return { ...ledger, consentId: c.consentId, g1, g2 };
}

const report = (grant: GrantPublic, key: G2Point, reporter: string) => JSON.stringify({ kind: 'grant-key', grantId: grant.grantId, proof: toBase64url(encodeKeyPossession(proveKeyPossession(grant, key, reporter))) });

describe('a leaked grant key', () => {
  it('is proven by whoever holds it and logged for the patient with the grant, its delegatee, delegator, hop and consent', async () => {
    const { as, state, consentId, g2 } = await ledgerWithGrants();
    const entry = JSON.parse(await consent.ReportKeyLeak(as(B, admin), report(g2.grant, g2.key, `admin@${B}`)));
    expect(entry).toMatchObject({
      action: 'key-leak',
      outcome: 'success',
      agent: { mspId: B, enrollmentId: 'admin', role: 'admin' },
      patientPseudonym: p1,
      consentId,
      grantId: g2.grant.grantId,
      leak: { kind: 'grant-key', proven: true, delegatee: { mspId: B, enrollmentId: 'doctor1' }, delegator: { mspId: RI, enrollmentId: 'researcher1' }, hop: 2 },
    });
    expect(state.events.at(-1)).toEqual({ name: 'key.leaked', payload: { entryId: entry.entryId, grantId: g2.grant.grantId, consentId } });
    expect(JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '50', '')).entries).toContainEqual(entry);
    // The key never reaches the ledger: neither it nor its encoding is in any value written.
    const written = [...state.data.values()].map((v) => Buffer.from(v).toString('utf8')).join('\n');
    expect(written).not.toContain(toBase64url(g2.key.toBytes()));
    await expect(consent.ReportKeyLeak(as(A, doctor1), report(g2.grant, g2.key, `doctor1@${A}`))).rejects.toThrow(/^CONFLICT\[grantId\]: the grant-key of '.*' was reported leaked already, in transaction tx-\d+/);
  });

  it('is refused without the key: a copied proof, a proof for another grant, a key that is not the grant\'s, a forged proof', async () => {
    const { as, state, g1, g2 } = await ledgerWithGrants();
    const before = new Map(state.data);
    await expect(consent.ReportKeyLeak(as(A, doctor1), report(g2.grant, g2.key, `admin@${B}`))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]: does not prove that doctor1@HospitalAMSP holds the key of grant/);
    const forOther = JSON.parse(report(g2.grant, g2.key, `admin@${B}`));
    await expect(consent.ReportKeyLeak(as(B, admin), JSON.stringify({ ...forOther, grantId: g1.grant.grantId }))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]/);
    await expect(consent.ReportKeyLeak(as(B, admin), report(g1.grant, g2.key, `admin@${B}`))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]/);
    const forged = toBase64url(encodeKeyPossession({ c: 12345n, z: hashToG2('forged').add(G2.BASE) }));
    await expect(consent.ReportKeyLeak(as(B, admin), JSON.stringify({ kind: 'grant-key', grantId: g1.grant.grantId, proof: forged }))).rejects.toThrow(/^INVALID_ARGUMENT\[proof\]/);
    expect(state.data).toEqual(before);
  });

  it('names what is wrong in a report, and needs the key centres\' agreed parameters', async () => {
    const { as, g1 } = await ledgerWithGrants({ centres: false });
    const cases: [unknown, RegExp][] = [
      [{ grantId: g1.grant.grantId, proof: 'AAAA' }, /^INVALID_ARGUMENT\[kind\]/],
      [{ kind: 'grant-key', grantId: g1.grant.grantId }, /^INVALID_ARGUMENT\[proof\]: must be a base64url/],
      [{ kind: 'grant-key', grantId: g1.grant.grantId, proof: 'AAAA' }, /^INVALID_ARGUMENT\[proof\]: is not an encoded proof/],
      [{ kind: 'grant-key', grantId: g1.grant.grantId, proof: 'AAAA', extra: 1 }, /extra/],
      [{ kind: 'data-key', recordId: 'r1', proof: 'AAAA' }, /proof/],
      [[], /^INVALID_ARGUMENT\[report\]/],
    ];
    for (const [body, error] of cases) await expect(consent.ReportKeyLeak(as(B, admin), JSON.stringify(body))).rejects.toThrow(error);
    await expect(consent.ReportKeyLeak(as(B, admin), report(g1.grant, g1.key, `admin@${B}`))).rejects.toThrow(/^NOT_FOUND\[grantId\]: the key centres have not agreed on parameters \(0 registered\)/);
    await expect(consent.ReportKeyLeak(as(A, identity('kgc', 'kgc')), report(g1.grant, g1.key, `kgc@${A}`))).rejects.toThrow(/^UNAUTHORIZED: /);
  });
});

describe('a leaked data key', () => {
  it('is reported by the record\'s patient or an admin of its hospital, logged as unproven, once', async () => {
    const { as, record } = await unitLedger();
    await expect(consent.ReportKeyLeak(as(A, doctor1), JSON.stringify({ kind: 'data-key', recordId: record.recordId }))).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    await expect(consent.ReportKeyLeak(as(B, admin), JSON.stringify({ kind: 'data-key', recordId: record.recordId }))).rejects.toThrow(/^UNAUTHORIZED\[recordId\]/);
    const entry = JSON.parse(await consent.ReportKeyLeak(as(A, patient1), JSON.stringify({ kind: 'data-key', recordId: record.recordId })));
    expect(entry).toMatchObject({ action: 'key-leak', recordId: record.recordId, patientPseudonym: p1, consentId: null, leak: { kind: 'data-key', proven: false } });
    expect(JSON.parse(await consent.ListRecordLog(as(A, admin), record.recordId, '50', '')).entries).toContainEqual(entry);
    await expect(consent.ReportKeyLeak(as(A, admin), JSON.stringify({ kind: 'data-key', recordId: record.recordId }))).rejects.toThrow(/^CONFLICT\[recordId\]/);
  });
});

describe('every registered grant', () => {
  it('is listed a page at a time, for admins only', async () => {
    const { as, g1, g2 } = await ledgerWithGrants();
    const first = JSON.parse(await consent.ListGrants(as(RI, admin), '1', ''));
    const second = JSON.parse(await consent.ListGrants(as(RI, admin), '1', first.bookmark));
    expect([...first.grants, ...second.grants].map((g: { grantId: string }) => g.grantId).sort()).toEqual([g1.grant.grantId, g2.grant.grantId].sort());
    await expect(consent.ListGrants(as(A, doctor1), '10', '')).rejects.toThrow(/^UNAUTHORIZED: /);
  });
});
