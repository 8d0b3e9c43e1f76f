/** Typed access to the chaincode's EMR index transactions. */
import type { Caller, EmrRecord, EmrRecordInput, RecordPage } from '@emr/chaincode';
import type { Contract } from '@hyperledger/fabric-gateway';
import { mapGatewayError } from './errors';

const utf8 = new TextDecoder();

export interface PageOptions {
  /** 1..100, default 20. */
  pageSize?: number;
  /** From the previous page; omit for the first. */
  bookmark?: string;
}

export class EmrIndex {
  constructor(private readonly contract: Contract) {}

  private async submit(name: string, ...args: string[]): Promise<string> {
    try {
      return utf8.decode(await this.contract.submitTransaction(name, ...args));
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  private async evaluate(name: string, ...args: string[]): Promise<string> {
    try {
      return utf8.decode(await this.contract.evaluateTransaction(name, ...args));
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  /** The caller's identity as the chaincode reads it from the certificate. */
  async whoAmI(): Promise<Caller> {
    return JSON.parse(await this.evaluate('emr:WhoAmI')) as Caller;
  }

  /** Indexes a record owned by the caller's hospital (caller role: doctor); resolves once committed. */
  async createRecord(input: EmrRecordInput): Promise<EmrRecord> {
    return JSON.parse(await this.submit('emr:CreateRecord', JSON.stringify(input))) as EmrRecord;
  }

  async readRecord(recordId: string): Promise<EmrRecord> {
    return JSON.parse(await this.evaluate('emr:ReadRecord', recordId)) as EmrRecord;
  }

  /** One page of a patient's records; pass `bookmark` back for the next page ('' when done). */
  async listRecordsByPatient(patientPseudonym: string, options: PageOptions = {}): Promise<RecordPage> {
    return JSON.parse(await this.evaluate('emr:ListRecordsByPatient', patientPseudonym, String(options.pageSize ?? 20), options.bookmark ?? '')) as RecordPage;
  }
}
