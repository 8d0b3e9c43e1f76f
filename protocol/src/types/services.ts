/** The services registered on chain: re-encryption proxies and key generation centres. */
import type { Party } from '../party';

export interface Proxy extends Party {
  /** Where the proxy service listens (the SDK asks it for fragments). */
  endpoint: string;
  /** SPKI PEM of the proxy's certificate key: checks the fragments it signs (ECDSA). */
  publicKey: string;
  /** Its SM2 key once registered (uncompressed, hex): checks the fragments it signs for records of the SM suite. */
  sm2PublicKey?: string;
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

/**
 * The centres that agree on the consortium's parameters: the first group registering the same
 * mpk, public shares, threshold and n with at least `threshold` members. Nobody sets the
 * parameters alone; the SDK and the chaincode both take them from here.
 */
export function agreedKeyCentres(centres: readonly KeyCentre[]): KeyCentre[] | undefined {
  const groups = new Map<string, KeyCentre[]>();
  for (const c of centres) {
    const k = JSON.stringify([c.mpk, c.publicShares, c.threshold, c.n]);
    groups.set(k, [...(groups.get(k) ?? []), c]);
  }
  return [...groups.values()].find((g) => g.length >= g[0]!.threshold);
}
