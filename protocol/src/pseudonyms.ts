/**
 * A patient's pseudonym is derived from his own enrollment key: SHA-256 over a domain tag,
 * his home hospital's MSP id and the DER SubjectPublicKeyInfo of his certificate's key.
 * Whoever registers a pseudonym must sign the transaction with that key, so nobody can
 * claim, squat or re-bind another patient's pseudonym (docs/chaincode.md). The chaincode,
 * the SDK and the key centres all derive it here.
 */
import { createHash, createPublicKey } from 'node:crypto';

export const PSEUDONYM_DOMAIN = 'emr-pseudonym:v1';

/** The pseudonym of the key in `pem` (an X.509 certificate or an SPKI public key) at `mspId`. */
export function pseudonymOf(mspId: string, pem: string | Uint8Array): string {
  const spki = createPublicKey(Buffer.from(pem)).export({ type: 'spki', format: 'der' });
  return createHash('sha256').update(`${PSEUDONYM_DOMAIN}\u0000${mspId}\u0000`, 'utf8').update(spki).digest('hex');
}
