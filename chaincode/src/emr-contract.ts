import { Context, Contract, Info, Returns, Transaction } from 'fabric-contract-api';
import { authorize, callerOf, type PERMISSIONS } from './access';
import { canonicalJson } from './canonical-json';
import { txOf, type StateStore } from './ledger';
import { checkPseudonym, checkRecordId, parsePageSize, parseRecordInput, RecordStore } from './records';


/** Every transaction answers canonical JSON so all endorsers return identical bytes. */
@Info({ title: 'EmrContract', description: 'EMR index records: create, read, list by patient pseudonym' })
export class EmrContract extends Contract {
  constructor() {
    super('emr');
  }

  private begin(ctx: Context, transaction: keyof typeof PERMISSIONS) {
    const caller = callerOf(ctx.clientIdentity);
    authorize(caller, transaction);
    return { caller, records: new RecordStore(ctx.stub as unknown as StateStore) };
  }

  /** The caller as the chaincode sees it (MSP, enrollment id, role): for health checks and debugging identities. */
  @Transaction(false)
  @Returns('string')
  async WhoAmI(ctx: Context): Promise<string> {
    return canonicalJson(callerOf(ctx.clientIdentity));
  }

  /** Indexes a record owned by the caller's hospital. Argument: the record input as JSON. */
  @Transaction()
  @Returns('string')
  async CreateRecord(ctx: Context, recordJson: string): Promise<string> {
    const { caller, records } = this.begin(ctx, 'CreateRecord');
    const input = parseRecordInput(recordJson);
    return canonicalJson(await records.create(input, caller, txOf(ctx)));
  }

  @Transaction(false)
  @Returns('string')
  async ReadRecord(ctx: Context, recordId: string): Promise<string> {
    const { records } = this.begin(ctx, 'ReadRecord');
    checkRecordId(recordId);
    return canonicalJson(await records.require(recordId));
  }

  @Transaction(false)
  @Returns('string')
  async ListRecordsByPatient(ctx: Context, patientPseudonym: string, pageSize: string, bookmark: string): Promise<string> {
    const { records } = this.begin(ctx, 'ListRecordsByPatient');
    checkPseudonym(patientPseudonym);
    const size = parsePageSize(Number(pageSize));
    return canonicalJson(await records.listByPatient(patientPseudonym, size, bookmark));
  }
}
