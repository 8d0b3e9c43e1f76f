/** Typed access to the chaincode's EMR index transactions. */
import { createdRecord, recordSigningPayload, type RecordLink, signatureSchemeOf, type Caller, type EmrRecord, type EmrRecordInput, type InternalMetadata, type RecordPage, type RecordType, type SignedRecordFields } from '@emr/protocol';
import { ContractClient, allPages, type PageOptions } from './contract-client';

export class EmrIndex extends ContractClient {
  /** The caller's identity as the chaincode reads it from the certificate. */
  whoAmI(): Promise<Caller> {
    return this.evaluate('emr:WhoAmI');
  }

  /** Indexes a record owned by the caller's hospital (caller: one of its doctors); resolves once committed. */
  async createRecord(input: EmrRecordInput): Promise<EmrRecord> {
    return createdRecord(input, await this.submit('emr:CreateRecord', input));
  }

  /** The patient indexes his own record, signing the index fields as they will be stored. */
  async createRecordAsPatient(input: Omit<EmrRecordInput, 'patientSignature'>): Promise<EmrRecord> {
    const version = input.supersedes ? (await this.readRecord(input.supersedes)).version + 1 : 1;
    const fields = { ...input, ownerMsp: this.connection.mspId, version, supersedes: input.supersedes ?? null };
    const signed = { ...input, patientSignature: this.patientSignature(fields) };
    return createdRecord(signed, await this.submit('emr:CreateRecord', signed));
  }

  /** Erases a record (its patient, or an admin of its hospital): the capsule leaves the world state. */
  eraseRecord(recordId: string, link?: RecordLink): Promise<EmrRecord> {
    return this.submitTransient('emr:EraseRecord', [recordId], { link });
  }

  readRecord(recordId: string): Promise<EmrRecord> {
    return this.evaluate('emr:ReadRecord', recordId);
  }

  /** One page of a patient's records; pass `bookmark` back for the next page ('' when done). */
  listRecordsByPatient(patientPseudonym: string, options: PageOptions = {}): Promise<RecordPage> {
    return this.evaluate('emr:ListRecordsByPatient', patientPseudonym, ...ContractClient.page(options));
  }

  /** The records filed under these record pseudonyms (at most MAX_PAGE_SIZE), for a holder of the patient's key. */
  findUnlinkedRecords(recordPseudonyms: string[]): Promise<EmrRecord[]> {
    return this.evaluate('emr:FindUnlinkedRecords', { recordPseudonyms });
  }

  /** Every record of a patient. */
  allRecordsByPatient(patientPseudonym: string): Promise<EmrRecord[]> {
    return allPages((o) => this.listRecordsByPatient(patientPseudonym, o), (p) => p.records);
  }

  /** The patient signs the index fields of a record a doctor created. */
  async approveRecord(recordId: string, link?: RecordLink): Promise<EmrRecord> {
    const record = await this.readRecord(recordId);
    return this.submitTransient('emr:ApproveRecord', [recordId, this.patientSignature(record)], { link });
  }

  /**
   * The patient switches a record's type; `encapsulatedKey` and `ancestorKeys` are the data
   * key re-encapsulated for the new type (crypto switchType), every capsule of the record. He
   * signs the fields as they become.
   */
  async switchType(recordId: string, type: RecordType, encapsulatedKey: string, ancestorKeys: string[], link?: RecordLink): Promise<EmrRecord> {
    const record = await this.readRecord(recordId);
    const signature = this.patientSignature({ ...record, type, encapsulatedKey, ancestorKeys });
    return this.submitTransient('emr:SwitchType', [{ recordId, type, encapsulatedKey, ancestorKeys, signature }], { link });
  }

  /** The patient's signature over a record's index fields, in the scheme of its suite (ECDSA, or SM2 for the SM suite). */
  private patientSignature(fields: SignedRecordFields): string {
    return this.connection.sign(recordSigningPayload(fields), signatureSchemeOf(fields.cipherSuite));
  }

  /** Hospital-internal metadata, to the caller's org's implicit collection; it never leaves the org. */
  putInternalMetadata(recordId: string, metadata: Record<string, unknown>): Promise<{ recordId: string; sha256: string }> {
    return this.submitOwnOrg('emr:PutInternalMetadata', [recordId], { metadata });
  }

  /** Read from the caller's own org's peer. */
  readInternalMetadata(recordId: string): Promise<InternalMetadata> {
    return this.evaluateOwnOrg('emr:ReadInternalMetadata', recordId);
  }
}
