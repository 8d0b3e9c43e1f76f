/**
 * The main job's scenario on the running network, through the SDK as CA-enrolled
 * identities: real Fabric transactions, real Kubo nodes, the key centres and the proxies.
 * Prints each step and ends with the patient's audit trail.
 */
import { AccessDeniedError, ConflictError, EmrClient, type LogEntry } from '@emr/client';
import { describeSetting } from './ordering';
import { stateDir } from './paths';
import { runningSetting } from './run-state';

const clients: EmrClient[] = [];
function as(org: string, user: string): EmrClient {
  const c = EmrClient.connect({ org, user, profile: stateDir });
  clients.push(c);
  return c;
}

let n = 0;
const step = (text: string) => console.log(`\n[${++n}] ${text}`);
const show = (label: string, value: unknown) => console.log(`    ${label}: ${typeof value === 'string' ? value : JSON.stringify(value)}`);
const ms = (t: Record<string, number | undefined>) => Object.entries(t).map(([k, v]) => `${k} ${Math.round(v ?? 0)} ms`).join(', ');
const hour = 3_600_000;

/** A FHIR R4 bundle: an ECG observation (synthetic). */
function fhirBundle(): Buffer {
  return Buffer.from(
    JSON.stringify({
      resourceType: 'Bundle',
      type: 'collection',
      entry: [
        { resource: { resourceType: 'Patient', id: 'p1', gender: 'female', birthDate: '1961-04-12' } },
        {
          resource: {
            resourceType: 'Observation',
            id: 'ecg1',
            status: 'final',
            code: { coding: [{ system: 'http://loinc.org', code: '11524-6', display: 'EKG study' }] },
            subject: { reference: 'Patient/p1' },
            valueString: 'Sinus rhythm, 72 bpm, QTc 410 ms; no acute changes.',
          },
        },
      ],
    }),
  );
}

async function main(): Promise<void> {
  const setting = runningSetting();
  if (!setting) throw new Error('the network is not up: run `npm run network -- up` first');
  console.log(`channel emr, ordering service ${describeSetting(setting)}`);
  const hospital = as('HospitalA', 'doctor1');
  const patient = as('HospitalA', 'patient1');
  const researcher = as('ResearchInstitute', 'researcher1');
  const doctorB = as('HospitalB', 'doctor1');
  const specialist = as('HospitalB', 'specialist1');

  // The patient's pseudonym is derived from his own enrollment key; he registers it himself.
  const pseudonym = patient.ownPseudonym();
  step('patient1 (enrolled by HospitalA) registers his pseudonym, derived from his own key: no other org can claim it');
  const registered = await patient.registerPatient().then(
    () => 'registered',
    (err: unknown) => {
      if (err instanceof ConflictError) return 'already registered by an earlier run';
      throw err;
    },
  );
  show('pseudonym', `${pseudonym} (${registered})`);

  const bundle = fhirBundle();
  step(`HospitalA's doctor1 uploads an ECG (FHIR R4 bundle, ${bundle.length} bytes): encrypted as it streams, stored on two Kubo nodes, indexed on chain`);
  const uploaded = await hospital.uploadRecord({ patientPseudonym: pseudonym, category: 'cardiology/ecg', source: bundle });
  show('record', `${uploaded.record.recordId} v${uploaded.record.version} (${uploaded.record.category}, ${uploaded.record.type})`);
  show('CIDv1', uploaded.record.cid);
  show('pinned on', (await uploaded.replicated).pinnedOn.join(', '));
  show('SHA-256 of ciphertext on chain', uploaded.record.ciphertextSha256);
  show('time', ms(uploaded.timings));
  const recordId = uploaded.record.recordId;

  const window = { validFrom: new Date(Date.now() - hour).toISOString(), validUntil: new Date(Date.now() + 24 * hour).toISOString() };
  step('The patient grants researcher1 (ResearchInstitute) his cardiology records for research, 3 uses');
  const research = await patient.grantConsent({
    patientPseudonym: pseudonym,
    grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
    scope: { category: 'cardiology', type: 'sharable' },
    purpose: 'research',
    ...window,
    maxAccesses: 3,
    hopLimit: 1,
  });
  show('consent', `${research.consent.consentId} (${research.consent.status})`);
  for (const g of research.grants) show('grant', `${g.grantId}: ${g.threshold} of ${g.proxies.length} proxies (${g.proxies.map((p) => p.mspId).join(', ')})`);

  step('The researcher reads it: access on chain → 2 verified proxy fragments → data key → IPFS → SHA-256 check → decrypt → receipt');
  const read = await researcher.fetchRecord(recordId, { consentId: research.consent.consentId }, { purpose: 'research' });
  show('plaintext', `${read.bytes} bytes, identical to the upload: ${read.data!.equals(bundle) ? 'yes' : 'NO'}`);
  show('observation', (JSON.parse(read.data!.toString()) as { entry: { resource: { valueString?: string } }[] }).entry[1]!.resource.valueString!);
  show('time', ms(read.timings));
  await read.receiptCommitted;

  step("The patient grants HospitalB's doctor1 his cardiology records for treatment, re-delegable once (hop limit 2)");
  const care = await patient.grantConsent({
    patientPseudonym: pseudonym,
    grantee: { kind: 'identity', mspId: 'HospitalBMSP', enrollmentId: 'doctor1' },
    scope: { category: 'cardiology' },
    purpose: 'treatment',
    ...window,
    maxAccesses: 10,
    hopLimit: 2,
  });
  const doctorGrant = care.grants[0]!;
  show('consent', `${care.consent.consentId}, grant ${doctorGrant.grantId}`);

  step("HospitalB's doctor1 re-delegates to specialist1 (a second hop: new proxies, the capsule keeps its size)");
  const delegated = await doctorB.delegate(doctorGrant.grantId, { mspId: 'HospitalBMSP', enrollmentId: 'specialist1' });
  show('grant', `${delegated.grantId} at hop ${delegated.hop}, parent ${delegated.parentGrantId}`);
  const viaSpecialist = await specialist.fetchRecord(recordId, { grantId: delegated.grantId }, { purpose: 'treatment' });
  await viaSpecialist.receiptCommitted;
  show('specialist1 read', `${viaSpecialist.bytes} bytes, identical: ${viaSpecialist.data!.equals(bundle) ? 'yes' : 'NO'} (${ms(viaSpecialist.timings)})`);

  step("The patient revokes the researcher's consent; the next read is refused on chain and by the proxies");
  await patient.revokeConsent(research.consent.consentId);
  try {
    await researcher.fetchRecord(recordId, { consentId: research.consent.consentId }, { purpose: 'research' });
    throw new Error('the revoked consent still allowed a read');
  } catch (err) {
    if (!(err instanceof AccessDeniedError)) throw err;
    show(`refused (${err.reason})`, err.detail);
  }

  step("The patient's audit trail (newest first), from his own hospital's peer");
  const trail = await patient.auditTrail(pseudonym);
  for (const e of trail) console.log(`    ${describe(e)}`);
  console.log(`\ndemo finished: ${trail.length} audit entries; every step above ran on the live network`);
}

function describe(e: LogEntry): string {
  const who = `${e.agent.enrollmentId}@${e.agent.mspId.replace(/MSP$/, '')}`;
  const what = [e.recordId && `record ${e.recordId.slice(0, 12)}…`, e.consentId && `consent ${e.consentId.slice(0, 16)}…`, e.purpose].filter(Boolean).join(', ');
  return `${e.recorded}  ${e.action.padEnd(20)} ${e.outcome.padEnd(7)} ${who.padEnd(34)} ${what}${e.reason ? ` (${e.reason})` : ''}`;
}

main()
  .catch((err: Error) => {
    console.error(`demo failed: ${err.stack ?? err.message}`);
    process.exitCode = 1;
  })
  .finally(() => clients.forEach((c) => c.close()));
