import { createHmac } from 'node:crypto';
import { sha256 } from './digest';
import type { Authenticator, NodeId } from './types';

/**
 * Signatures for the simulator and tests: HMAC-SHA256 under a per-node key derived from a
 * seed, truncated to 16 hex characters. Verifiable by every node (they share the key table)
 * and cheap; the simulator's adversary does not forge other nodes' signatures, as with real
 * ones. Not for production: anyone holding the seed can sign as anybody.
 */
export function simAuthenticator(id: NodeId, seed: string): Authenticator {
  const keys = new Map<NodeId, string>();
  const keyOf = (node: NodeId): string => {
    let key = keys.get(node);
    if (key === undefined) {
      key = sha256(`sim-auth/v1\n${seed}\n${node}`);
      keys.set(node, key);
    }
    return key;
  };
  const mac = (node: NodeId, payload: string): string => createHmac('sha256', keyOf(node)).update(payload).digest('hex').slice(0, 16);
  return {
    id,
    sign: (payload) => mac(id, payload),
    verify: (node, payload, signature) => Number.isInteger(node) && node >= 0 && mac(node, payload) === signature,
  };
}

/** Authenticators for nodes 0 … n−1 of one simulated cluster (joiners: `simAuthenticator(id, seed)`). */
export function simAuthenticators(n: number, seed: string): Authenticator[] {
  return Array.from({ length: n }, (_, id) => simAuthenticator(id, seed));
}
