/** Consents and the approval policies that can hold them pending (docs/chaincode.md). */
import type { ApproverRole } from '../roles';
import type { ConsentScope, ConsentStatus, Grantee, Purpose } from '../scopes';

export interface ConsentInput {
  consentId: string;
  patientPseudonym: string;
  grantee: Grantee;
  scope: ConsentScope;
  purpose: Purpose;
  /** ISO-8601; the window is [validFrom, validUntil). */
  validFrom: string;
  validUntil: string;
  maxAccesses: number;
  /** Hop limit: 1 means the grantee only; h > 1 lets the grantee's delegatees re-delegate up to hop h. */
  hopLimit: number;
}

export interface Consent extends ConsentInput {
  status: ConsentStatus;
  /** Fixed when granted, from the policies of the patient's home hospital then in force. */
  requiredApprovals: ApprovalRequirement[];
  approvals: Approval[];
  accessCount: number;
  createdBy: string;
  createdAt: string;
  txId: string;
  revokedAt: string | null;
  revokeTxId: string | null;
}

export interface ConsentPage {
  consents: Consent[];
  bookmark: string;
}

export interface ApprovalRequirement {
  role: ApproverRole;
  /** Distinct identities of that role (at the patient's home hospital) that must approve. */
  count: number;
}

export interface ApprovalPolicy {
  /** A department subtree: the policy for `psychiatry` covers `psychiatry/inpatient`. */
  category: string;
  /** Empty removes the category's policy. */
  approvals: ApprovalRequirement[];
}

/** All of one hospital's policies: one key, so a consent reads them with one bounded read. */
export interface PolicySet {
  mspId: string;
  policies: ApprovalPolicy[];
  updatedBy: string;
  updatedAt: string;
  txId: string;
}

/** One approval given to a consent. */
export interface Approval {
  mspId: string;
  enrollmentId: string;
  role: ApproverRole;
  approvedAt: string;
  txId: string;
}

/**
 * What a patient's home hospital's approval policies require of a consent on one of his
 * blinded categories, attested by that hospital's key centre: the chain cannot match a blinded
 * path against the clear policies (docs/privacy.md, "Approval policies"). Bound to the policy
 * set it was computed under.
 */
export interface ReachAttestationInput {
  patientPseudonym: string;
  /** The blinded path. */
  category: string;
  requiredApprovals: ApprovalRequirement[];
  /** The transaction that last set the hospital's policies (PolicySet.txId). */
  policiesTxId: string;
}

export interface ReachAttestation extends ReachAttestationInput {
  /** The key centre's identity, `enrollmentId@MSP`. */
  attestedBy: string;
  attestedAt: string;
  txId: string;
}
