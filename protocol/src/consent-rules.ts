/**
 * Whether a consent allows a request: a pure function of the consent, the request and the
 * transaction time, shared by the chain (consent:RequestAccess) and by the key centres, which
 * give an unlinked record's link key only to a requester the chain would allow.
 */
import { inArea, type AreaContext } from './areas';
import type { Caller } from './roles';
import { recordInScope, type DenyReason, type Grantee, type Purpose } from './scopes';
import type { Consent } from './types/consents';
import type { EmrRecord } from './types/records';

export type Decision = { allow: true } | { allow: false; reason: DenyReason; detail: string };

export interface ConsentRequest {
  requester: Caller;
  record: Pick<EmrRecord, 'recordId' | 'patientPseudonym' | 'category' | 'type' | 'erased'>;
  purpose: Purpose;
  /** The transaction time. */
  at: Date;
  /** 1 for the grantee itself, h for the h-th delegatee down a re-delegation chain. */
  hop: number;
  /** The consortium's areas and the patient's home: needed for a consent to an area. */
  areas?: AreaMembership;
}

/** What deciding whether someone is in an area takes. */
export type AreaMembership = Pick<AreaContext, 'areas' | 'homeMsp' | 'members'>;

/** The caller is the grantee (for an area: a member of it, for this patient; never without `areas`). */
export function granteeMatches(grantee: Grantee, caller: Caller, areas?: AreaMembership): boolean {
  if (grantee.kind === 'area') {
    const area = areas?.areas.find((a) => a.name === grantee.area);
    return area !== undefined && inArea(area, caller, areas!.homeMsp, areas!.members);
  }
  if (grantee.mspId !== caller.mspId) return false;
  if (grantee.kind === 'identity') return grantee.enrollmentId === caller.enrollmentId;
  if (grantee.kind === 'role') return grantee.role === caller.role;
  return true;
}

const deny = (reason: DenyReason, detail: string): Decision => ({ allow: false, reason, detail });

/**
 * Decides a request against a consent at the transaction time. Pure: no ledger, no clock.
 * It reports the most specific reason: first what the consent could never allow (another
 * requester, too many hops, a record out of its scope, another purpose), then the record's
 * state (erased), then the consent's own state (revoked, pending, not yet valid, expired,
 * used up). So a non-grantee learns nothing of the consent's state, and an oncology record
 * asked under a used-up cardiology consent is out of scope, not exhausted.
 */
export function evaluateConsent(consent: Consent, req: ConsentRequest): Decision {
  if (req.hop === 1 && !granteeMatches(consent.grantee, req.requester, req.areas)) {
    return deny('not-grantee', `'${req.requester.enrollmentId}' (${req.requester.mspId}, ${req.requester.role}) is not the grantee of consent '${consent.consentId}'`);
  }
  if (!Number.isSafeInteger(req.hop) || req.hop < 1 || req.hop > consent.hopLimit) return deny('hop-limit', `consent '${consent.consentId}' allows ${consent.hopLimit} hop(s), not ${req.hop}`);
  if (!recordInScope(consent, req.record)) return deny('out-of-scope', `record '${req.record.recordId}' is outside the scope of consent '${consent.consentId}'`);
  if (req.purpose !== consent.purpose) return deny('wrong-purpose', `consent '${consent.consentId}' is for ${consent.purpose}, not ${req.purpose}`);
  if (req.record.erased) return deny('erased', `record '${req.record.recordId}' was erased at ${req.record.erased.erasedAt}`);
  if (consent.status === 'revoked') return deny('revoked', `consent '${consent.consentId}' was revoked at ${consent.revokedAt}`);
  if (consent.status !== 'active') return deny('pending-approval', `consent '${consent.consentId}' awaits the approvals its policy requires`);
  const t = req.at.getTime();
  if (t < Date.parse(consent.validFrom)) return deny('not-yet-valid', `consent '${consent.consentId}' is valid from ${consent.validFrom}`);
  if (t >= Date.parse(consent.validUntil)) return deny('expired', `consent '${consent.consentId}' expired at ${consent.validUntil}`);
  if (consent.accessCount >= consent.maxAccesses) return deny('exhausted', `consent '${consent.consentId}' allowed ${consent.maxAccesses} accesses, all used`);
  return { allow: true };
}

