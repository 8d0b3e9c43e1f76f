/**
 * The client side of the key centres: the consortium as the SDK sees it: the public parameters registered on
 * chain by the centres themselves (accepted only when at least t of them agree), and
 * identity keys combined from t partial keys, each fetched sealed to a one-time key of the
 * request and verified against its centre's public share before use.
 */
import { G1, G2, combinePartialKeys, fromBase64url, ready, verifyPartialKey, type G1Point, type G2Point, type PartialKey, type PublicParams } from '@emr/crypto';
import { agreedKeyCentres } from '@emr/protocol';
import { KeyCentreRegistry } from '../fabric/key-centre-registry';
import type { ContractConnection } from '../fabric/contract-client';
import { keyCentreClient } from './call';
import { ConsortiumNotReadyError, KeyExtractionError } from './errors';
import type { RequestSigner } from './signed-requests';

export interface Consortium {
  params: PublicParams;
  threshold: number;
  centres: { index: number; endpoint: string; publicShare: G1Point }[];
}

/** Reads the registered centres and the parameters t of them agree on. */
export async function loadConsortium(connection: ContractConnection): Promise<Consortium> {
  await ready();
  const centres = await new KeyCentreRegistry(connection).list();
  const agreed = agreedKeyCentres(centres);
  if (!agreed) throw new ConsortiumNotReadyError(`the key centres have not agreed on parameters yet (${centres.length} registered): has the DKG completed?`);
  const first = agreed[0]!;
  const shares = first.publicShares.map((s) => G1.fromBytes(fromBase64url(s, 'publicShare')));
  return {
    params: { mpk: G1.fromBytes(fromBase64url(first.mpk, 'mpk')) },
    threshold: first.threshold,
    centres: agreed.map((c) => ({ index: c.index, endpoint: c.endpoint, publicShare: shares[c.index - 1]! })),
  };
}

/**
 * The identity key of `identity` (the caller's own, or a slot he owns): asks every centre,
 * keeps the partial keys that verify, and combines t of them (checked against mpk).
 */
export async function extractKey(consortium: Consortium, identity: string, signer: RequestSigner): Promise<G2Point> {
  const failures: string[] = [];
  const partials: PartialKey[] = [];
  await Promise.all(
    consortium.centres.map(async (c) => {
      try {
        // Sealed to a key of this request only: the partial key is secret, the transport is plain HTTP.
        const answer = await keyCentreClient(c.index, c.endpoint, signer, 10_000).post('POST /v1/keys', { identity });
        const partial = { index: BigInt(c.index), key: G2.fromBytes(fromBase64url(answer.key, 'key')) };
        if (answer.index !== c.index || !verifyPartialKey(partial, c.publicShare, identity)) throw new Error('its partial key fails verification against its public share');
        partials.push(partial);
      } catch (err) {
        failures.push(`centre ${c.index}: ${(err as Error).message}`);
      }
    }),
  );
  if (partials.length < consortium.threshold) {
    throw new KeyExtractionError(`need ${consortium.threshold} verified partial keys for '${identity}', got ${partials.length} (${failures.join('; ')})`);
  }
  return combinePartialKeys(consortium.params, identity, partials.sort((a, b) => Number(a.index - b.index)).slice(0, consortium.threshold));
}
