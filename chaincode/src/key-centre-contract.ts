import { canonicalJson, checkDkgId, invalid } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { DkgBoardStore, checkDkgPhase, parseDkgMessage } from './dkg-board';
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

  /** A centre posts its message of a DKG phase, its vote to close the phase before (the chain is the DKG's broadcast channel). */
  @Transaction()
  @Returns('string')
  async PostDkgMessage(ctx: Context, messageJson: string): Promise<string> {
    const s = session(ctx, 'kgc:PostDkgMessage');
    const message = await new DkgBoardStore(s.stub).post(parseDkgMessage(messageJson), s.caller, s.tx);
    s.event('kgc.dkg', { dkgId: message.dkgId, phase: message.body.phase, index: String(message.index) });
    return canonicalJson(message);
  }

  /** A centre votes to close a phase on its own: its deadline passed without a message it expects. */
  @Transaction()
  @Returns('string')
  async CloseDkgPhase(ctx: Context, dkgId: string, phase: string, index: string): Promise<string> {
    const s = session(ctx, 'kgc:CloseDkgPhase');
    checkDkgId(dkgId);
    const p = checkDkgPhase(phase);
    if (!/^[1-9][0-9]?$/.test(index)) throw invalid('index', 'must be a centre index, 1 to 32');
    return canonicalJson(await new DkgBoardStore(s.stub).close(dkgId, p, Number(index), s.caller, s.tx));
  }

  @Transaction(false)
  @Returns('string')
  async ReadDkg(ctx: Context, dkgId: string): Promise<string> {
    const s = session(ctx, 'kgc:ReadDkg');
    return canonicalJson(await new DkgBoardStore(s.stub).read(checkDkgId(dkgId)));
  }

  @Transaction(false)
  @Returns('string')
  async ListKeyCentres(ctx: Context): Promise<string> {
    const s = session(ctx, 'kgc:ListKeyCentres');
    return canonicalJson(await new KeyCentreStore(s.stub).all());
  }
}
