import { canonicalJson, checkProposalId } from '@emr/protocol';
import { Context, Info, Returns, Transaction } from 'fabric-contract-api';
import { ConsortiumStore, parseSettingsProposal } from './consortium';
import { session } from './session';
import { BatchingContract } from './transaction-state';

/** The consortium's settings, changed by its member orgs' admins together (docs/chaincode.md). */
@Info({ title: 'ConsortiumContract', description: 'consortium settings: members, default cipher suite; multi-org approval' })
export class ConsortiumContract extends BatchingContract {
  constructor() {
    super('consortium');
  }

  /** The settings in force (version 0 with the defaults until the first are adopted). */
  @Transaction(false)
  @Returns('string')
  async ReadSettings(ctx: Context): Promise<string> {
    const s = session(ctx, 'consortium:ReadSettings');
    return canonicalJson(await new ConsortiumStore(s.stub).settings());
  }

  /** An admin proposes settings: JSON {proposalId, settings: {members, defaultCipherSuite}}; his org approves it by proposing. */
  @Transaction()
  @Returns('string')
  async ProposeSettings(ctx: Context, proposalJson: string): Promise<string> {
    const s = session(ctx, 'consortium:ProposeSettings');
    const proposal = await new ConsortiumStore(s.stub).propose(parseSettingsProposal(proposalJson), s.caller, s.tx);
    s.event('consortium.proposal', { proposalId: proposal.proposalId, status: proposal.status });
    return canonicalJson(proposal);
  }

  /** An admin approves a proposal for his org; the approval that completes the quorum puts the settings in force. */
  @Transaction()
  @Returns('string')
  async ApproveSettings(ctx: Context, proposalId: string): Promise<string> {
    const s = session(ctx, 'consortium:ApproveSettings');
    const proposal = await new ConsortiumStore(s.stub).approve(checkProposalId(proposalId), s.caller, s.tx);
    s.event('consortium.proposal', { proposalId: proposal.proposalId, status: proposal.status });
    return canonicalJson(proposal);
  }

  @Transaction(false)
  @Returns('string')
  async ReadProposal(ctx: Context, proposalId: string): Promise<string> {
    const s = session(ctx, 'consortium:ReadProposal');
    return canonicalJson(await new ConsortiumStore(s.stub).proposal(checkProposalId(proposalId)));
  }
}
