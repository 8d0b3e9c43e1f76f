import { canonicalJson, checkEnrollmentId, checkMspId, encodeParty, publicKeyPem } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { BatchingContract } from './transaction-state';
import { found } from './ledger';
import { session } from './session';

/** The identity directory (directory.ts): who a consent may name. */
@Info({ title: 'DirectoryContract', description: 'registered doctors, researchers and admins; the orgs of the channel' })
export class DirectoryContract extends BatchingContract {
  constructor() {
    super('directory');
  }

  /** The caller registers himself with his certificate's key (not patients: see directory.ts). */
  @Transaction()
  @Returns('string')
  async RegisterIdentity(ctx: Context): Promise<string> {
    const s = session(ctx, 'directory:RegisterIdentity');
    return canonicalJson(await s.directory.register(s.caller, publicKeyPem(s.certificate()), s.tx));
  }

  @Transaction(false)
  @Returns('string')
  async ReadIdentity(ctx: Context, mspId: string, enrollmentId: string): Promise<string> {
    const s = session(ctx, 'directory:ReadIdentity');
    checkMspId(mspId);
    checkEnrollmentId(enrollmentId);
    return canonicalJson(found(await s.directory.get(mspId, enrollmentId), 'enrollmentId', `no identity '${encodeParty({ mspId, enrollmentId })}' is registered on chain`));
  }
}
