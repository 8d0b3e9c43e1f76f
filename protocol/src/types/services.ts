/** The services registered on chain: re-encryption proxies and key generation centres. */
import type { Party } from '../party';

export interface Proxy extends Party {
  /** Where the proxy service listens (the SDK asks it for fragments). */
  endpoint: string;
  /** SPKI PEM of the proxy's certificate key: checks the fragments it signs. */
  publicKey: string;
  /** Stake voted for it by member orgs. */
  stake: number;
  /** 0..REPUTATION_MAX (chaincode proxies.ts); starts at the maximum. */
  reputation: number;
  status: 'active' | 'suspended';
  /** Proven bad fragments. */
  faults: number;
  registeredAt: string;
  txId: string;
}

export interface KeyCentreInput {
  /** 1..n, the centre's Shamir index. */
  index: number;
  endpoint: string;
  n: number;
  threshold: number;
  /** base64url of the compressed G1 master public key. */
  mpk: string;
  /** S_1..S_n, base64url G1 points, in index order. */
  publicShares: string[];
  /** The dealers that entered the key. */
  qual: number[];
}

export interface KeyCentre extends KeyCentreInput {
  mspId: string;
  enrollmentId: string;
  registeredAt: string;
  txId: string;
}
