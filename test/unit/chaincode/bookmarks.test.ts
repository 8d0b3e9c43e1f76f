/**
 * The lists' bookmarks on a state that pages as the peer does (test/support/memory-state.ts:
 * the page starts at the bookmark, unchecked). A bookmark from another patient's range listed
 * that patient's consents, log and records to a caller authorized for his own; every list now
 * refuses a bookmark outside its own range, and pages through its own as before.
 */
import { consentInput } from '../../support/fixtures';
import { identity, pseudonymFor } from '../../support/chaincode-context';
import { A, admin, contracts, doctor1, p1, patient1, unitLedger } from '../../support/unit-ledger';

const { emr, consent } = contracts;
const patient2 = identity('patient2', 'patient');
const p2 = pseudonymFor(A, 'patient2');
const key = (objectType: string, ...attributes: string[]) => `\u0000${objectType}\u0000${attributes.map((a) => `${a}\u0000`).join('')}`;

async function twoPatients() {
  const ledger = await unitLedger();
  await consent.RegisterPatient(ledger.as(A, patient2), p2);
  // patient1 grants two consents, so his lists have entries in their ranges.
  for (let i = 0; i < 2; i++) await consent.GrantConsent(ledger.as(A, patient1), JSON.stringify(consentInput({ consentId: `c1-${i}`, validFrom: '2026-01-01T00:00:00.000Z', validUntil: '2027-01-01T00:00:00.000Z' })));
  return ledger;
}

describe('a bookmark outside the list it is given to', () => {
  it("does not list another patient's consents, log or records: INVALID_ARGUMENT[bookmark]", async () => {
    const { as, record } = await twoPatients();
    const attempts: [string, () => Promise<string>][] = [
      ['consents', () => consent.ListConsentsByPatient(as(A, patient2), p2, '100', key('emr.consent~patient', p1))],
      ['consents from the start of all keys', () => consent.ListConsentsByPatient(as(A, patient2), p2, '100', '\u0000')],
      ['the log', () => consent.ListPatientLog(as(A, patient2), p2, '100', `r:${key('emr.log~patient', p1)}`)],
      ['the overrides', () => consent.ListPatientLog(as(A, patient2), p2, '100', `o:${key('emr.log~patient', p1)}`)],
      ['a record log', () => consent.ListRecordLog(as(A, admin), record.recordId, '100', key('emr.log~patient', p1))],
      ['records', () => emr.ListRecordsByPatient(as(A, doctor1), p2, '100', key('emr.record~patient', p1))],
      ['grants', () => consent.ListGrantsByConsent(as(A, patient1), 'c1-0', '100', key('emr.registration~consent', 'c1-1'))],
      ['garbage', () => consent.ListConsentsByPatient(as(A, patient2), p2, '100', 'abc')],
    ];
    for (const [what, attempt] of attempts) {
      const err = await attempt().then(
        (answer) => ({ code: 'ANSWERED', field: answer.slice(0, 200) }),
        (e: { code?: string; field?: string; message: string }) => ({ code: e.code ?? e.message, field: e.field }),
      );
      expect([what, err]).toEqual([what, { code: 'INVALID_ARGUMENT', field: 'bookmark' }]);
    }
  });

  it('its own bookmarks still page through its own range', async () => {
    const { as } = await twoPatients();
    const first = JSON.parse(await consent.ListConsentsByPatient(as(A, patient1), p1, '1', ''));
    expect(first.consents.map((c: { consentId: string }) => c.consentId)).toEqual(['c1-0']);
    expect(first.bookmark.startsWith(key('emr.consent~patient', p1))).toBe(true);
    const second = JSON.parse(await consent.ListConsentsByPatient(as(A, patient1), p1, '1', first.bookmark));
    expect(second.consents.map((c: { consentId: string }) => c.consentId)).toEqual(['c1-1']);
    const log = JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '1', ''));
    expect(JSON.parse(await consent.ListPatientLog(as(A, patient1), p1, '1', log.bookmark)).entries).toHaveLength(1);
  });
});
