/** Typed access to the chaincode's EMR index transactions. */
import type { Caller, EmrRecord, EmrRecordInput, RecordPage } from '@emr/chaincode';
import { ContractClient, type PageOptions } from './contract-client';

export class EmrIndex extends ContractClient {
  /** The caller's identity as the chaincode reads it from the certificate. */
  whoAmI(): Promise<Caller> {
    return this.evaluate('emr:WhoAmI');
  }

  /** Indexes a record owned by the caller's hospital (caller role: doctor); resolves once committed. */
  createRecord(input: EmrRecordInput): Promise<EmrRecord> {
    return this.submit('emr:CreateRecord', JSON.stringify(input));
  }

  readRecord(recordId: string): Promise<EmrRecord> {
    return this.evaluate('emr:ReadRecord', recordId);
  }

  /** One page of a patient's records; pass `bookmark` back for the next page ('' when done). */
  listRecordsByPatient(patientPseudonym: string, options: PageOptions = {}): Promise<RecordPage> {
    return this.evaluate('emr:ListRecordsByPatient', patientPseudonym, ...ContractClient.page(options));
  }
}
