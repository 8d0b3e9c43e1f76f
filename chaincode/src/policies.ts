/**
 * Role-based multi-party authorization (seed 001). A hospital sets, per category, which
 * roles of the hospital must approve a consent over its patients' records before the
 * consent becomes active: e.g. one doctor for `psychiatry`. The patient's own grant is
 * always one approval; the others are separate transactions by the approvers themselves.
 */
import {
  APPROVER_ROLES,
  ChaincodeError,
  ErrorCode,
  checkCategory,
  checkPseudonym,
  distinctParties,
  encodeParty,
  invalid,
  isBlindedCategory,
  type Approval,
  type ApprovalPolicy,
  type ApprovalRequirement,
  type ApproverRole,
  type Caller,
  type PolicySet,
  type ReachAttestation,
  type ReachAttestationInput,
} from '@emr/protocol';
import { encode, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

export { requiredApprovals } from '@emr/protocol';

export const MAX_POLICIES = 64;
export const MAX_APPROVALS_PER_ROLE = 5;

export function parseApprovalPolicy(json: string): ApprovalPolicy {
  const raw = parseJsonObject(json, 'policy');
  rejectUnknownFields(raw, ['category', 'approvals']);
  const category = checkCategory(raw.category);
  return { category, approvals: parseApprovals(raw.approvals, 'approvals') };
}

/** A list of {role, count}, each role once. */
function parseApprovals(value: unknown, field: string): ApprovalRequirement[] {
  if (!Array.isArray(value) || value.length > APPROVER_ROLES.length) throw invalid(field, `must be a list of at most ${APPROVER_ROLES.length} {role, count}`);
  const approvals = value.map((a, i): ApprovalRequirement => {
    if (!isObject(a)) throw invalid(`${field}[${i}]`, 'must be {role, count}');
    rejectUnknownFields(a, ['role', 'count'], `${field}[${i}].`);
    if (!(APPROVER_ROLES as readonly unknown[]).includes(a.role)) throw invalid(`${field}[${i}].role`, `must be one of ${APPROVER_ROLES.join(', ')}`);
    const count = a.count;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > MAX_APPROVALS_PER_ROLE) throw invalid(`${field}[${i}].count`, `must be an integer from 1 to ${MAX_APPROVALS_PER_ROLE}`);
    return { role: a.role as ApproverRole, count };
  });
  if (new Set(approvals.map((a) => a.role)).size !== approvals.length) throw invalid(field, 'must name each role once');
  return approvals;
}

export function parseReachAttestation(json: string): ReachAttestationInput {
  const raw = parseJsonObject(json, 'attestation');
  rejectUnknownFields(raw, ['patientPseudonym', 'category', 'requiredApprovals', 'policiesTxId']);
  const patientPseudonym = checkPseudonym(typeof raw.patientPseudonym === 'string' ? raw.patientPseudonym : '');
  const category = checkCategory(raw.category);
  if (!isBlindedCategory(category)) throw invalid('category', 'must be a blinded path: a clear one the chain checks against the policies itself');
  if (typeof raw.policiesTxId !== 'string' || !/^[A-Za-z0-9_-]{1,128}$/.test(raw.policiesTxId)) throw invalid('policiesTxId', 'must be the id of the transaction that last set the policies');
  return { patientPseudonym, category, requiredApprovals: parseApprovals(raw.requiredApprovals, 'requiredApprovals'), policiesTxId: raw.policiesTxId };
}

/** True when every requirement has that many distinct approvers of its role. Pure. */
export function approvalsSatisfy(required: ApprovalRequirement[], approvals: Pick<Approval, 'role' | 'mspId' | 'enrollmentId'>[]): boolean {
  return required.every((r) => distinctParties(approvals.filter((a) => a.role === r.role)) >= r.count);
}

const POLICIES = 'emr.policies';
const REACH = 'emr.reach-attestation';

export class PolicyStore {
  constructor(private readonly state: StateStore) {}

  async get(mspId: string): Promise<PolicySet> {
    return (await readJson<PolicySet>(this.state, POLICIES, [mspId])) ?? { mspId, policies: [], updatedBy: '', updatedAt: '', txId: '' };
  }

  /** Sets (or with no approvals removes) one category's policy of the admin's hospital. */
  async set(mspId: string, policy: ApprovalPolicy, updatedBy: string, tx: TxContext): Promise<PolicySet> {
    const current = await this.get(mspId);
    const others = current.policies.filter((p) => p.category !== policy.category);
    if (policy.approvals.length === 0 && others.length === current.policies.length) {
      throw new ChaincodeError(ErrorCode.NotFound, `${mspId} has no policy for '${policy.category}' to remove`, 'category');
    }
    const policies = policy.approvals.length ? [...others, policy].sort((a, b) => (a.category < b.category ? -1 : 1)) : others;
    if (policies.length > MAX_POLICIES) throw new ChaincodeError(ErrorCode.Conflict, `a hospital has at most ${MAX_POLICIES} category policies`, 'category');
    const set: PolicySet = { mspId, policies, updatedBy, updatedAt: tx.timestamp.toISOString(), txId: tx.txId };
    await this.state.putState(this.state.createCompositeKey(POLICIES, [mspId]), encode(set));
    return set;
  }

  /** The key centre's attestation for a blinded category of a patient; a later one replaces it. */
  async attest(input: ReachAttestationInput, centre: Caller, tx: TxContext): Promise<ReachAttestation> {
    const attestation: ReachAttestation = { ...input, attestedBy: encodeParty(centre), attestedAt: tx.timestamp.toISOString(), txId: tx.txId };
    await this.state.putState(this.state.createCompositeKey(REACH, [input.patientPseudonym, input.category]), encode(attestation));
    return attestation;
  }

  attestation(patientPseudonym: string, category: string): Promise<ReachAttestation | undefined> {
    return readJson<ReachAttestation>(this.state, REACH, [patientPseudonym, category]);
  }
}
