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
  checkMspId,
  checkProposalId,
  invalid,
  categoryKnown,
  mayApprove,
  missingApprovals,
  unknownCategory,
  type Caller,
  type ConsortiumSettings,
  type ConsortiumSettingsInput,
  type SettingsProposal,
} from '@emr/protocol';
import { encode, found, isObject, parseJsonObject, readJson, rejectUnknownFields, type StateStore, type TxContext } from './ledger';

const SETTINGS = 'emr.consortium';
const PROPOSAL = 'emr.consortium-proposal';
export const MAX_MEMBERS = 32;
export const MAX_CATEGORIES = 512;

/** A proposal as submitted: {proposalId, settings: {members, defaultCipherSuite, categories}}. */
export function parseSettingsProposal(json: string): { proposalId: string; settings: ConsortiumSettingsInput } {
  const raw = parseJsonObject(json, 'proposal');
  rejectUnknownFields(raw, ['proposalId', 'settings']);
  const proposalId = checkProposalId(typeof raw.proposalId === 'string' ? raw.proposalId : '');
  if (!isObject(raw.settings)) throw invalid('settings', 'must be {members, defaultCipherSuite, categories}');
  rejectUnknownFields(raw.settings, ['members', 'defaultCipherSuite', 'categories'], 'settings.');
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
  return { proposalId, settings: { members: [...(members as string[])].sort(), defaultCipherSuite, categories: [...(categories as string[])].sort() } };
}

export class ConsortiumStore {
  constructor(private readonly state: StateStore) {}

  async settings(): Promise<ConsortiumSettings> {
    const stored = await readJson<ConsortiumSettings>(this.state, SETTINGS, []);
    return stored ? { ...NO_SETTINGS, ...stored } : NO_SETTINGS;
  }

  /** The key `settings` reads (for StateStore.prefetch). */
  key = (): string => this.state.createCompositeKey(SETTINGS, []);

  /** Throws INVALID_ARGUMENT[field] unless the category is in the consortium's tree. */
  async requireCategory(category: string, field: string): Promise<void> {
    const settings = await this.settings();
    if (!categoryKnown(settings, category)) throw invalid(field, unknownCategory(settings, category));
  }

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
