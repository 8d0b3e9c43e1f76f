/**
 * What patients and proxies sign with their Fabric keys (ECDSA P-256, SHA-256, DER,
 * base64url), and the check. The SDK signs these bytes and the chaincode checks them, so
 * both build them here.
 */
import { createPublicKey, verify } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** The index fields a patient's signature covers (everything but who wrote it and when). */
export interface SignedRecordFields {
  recordId: string;
  patientPseudonym: string;
  ownerMsp: string;
  category: string;
  type: string;
  cid: string;
  ciphertextSha256: string;
  size: number;
  cipherSuite: string;
  encapsulatedKey: string;
  version: number;
  supersedes: string | null;
}

export function recordSigningPayload(r: SignedRecordFields): string {
  const { recordId, patientPseudonym, ownerMsp, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, version, supersedes } = r;
  return canonicalJson({ domain: 'emr-record-index:v1', recordId, patientPseudonym, ownerMsp, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, version, supersedes });
}

/** A proxy's statement: "for this grant, I turned the capsule with this hash into this fragment". */
export function fragmentSigningPayload(f: { grantId: string; capsuleSha256: string; fragmentSha256: string }): string {
  return canonicalJson({ domain: 'emr-fragment:v1', grantId: f.grantId, capsuleSha256: f.capsuleSha256, fragmentSha256: f.fragmentSha256 });
}

/** SPKI PEM of a certificate's (or a key's) public key. */
export const publicKeyPem = (pem: string | Uint8Array): string => createPublicKey(Buffer.from(pem)).export({ type: 'spki', format: 'pem' }).toString();

/** True when `signature` (base64url DER ECDSA) is valid for `payload` under the key in `pem` (certificate or SPKI). */
export function signatureValid(pem: string | Uint8Array, payload: string, signature: string): boolean {
  try {
    return verify('sha256', Buffer.from(payload, 'utf8'), createPublicKey(Buffer.from(pem)), Buffer.from(signature, 'base64url'));
  } catch {
    return false;
  }
}

export const SIGNATURE_PATTERN = /^[A-Za-z0-9_-]{40,200}$/;
