/**
 * A fixed clinical workload for the privacy audit, so that its reports before and after a
 * change compare like with like: six patients (three of HospitalA, three of HospitalB), each
 * seen at his own hospital and at the other, records in departments that say something
 * (oncology, psychiatry, cardiology), one of them an imaging-sized record; a consent to a
 * researcher and his read; a read by another hospital's doctor under a consent; requests by
 * area, allowed and refused; one patient withdrawing an area's default.
 */
import { randomBytes, randomUUID } from 'node:crypto';
import type { EmrClient } from '../src';

const hour = 3_600_000;
const VISITS: { at: 'home' | 'other'; category: string; size: number }[][] = [
  [{ at: 'home', category: 'cardiology/ecg', size: 2_048 }, { at: 'home', category: 'cardiology/echo', size: 2 * 1024 * 1024 }, { at: 'other', category: 'oncology/biopsy', size: 4_096 }],
  [{ at: 'home', category: 'psychiatry/inpatient', size: 8_192 }, { at: 'other', category: 'psychiatry/outpatient', size: 1_024 }],
  [{ at: 'home', category: 'oncology/chemotherapy', size: 3_000 }, { at: 'other', category: 'cardiology/ecg', size: 2_048 }, { at: 'other', category: 'oncology/biopsy', size: 4_096 }],
];

export interface WorkloadClients {
  /** An SDK client as `user` of `org` (the workload enrolls its patients first). */
  as(org: string, user: string): EmrClient;
  enrollPatient(org: string, user: string): void;
}

/**
 * Runs the workload; answers the pseudonyms it made. `blind`: records and consents with their
 * categories blinded; `pad`: contents padded to their size classes; `unlink`: records filed
 * unlinked, so the other hospital's doctor is granted the first record's category rather than
 * the record (a consent names no unlinked record), and the refused request by area is refused
 * by the patient's hospital's key centre before it reaches the chain (today's flow: none).
 */
export async function runWorkload(c: WorkloadClients, log: (line: string) => void, { blind = false, pad = false, unlink = false } = {}): Promise<string[]> {
  const researcher = c.as('ResearchInstitute', 'researcher1');
  await researcher.registerIdentity();
  const pseudonyms: string[] = [];
  for (const [home, other] of [['HospitalA', 'HospitalB'], ['HospitalB', 'HospitalA']] as const) {
    const doctors = { home: c.as(home, 'doctor1'), other: c.as(other, 'doctor1') };
    await doctors.other.registerIdentity();
    for (const [i, visits] of VISITS.entries()) {
      const user = `privacy-${home.toLowerCase()}-${i}-${randomUUID().slice(0, 6)}`;
      c.enrollPatient(home, user);
      const patient = c.as(home, user);
      await patient.registerPatient();
      const pseudonym = patient.ownPseudonym();
      pseudonyms.push(pseudonym);
      const records: { recordId: string; category: string; at: 'home' | 'other' }[] = [];
      for (const v of visits) {
        const { record } = await doctors[v.at].uploadRecord({ patientPseudonym: pseudonym, category: v.category, source: randomBytes(v.size), blindCategory: blind, padSize: pad, unlinked: unlink });
        records.push({ recordId: record.recordId, category: v.category, at: v.at });
      }
      await patient.makeAreaGrants();
      const window = { validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString(), maxAccesses: 5, hopLimit: 1 };
      const first = records[0]!;
      const research = await patient.grantConsent({ patientPseudonym: pseudonym, grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' }, scope: { category: first.category.split('/')[0]! }, blindCategory: blind, purpose: 'research', ...window });
      await researcher.fetchRecord(first.recordId, { consentId: research.consent.consentId }, { purpose: 'research' });
      const scope = unlink ? { category: first.category } : { recordIds: [first.recordId] };
      const treatment = await patient.grantConsent({ patientPseudonym: pseudonym, grantee: { kind: 'identity', mspId: `${other}MSP`, enrollmentId: 'doctor1' }, scope, blindCategory: blind, purpose: 'treatment', ...window });
      await doctors.other.fetchRecord(first.recordId, { consentId: treatment.consent.consentId }, { purpose: 'treatment' });
      const byArea = { area: true as const, patientPseudonym: pseudonym };
      await doctors.home.fetchRecord(records[records.length - 1]!.recordId, byArea, { purpose: 'treatment' });
      // Refused, not his area: logged on chain, or for an unlinked record refused its link by the key centre.
      await doctors.other.fetchRecord(first.recordId, byArea, { purpose: 'treatment' }).catch(() => undefined);
      if (i === 1) await patient.consents.setAreaPolicy({ patientPseudonym: pseudonym, area: 'own-hospital', purposes: [] });
      log(`patient ${user} (${pseudonym.slice(0, 12)}…): ${records.length} records, 2 consents, 3 reads`);
    }
  }
  return pseudonyms;
}
