/**
 * Requests signed with a member's Fabric enrollment key. The services (key centres, proxies)
 * learn who calls from the certificate, checked against the consortium's CA certificates,
 * never from what the caller claims: the enrollment id is the certificate's CN, the MSP is
 * the org whose CA issued it, the role is Fabric CA's `role` attribute in the certificate.
 */
import { X509Certificate, createHash, verify } from 'node:crypto';
import type { Caller, Role } from '@emr/chaincode';

export interface RequestSigner {
  /** The caller's enrollment certificate (PEM). */
  certificate: string;
  /** ECDSA over SHA-256 with the enrollment key: DER, base64url. */
  sign(payload: string): string;
}

/** Requests older or newer than this are refused (replay window). */
export const MAX_SKEW_MS = 5 * 60_000;

const payloadOf = (method: string, path: string, body: string, timestamp: string) =>
  ['emr-request:v1', method.toUpperCase(), path, createHash('sha256').update(body).digest('hex'), timestamp].join('\n');

export function signedHeaders(signer: RequestSigner, method: string, path: string, body: string): Record<string, string> {
  const timestamp = new Date().toISOString();
  return {
    'x-emr-certificate': Buffer.from(signer.certificate).toString('base64url'),
    'x-emr-timestamp': timestamp,
    'x-emr-signature': signer.sign(payloadOf(method, path, body, timestamp)),
  };
}

export class AuthenticationError extends Error {}

/** Fabric CA writes the enrollment attributes as JSON in a certificate extension. */
function attributesOf(cert: X509Certificate): Record<string, string> {
  const raw = cert.raw.toString('latin1');
  const start = raw.indexOf('{"attrs":');
  if (start < 0) return {};
  let depth = 0;
  for (let i = start; i < raw.length; i++) {
    if (raw[i] === '{') depth++;
    else if (raw[i] === '}' && --depth === 0) return (JSON.parse(raw.slice(start, i + 1)) as { attrs: Record<string, string> }).attrs;
  }
  return {};
}

/** The org CAs a service trusts: MSP id → CA certificate. */
export type TrustedCas = Map<string, X509Certificate>;

/** Checks a signed request; returns the caller established from the certificate. */
export function verifySigned(headers: Record<string, string | string[] | undefined>, method: string, path: string, body: string, trust: TrustedCas, now = Date.now()): Caller {
  const h = (name: string) => {
    const v = headers[name];
    if (typeof v !== 'string' || !v) throw new AuthenticationError(`missing ${name} header: sign the request with your enrollment key`);
    return v;
  };
  const certificate = h('x-emr-certificate');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(certificate, 'base64url'));
  } catch {
    throw new AuthenticationError('x-emr-certificate is not a certificate');
  }
  const timestamp = h('x-emr-timestamp');
  if (!(Math.abs(now - Date.parse(timestamp)) <= MAX_SKEW_MS)) throw new AuthenticationError(`request timestamp ${timestamp} is outside the ${MAX_SKEW_MS / 60000}-minute window`);
  const mspId = [...trust].find(([, ca]) => cert.checkIssued(ca) && cert.verify(ca.publicKey))?.[0];
  if (!mspId) throw new AuthenticationError('the certificate was not issued by a consortium CA');
  if (now < Date.parse(cert.validFrom) || now > Date.parse(cert.validTo)) throw new AuthenticationError('the certificate is not valid now');
  if (!verify('sha256', Buffer.from(payloadOf(method, path, body, timestamp)), cert.publicKey, Buffer.from(h('x-emr-signature'), 'base64url'))) {
    throw new AuthenticationError('the request signature does not verify with the certificate');
  }
  const attrs = attributesOf(cert);
  const enrollmentId = attrs['hf.EnrollmentID'];
  if (!enrollmentId) throw new AuthenticationError('the certificate has no enrollment id');
  return { mspId, enrollmentId, role: attrs.role as Role };
}
