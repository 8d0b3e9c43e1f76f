/**
 * What the malformed calls aim at, made on the live network before the ledger is measured:
 * a victim patient with a record, a consent with its grant, an allowed access with its
 * receipt, served fragments and an approved break-glass; an attacker patient with records of
 * his own; a benchmark key. Some of these writes are made from proposals kept aside, so the
 * calls can replay signed proposals of committed transactions.
 *
 * Everything that would make a well-formed call succeed is used up here (the record already
 * approved, the receipt confirmed, the break-glass approved, the metadata written), so the
 * calls that reuse these ids are refused for their one defect, not accepted.
 */
import { randomUUID } from 'node:crypto';
import { decodeGrant, encodeCapsule, fromBase64url, toBase64url } from '@emr/crypto';
import { ConsentLedger, EmergencyAccess, EmrClient, EmrIndex, KeyCentreRegistry, ProxyRegistry, capsuleForSlot, type Consent, type EmrRecord, type KeyCentre, type LogEntry, type Registration } from '../../../client/src';
import { callService } from '../../../client/src/wire/call';
import type { ServedFragment } from '../../../client/src/wire/routes';
import { canonicalJson, encodeArgument, pseudonymOf, type AccessDecision, type Argument, type TransactionName } from '@emr/protocol';
import { enroll } from '../../../network/src/network';
import { stateDir } from '../../../network/src/paths';
import type { Gateways, Identity } from './gateways';

export interface Patient extends Identity {
  pseudonym: string;
}

/** A signed proposal of a committed transaction, kept to be sent again. */
export interface KeptProposal {
  transaction: TransactionName;
  caller: Identity;
  bytes: Uint8Array;
}

export interface World {
  channel: string;
  /** Random per fixture: the fresh ids of the calls carry it, so none is ever taken. */
  tag: string;
  victim: Patient;
  attacker: Patient;
  /** The victim's record (real capsule), approved by him; internal metadata written by HospitalA. */
  victimRecord: EmrRecord;
  /** The attacker's record (real capsule), approved by him: his signature is replayed. */
  attackerRecord: EmrRecord;
  /** The attacker's record a doctor indexed, not approved: approving it with another signature is refused. */
  attackerUnapproved: EmrRecord;
  /** The victim's `record-upload` log entry (not an access request). */
  uploadEntryId: string;
  /** The victim's consent for researcher1@ResearchInstitute, its one grant, an allowed access (receipt confirmed). */
  consent: Consent;
  grant: Registration;
  /** The victim's capsule the grant re-encrypts (for the consent's category), base64url. */
  grantCapsule: string;
  access: LogEntry;
  /** The fragment each of the grant's proxies served for the access, signed by it. */
  fragments: ServedFragment[];
  /** A break-glass by doctor1@HospitalA over the victim, approved by doctor2@HospitalA. */
  emergencyId: string;
  /** A category no policy and no record uses. */
  freshCategory: string;
  /** Written by HospitalA's admin with bench:PutState. */
  benchKey: string;
  keyCentres: KeyCentre[];
  kept: KeptProposal[];
}

/** Endorses, submits and waits for the commit, keeping the signed proposal. */
async function submitKept(gateways: Gateways, caller: Identity, transaction: TransactionName, args: Argument[], transient?: Record<string, Argument>): Promise<{ result: Uint8Array; kept: KeptProposal }> {
  const connection = gateways.connection(caller);
  const proposal = connection.contract.newProposal(transaction, {
    arguments: args.map(encodeArgument),
    ...(transient ? { transientData: Object.fromEntries(Object.entries(transient).map(([k, v]) => [k, Buffer.from(encodeArgument(v))])), endorsingOrganizations: [connection.mspId] } : {}),
  });
  const endorsed = await proposal.endorse();
  const status = await (await endorsed.submit()).getStatus();
  if (!status.successful) throw new Error(`fixture ${transaction} was invalidated with code ${status.code}`);
  // Read after endorse: the proposal now carries its signature.
  return { result: endorsed.getResult(), kept: { transaction, caller, bytes: proposal.getBytes() } };
}

const decode = <T>(bytes: Uint8Array): T => JSON.parse(Buffer.from(bytes).toString('utf8')) as T;

/** A new patient of HospitalA, enrolled at its CA, who registers his pseudonym himself (that proposal kept). */
async function newPatient(gateways: Gateways, prefix: string, kept: KeptProposal[]): Promise<Patient> {
  const user = `${prefix}-${randomUUID().slice(0, 8)}`;
  await enroll('HospitalA', user, 'patient');
  const caller = { org: 'HospitalA', user };
  const connection = gateways.connection(caller);
  const pseudonym = pseudonymOf(connection.mspId, connection.certificate);
  kept.push((await submitKept(gateways, caller, 'consent:RegisterPatient', [pseudonym])).kept);
  return { ...caller, pseudonym };
}

const hour = 3_600_000;

export async function makeWorld(gateways: Gateways): Promise<World> {
  const kept: KeptProposal[] = [];
  const [victim, attacker] = [await newPatient(gateways, 'malformed-victim', kept), await newPatient(gateways, 'malformed-attacker', kept)];
  const client = (id: Identity) => EmrClient.connect({ org: id.org, user: id.user, profile: stateDir });
  const doctorId = { org: 'HospitalA', user: 'doctor1' };
  const researcherId = { org: 'ResearchInstitute', user: 'researcher1' };
  const doctor = client(doctorId);
  const victimClient = client(victim);
  try {
    const tag = randomUUID().slice(0, 8);
    const category = `malformed${tag}/notes`;
    const upload = (p: Patient) => doctor.uploadRecord({ patientPseudonym: p.pseudonym, category, source: Buffer.from('{"resourceType":"Bundle","type":"collection"}') });
    const [victimUpload, attackerUpload] = await Promise.all([upload(victim), upload(attacker)]);
    const [victimRecord, attackerRecord] = await Promise.all([
      new EmrIndex(gateways.connection(victim)).approveRecord(victimUpload.record.recordId),
      new EmrIndex(gateways.connection(attacker)).approveRecord(attackerUpload.record.recordId),
    ]);
    // The same content indexed again under another id, by the doctor: a record the attacker has not signed.
    const { patientPseudonym, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys, type } = attackerRecord;
    const recordId = `rec-malformed-${tag}`;
    kept.push((await submitKept(gateways, doctorId, 'emr:CreateRecord', [{ recordId, patientPseudonym, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys }])).kept);
    const doctorIndex = new EmrIndex(gateways.connection(doctorId));
    const attackerUnapproved = await doctorIndex.readRecord(recordId);
    await doctorIndex.putInternalMetadata(victimRecord.recordId, { ward: 'malformed-fixture' });

    const { consent, grants } = await victimClient.grantConsent({
      patientPseudonym: victim.pseudonym,
      grantee: { kind: 'identity', mspId: 'ResearchInstituteMSP', enrollmentId: 'researcher1' },
      scope: { category: category.split('/')[0]! },
      purpose: 'research',
      validFrom: new Date(Date.now() - hour).toISOString(),
      validUntil: new Date(Date.now() + 24 * hour).toISOString(),
      maxAccesses: 5,
      hopLimit: 2,
    });
    const requested = await submitKept(gateways, researcherId, 'consent:RequestAccess', [victimRecord.recordId, consent.consentId, 'research']);
    kept.push(requested.kept);
    const access = decode<AccessDecision>(requested.result).entry;
    if (access.outcome !== 'success') throw new Error(`fixture access was ${access.outcome}: ${access.reason}`);
    const grant = grants[0]!;
    // The victim's capsule the grant re-encrypts: the one for the consent's category (an ancestor of the record's).
    const capsule = toBase64url(encodeCapsule(capsuleForSlot(victimRecord, decodeGrant(fromBase64url(grant.grant, 'grant')).slot)!));
    const endpoints = new Map((await new ProxyRegistry(gateways.connection(victim)).list()).map((p) => [`${p.enrollmentId}@${p.mspId}`, p.endpoint]));
    const fragments = await Promise.all(
      grant.proxies.map((p) =>
        callService<ServedFragment>('proxy', endpoints.get(`${p.enrollmentId}@${p.mspId}`)!, 'POST', '/v1/fragments', { entryId: access.entryId, grantId: grant.grantId, capsule }),
      ),
    );
    await new ConsentLedger(gateways.connection(researcherId)).confirmReceipt(access.entryId);

    const emergencyId = `bg-malformed-${tag}`;
    kept.push((await submitKept(gateways, doctorId, 'emergency:RecordJustification', [emergencyId], { justification: 'malformed-call fixture: patient unconscious, allergies unknown' })).kept);
    kept.push((await submitKept(gateways, doctorId, 'emergency:RequestBreakGlass', [{ emergencyId, patientPseudonym: victim.pseudonym, durationMinutes: 60 }])).kept);
    await new EmergencyAccess(gateways.connection({ org: 'HospitalA', user: 'doctor2' })).approve(emergencyId);

    const benchKey = `malformed-${tag}`;
    kept.push((await submitKept(gateways, { org: 'HospitalA', user: 'admin' }, 'bench:PutState', [benchKey])).kept);

    const log = await new ConsentLedger(gateways.connection(victim)).recordLog(victimRecord.recordId, { pageSize: 100 });
    const uploadEntryId = log.entries.find((e) => e.action === 'record-upload')?.entryId;
    if (!uploadEntryId) throw new Error(`no record-upload entry in ${canonicalJson(log.entries.map((e) => e.action))}`);
    return {
      channel: gateways.connection(victim).channel,
      tag,
      victim,
      attacker,
      victimRecord,
      attackerRecord,
      attackerUnapproved,
      uploadEntryId,
      consent,
      grant,
      grantCapsule: capsule,
      access,
      fragments,
      emergencyId,
      freshCategory: `malformed${tag}/unused`,
      benchKey,
      keyCentres: await new KeyCentreRegistry(gateways.connection(victim)).list(),
      kept,
    };
  } finally {
    for (const c of [doctor, victimClient]) c.close();
  }
}
