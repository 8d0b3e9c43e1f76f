/**
 * Gateway connections as the live network's wallet identities (any org, any role), opened
 * once per identity and closed together, and what a caller needs to replay a signature.
 */
import { signers, type Signer } from '@hyperledger/fabric-gateway';
import { connectGateway, loadProfile, walletIdentity, type EmrConnection } from '../../../client/src';
import type { Role } from '@emr/protocol';
import { stateDir } from '../../../network/src/paths';

export interface Identity {
  org: string;
  user: string;
}
export const identityName = (id: Identity): string => `${id.user}@${id.org}`;

export class Gateways {
  private readonly open = new Map<string, { connection: EmrConnection; signer: Signer }>();

  /** Every wallet identity with its role and MSP, as the connection profile lists them now. */
  identities(): (Identity & { role: Role; mspId: string })[] {
    const profile = loadProfile(stateDir);
    return Object.entries(profile.orgs).flatMap(([org, o]) => Object.entries(o.users).map(([user, u]) => ({ org, user, role: u.role, mspId: o.mspId })));
  }

  connection(id: Identity): EmrConnection {
    return this.entry(id).connection;
  }

  /**
   * A genuine signature of this identity, over another proposal (an evaluation of WhoAmI):
   * what a replayed signature is. Fresh each time, so no two calls share one.
   */
  async foreignSignature(id: Identity): Promise<Uint8Array> {
    const { connection, signer } = this.entry(id);
    return signer(connection.contract.newProposal('emr:WhoAmI').getDigest());
  }

  closeAll(): void {
    for (const { connection } of this.open.values()) connection.close();
    this.open.clear();
  }

  private entry(id: Identity) {
    const key = identityName(id);
    let entry = this.open.get(key);
    if (!entry) {
      const profile = loadProfile(stateDir);
      const orgProfile = profile.orgs[id.org];
      if (!orgProfile) throw new Error(`unknown org ${id.org}`);
      entry = { connection: connectGateway({ org: id.org, user: id.user, profile }), signer: signers.newPrivateKeySigner(walletIdentity(orgProfile, id.org, id.user).privateKey) };
      this.open.set(key, entry);
    }
    return entry;
  }
}
