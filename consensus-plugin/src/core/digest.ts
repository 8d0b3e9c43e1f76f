import { createHash } from 'node:crypto';
import type { ClientRequest } from './types';

/** Canonical JSON: object keys sorted, no whitespace; the bytes that are signed, hashed and counted. */
export function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

export const sha256 = (text: string): string => createHash('sha256').update(text).digest('hex');

/** A batch's identity: SHA-256 of its canonical encoding, domain-separated. */
export const batchDigest = (requests: readonly ClientRequest[]): string => sha256(`drkpbft/batch/v1\n${canonical(requests)}`);

/** The key duplicate suppression uses. */
export const requestKey = (r: ClientRequest): string => `${r.client}\u0000${r.timestamp}`;
