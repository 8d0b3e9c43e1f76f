/**
 * Access by area (seed 004): the consortium divides requesters into areas, named sets of orgs
 * and roles such as "the patient's own hospital, doctors" or "research institutes,
 * researchers", and gives each area a default rule; a patient may replace an area's default
 * with his own, or withdraw it. The chaincode decides a request without a consent here, by
 * one pure function, and logs the rule that allowed or denied it (docs/chaincode.md).
 */
import type { Caller, Role } from './roles';
import { inCategory, type DenyReason, type Purpose, type RecordType } from './scopes';

/** An area member's org: an MSP id, the patient's home hospital, or every member org but the home. */
export const HOME_ORG = '$home';
export const OTHER_MEMBERS = '$others';
/** Roles an area can hold: people who request records. */
export const AREA_ROLES = ['doctor', 'researcher', 'admin'] as const satisfies readonly Role[];
export const AREA_NAME = /^[a-z][a-z0-9-]{0,31}$/;

export interface AreaMember {
  org: string;
  roles: Role[];
}

export interface Area {
  name: string;
  members: AreaMember[];
}

/** What an area may do: these purposes, on records of a category subtree (every category when none). No purposes: nothing. */
export interface AreaRule {
  area: string;
  purposes: Purpose[];
  category?: string;
}

/** A patient's own rule for one area: it replaces the consortium's default for that area. */
export interface AreaPolicy extends AreaRule {
  patientPseudonym: string;
  setAt: string;
  txId: string;
}

export interface AreaContext {
  areas: Area[];
  /** The consortium's defaults (settings.areaDefaults). */
  defaults: AreaRule[];
  /** The patient's own rules. */
  policies: AreaRule[];
  /** The consortium's member orgs. */
  members: string[];
  /** The patient's home hospital. */
  homeMsp: string;
}

/** The requester is in the area, for a patient of `homeMsp`. */
export function inArea(area: Area, requester: Caller, homeMsp: string, members: readonly string[]): boolean {
  return area.members.some(
    (m) =>
      m.roles.includes(requester.role) &&
      (m.org === HOME_ORG ? requester.mspId === homeMsp : m.org === OTHER_MEMBERS ? requester.mspId !== homeMsp && members.includes(requester.mspId) : m.org === requester.mspId),
  );
}

/** A rule as it applies to one patient: `<area>:default` or `<area>:patient`. */
export interface EffectiveRule extends AreaRule {
  name: string;
}

/** The rules that apply to a requester for a patient: for each area he is in, the patient's rule if he set one, else the consortium's defaults. */
export function effectiveRules(ctx: AreaContext, requester: Caller): EffectiveRule[] {
  return ctx.areas
    .filter((a) => inArea(a, requester, ctx.homeMsp, ctx.members))
    .flatMap((a) => {
      const own = ctx.policies.find((p) => p.area === a.name);
      return own ? [{ ...own, name: `${a.name}:patient` }] : ctx.defaults.filter((d) => d.area === a.name).map((d) => ({ ...d, name: `${a.name}:default` }));
    });
}

export type AreaDecision = { allow: true; rule: string } | { allow: false; rule: string | null; reason: DenyReason; detail: string };

/**
 * Decides a request without a consent under the area rules. Pure: no ledger, no clock. The
 * first rule (in the consortium's order of areas) that covers the purpose and the record
 * allows it; otherwise the most specific refusal is reported, with the rule it came from:
 * a rule that covers the record but not the purpose (`wrong-purpose`), then one that does not
 * cover the record (`out-of-scope`), then a withdrawn default (`revoked`); `not-grantee` when
 * no rule applies to the requester at all.
 */
export function evaluateAreaAccess(ctx: AreaContext, requester: Caller, record: { recordId: string; category: string; type: RecordType; erased?: unknown }, purpose: Purpose): AreaDecision {
  const who = `'${requester.enrollmentId}' (${requester.mspId}, ${requester.role})`;
  const rules = effectiveRules(ctx, requester);
  if (rules.length === 0) return { allow: false, rule: null, reason: 'not-grantee', detail: `${who} is in no area with a rule for this patient's records` };
  if (record.erased) return { allow: false, rule: null, reason: 'erased', detail: `record '${record.recordId}' was erased` };
  const covers = (r: AreaRule) => record.type === 'sharable' && (r.category === undefined || inCategory(record.category, r.category));
  const allowing = rules.find((r) => covers(r) && r.purposes.includes(purpose));
  if (allowing) return { allow: true, rule: allowing.name };
  const purposeOnly = rules.find((r) => covers(r) && r.purposes.length > 0);
  if (purposeOnly) return { allow: false, rule: purposeOnly.name, reason: 'wrong-purpose', detail: `area rule ${purposeOnly.name} allows ${purposeOnly.purposes.join(', ')}, not ${purpose}` };
  const scoped = rules.find((r) => r.purposes.length > 0);
  if (scoped) return { allow: false, rule: scoped.name, reason: 'out-of-scope', detail: `record '${record.recordId}' (${record.type}, ${record.category}) is outside area rule ${scoped.name}${scoped.category ? ` (${scoped.category})` : ' (sharable records)'}` };
  const withdrawn = rules[0]!;
  return { allow: false, rule: withdrawn.name, reason: 'revoked', detail: `the patient withdrew the ${withdrawn.area} area's access (rule ${withdrawn.name})` };
}
