/**
 * Re-encryption key registrations: the public part of a grant made under a consent. The
 * key material itself never reaches the chain; the registration names who delegates to
 * whom, for which type and condition, at which hop, through which proxies with which
 * threshold, and carries the Feldman commitments that let anyone check a proxy's fragment.
 */
import type { Party } from '../party';
import type { RecordType } from '../scopes';

export interface RegistrationInput {
  /** The crypto layer's grant id (GrantPublic.grantId). */
  grantId: string;
  consentId: string;
  delegatee: Party;
  type: RecordType;
  /** Hex SHA-256 of the slot condition the grant key is for. */
  conditionHash: string;
  /** 1 for the patient's own grant; the parent's hop + 1 for a re-delegation. */
  hop: number;
  /** The grant this one re-delegates (hop > 1). */
  parentGrantId?: string;
  /** Proxies holding the shares, in share-index order (proxy i holds f(i)). */
  proxies: Party[];
  threshold: number;
  /** Base64url compressed G1 Feldman commitments, `threshold` of them; opaque here. */
  commitments: string[];
  /** Base64url encoded grant (crypto `encodeGrant`): the sealed grant key; opaque here. */
  grant: string;
  expiresAt: string;
}

export interface Registration extends Omit<RegistrationInput, 'parentGrantId'> {
  parentGrantId: string | null;
  delegator: Party;
  createdAt: string;
  txId: string;
}

export interface GrantPage {
  grants: Registration[];
  bookmark: string;
}
