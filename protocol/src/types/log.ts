/**
 * The append-only access log's entries, shaped to map onto a FHIR AuditEvent
 * (docs/chaincode.md).
 */
import type { Party } from '../party';
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
  'key-leak',
  'sm2-key-registration',
  'area-policy',
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
  /** Set on a decision by an area: the rule that allowed or denied it (`own-hospital:default`, `research:patient`, `research:consent`). */
  areaRule?: string;
  /** Set on a delegatee's request: the grant (leaf of the re-delegation chain) it goes through. */
  grantId?: string;
  /** Set on re-encryptions: the allowed access entry the proxy served. */
  accessEntryId?: string;
  purpose: string | null;
  /** Set on key-leak entries: what leaked, and for a grant key who held it. */
  leak?: KeyLeak;
  /** ISO-8601 transaction timestamp. */
  recorded: string;
  txId: string;
}

export interface LogPage {
  entries: LogEntry[];
  bookmark: string;
}

/**
 * A leaked key, as its report was logged. A grant key is proven on chain (a proof of
 * possession checked against the grant's anchor) and names the grant; its holders were the
 * delegatee and the delegator who made it. A record's data key cannot be checked on chain
 * (the chain never sees content): its report is the patient's or the record hospital's word.
 */
export interface KeyLeak {
  kind: 'grant-key' | 'data-key';
  proven: boolean;
  /** For a grant key: who the grant was issued to, by whom, at which hop. */
  delegatee?: Party;
  delegator?: Party;
  hop?: number;
}

/**
 * A report of a leaked key (`consent:ReportKeyLeak`). For a grant key, `proof` (base64url,
 * @emr/crypto's encodeKeyPossession) proves the reporter holds the grant's key without
 * putting it on chain; for a data key, the record it opens (checked off chain by the SDK).
 */
export type KeyLeakReport = { kind: 'grant-key'; grantId: string; proof: string } | { kind: 'data-key'; recordId: string };
