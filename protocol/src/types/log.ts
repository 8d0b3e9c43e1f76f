/**
 * The append-only access log's entries, shaped to map onto a FHIR AuditEvent
 * (docs/chaincode.md).
 */
import type { Caller } from '../roles';

export const LOG_ACTIONS = [
  'access-request',
  're-encryption',
  'receipt',
  'consent-grant',
  'consent-approval',
  'consent-revoke',
  'grant-registration',
  'patient-registration',
  'record-upload',
  'record-version',
  'record-approval',
  'type-switch',
  'break-glass-request',
  'break-glass-approval',
  'record-erasure',
] as const;
export type LogAction = (typeof LOG_ACTIONS)[number];

export interface LogEntry {
  /** `<txId>.<n>`: the n-th entry written by that transaction. */
  entryId: string;
  action: LogAction;
  outcome: 'success' | 'denied';
  /** Why a request was denied (a DenyReason), else null. */
  reason: string | null;
  agent: Caller;
  patientPseudonym: string;
  recordId: string | null;
  consentId: string | null;
  /** Set on emergency overrides (break-glass): listed first in the patient's log. */
  emergencyId: string | null;
  /** Set on a delegatee's request: the grant (leaf of the re-delegation chain) it goes through. */
  grantId?: string;
  /** Set on re-encryptions: the allowed access entry the proxy served. */
  accessEntryId?: string;
  purpose: string | null;
  /** ISO-8601 transaction timestamp. */
  recorded: string;
  txId: string;
}

export interface LogPage {
  entries: LogEntry[];
  bookmark: string;
}
