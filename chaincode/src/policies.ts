/**
 * Role-based multi-party authorization (seed 001). A hospital sets, per category, which
 * roles of the hospital must approve a consent over its patients' records before the
 * consent becomes active: e.g. one doctor for `psychiatry`. The patient's own grant is
 * always one approval; the others are separate transactions by the approvers themselves.
 */
import { APPROVER_ROLES, ChaincodeError, ErrorCode, checkCategory, distinctParties, invalid, type Approval, type ApprovalPolicy, type ApprovalRequirement, type ApproverRole, type PolicySet } from '@emr/protocol';
import { encode, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

export const MAX_POLICIES = 64;
export const MAX_APPROVALS_PER_ROLE = 5;

export function parseApprovalPolicy(json: string): ApprovalPolicy {
  const raw = parseJsonObject(json, 'policy');
  rejectUnknownFields(raw, ['category', 'approvals']);
  const category = checkCategory(raw.category);
  if (!Array.isArray(raw.approvals) || raw.approvals.length > APPROVER_ROLES.length) throw invalid('approvals', `must be a list of at most ${APPROVER_ROLES.length} {role, count}`);
  const approvals = raw.approvals.map((a, i): ApprovalRequirement => {
    if (!isObject(a)) throw invalid(`approvals[${i}]`, 'must be {role, count}');
    rejectUnknownFields(a, ['role', 'count'], `approvals[${i}].`);
    if (!(APPROVER_ROLES as readonly unknown[]).includes(a.role)) throw invalid(`approvals[${i}].role`, `must be one of ${APPROVER_ROLES.join(', ')}`);
    const count = a.count;
    if (typeof count !== 'number' || !Number.isSafeInteger(count) || count < 1 || count > MAX_APPROVALS_PER_ROLE) throw invalid(`approvals[${i}].count`, `must be an integer from 1 to ${MAX_APPROVALS_PER_ROLE}`);
    return { role: a.role as ApproverRole, count };
  });
  if (new Set(approvals.map((a) => a.role)).size !== approvals.length) throw invalid('approvals', 'must name each role once');
  return { category, approvals };
}

const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/**
 * The approvals a consent needs: for every policy whose category overlaps one the consent
 * can reach ('all' when its scope names no category and no records), the largest count per
 * role. Pure.
 */
export function requiredApprovals(policies: ApprovalPolicy[], reach: string[] | 'all'): ApprovalRequirement[] {
  const need = new Map<ApproverRole, number>();
  for (const p of policies) {
    if (reach !== 'all' && !reach.some((c) => overlaps(c, p.category))) continue;
    for (const a of p.approvals) need.set(a.role, Math.max(need.get(a.role) ?? 0, a.count));
  }
  return APPROVER_ROLES.filter((r) => need.has(r)).map((role) => ({ role, count: need.get(role)! }));
}

/** True when every requirement has that many distinct approvers of its role. Pure. */
export function approvalsSatisfy(required: ApprovalRequirement[], approvals: Pick<Approval, 'role' | 'mspId' | 'enrollmentId'>[]): boolean {
  return required.every((r) => distinctParties(approvals.filter((a) => a.role === r.role)) >= r.count);
}

const POLICIES = 'emr.policies';

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
}
