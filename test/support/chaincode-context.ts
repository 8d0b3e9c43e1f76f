import type { Context } from 'fabric-contract-api';
import type { MemoryState } from './memory-state';

/** A certificate's attributes as Fabric CA sets them. */
export const identity = (enrollmentId: string, role: string) => ({ 'hf.EnrollmentID': enrollmentId, role });

/** A transaction context over an in-memory world state, signed by the given certificate attributes. */
export function chaincodeContext(state: MemoryState, mspId: string, attrs: Record<string, string>, tx: { txId?: string; at?: string } = {}): Context {
  const ms = Date.parse(tx.at ?? '2026-01-01T00:00:00.250Z');
  const stub = Object.assign(state, {
    getTxID: () => tx.txId ?? 'tx-1',
    getTxTimestamp: () => ({ seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 }),
  });
  return { stub, clientIdentity: { getMSPID: () => mspId, getAttributeValue: (n: string) => attrs[n] ?? null } } as unknown as Context;
}
