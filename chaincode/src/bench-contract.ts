import { ChaincodeError, ErrorCode, ID_RULE, canonicalJson, invalid, isId } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { session } from './session';

const MARKER = new Uint8Array([1]);
const KEY_SPACE = 'emr.bench';

/**
 * The floor of the ordering benchmark (docs/benchmarks.md): one PutState of a constant, on
 * the same channel, chaincode and endorsement policy as the EMR transactions, so the EMR
 * upload can be compared with the cheapest write there is. It stores no user data: the value
 * is fixed and the key is an id.
 */
@Info({ title: 'BenchContract', description: 'the ordering benchmark floors: one PutState, with or without one GetState first' })
export class BenchContract extends BatchingContract {
  constructor() {
    super('bench');
  }

  @Transaction()
  @Returns('string')
  async PutState(ctx: Context, key: string): Promise<string> {
    const s = session(ctx, 'bench:PutState');
    if (!isId(key)) throw invalid('key', ID_RULE);
    await s.stub.putState(s.stub.createCompositeKey(KEY_SPACE, [key]), MARKER);
    return canonicalJson({ key });
  }

  /**
   * The floor plus the one round trip to the peer's state that every EMR write makes before
   * it writes (CreateRecord reads the patient and the record id): it tells the cost of
   * checking the state apart from the cost of the EMR logic.
   */
  @Transaction()
  @Returns('string')
  async ReadThenPutState(ctx: Context, key: string): Promise<string> {
    const s = session(ctx, 'bench:ReadThenPutState');
    if (!isId(key)) throw invalid('key', ID_RULE);
    const stateKey = s.stub.createCompositeKey(KEY_SPACE, [key]);
    const existing = await s.stub.getState(stateKey);
    if (existing && existing.length > 0) throw new ChaincodeError(ErrorCode.Conflict, `key '${key}' was already written`, 'key');
    await s.stub.putState(stateKey, MARKER);
    return canonicalJson({ key });
  }
}
