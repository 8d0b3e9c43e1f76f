/** Which grants an allowed access request goes through: the proxies serve, and the chain logs, only those. */
import { areaOfRule, isGroupParty, parseAreaKeysId } from './groups';
import { sameParty, type Party } from './party';
import { MAX_HOP_LIMIT } from './scopes';

/**
 * Whether an access request goes through a grant. A hop-1 request names the grant's consent
 * and is the grant's delegatee's, or a member's of the group the grant is to (the chain
 * registers a group grant only to its consent's grantee, and allows a request under that
 * consent only to a member). A request by area goes through the patient's standing grant to
 * the area whose rule allowed it. A delegated one names its leaf grant, whose re-delegation
 * chain (`parentOf`, at most MAX_HOP_LIMIT grants) must hold this one.
 */
export async function accessGoesThrough(
  access: { consentId: string | null; grantId?: string; agent: Party; patientPseudonym: string; areaRule?: string },
  grant: { grantId: string; consentId: string; hop: number; delegatee: Party },
  parentOf: (grantId: string) => Promise<string | null>,
): Promise<boolean> {
  const standing = parseAreaKeysId(grant.consentId);
  if (standing) return access.consentId === null && !access.grantId && grant.hop === 1 && access.patientPseudonym === standing.patientPseudonym && areaOfRule(access.areaRule) === standing.area;
  if (access.consentId !== grant.consentId) return false;
  if (!access.grantId) return grant.hop === 1 && (sameParty(grant.delegatee, access.agent) || isGroupParty(grant.delegatee));
  let id: string | null = access.grantId;
  for (let depth = 0; id && depth < MAX_HOP_LIMIT; depth++) {
    if (id === grant.grantId) return true;
    id = await parentOf(id);
  }
  return false;
}
