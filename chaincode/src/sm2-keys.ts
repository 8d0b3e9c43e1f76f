/**
 * SM2 public keys of patients and proxies (docs/crypto.md, "Signatures of the SM suite"): a
 * key is registered once, by its owner's own transaction, with a proof that he holds it.
 */
import { sm2PublicKeyPoint, sm2Verify } from '@emr/crypto';
import { invalid, sm2KeyPayload } from '@emr/protocol';

/** Throws INVALID_ARGUMENT unless `publicKey` is an SM2 point and `proof` its signature over the registration (possession). */
export function checkSm2Key(owner: string, publicKey: string, proof: string): void {
  if (!/^04[0-9a-f]{128}$/.test(publicKey)) throw invalid('publicKey', 'must be an uncompressed SM2 public key in lowercase hex (04 ‖ x ‖ y, 130 characters)');
  try {
    sm2PublicKeyPoint(Buffer.from(publicKey, 'hex'));
  } catch {
    throw invalid('publicKey', 'is not a point of the SM2 curve');
  }
  if (!sm2Verify(Buffer.from(sm2KeyPayload(owner, publicKey), 'utf8'), Buffer.from(proof, 'base64url'), Buffer.from(publicKey, 'hex'))) {
    throw invalid('proof', "is not this key's SM2 signature over the registration, so it does not show its owner holds the key");
  }
}

/** True when `signature` is the SM2 signature of `payload` under `publicKey` (hex), when there is one. */
export const sm2SignatureValid = (publicKey: string | undefined, payload: string, signature: string): boolean =>
  publicKey !== undefined && sm2Verify(Buffer.from(payload, 'utf8'), Buffer.from(signature, 'base64url'), Buffer.from(publicKey, 'hex'));
