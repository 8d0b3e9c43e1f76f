import type { Area, AreaRule } from '../areas';

/**
 * The consortium's settings on chain: which orgs are members, the default cipher suite of
 * new records, the department categories records are filed under, and the areas requesters
 * fall into with their default rules. They change only by a proposal that enough member orgs' admins approve
 * (docs/chaincode.md, "Consortium settings").
 */

/** What a proposal sets. */
export interface ConsortiumSettingsInput {
  /** The member orgs' MSP ids. */
  members: string[];
  /** The cipher suite new records use unless the uploader names another (a per-record override). */
  defaultCipherSuite: string;
  /**
   * The department tree: every path records may be filed under and consents may name, their
   * ancestors implied (`cardiology/ecg` declares `cardiology` too). Empty: any well-formed path.
   */
  categories: string[];
  /** Named sets of orgs and roles (areas.ts). */
  areas: Area[];
  /** What each area may do when the patient has set nothing for it. */
  areaDefaults: AreaRule[];
  /**
   * Categories go on chain blinded for their patient (docs/privacy.md): the chain then refuses
   * a clear one on a new record, consent, area rule or break-glass, and the SDK blinds by
   * default. Absent in a proposal: false.
   */
  blindCategories?: boolean;
  /**
   * Staff file new records unlinked, under a record pseudonym (docs/privacy.md, "Linkability"):
   * the chain then refuses a doctor's new record under a patient's own pseudonym, and the SDK
   * files unlinked by default. A patient's own filings and new versions are unaffected.
   * Absent in a proposal: false.
   */
  unlinkRecords?: boolean;
}

/** The settings in force; version 0 until the first proposal is adopted. */
export interface ConsortiumSettings extends ConsortiumSettingsInput {
  version: number;
  /** The proposal that set them, and when (null for version 0). */
  proposalId: string | null;
  adoptedAt: string | null;
}

export interface SettingsApproval {
  mspId: string;
  enrollmentId: string;
  approvedAt: string;
  txId: string;
}

export interface SettingsProposal {
  proposalId: string;
  /** The version it changes; it is adopted as baseVersion + 1, and never over a newer version. */
  baseVersion: number;
  settings: ConsortiumSettingsInput;
  proposedBy: { mspId: string; enrollmentId: string };
  /** One admin per org: the proposer's org first. */
  approvals: SettingsApproval[];
  /** 'adopted' once in force. An open proposal whose base version is no longer in force cannot be adopted. */
  status: 'open' | 'adopted';
}

/** The suite records use when nothing was adopted yet. */
export const DEFAULT_CIPHER_SUITE = 'aes-256-gcm-stream.v1';

export const NO_SETTINGS: ConsortiumSettings = { version: 0, members: [], defaultCipherSuite: DEFAULT_CIPHER_SUITE, categories: [], areas: [], areaDefaults: [], blindCategories: false, unlinkRecords: false, proposalId: null, adoptedAt: null };

/** The category is in the consortium's tree: declared, or an ancestor of a declared one (any, when none are declared). */
export const categoryKnown = (settings: Pick<ConsortiumSettings, 'categories'>, category: string): boolean =>
  settings.categories.length === 0 || settings.categories.some((c) => c === category || c.startsWith(`${category}/`));

/** Why a category is unknown, naming the tree (at most 20 of its paths). */
export function unknownCategory(settings: Pick<ConsortiumSettings, 'categories'>, category: string): string {
  const listed = settings.categories.slice(0, 20).join(', ') + (settings.categories.length > 20 ? `, … (${settings.categories.length} in all)` : '');
  return `'${category}' is not a category of the consortium (emr consortium show); its categories: ${listed}`;
}

/**
 * The orgs whose approval a proposal still lacks, and how many more of the current members
 * it needs. Pure. The first settings need every org they name (nobody is a member yet, so
 * nobody can speak for another); later, a majority of the current members, and every org the
 * proposal adds (an org joins only by its own consent).
 */
export function missingApprovals(current: ConsortiumSettings, proposed: ConsortiumSettingsInput, approvingOrgs: readonly string[]): { orgs: string[]; moreMembers: number } {
  const approved = new Set(approvingOrgs);
  if (current.version === 0) return { orgs: proposed.members.filter((m) => !approved.has(m)), moreMembers: 0 };
  const joining = proposed.members.filter((m) => !current.members.includes(m) && !approved.has(m));
  const majority = Math.floor(current.members.length / 2) + 1;
  const membersApproved = current.members.filter((m) => approved.has(m)).length;
  return { orgs: joining, moreMembers: Math.max(0, majority - membersApproved) };
}

/** The orgs whose admins may approve: the current members, and the orgs a proposal adds (all named orgs for the first settings). */
export function mayApprove(current: ConsortiumSettings, proposed: ConsortiumSettingsInput, mspId: string): boolean {
  return current.members.includes(mspId) || proposed.members.includes(mspId);
}
