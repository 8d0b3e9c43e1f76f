import { canonicalJson } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { KeyCentreStore, parseKeyCentreInput } from './key-centres';
import { session } from './session';

/** Where the key generation centres publish the outcome of their DKG (docs/chaincode.md). */
@Info({ title: 'KeyCentreContract', description: 'key generation centres: master public key, public shares, endpoints' })
export class KeyCentreContract extends BatchingContract {
  constructor() {
    super('kgc');
  }

  /** A centre registers its index, endpoint and the DKG's public outcome as it computed it. */
  @Transaction()
  @Returns('string')
  async RegisterKeyCentre(ctx: Context, centreJson: string): Promise<string> {
    const s = session(ctx, 'kgc:RegisterKeyCentre');
    const centre = await new KeyCentreStore(s.stub).register(parseKeyCentreInput(centreJson), s.caller, s.tx);
    s.event('kgc.registered', { mspId: centre.mspId, index: String(centre.index) });
    return canonicalJson(centre);
  }

  @Transaction(false)
  @Returns('string')
  async ListKeyCentres(ctx: Context): Promise<string> {
    const s = session(ctx, 'kgc:ListKeyCentres');
    return canonicalJson(await new KeyCentreStore(s.stub).all());
  }
}
