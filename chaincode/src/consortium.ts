/**
 * The consortium's settings (members, default cipher suite): one document in force, changed
 * only through a proposal that enough member orgs' admins approve, one approval per org
 * (@emr/protocol's missingApprovals says how many). A proposal names the version it changes,
 * so two proposals never both land on the same version: the later one becomes stale.
 */
import { CIPHER_SUITES } from '@emr/crypto';
import {
  ChaincodeError,
  ErrorCode,
  NO_SETTINGS,
  checkCategory,
  isBlindedCategory,
  checkMspId,
  checkProposalId,
  invalid,
  categoryKnown,
  AREA_NAME,
  AREA_ROLES,
  HOME_ORG,
  OTHER_MEMBERS,
  PURPOSES,
  mayApprove,
  missingApprovals,
  unknownCategory,
  type Area,
  type AreaRule,
  type Caller,
  type ConsortiumSettings,
  type Purpose,
  type Role,
  type ConsortiumSettingsInput,
  type SettingsProposal,
} from '@emr/protocol';
import { encode, found, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

const SETTINGS = 'emr.consortium';
const PROPOSAL = 'emr.consortium-proposal';
export const MAX_MEMBERS = 32;
export const MAX_CATEGORIES = 512;
export const MAX_AREAS = 16;

/**
 * One area rule's purposes and category, under `field` (settings defaults and patients' own
 * rules alike). Only a patient's own rule may name a blinded path: his key blinded it as it
 * blinded his records (docs/privacy.md); a consortium default names the tree's clear paths.
 */
export function parseAreaRule(raw: Record<string, unknown>, field: string, categories: string[], blindedAllowed = false): Omit<AreaRule, 'area'> {
  const { purposes, category } = raw;
  if (!Array.isArray(purposes) || purposes.some((p) => !(PURPOSES as readonly unknown[]).includes(p)) || new Set(purposes).size !== purposes.length) {
    throw invalid(`${field}purposes`, `must list distinct purposes of ${PURPOSES.join(', ')} (none: nothing)`);
  }
  if (category === undefined) return { purposes: purposes as Purpose[] };
  const checked = checkCategory(category, `${field}category`);
  if (isBlindedCategory(checked) && !blindedAllowed) throw invalid(`${field}category`, "is a blinded path; a consortium default names a clear one (a blinded path means something only for one patient's records)");
  if (!isBlindedCategory(checked) && !categoryKnown({ categories }, checked)) throw invalid(`${field}category`, unknownCategory({ categories }, checked));
  return { purposes: purposes as Purpose[], category: checked };
}

function parseAreas(raw: unknown, members: string[]): Area[] {
  if (!Array.isArray(raw) || raw.length > MAX_AREAS) throw invalid('settings.areas', `must list at most ${MAX_AREAS} areas`);
  const areas = raw.map((a: unknown, i): Area => {
    const f = `settings.areas[${i}]`;
    if (!isObject(a)) throw invalid(f, 'must be {name, members}');
    rejectUnknownFields(a, ['name', 'members'], `${f}.`);
    if (typeof a.name !== 'string' || !AREA_NAME.test(a.name)) throw invalid(`${f}.name`, 'must be 1-32 characters of a-z 0-9 - starting with a letter');
    if (!Array.isArray(a.members) || a.members.length === 0 || a.members.length > MAX_MEMBERS) throw invalid(`${f}.members`, `must list 1 to ${MAX_MEMBERS} {org, roles}`);
    return {
      name: a.name,
      members: a.members.map((m: unknown, j) => {
        const g = `${f}.members[${j}]`;
        if (!isObject(m)) throw invalid(g, 'must be {org, roles}');
        rejectUnknownFields(m, ['org', 'roles'], `${g}.`);
        if (m.org !== HOME_ORG && m.org !== OTHER_MEMBERS && !(typeof m.org === 'string' && members.includes(m.org))) {
          throw invalid(`${g}.org`, `must be ${HOME_ORG} (the patient's home hospital), ${OTHER_MEMBERS} (every other member) or a member: ${members.join(', ')}`);
        }
        if (!Array.isArray(m.roles) || m.roles.length === 0 || m.roles.some((r) => !(AREA_ROLES as readonly unknown[]).includes(r))) throw invalid(`${g}.roles`, `must list roles of ${AREA_ROLES.join(', ')}`);
        return { org: m.org, roles: [...new Set(m.roles as Role[])] };
      }),
    };
  });
  if (new Set(areas.map((a) => a.name)).size !== areas.length) throw invalid('settings.areas', 'must name each area once');
  return areas;
}

function parseAreaDefaults(raw: unknown, areas: Area[], categories: string[]): AreaRule[] {
  if (!Array.isArray(raw) || raw.length > 4 * MAX_AREAS) throw invalid('settings.areaDefaults', `must list at most ${4 * MAX_AREAS} rules`);
  return raw.map((d: unknown, i): AreaRule => {
    const f = `settings.areaDefaults[${i}]`;
    if (!isObject(d)) throw invalid(f, 'must be {area, purposes, category?}');
    rejectUnknownFields(d, ['area', 'purposes', 'category'], `${f}.`);
    if (typeof d.area !== 'string' || !areas.some((a) => a.name === d.area)) throw invalid(`${f}.area`, unknownArea(areas, String(d.area)));
    return { area: d.area, ...parseAreaRule(d, `${f}.`, categories) };
  });
}

/** Throws INVALID_ARGUMENT[field] unless the consortium has the area. */
export function requireArea(settings: ConsortiumSettings, name: string, field: string): void {
  if (!settings.areas.some((a) => a.name === name)) throw invalid(field, unknownArea(settings.areas, name));
}

/**
 * Throws INVALID_ARGUMENT[field] unless the category is in the consortium's tree. A blinded
 * path (docs/privacy.md) cannot be checked here: the SDK checked its clear form before blinding.
 */
export function requireCategory(settings: ConsortiumSettings, category: string, field: string): void {
  if (isBlindedCategory(category)) return;
  if (!categoryKnown(settings, category)) throw invalid(field, unknownCategory(settings, category));
  requireBlindedIfBlinding(settings, category, field);
}

/** While the consortium blinds categories, a new clear one is refused. */
export function requireBlindedIfBlinding(settings: Pick<ConsortiumSettings, 'blindCategories'>, category: string, field: string): void {
  if (settings.blindCategories && !isBlindedCategory(category)) {
    throw invalid(field, "is a clear category, and the consortium blinds categories (emr consortium show): the SDK blinds it for the patient by default");
  }
}

/** Why an area is unknown, naming the consortium's areas. */
export const unknownArea = (areas: Area[], name: string): string =>
  `'${name}' is not an area of the consortium (emr consortium show); its areas: ${areas.map((a) => a.name).join(', ') || 'none'}`;

/** A proposal as submitted: {proposalId, settings: {members, defaultCipherSuite, categories, areas, areaDefaults, blindCategories?, unlinkRecords?}}. */
export function parseSettingsProposal(json: string): { proposalId: string; settings: ConsortiumSettingsInput } {
  const raw = parseJsonObject(json, 'proposal');
  rejectUnknownFields(raw, ['proposalId', 'settings']);
  const proposalId = checkProposalId(typeof raw.proposalId === 'string' ? raw.proposalId : '');
  if (!isObject(raw.settings)) throw invalid('settings', 'must be {members, defaultCipherSuite, categories, areas, areaDefaults, blindCategories?, unlinkRecords?}');
  rejectUnknownFields(raw.settings, ['members', 'defaultCipherSuite', 'categories', 'areas', 'areaDefaults', 'blindCategories', 'unlinkRecords'], 'settings.');
  const { blindCategories = false, unlinkRecords = false } = raw.settings;
  if (typeof blindCategories !== 'boolean') throw invalid('settings.blindCategories', 'must be true or false');
  if (typeof unlinkRecords !== 'boolean') throw invalid('settings.unlinkRecords', 'must be true or false');
  const { members, defaultCipherSuite, categories } = raw.settings;
  if (!Array.isArray(members) || members.length === 0 || members.length > MAX_MEMBERS) throw invalid('settings.members', `must list 1 to ${MAX_MEMBERS} MSP ids`);
  members.forEach((m, i) => checkMspId(m, `settings.members[${i}]`));
  if (new Set(members).size !== members.length) throw invalid('settings.members', 'must name each org once');
  if (typeof defaultCipherSuite !== 'string' || !(CIPHER_SUITES as readonly string[]).includes(defaultCipherSuite)) {
    throw invalid('settings.defaultCipherSuite', `must be one of ${CIPHER_SUITES.join(', ')}`);
  }
  if (!Array.isArray(categories) || categories.length > MAX_CATEGORIES) throw invalid('settings.categories', `must list at most ${MAX_CATEGORIES} department paths (none: any path)`);
  categories.forEach((c, i) => checkCategory(c, `settings.categories[${i}]`));
  if (new Set(categories).size !== categories.length) throw invalid('settings.categories', 'must name each path once');
  const tree = [...(categories as string[])].sort();
  const areas = parseAreas(raw.settings.areas, members as string[]);
  const areaDefaults = parseAreaDefaults(raw.settings.areaDefaults, areas, tree);
  const clearDefault = areaDefaults.findIndex((d) => d.category !== undefined);
  if (blindCategories && clearDefault >= 0) throw invalid(`settings.areaDefaults[${clearDefault}].category`, "names a category, which matches no blinded record: while the consortium blinds categories, defaults name none (a patient's own rule may)");
  return { proposalId, settings: { members: [...(members as string[])].sort(), defaultCipherSuite, categories: tree, areas, areaDefaults, blindCategories, unlinkRecords } };
}

export class ConsortiumStore {
  constructor(private readonly state: StateStore) {}

  async settings(): Promise<ConsortiumSettings> {
    const stored = await readJson<ConsortiumSettings>(this.state, SETTINGS, []);
    return stored ? { ...NO_SETTINGS, ...stored } : NO_SETTINGS;
  }

  /** The key `settings` reads (for StateStore.prefetch). */
  key = (): string => this.state.createCompositeKey(SETTINGS, []);



  async proposal(proposalId: string): Promise<SettingsProposal> {
    return found(await readJson<SettingsProposal>(this.state, PROPOSAL, [proposalId]), 'proposalId', `no consortium settings proposal '${proposalId}'`);
  }

  /** An admin proposes new settings; his org's approval is the first. Adopted at once if that is enough. */
  async propose(input: { proposalId: string; settings: ConsortiumSettingsInput }, caller: Caller, tx: TxContext): Promise<SettingsProposal> {
    if (await readJson<SettingsProposal>(this.state, PROPOSAL, [input.proposalId])) throw new ChaincodeError(ErrorCode.Conflict, `proposal '${input.proposalId}' already exists`, 'proposalId');
    const current = await this.settings();
    if (!mayApprove(current, input.settings, caller.mspId)) {
      throw new ChaincodeError(ErrorCode.Unauthorized, `${caller.mspId} is not a member of the consortium (${current.members.join(', ')}) and the proposal does not add it`);
    }
    const proposal: SettingsProposal = {
      proposalId: input.proposalId,
      baseVersion: current.version,
      settings: input.settings,
      proposedBy: { mspId: caller.mspId, enrollmentId: caller.enrollmentId },
      approvals: [{ mspId: caller.mspId, enrollmentId: caller.enrollmentId, approvedAt: tx.timestamp.toISOString(), txId: tx.txId }],
      status: 'open',
    };
    return this.adoptIfEnough(proposal, current, tx);
  }

  /** An admin of another org approves; the approval that completes the quorum adopts the settings. */
  async approve(proposalId: string, caller: Caller, tx: TxContext): Promise<SettingsProposal> {
    const proposal = await this.proposal(proposalId);
    const current = await this.settings();
    if (proposal.status !== 'open') throw new ChaincodeError(ErrorCode.Conflict, `proposal '${proposalId}' is ${proposal.status}`, 'proposalId');
    if (current.version !== proposal.baseVersion) {
      throw new ChaincodeError(ErrorCode.Conflict, `proposal '${proposalId}' changes version ${proposal.baseVersion}, but version ${current.version} is in force now; propose again`, 'proposalId');
    }
    if (!mayApprove(current, proposal.settings, caller.mspId)) throw new ChaincodeError(ErrorCode.Unauthorized, `${caller.mspId} is neither a member of the consortium nor added by this proposal`);
    if (proposal.approvals.some((a) => a.mspId === caller.mspId)) throw new ChaincodeError(ErrorCode.Conflict, `${caller.mspId} has already approved proposal '${proposalId}'`, 'proposalId');
    const approved = { ...proposal, approvals: [...proposal.approvals, { mspId: caller.mspId, enrollmentId: caller.enrollmentId, approvedAt: tx.timestamp.toISOString(), txId: tx.txId }] };
    return this.adoptIfEnough(approved, current, tx);
  }

  private async adoptIfEnough(proposal: SettingsProposal, current: ConsortiumSettings, tx: TxContext): Promise<SettingsProposal> {
    const missing = missingApprovals(current, proposal.settings, proposal.approvals.map((a) => a.mspId));
    const adopted = missing.orgs.length === 0 && missing.moreMembers === 0;
    const stored: SettingsProposal = { ...proposal, status: adopted ? 'adopted' : 'open' };
    if (adopted) {
      const settings: ConsortiumSettings = { ...proposal.settings, version: current.version + 1, proposalId: proposal.proposalId, adoptedAt: tx.timestamp.toISOString() };
      await this.put(SETTINGS, [], settings);
    }
    await this.put(PROPOSAL, [proposal.proposalId], stored);
    return stored;
  }

  private put = (type: string, attributes: string[], value: unknown) => this.state.putState(this.state.createCompositeKey(type, attributes), encode(value));
}
