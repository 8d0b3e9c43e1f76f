/** Typed access to the consortium's settings: read by anyone, changed by the member orgs' admins together. */
import type { ConsortiumSettings, ConsortiumSettingsInput, SettingsProposal } from '@emr/protocol';
import { ContractClient } from './contract-client';

export class ConsortiumSettingsClient extends ContractClient {
  /** The settings in force (version 0 with the defaults until the first were adopted). */
  read(): Promise<ConsortiumSettings> {
    return this.evaluate('consortium:ReadSettings');
  }

  /** An admin proposes settings; his org's approval is counted at once. */
  propose(proposalId: string, settings: ConsortiumSettingsInput): Promise<SettingsProposal> {
    return this.submit('consortium:ProposeSettings', { proposalId, settings });
  }

  /** An admin approves a proposal for his org; the approval that completes the quorum puts it in force. */
  approve(proposalId: string): Promise<SettingsProposal> {
    return this.submit('consortium:ApproveSettings', proposalId);
  }

  readProposal(proposalId: string): Promise<SettingsProposal> {
    return this.evaluate('consortium:ReadProposal', proposalId);
  }
}
