/**
 * The identity directory: the doctors, researchers and admins who registered themselves on
 * chain with their certificate, and the orgs they belong to. A consent can name only a
 * registered identity, and a role or org grantee only an org that has one, so a typo never
 * hands records to whoever is enrolled under that name later. Patients are never listed:
 * their key would link them to their pseudonym (@emr/protocol's pseudonyms.ts).
 */
import { REQUESTER_ROLES, encodeParty, invalid, type Caller, type DirectoryEntry, type Grantee, type Member, type Party } from '@emr/protocol';
import { encode, found, readJson, type StateStore, type TxContext } from './ledger';

const IDENTITY = 'emr.identity';
const MEMBER = 'emr.member';

export class Directory {
  constructor(private readonly state: StateStore) {}

  get = (mspId: string, enrollmentId: string) => readJson<DirectoryEntry>(this.state, IDENTITY, [mspId, enrollmentId]);
  member = (mspId: string) => readJson<Member>(this.state, MEMBER, [mspId]);

  /**
   * The caller registers himself with his certificate's key. Again with the same key changes
   * nothing; with a new key (a renewed certificate of the same enrollment) it replaces it.
   */
  async register(caller: Caller, publicKey: string, tx: TxContext): Promise<DirectoryEntry> {
    const existing = await this.get(caller.mspId, caller.enrollmentId);
    if (existing && existing.publicKey === publicKey && existing.role === caller.role) return existing;
    const entry: DirectoryEntry = { ...caller, publicKey, registeredAt: tx.timestamp.toISOString(), txId: tx.txId };
    await this.state.putState(this.state.createCompositeKey(IDENTITY, [caller.mspId, caller.enrollmentId]), encode(entry));
    // A blind write of a constant: identities of one org registering in the same block do not conflict.
    await this.state.putState(this.state.createCompositeKey(MEMBER, [caller.mspId]), encode({ mspId: caller.mspId }));
    return entry;
  }

  async requireMember(mspId: string, field: string): Promise<Member> {
    return found(await this.member(mspId), field, `'${mspId}' is not an org of this channel (no identity of it has registered)`);
  }

  /** An identity that may request access: registered, with a requester role. */
  async requireRequester(party: Party, field: string): Promise<DirectoryEntry> {
    await this.requireMember(party.mspId, `${field}.mspId`);
    const entry = found(
      await this.get(party.mspId, party.enrollmentId),
      field,
      `no identity '${encodeParty(party)}' is registered on chain; it registers itself first (emr register)`,
    );
    if (!REQUESTER_ROLES.includes(entry.role)) throw invalid(field, `'${encodeParty(party)}' is a ${entry.role}; only ${REQUESTER_ROLES.join(' and ')}s request access`);
    return entry;
  }

  /** A consent's grantee must exist: a registered requester, or a requester role / whole org of the channel (an area: its contract checks the consortium's settings). */
  async requireGrantee(grantee: Grantee): Promise<void> {
    if (grantee.kind === 'area') return;
    if (grantee.kind === 'identity') {
      await this.requireRequester(grantee, 'grantee');
      return;
    }
    await this.requireMember(grantee.mspId, 'grantee.mspId');
    if (grantee.kind === 'role' && !REQUESTER_ROLES.includes(grantee.role)) throw invalid('grantee.role', `is ${grantee.role}; only ${REQUESTER_ROLES.join(' and ')}s request access`);
  }
}
