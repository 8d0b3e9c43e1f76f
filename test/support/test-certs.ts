/**
 * Throw-away X.509 certificates for unit tests of the services' signed requests: an org CA
 * and enrollment certificates carrying Fabric CA's attribute extension (hf.EnrollmentID,
 * role), ECDSA P-256 like Fabric's. A minimal DER writer: node:crypto reads certificates
 * but does not make them.
 */
import { X509Certificate, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type { TrustedCas } from '../../client/src/services/auth';
import type { RequestSigner } from '../../client/src/wire/signed-requests';

const len = (n: number) => (n < 0x80 ? Buffer.from([n]) : n < 0x100 ? Buffer.from([0x81, n]) : Buffer.from([0x82, n >> 8, n & 0xff]));
const tlv = (tag: number, ...parts: Buffer[]) => {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
};
const seq = (...p: Buffer[]) => tlv(0x30, ...p);
const oid = (dotted: string) => {
  const [a, b, ...rest] = dotted.split('.').map(Number) as [number, number, ...number[]];
  const bytes = [40 * a + b];
  for (const n of rest) {
    const b128 = [n & 0x7f];
    for (let v = n >> 7; v > 0; v >>= 7) b128.unshift((v & 0x7f) | 0x80);
    bytes.push(...b128);
  }
  return tlv(0x06, Buffer.from(bytes));
};
const utc = (d: Date) => tlv(0x17, Buffer.from(d.toISOString().replace(/[-:T]/g, '').slice(2, 14) + 'Z'));
const name = (cn: string) => seq(tlv(0x31, seq(oid('2.5.4.3'), tlv(0x0c, Buffer.from(cn)))));
const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

export interface TestIdentity extends RequestSigner {
  privateKey: KeyObject;
}

function certificate(subject: string, issuer: string, publicKey: KeyObject, issuerKey: KeyObject, extensions: Buffer[]): string {
  const now = Date.now();
  const tbs = seq(
    tlv(0xa0, tlv(0x02, Buffer.from([2]))),
    tlv(0x02, Buffer.concat([Buffer.from([0x01]), randomBytes(8)])),
    ECDSA_SHA256,
    name(issuer),
    seq(utc(new Date(now - 3_600_000)), utc(new Date(now + 86_400_000))),
    name(subject),
    publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...extensions)),
  );
  const der = seq(tbs, ECDSA_SHA256, tlv(0x03, Buffer.from([0]), sign('sha256', tbs, issuerKey)));
  return new X509Certificate(der).toString();
}

/** An org's test CA, issuing enrollment certificates with Fabric's attributes. */
export function testCa(mspId: string) {
  const ca = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const caName = `ca.${mspId}`;
  const caCert = certificate(caName, caName, ca.publicKey, ca.privateKey, [seq(oid('2.5.29.19'), tlv(0x01, Buffer.from([0xff])), tlv(0x04, seq(tlv(0x01, Buffer.from([0xff])))))]);
  return {
    mspId,
    cert: new X509Certificate(caCert),
    /** An enrollment certificate and key for `enrollmentId` with a role attribute. */
    enroll(enrollmentId: string, role: string): TestIdentity {
      const user = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const attrs = JSON.stringify({ attrs: { 'hf.EnrollmentID': enrollmentId, 'hf.Type': 'client', role } });
      const pem = certificate(enrollmentId, caName, user.publicKey, ca.privateKey, [seq(oid('1.2.3.4.5.6.7.8.1'), tlv(0x04, Buffer.from(attrs)))]);
      return { certificate: pem, privateKey: user.privateKey, sign: (payload) => sign('sha256', Buffer.from(payload, 'utf8'), user.privateKey).toString('base64url') };
    },
  };
}

/** Trust for a set of test CAs, as a service builds it from the profile. */
export const trustOf = (...cas: { mspId: string; cert: X509Certificate }[]): TrustedCas => new Map(cas.map((c) => [c.mspId, c.cert]));
