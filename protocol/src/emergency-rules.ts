/**
 * Whether a break-glass allows a read: pure functions of the break-glass, the request and the
 * transaction time, shared by the chain (emergency:RequestEmergencyAccess) and by the key
 * centres, which give an unlinked record's link only to a requester the chain would allow.
 */
import type { Decision } from './consent-rules';
import { sameParty } from './party';
import type { Caller } from './roles';
import { inCategory } from './scopes';
import type { Emergency, EmergencyStatus } from './types/emergencies';
import type { EmrRecord } from './types/records';

/** A request not approved within this time lapses. */
export const APPROVAL_WINDOW_MINUTES = 60;
const MINUTE = 60_000;

/** The status at a time. Pure. */
export function emergencyStatus(e: Emergency, at: Date): EmergencyStatus {
  // A transaction stamped before the approval (client clocks differ) does not see it.
  if (e.expiresAt !== null && e.approvedAt !== null && at.getTime() >= Date.parse(e.approvedAt)) return at.getTime() < Date.parse(e.expiresAt) ? 'active' : 'expired';
  return at.getTime() < Date.parse(e.requestedAt) + APPROVAL_WINDOW_MINUTES * MINUTE ? 'pending' : 'lapsed';
}

/** Decides an emergency read at the transaction time. Pure: no ledger, no clock. */
export function evaluateEmergency(e: Emergency, req: { requester: Caller; record: Pick<EmrRecord, 'recordId' | 'patientPseudonym' | 'category'>; at: Date }): Decision {
  const status = emergencyStatus(e, req.at);
  if (status === 'pending' || status === 'lapsed') return { allow: false, reason: 'pending-approval', detail: `break-glass '${e.emergencyId}' was never approved by a second doctor` };
  if (status === 'expired') return { allow: false, reason: 'expired', detail: `break-glass '${e.emergencyId}' expired at ${e.expiresAt}` };
  if (!sameParty(req.requester, e.requester)) {
    return { allow: false, reason: 'not-grantee', detail: `break-glass '${e.emergencyId}' is for '${e.requester.enrollmentId}' (${e.requester.mspId}) only` };
  }
  if (req.record.patientPseudonym !== e.patientPseudonym || (e.category !== null && !inCategory(req.record.category, e.category))) {
    return { allow: false, reason: 'out-of-scope', detail: `record '${req.record.recordId}' is outside break-glass '${e.emergencyId}'` };
  }
  return { allow: true };
}

