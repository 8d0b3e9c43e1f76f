/** Typed access to the identity directory: who a consent may name. */
import type { DirectoryEntry, Party } from '@emr/protocol';
import { ContractClient } from './contract-client';

export class DirectoryClient extends ContractClient {
  /** The caller (a doctor, researcher or admin) registers himself with his certificate's key; idempotent. */
  registerIdentity(): Promise<DirectoryEntry> {
    return this.submit('directory:RegisterIdentity');
  }

  /** NotFoundError when the identity has not registered. */
  readIdentity(party: Party): Promise<DirectoryEntry> {
    return this.evaluate('directory:ReadIdentity', party.mspId, party.enrollmentId);
  }
}
