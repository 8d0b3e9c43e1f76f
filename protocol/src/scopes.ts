/**
 * What a consent covers and when it holds: purposes of use, record types, who it is for,
 * which records, its limits, and the conditions both sides evaluate the same way (the
 * chaincode to decide, the SDK to pick the consents and grants that can serve a read).
 */
import type { Role } from './roles';

/** Purposes of use (mapped to FHIR v3-PurposeOfUse codes in docs/chaincode.md). */
export const PURPOSES = ['treatment', 'research', 'emergency', 'payment', 'audit'] as const;
export type Purpose = (typeof PURPOSES)[number];

/** A record's type: the slot its data key is encapsulated for (docs/crypto.md). */
export const RECORD_TYPES = ['sharable', 'non-sharable'] as const;
export type RecordType = (typeof RECORD_TYPES)[number];

/** Who a consent is for: one identity, a role at an org, a whole org, or an area of the consortium (areas.ts). */
export type Grantee = { kind: 'identity'; mspId: string; enrollmentId: string } | { kind: 'role'; mspId: string; role: Role } | { kind: 'org'; mspId: string } | { kind: 'area'; area: string };

/** Which records a consent covers; every given criterion must hold (at least one is required). */
export interface ConsentScope {
  recordIds?: string[];
  /** A department subtree: `cardiology` covers `cardiology/ecg`. */
  category?: string;
  type?: RecordType;
}

/** `pending` until the approvals its home hospital's policy asks for are given. */
export const CONSENT_STATUSES = ['pending', 'active', 'revoked'] as const;
export type ConsentStatus = (typeof CONSENT_STATUSES)[number];

/** Why a request is refused, in the order the chaincode checks them: the first that applies is reported. */
export const DENY_REASONS = ['not-grantee', 'hop-limit', 'out-of-scope', 'wrong-purpose', 'erased', 'revoked', 'pending-approval', 'not-yet-valid', 'expired', 'exhausted'] as const;
export type DenyReason = (typeof DENY_REASONS)[number];

export const MAX_SCOPE_RECORDS = 100;
export const MAX_HOP_LIMIT = 5;
export const MAX_ACCESSES = 1_000_000;

/** The condition of the slot above every category: a grant on it covers all of a patient's records of a type. */
export const ROOT_CATEGORY = '*';

/** The categories above `category`, the parent first and ROOT_CATEGORY last: `a/b/c` → `a/b`, `a`, `*`. */
export function categoryAncestors(category: string): string[] {
  const segments = category.split('/');
  return [...segments.slice(0, -1).map((_, i) => segments.slice(0, segments.length - 1 - i).join('/')), ROOT_CATEGORY];
}

/** `category` is `subtree` or below it. */
export const inCategory = (category: string, subtree: string): boolean => category === subtree || category.startsWith(`${subtree}/`);

/** The record is the consent's patient's and meets every criterion of its scope. */
export function recordInScope(
  consent: { patientPseudonym: string; scope: ConsentScope },
  record: { recordId: string; patientPseudonym: string; category: string; type: RecordType },
): boolean {
  const { scope } = consent;
  return (
    record.patientPseudonym === consent.patientPseudonym &&
    (scope.recordIds === undefined || scope.recordIds.includes(record.recordId)) &&
    (scope.category === undefined || inCategory(record.category, scope.category)) &&
    (scope.type === undefined || scope.type === record.type)
  );
}

/** A grant is usable at `at`: its consent is active and neither has expired. */
export function registrationActive(registration: { expiresAt: string }, consent: { status: ConsentStatus; validUntil: string }, at: Date): boolean {
  return consent.status === 'active' && at.getTime() < Date.parse(registration.expiresAt) && at.getTime() < Date.parse(consent.validUntil);
}
