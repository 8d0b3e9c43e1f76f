import { ID_RULE, canonicalJson, invalid, isId } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { session } from './session';

const MARKER = new Uint8Array([1]);

/**
 * The floor of the ordering benchmark (docs/benchmarks.md): one PutState of a constant, on
 * the same channel, chaincode and endorsement policy as the EMR transactions, so the EMR
 * upload can be compared with the cheapest write there is. It stores no user data: the value
 * is fixed and the key is an id.
 */
@Info({ title: 'BenchContract', description: 'the ordering benchmark floor: one PutState' })
export class BenchContract extends BatchingContract {
  constructor() {
    super('bench');
  }

  @Transaction()
  @Returns('string')
  async PutState(ctx: Context, key: string): Promise<string> {
    const s = session(ctx, 'bench:PutState');
    if (!isId(key)) throw invalid('key', ID_RULE);
    await s.stub.putState(s.stub.createCompositeKey('emr.bench', [key]), MARKER);
    return canonicalJson({ key });
  }
}
