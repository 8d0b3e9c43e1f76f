/**
 * The typed contract clients against a recording fake of the gateway's Contract: which
 * transaction each method calls, submitted or evaluated, with which argument strings and
 * transient data (the chaincode parses exactly these), and that the answer comes back parsed.
 * The `@ts-expect-error` lines are checked by `tsc -p test`: the transaction table refuses a
 * wrong name, a missing or extra argument, and an argument of the wrong type.
 */
import type { Contract, ProposalOptions } from '@hyperledger/fabric-gateway';
import { TRANSACTIONS, type TransactionName } from '@emr/protocol';
import { ConsentLedger, DirectoryClient, EmergencyAccess, EmrIndex, KeyCentreRegistry, ProxyRegistry, type ContractConnection } from '../../../client/src';
import { ContractClient } from '../../../client/src/fabric/contract-client';
import { consentInput, recordInput } from '../../support/fixtures';

interface Call {
  how: 'submit' | 'evaluate' | 'submitAsync';
  name: string;
  args: string[];
  transient?: Record<string, string>;
  orgs?: string[];
}

function recording(answer: unknown = { ok: true }) {
  const calls: Call[] = [];
  const bytes = () => new TextEncoder().encode(JSON.stringify(answer));
  const record = (how: Call['how'], name: string, o: ProposalOptions = {}) =>
    calls.push({
      how,
      name,
      args: (o.arguments ?? []) as string[],
      ...(o.transientData ? { transient: Object.fromEntries(Object.entries(o.transientData).map(([k, v]) => [k, Buffer.from(v as Uint8Array).toString('utf8')])) } : {}),
      ...(o.endorsingOrganizations ? { orgs: o.endorsingOrganizations } : {}),
    });
  const contract = {
    submit: async (name: string, o: ProposalOptions) => (record('submit', name, o), bytes()),
    evaluate: async (name: string, o: ProposalOptions) => (record('evaluate', name, o), bytes()),
    submitAsync: async (name: string, o: ProposalOptions) => (record('submitAsync', name, o), { getResult: bytes, getStatus: async () => ({ successful: true }) }),
  } as unknown as Contract;
  const connection: ContractConnection = { contract, mspId: 'HospitalAMSP', user: 'doctor1', sign: (payload) => `signed(${payload.length})` };
  return { calls, connection };
}

const consent = consentInput();
const record = recordInput();

describe('the typed contract clients', () => {
  it('send each transaction as the chaincode reads it', async () => {
    const { calls, connection } = recording();
    const emr = new EmrIndex(connection);
    const ledger = new ConsentLedger(connection);
    const emergency = new EmergencyAccess(connection);
    const proxies = new ProxyRegistry(connection);
    const directory = new DirectoryClient(connection);
    const centres = new KeyCentreRegistry(connection);
    await emr.whoAmI();
    await emr.createRecord(record);
    await emr.listRecordsByPatient(record.patientPseudonym, { pageSize: 5, bookmark: 'b' });
    await emr.listRecordsByPatient(record.patientPseudonym);
    await emr.putInternalMetadata(record.recordId, { ward: 7 });
    await emr.readInternalMetadata(record.recordId);
    await ledger.grantConsent(consent);
    await ledger.setApprovalPolicy({ category: 'psychiatry', approvals: [{ role: 'doctor', count: 1 }] });
    await ledger.confirmReceiptAsync('tx.0');
    await emergency.justification('e1');
    await proxies.voteStake({ mspId: 'HospitalBMSP', enrollmentId: 'proxy' }, 30);
    await proxies.elect('g1', 'c1', 2);
    await proxies.reportBadFragment({ grantId: 'g1', proxy: { mspId: 'HospitalBMSP', enrollmentId: 'proxy' }, capsule: Uint8Array.of(1), fragment: Uint8Array.of(2), signature: 'sig' });
    await directory.readIdentity({ mspId: 'HospitalBMSP', enrollmentId: 'doctor2' });
    await centres.list();
    expect(calls).toEqual([
      { how: 'evaluate', name: 'emr:WhoAmI', args: [] },
      { how: 'submit', name: 'emr:CreateRecord', args: [JSON.stringify(record)] },
      { how: 'evaluate', name: 'emr:ListRecordsByPatient', args: [record.patientPseudonym, '5', 'b'] },
      { how: 'evaluate', name: 'emr:ListRecordsByPatient', args: [record.patientPseudonym, '20', ''] },
      { how: 'submit', name: 'emr:PutInternalMetadata', args: [record.recordId], transient: { metadata: '{"ward":7}' }, orgs: ['HospitalAMSP'] },
      { how: 'evaluate', name: 'emr:ReadInternalMetadata', args: [record.recordId], transient: {}, orgs: ['HospitalAMSP'] },
      { how: 'submit', name: 'consent:GrantConsent', args: [JSON.stringify(consent)] },
      { how: 'submit', name: 'consent:SetApprovalPolicy', args: ['{"category":"psychiatry","approvals":[{"role":"doctor","count":1}]}'] },
      { how: 'submitAsync', name: 'consent:ConfirmReceipt', args: ['tx.0'] },
      { how: 'evaluate', name: 'emergency:ReadJustification', args: ['e1'], transient: {}, orgs: ['HospitalAMSP'] },
      { how: 'submit', name: 'proxy:VoteStake', args: ['HospitalBMSP', 'proxy', '30'] },
      { how: 'evaluate', name: 'proxy:ElectProxies', args: ['g1', 'c1', '2'] },
      { how: 'submit', name: 'proxy:ReportBadFragment', args: ['{"grantId":"g1","proxy":{"mspId":"HospitalBMSP","enrollmentId":"proxy"},"capsule":"AQ","fragment":"Ag","signature":"sig"}'] },
      { how: 'evaluate', name: 'directory:ReadIdentity', args: ['HospitalBMSP', 'doctor2'] },
      { how: 'evaluate', name: 'kgc:ListKeyCentres', args: [] },
    ]);
    for (const c of calls) expect(TRANSACTIONS[c.name as TransactionName]).toBe(c.how === 'evaluate' ? 'evaluate' : 'submit');
  });

  it('answer the parsed result; an access decision that denies throws after the fact', async () => {
    const entry = { entryId: 'tx.0', outcome: 'denied', reason: 'expired' };
    const { connection } = recording({ entry, detail: 'consent c1 expired' });
    await expect(new ConsentLedger(connection).requestAccess('r1', 'c1', 'research')).rejects.toThrow('access denied (expired): consent c1 expired');
    const { connection: other } = recording({ seed: 's', proxies: [{ mspId: 'HospitalBMSP', enrollmentId: 'proxy' }] });
    expect(await new ProxyRegistry(other).elect('g1', 'c1', 1)).toEqual([{ mspId: 'HospitalBMSP', enrollmentId: 'proxy' }]);
  });

  it('refuse, at compile time, what the transaction table does not allow', async () => {
    class Probe extends ContractClient {
      async probe(): Promise<void> {
        // @ts-expect-error: no such transaction
        await this.submit('consent:RequestAcess', 'r1', 'c1', 'research');
        // @ts-expect-error: a purpose is missing
        await this.submit('consent:RequestAccess', 'r1', 'c1');
        // @ts-expect-error: not a purpose
        await this.submit('consent:RequestAccess', 'r1', 'c1', 'curiosity');
        // @ts-expect-error: the page size is a number
        await this.evaluate('emr:ListRecordsByPatient', 'p', '20', '');
        // @ts-expect-error: a read-only transaction is evaluated, not submitted
        await this.submit('emr:ReadRecord', 'r1');
        const decision = await this.submit('consent:RequestAccess', 'r1', 'c1', 'research');
        // @ts-expect-error: the result is an AccessDecision, not a record
        void decision.recordId;
      }
    }
    const { calls, connection } = recording({ entry: {}, detail: null });
    await new Probe(connection).probe();
    expect(calls.map((c) => c.name)).toContain('consent:RequestAccess');
  });
});
