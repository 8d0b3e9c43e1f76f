/**
 * What patients and proxies sign, and the ECDSA check. Their Fabric keys sign with ECDSA
 * P-256 and SHA-256; a record of the SM suite takes the patient's SM2 signature instead
 * (SM3, the Z value; @emr/crypto's sm2.ts). Signatures are DER, base64url. The SDK signs these
 * bytes and the chaincode checks them, so both build them here.
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
  ancestorKeys: string[];
  version: number;
  supersedes: string | null;
}

/** The canonical JSON a patient signs. Records without ancestor capsules (indexed before them) sign exactly what they signed then. */
export function recordSigningPayload(r: SignedRecordFields): string {
  const { recordId, patientPseudonym, ownerMsp, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ancestorKeys, version, supersedes } = r;
  const ancestors = ancestorKeys.length ? { ancestorKeys } : {};
  return canonicalJson({ domain: 'emr-record-index:v1', recordId, patientPseudonym, ownerMsp, category, type, cid, ciphertextSha256, size, cipherSuite, encapsulatedKey, ...ancestors, version, supersedes });
}

/** The signature a patient gives on a record of each cipher suite: the SM suite is SM throughout. */
export type SignatureScheme = 'ecdsa-p256-sha256' | 'sm2-sm3';
const SCHEME_OF_SUITE: Readonly<Record<string, SignatureScheme>> = { 'sm4-ctr-hmac-sm3-stream.v1': 'sm2-sm3' };
export const signatureSchemeOf = (cipherSuite: string): SignatureScheme => SCHEME_OF_SUITE[cipherSuite] ?? 'ecdsa-p256-sha256';
export const SIGNATURE_SCHEME_NAMES: Readonly<Record<SignatureScheme, string>> = { 'ecdsa-p256-sha256': 'ECDSA P-256 (SHA-256)', 'sm2-sm3': 'SM2 (SM3, Z value)' };

/** What an SM2 key signs to prove its owner (a patient's pseudonym, or a proxy as `proxy@MSP`) holds it when he registers it. */
export function sm2KeyPayload(owner: string, publicKey: string): string {
  return canonicalJson({ domain: 'emr-sm2-key:v1', owner, publicKey });
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
