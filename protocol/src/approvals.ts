/** Which approvals a consent needs under a hospital's policies (seed 001; docs/chaincode.md). Pure. */
import { APPROVER_ROLES, type ApproverRole } from './roles';
import type { ApprovalPolicy, ApprovalRequirement } from './types/consents';

const overlaps = (a: string, b: string) => a === b || a.startsWith(`${b}/`) || b.startsWith(`${a}/`);

/**
 * The approvals a consent needs: for every policy whose category overlaps one the consent
 * can reach ('all' when its scope names no category and no records), the largest count per
 * role. The chain computes it for clear paths; the home hospital's key centre for a blinded one.
 */
export function requiredApprovals(policies: readonly ApprovalPolicy[], reach: readonly string[] | 'all'): ApprovalRequirement[] {
  const need = new Map<ApproverRole, number>();
  for (const p of policies) {
    if (reach !== 'all' && !reach.some((c) => overlaps(c, p.category))) continue;
    for (const a of p.approvals) need.set(a.role, Math.max(need.get(a.role) ?? 0, a.count));
  }
  return APPROVER_ROLES.filter((r) => need.has(r)).map((role) => ({ role, count: need.get(role)! }));
}
