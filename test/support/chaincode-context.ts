import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import type { Context } from 'fabric-contract-api';
import { pseudonymOf } from '@emr/protocol';
import type { MemoryState } from './memory-state';

/** A certificate's attributes as Fabric CA sets them. */
export const identity = (enrollmentId: string, role: string) => ({ 'hf.EnrollmentID': enrollmentId, role });

/** One P-256 key per identity (as its Fabric CA would issue), made on first use. */
const keys = new Map<string, { publicPem: string; privateKey: KeyObject }>();
function keyOf(mspId: string, enrollmentId: string) {
  const id = `${mspId}/${enrollmentId}`;
  if (!keys.has(id)) {
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    keys.set(id, { publicPem: publicKey.export({ type: 'spki', format: 'pem' }).toString(), privateKey });
  }
  return keys.get(id)!;
}

/** SPKI PEM of the identity's key (what its certificate carries). */
export const publicPemOf = (mspId: string, enrollmentId: string): string => keyOf(mspId, enrollmentId).publicPem;

/** The pseudonym of a (patient) identity's key: the one he may register (protocol/src/pseudonyms.ts). */
export const pseudonymFor = (mspId: string, enrollmentId: string): string => pseudonymOf(mspId, keyOf(mspId, enrollmentId).publicPem);

/** A signature by the identity's key over `payload`, as the SDK makes it (base64url DER). */
export const signAs = (mspId: string, enrollmentId: string, payload: string): string =>
  sign('sha256', Buffer.from(payload, 'utf8'), keyOf(mspId, enrollmentId).privateKey).toString('base64url');

/** A transaction context over an in-memory world state, signed by the given certificate attributes. */
export function chaincodeContext(
  state: MemoryState,
  mspId: string,
  attrs: Record<string, string>,
  tx: { txId?: string; at?: string; transient?: Record<string, string> } = {},
): Context {
  const ms = Date.parse(tx.at ?? '2026-01-01T00:00:00.250Z');
  state.transient = new Map(Object.entries(tx.transient ?? {}).map(([k, v]) => [k, Buffer.from(v, 'utf8')]));
  const stub = Object.assign(state, {
    getTxID: () => tx.txId ?? 'tx-1',
    getTxTimestamp: () => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }),
  });
  const publicPem = attrs['hf.EnrollmentID'] ? keyOf(mspId, attrs['hf.EnrollmentID']).publicPem : '';
  return {
    stub,
    clientIdentity: { getMSPID: () => mspId, getAttributeValue: (n: string) => attrs[n] ?? null, getIDBytes: () => Buffer.from(publicPem, 'utf8') },
  } as unknown as Context;
}
