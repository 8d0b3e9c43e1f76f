/**
 * Grants to groups. A consent may name a role at an org, a whole org or an area, not one
 * identity; its grants are then made to the group's party, an identity of its own whose
 * identity-based key the key centres extract for each member (the chain's settings decide who
 * is in an area). A group party's enrollment id has a `:`, which no enrolled identity's may
 * have (ids.ts), so no one can hold a group's key as his own.
 *
 *   area:<name>@<patient's home MSP>   (areas are relative to the patient's hospital)
 *   role:<role>@<MSP>
 *   org:members@<MSP>
 *
 * A patient's standing grants carry an area's defaults: they hang under the reserved id
 * `area-keys.<area>.<pseudonym>` instead of a consent, and serve only requests the chain
 * allowed by that area's rules (docs/sharing.md, "Keys for groups").
 */
import { AREA_NAME, AREA_ROLES, inArea, type Area } from './areas';
import { isPseudonym } from './ids';
import type { Party } from './party';
import { isRole, type Caller, type Role } from './roles';
import type { Grantee } from './scopes';

export type Group = { kind: 'area'; area: string; homeMsp: string } | { kind: 'role'; role: Role; mspId: string } | { kind: 'org'; mspId: string };

const ORG_MEMBERS = 'members';

/** The party a consent's grants go to: none for an identity grantee (the identity itself is). */
export function groupPartyOf(grantee: Grantee, homeMsp: string): Party | undefined {
  switch (grantee.kind) {
    case 'identity':
      return undefined;
    case 'area':
      return { mspId: homeMsp, enrollmentId: `area:${grantee.area}` };
    case 'role':
      return { mspId: grantee.mspId, enrollmentId: `role:${grantee.role}` };
    case 'org':
      return { mspId: grantee.mspId, enrollmentId: `org:${ORG_MEMBERS}` };
  }
}

/** The group a party stands for, or undefined for an ordinary identity (or a malformed group). */
export function groupOf(party: Party): Group | undefined {
  const colon = party.enrollmentId.indexOf(':');
  if (colon < 0) return undefined;
  const kind = party.enrollmentId.slice(0, colon);
  const name = party.enrollmentId.slice(colon + 1);
  if (kind === 'area' && AREA_NAME.test(name)) return { kind, area: name, homeMsp: party.mspId };
  if (kind === 'role' && isRole(name)) return { kind, role: name, mspId: party.mspId };
  if (kind === 'org' && name === ORG_MEMBERS) return { kind, mspId: party.mspId };
  return undefined;
}

/** A group's party, not an enrolled identity (no enrollment id has a `:`). */
export const isGroupParty = (party: Party): boolean => party.enrollmentId.includes(':');

/** What deciding membership of an area takes: the consortium's areas and member orgs. */
export interface GroupSettings {
  areas: Area[];
  members: string[];
}

/**
 * The caller belongs to the group: an area's member for that home hospital; the role at the
 * org; a requester of the org (a doctor, researcher or admin: never its proxy, key centre or a patient).
 */
export function inGroup(group: Group, caller: Caller, settings: GroupSettings): boolean {
  switch (group.kind) {
    case 'area': {
      const area = settings.areas.find((a) => a.name === group.area);
      return area !== undefined && settings.members.includes(group.homeMsp) && inArea(area, caller, group.homeMsp, settings.members);
    }
    case 'role':
      return caller.mspId === group.mspId && caller.role === group.role;
    case 'org':
      return caller.mspId === group.mspId && (AREA_ROLES as readonly Role[]).includes(caller.role);
  }
}

const AREA_KEYS = 'area-keys';

/** The id a patient's standing grants to an area hang under, in place of a consent's. */
export const areaKeysId = (area: string, patientPseudonym: string): string => `${AREA_KEYS}.${area}.${patientPseudonym}`;

/** The area and patient of a standing grants id, or undefined for any other id (a consent's). */
export function parseAreaKeysId(id: string): { area: string; patientPseudonym: string } | undefined {
  const [prefix, area, patientPseudonym, ...rest] = id.split('.');
  if (prefix !== AREA_KEYS || rest.length > 0 || !area || !AREA_NAME.test(area) || !isPseudonym(patientPseudonym)) return undefined;
  return { area, patientPseudonym };
}

/** Consent ids may not take the reserved form. */
export const isReservedConsentId = (id: string): boolean => id.startsWith(`${AREA_KEYS}.`);

/** The area an allowed area-rule entry names (`research:default` → `research`). */
export const areaOfRule = (rule: string | undefined | null): string | undefined => rule?.split(':')[0] || undefined;
