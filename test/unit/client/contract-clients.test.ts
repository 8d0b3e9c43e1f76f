/**
 * The typed contract clients against a recording fake of the gateway's Contract: which
 * transaction each method calls, submitted or evaluated, with which argument strings and
 * transient data (the chaincode parses exactly these), and that the answer comes back parsed.
 * The `@ts-expect-error` lines are checked by `tsc -p test`: the transaction table refuses a
 * wrong name, a missing or extra argument, and an argument of the wrong type.
 */
import type { ServiceError } from '@grpc/grpc-js';
import { GatewayError, type Contract, type Gateway, type ProposalOptions } from '@hyperledger/fabric-gateway';
import { gateway as gatewayProtos, msp } from '@hyperledger/fabric-protos';
import { TRANSACTIONS, type TransactionName } from '@emr/protocol';
import { ConsentLedger, DirectoryClient, EmergencyAccess, EmrIndex, KeyCentreRegistry, MvccConflictError, ProxyRegistry, TimeoutError, UnavailableError, type ContractConnection } from '../../../client/src';
import { COMMIT_STALL_MS, ContractClient } from '../../../client/src/fabric/contract-client';
import { consentInput, recordInput } from '../../support/fixtures';

interface Call {
  how: 'submit' | 'evaluate';
  name: string;
  args: string[];
  transient?: Record<string, string>;
  orgs?: string[];
}

/** A fake of the gateway's Contract that records each call; `submitted` is what handing a transaction to the orderers does. */
function recording(answer: unknown = { ok: true }, submitted: () => Promise<unknown> = async () => ({ getStatus: async () => ({ successful: true }) })) {
  const calls: Call[] = [];
  const commits: Uint8Array[] = [];
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
    evaluate: async (name: string, o: ProposalOptions) => (record('evaluate', name, o), bytes()),
    newProposal: (name: string, o: ProposalOptions) => ({
      endorse: async () => (record('submit', name, o), { getResult: bytes, getTransactionId: () => 'tx-1', submit: submitted }),
    }),
  } as unknown as Contract;
  const gateway = {
    newCommit: (request: Uint8Array) => (commits.push(request), { getStatus: async () => ({ successful: true, transactionId: 'tx-1', code: 0 }) }),
  } as unknown as Gateway;
  const connection: ContractConnection = { gateway, channel: 'emr', contract, mspId: 'HospitalAMSP', enrollmentId: 'doctor1', certificate: 'PEM', sign: (payload) => `signed(${payload.length})` };
  return { calls, commits, connection };
}

/** The orderers' refusal of a copy of a transaction they already ordered, as the gateway reports it under BFT. */
const refused = (...infos: string[]) =>
  new GatewayError({
    code: 14,
    message: '14 UNAVAILABLE: insufficient number of orderers could successfully process transaction to satisfy quorum requirement',
    details: infos.map((info, i) => ({ address: `127.0.0.1:7${i}50`, mspId: 'OrdererMSP', message: `received unsuccessful response from orderer: status=SERVICE_UNAVAILABLE, info=failed to submit request: ${info}` })),
    cause: {} as ServiceError,
  });

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
      { how: 'submit', name: 'consent:ConfirmReceipt', args: ['tx.0'] },
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

  it("wait for the commit of a transaction every refusing orderer had already ordered, instead of reporting it failed", async () => {
    const answer = { recordId: record.recordId, version: 1, ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', createdAt: '2026-01-01T00:00:00.000Z', txId: 'tx-1' };
    const { commits, connection } = recording(answer, async () => {
      throw refused('request already processed', 'request already processed');
    });
    expect(await new EmrIndex(connection).createRecord(record)).toMatchObject(answer);
    // Its status is asked for by transaction id, on the connection's channel, as the submitter.
    const request = gatewayProtos.CommitStatusRequest.deserializeBinary(gatewayProtos.SignedCommitStatusRequest.deserializeBinary(commits[0]!).getRequest_asU8());
    const creator = msp.SerializedIdentity.deserializeBinary(request.getIdentity_asU8());
    expect([request.getTransactionId(), request.getChannelId(), creator.getMspid(), Buffer.from(creator.getIdBytes_asU8()).toString()]).toEqual(['tx-1', 'emr', 'HospitalAMSP', 'PEM']);
    // A refusal for any other reason is the failure it says.
    const { connection: other } = recording(answer, async () => {
      throw refused('request already processed', 'request pool is full');
    });
    await expect(new EmrIndex(other).createRecord(record)).rejects.toThrow(UnavailableError);
    // And the commit it waits for may still be invalid.
    const { connection: conflicted } = recording(answer, async () => {
      throw refused('request already processed');
    });
    (conflicted.gateway as unknown as { newCommit: () => unknown }).newCommit = () => ({ getStatus: async () => ({ successful: false, transactionId: 'tx-1', code: 11 }) });
    await expect(new EmrIndex(conflicted).createRecord(record)).rejects.toThrow(MvccConflictError);
  });

  it('hand a transaction whose commit status stalls to the ordering service again (the same signed one), and report its status once it comes', async () => {
    const answer = { recordId: record.recordId, version: 1, ownerMsp: 'HospitalAMSP', createdBy: 'doctor1', createdAt: '2026-01-01T00:00:00.000Z', txId: 'tx-1' };
    const stalled = () => new GatewayError({ code: 4, message: '4 DEADLINE_EXCEEDED: Deadline exceeded', details: [], cause: {} as ServiceError });
    let submits = 0;
    const waits: number[] = [];
    // The first copy was lost by the ordering service: its status comes only once the copy went in.
    const { connection } = recording(answer, async () => {
      submits++;
      return {
        getStatus: async (o: { deadline: number }) => {
          waits.push(o.deadline - Date.now());
          if (submits < 2) throw stalled();
          return { successful: true, transactionId: 'tx-1', code: 0 };
        },
      };
    });
    expect(await new EmrIndex(connection).createRecord(record)).toMatchObject(answer);
    expect(submits).toBe(2);
    expect(waits).toHaveLength(2);
    expect(waits.every((ms) => ms > 0 && ms <= COMMIT_STALL_MS)).toBe(true);
    // A status that never comes is a timeout once the connection's commit-status deadline passed.
    const { connection: lost } = recording(answer, async () => ({ getStatus: async () => Promise.reject(stalled()) }));
    await expect(new EmrIndex({ ...lost, commitStatusMs: 50 }).createRecord(record)).rejects.toThrow(TimeoutError);
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
