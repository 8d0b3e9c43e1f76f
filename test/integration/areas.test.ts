/**
 * Issue 20, access by area on the live network: the consortium's first settings (network up)
 * define three areas and one default, the patient's own hospital's doctors for treatment. A
 * doctor of the patient's hospital is let in without a consent and the log names the rule,
 * and reads the record through the patient's standing grant to the area; another hospital's
 * doctor is not let in, and the key centres refuse him the area's key; the patient withdraws
 * the default and it shuts; a consent to an area lets its members in and read; an unknown
 * area is named; the audit trail shows the rules.
 */
import { randomUUID } from 'node:crypto';
import { extractKey, loadConsortium } from '../../client/src/wire/key-centres';
import { emr, emrJson, requireBuiltClis } from '../support/cli';
import { emrClients, newPatient } from '../support/network';

jest.setTimeout(240_000);
const as = emrClients();
const doctorA = as('HospitalA', 'doctor1');

it('requests by area are decided by the default or the patient\'s own rule, consents can name an area, and the log names the rule', async () => {
  requireBuiltClis();
  const settings = (await emrJson('HospitalB', 'doctor1', ['consortium', 'show'])).doc;
  expect(settings.areas.map((a: { name: string }) => a.name)).toEqual(['own-hospital', 'other-hospitals', 'research']);
  expect(settings.areaDefaults).toEqual([{ area: 'own-hospital', purposes: ['treatment'] }]);

  const { user, pseudonym } = await newPatient('HospitalA', 'area-patient');
  const category = `areas${randomUUID().slice(0, 8)}/notes`;
  const { record } = await doctorA.uploadRecord({ patientPseudonym: pseudonym, category, source: Buffer.from('area test') });
  const request = (org: string, who: string, ...extra: string[]) => emrJson(org, who, ['request', record.recordId, '--area', '--purpose', 'treatment', ...extra], false);

  const own = await request('HospitalA', 'doctor1');
  expect(own.code).toBe(0);
  expect(own.doc.entry).toMatchObject({ outcome: 'success', areaRule: 'own-hospital:default', consentId: null });
  const other = await request('HospitalB', 'doctor1');
  expect(other.code).not.toBe(0);
  expect(other.doc.error.message).toMatch(/access denied \(not-grantee\): 'doctor1' \(HospitalBMSP, doctor\) is in no area with a rule/);

  // Allowed is not yet readable: the keys come with the patient's standing grants, one per area.
  await expect(doctorA.fetchRecord(record.recordId, { area: true }, { purpose: 'treatment' })).rejects.toThrow(/the own-hospital area's rule allowed the request, but patient .* holds no standing grant to the area/);
  const standing = (await emrJson('HospitalA', user, ['area', 'keys'])).doc;
  expect(standing.map((g: { consentId: string }) => g.consentId)).toEqual(['own-hospital', 'other-hospitals', 'research'].map((a) => `area-keys.${a}.${pseudonym}`));
  expect(await as('HospitalA', user).makeAreaGrants()).toEqual([]); // idempotent
  const read = await emr('HospitalA', 'doctor1', ['fetch', record.recordId, '--area', '--purpose', 'treatment']);
  expect(read.stdout).toBe('area test');
  // Cryptographically too: the key centres give the area's key to its members only.
  const keyFor = async (org: string, who: string, identity: string) => {
    const { connection } = as(org, who);
    return extractKey(await loadConsortium(connection), identity, connection);
  };
  await expect(keyFor('HospitalB', 'doctor1', 'area:own-hospital@HospitalAMSP')).rejects.toThrow(/need 2 verified partial keys .* got 0 .*'doctor1@HospitalBMSP' may not get the key of 'area:own-hospital@HospitalAMSP'/);
  await expect(keyFor('HospitalA', 'admin', 'area:own-hospital@HospitalAMSP')).rejects.toThrow(/'admin@HospitalAMSP' may not get the key/); // the area holds doctors only
  await expect(keyFor('HospitalB', 'doctor1', 'area:other-hospitals@HospitalAMSP')).resolves.toBeDefined();

  // The patient withdraws his hospital's default; then the same request is refused by his rule.
  await emrJson('HospitalA', user, ['area', 'set', 'own-hospital', '--patient', pseudonym, '--deny']);
  const withdrawn = await request('HospitalA', 'doctor1');
  expect(withdrawn.doc.error.message).toMatch(/access denied \(revoked\): the patient withdrew the own-hospital area's access \(rule own-hospital:patient\)/);
  const unknown = await emrJson('HospitalA', user, ['area', 'set', 'pharmacies', '--patient', pseudonym, '--purposes', 'treatment'], false);
  expect(unknown.doc.error.message).toMatch(/'pharmacies' is not an area of the consortium \(emr consortium show\); its areas: own-hospital, other-hospitals, research/);

  // A consent to the other hospitals' doctors.
  const granted = (await emrJson('HospitalA', user, ['grant', '--patient', pseudonym, '--grantee', 'area:other-hospitals', '--category', category.split('/')[0]!, '--purpose', 'treatment'])).doc;
  const consentId = granted.consentId as string;
  expect(granted.grantIds).toHaveLength(1); // one grant, to the area's party
  const viaConsent = await as('HospitalB', 'doctor1').fetchRecord(record.recordId, { consentId }, { purpose: 'treatment' });
  expect(viaConsent.entry).toMatchObject({ outcome: 'success', areaRule: 'other-hospitals:consent', consentId });
  expect(viaConsent.data?.toString()).toBe('area test');
  const badArea = await emrJson('HospitalA', user, ['grant', '--patient', pseudonym, '--grantee', 'area:pharmacies', '--category', 'x', '--purpose', 'treatment'], false);
  expect(badArea.doc.error.message).toMatch(/'pharmacies' is not an area of the consortium/);

  // The audit trail shows which area rule decided each request.
  const audit = (await emr('HospitalA', user, ['audit', pseudonym])).stdout;
  expect(audit).toMatch(/access-request\s+success\s+doctor1@HospitalAMSP\s+treatment\s+\S+\s+area own-hospital:default/);
  expect(audit).toMatch(/access-request\s+denied\s+doctor1@HospitalAMSP\s+treatment\s+\S+\s+area own-hospital:patient\s+revoked/);
  expect(audit).toMatch(/area-policy\s+success\s+\S+\s+-\s+-\s+area own-hospital:patient/);
  expect(audit).toMatch(new RegExp(`re-encryption\\s+success\\s+proxy@\\S+\\s+treatment\\s+\\S+\\s+area-keys.own-hospital.${pseudonym}`));
});
