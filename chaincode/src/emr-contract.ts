import { ChaincodeError, ErrorCode, MAX_PAGE_SIZE, canonicalJson, checkPseudonym, checkRecordId, invalid, isRecordPseudonym, type EmrRecord, type PatientRegistration, type RecordCreation } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { authorize, callerOf } from './access';
import { parseJsonObject, rejectUnknownFields, transientText } from './ledger';
import { MAX_INTERNAL_BYTES, checkAncestorKeys, checkEncapsulatedKey, checkRecordType, checkSignature, parsePageSize, parseRecordInput } from './records';
import { requireCategory } from './consortium';
import { session } from './session';

/** Every transaction answers canonical JSON so all endorsers return identical bytes. */
@Info({ title: 'EmrContract', description: 'EMR index records: create, version, patient approval, type switch, hospital-internal metadata' })
export class EmrContract extends BatchingContract {
  constructor() {
    super('emr');
  }

  /** The caller as the chaincode sees it (MSP, enrollment id, role): for health checks and debugging identities. */
  @Transaction(false)
  @Returns('string')
  async WhoAmI(ctx: Context): Promise<string> {
    const caller = callerOf(ctx.clientIdentity);
    authorize(caller, 'emr:WhoAmI');
    return canonicalJson(caller);
  }

  /**
   * Indexes a record owned by the caller's hospital: by one of its doctors, or by the
   * patient himself, who then signs the index fields (`patientSignature`).
   */
  @Transaction()
  @Returns('string')
  async CreateRecord(ctx: Context, recordJson: string): Promise<string> {
    const s = session(ctx, 'emr:CreateRecord');
    const input = parseRecordInput(recordJson);
    const unlinked = isRecordPseudonym(input.patientPseudonym);
    await s.stub.prefetch([...(unlinked ? [] : [s.patients.keyOf(input.patientPseudonym)]), s.consortium.key(), ...s.records.keysToCreate(input)]);
    const settings = await s.consortium.settings();
    requireCategory(settings, input.category, 'category');
    if (settings.unlinkRecords && !unlinked && s.caller.role !== 'patient' && input.supersedes === undefined) {
      throw invalid('patientPseudonym', "is the patient's own pseudonym, and the consortium files records unlinked (emr consortium show): file it under a record pseudonym from his hospital's key centre, as the SDK does by default");
    }
    let signer: PatientRegistration | undefined;
    if (unlinked) {
      // Nothing here may read the patient's keys: the read set is public, and would tie the record to him.
      if (s.caller.role === 'patient') throw invalid('patientPseudonym', "is a record pseudonym: a patient files his own records under his pseudonym, since his certificate names him in the transaction anyway");
      if (input.patientSignature) throw invalid('patientSignature', 'is not taken on an unlinked record: the signature would name its patient');
    } else if (s.caller.role === 'patient') {
      signer = await s.patients.requirePatient(input.patientPseudonym, 'index records under this pseudonym');
      if (!input.patientSignature) throw invalid('patientSignature', 'is required when the patient creates the record');
    } else {
      // Only for a registered patient: a record filed under an unclaimed pseudonym would go to whoever claimed it.
      await s.patients.require(input.patientPseudonym);
      if (input.patientSignature) throw invalid('patientSignature', 'is given by the patient himself (CreateRecord or ApproveRecord as the patient)');
    }
    const record = await s.records.create(input, s.caller, s.tx, signer ? (r) => s.requirePatientSignature(r, 'patientSignature', signer) : undefined);
    const action = record.supersedes ? 'record-version' : 'record-upload';
    await s.log.append({ action, outcome: 'success', reason: null, agent: s.caller, patientPseudonym: record.patientPseudonym, recordId: record.recordId, consentId: null, purpose: null });
    const { recordId, version, ownerMsp, createdBy, createdAt, txId } = record;
    return canonicalJson({ recordId, version, ownerMsp, createdBy, createdAt, txId } satisfies RecordCreation);
  }

  @Transaction(false)
  @Returns('string')
  async ReadRecord(ctx: Context, recordId: string): Promise<string> {
    const { records } = session(ctx, 'emr:ReadRecord');
    checkRecordId(recordId);
    return canonicalJson(await records.require(recordId));
  }

  @Transaction(false)
  @Returns('string')
  async ListRecordsByPatient(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { records } = session(ctx, 'emr:ListRecordsByPatient');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(pageSize);
    return canonicalJson(await records.listByPatient(patientPseudonym, size, bookmark));
  }

  /**
   * The records filed under these record pseudonyms, for a holder of the patient's key walking
   * his unlinked records (@emr/protocol linking.ts). Argument: JSON {recordPseudonyms: 1 to
   * 100 of them}. A pseudonym names nobody, so this lists only what the caller can already name.
   */
  @Transaction(false)
  @Returns('string')
  async FindUnlinkedRecords(ctx: Context, queryJson: string): Promise<string> {
    const { records } = session(ctx, 'emr:FindUnlinkedRecords');
    const query = parseJsonObject(queryJson, 'query');
    rejectUnknownFields(query, ['recordPseudonyms']);
    const pseudonyms = query.recordPseudonyms;
    if (!Array.isArray(pseudonyms) || pseudonyms.length < 1 || pseudonyms.length > MAX_PAGE_SIZE) throw invalid('recordPseudonyms', `must be a JSON array of 1 to ${MAX_PAGE_SIZE} record pseudonyms`);
    pseudonyms.forEach((p, i) => {
      if (!isRecordPseudonym(p)) throw invalid(`recordPseudonyms[${i}]`, 'must be a record pseudonym: "rp-" and 64 lowercase hex characters');
    });
    return canonicalJson(await records.findByRecordPseudonyms(pseudonyms as string[]));
  }

  /** The patient signs the index fields of a record a doctor created. */
  @Transaction()
  @Returns('string')
  async ApproveRecord(ctx: Context, recordId: string, signature: string): Promise<string> {
    const s = session(ctx, 'emr:ApproveRecord');
    checkRecordId(recordId);
    checkSignature(signature);
    const record = await s.records.require(recordId);
    const { patientPseudonym } = s.asPatients(record);
    const patient = await s.patients.requirePatient(patientPseudonym, 'approve this record');
    const approved = await s.records.approve(record, signature, (r) => s.requirePatientSignature(r, 'signature', patient), s.tx);
    await s.log.append({ action: 'record-approval', outcome: 'success', reason: null, agent: s.caller, patientPseudonym, recordId, consentId: null, purpose: null });
    return canonicalJson(approved);
  }

  /**
   * The patient switches a record between sharable and non-sharable. Argument: JSON
   * {recordId, type, encapsulatedKey and ancestorKeys (the data key re-encapsulated for the
   * new type, every capsule the record has), signature}.
   */
  @Transaction()
  @Returns('string')
  async SwitchType(ctx: Context, switchJson: string): Promise<string> {
    const s = session(ctx, 'emr:SwitchType');
    const raw = parseJsonObject(switchJson, 'switch');
    rejectUnknownFields(raw, ['recordId', 'type', 'encapsulatedKey', 'ancestorKeys', 'signature']);
    const recordId = checkRecordId(typeof raw.recordId === 'string' ? raw.recordId : '');
    const type = checkRecordType(raw.type);
    const encapsulatedKey = checkEncapsulatedKey(raw.encapsulatedKey);
    const signature = checkSignature(raw.signature);
    const record = await s.records.require(recordId);
    // As many capsules as the record has: none for one indexed before ancestor capsules existed.
    const legacy = record.ancestorKeys.length === 0;
    if (legacy && raw.ancestorKeys !== undefined && !(Array.isArray(raw.ancestorKeys) && raw.ancestorKeys.length === 0)) {
      throw invalid('ancestorKeys', `must be empty: record '${recordId}' was indexed before ancestor capsules and has none`);
    }
    const ancestorKeys = legacy ? [] : checkAncestorKeys(raw.ancestorKeys, record.category);
    const { patientPseudonym } = s.asPatients(record);
    const patient = await s.patients.requirePatient(patientPseudonym, "switch this record's type");
    const switched = await s.records.switchType(record, { type, encapsulatedKey, ancestorKeys, signature }, (r) => s.requirePatientSignature(r, 'signature', patient), s.tx);
    await s.log.append({ action: 'type-switch', outcome: 'success', reason: null, agent: s.caller, patientPseudonym, recordId, consentId: null, purpose: null });
    s.event('record.type-switched', { recordId, type });
    return canonicalJson(switched);
  }

  /**
   * Erases a record (the right to erasure): by its patient or an admin of the hospital that
   * owns it. The capsule leaves the world state; requests and re-encryptions are refused
   * from now on. The SDK unpins the ciphertext from every IPFS node (docs/chaincode.md).
   */
  @Transaction()
  @Returns('string')
  async EraseRecord(ctx: Context, recordId: string): Promise<string> {
    const s = session(ctx, 'emr:EraseRecord');
    checkRecordId(recordId);
    const record = await s.records.require(recordId);
    let { patientPseudonym } = record;
    if (s.caller.role === 'admin') this.requireOwnerStaff(record, s.caller);
    else ({ patientPseudonym } = await s.patients.requirePatient(s.asPatients(record).patientPseudonym, 'erase this record'));
    const erased = await s.records.erase(record, s.caller, s.tx);
    await s.log.append({ action: 'record-erasure', outcome: 'success', reason: null, agent: s.caller, patientPseudonym, recordId, consentId: null, purpose: null });
    s.event('record.erased', { recordId });
    return canonicalJson(erased);
  }

  /**
   * The owning hospital's internal metadata of a record (transient `metadata`, a JSON
   * object), written only to its implicit private data collection. Submit it endorsed by
   * the own org only, so the data never leaves it.
   */
  @Transaction()
  @Returns('string')
  async PutInternalMetadata(ctx: Context, recordId: string): Promise<string> {
    const s = session(ctx, 'emr:PutInternalMetadata');
    checkRecordId(recordId);
    const metadata = parseJsonObject(transientText(s.stub, 'metadata', MAX_INTERNAL_BYTES), 'metadata');
    const record = await s.records.require(recordId);
    this.requireOwnerStaff(record, s.caller);
    return canonicalJson(await s.records.putInternal(record, metadata, s.caller, s.tx));
  }

  /** Read on the owning hospital's own peer, by its doctors and admins. */
  @Transaction(false)
  @Returns('string')
  async ReadInternalMetadata(ctx: Context, recordId: string): Promise<string> {
    const s = session(ctx, 'emr:ReadInternalMetadata');
    checkRecordId(recordId);
    const record = await s.records.require(recordId);
    this.requireOwnerStaff(record, s.caller);
    return canonicalJson(await s.records.getInternal(record));
  }

  private requireOwnerStaff(record: EmrRecord, caller: { mspId: string; enrollmentId: string }): void {
    if (caller.mspId !== record.ownerMsp) throw new ChaincodeError(ErrorCode.Unauthorized, `record '${record.recordId}' is owned by ${record.ownerMsp}`, 'recordId');
  }
}
