import { createRequire } from 'node:module';
import { contracts } from '../../../chaincode/src';
import { EmrContract } from '../../../chaincode/src/emr-contract';
import { BatchingContract, MAX_KEYS_PER_READ, MAX_RECORDS_PER_BATCH, WriteBatch, decodeGetStateMultipleResult, encodeGetStateMultiple, encodeWriteBatch, transactionState } from '../../../chaincode/src/transaction-state';
import { recordInput } from '../../support/fixtures';
import { MemoryState } from '../../support/memory-state';
import { chaincodeContext as context } from '../../support/chaincode-context';
import { A, contracts as unitContracts, patient1 } from '../../support/unit-ledger';

const fromShim = createRequire(require.resolve('fabric-shim'));
const { peer } = fromShim('@hyperledger/fabric-protos');
const { ChaincodeMessageHandler } = fromShim('./lib/handler');
const ShimStub = fromShim('./lib/stub');

/**
 * GetStateMultiple's keys and GetStateMultipleResult's values have one wire shape (field 1,
 * repeated, length-delimited), checked against Go's bytes below; fabric-shim's protos lack
 * both, and loading the newer fabric-protos beside them replaces the shim's classes.
 */
const keysOf = (request: Uint8Array): string[] => decodeGetStateMultipleResult(request).map((k) => Buffer.from(k).toString('utf8'));
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n >>>= 7) out.push((n & 0x7f) | 0x80);
  return [...out, n];
}
const resultOf = (values: Uint8Array[]): Buffer => Buffer.concat(values.map((v) => Buffer.concat([Buffer.from([0x0a, ...varint(v.length)]), v])));

/** What a Fabric 3.1 peer answers GET_STATE_MULTIPLE with, from `state`. */
const peerAnswer = (state: MemoryState, request: Uint8Array): Buffer => resultOf(keysOf(request).map((k) => state.data.get(k) ?? new Uint8Array()));

/** A MemoryState that looks like fabric-shim's stub to transaction-state.ts, its handler recording what is sent and answering reads. */
function shimLike(state: MemoryState) {
  const sent: { type: number; payload: Buffer; txid: string; channel: string; method: string }[] = [];
  const handler = {
    _askPeerAndListen: async (m: InstanceType<typeof peer.ChaincodeMessage>, method: string) => {
      sent.push({ type: m.getType(), payload: Buffer.from(m.getPayload_asU8()), txid: m.getTxid(), channel: m.getChannelId(), method });
      return m.getType() === 25 ? peerAnswer(state, m.getPayload_asU8()) : Buffer.alloc(0);
    },
  };
  return { sent, state: Object.assign(state, { handler, txId: 'tx-1', channel_id: 'emr-channel' }) };
}

describe('transaction state (writes in one WRITE_BATCH_STATE message, prefetched reads in one GET_STATE_MULTIPLE)', () => {
  it('encodes WriteBatchState byte for byte as Go protobuf does (fabric-protos-go-apiv2 v0.3.7)', () => {
    // proto.Marshal(&pb.WriteBatchState{...}) of these four records, run once with Go 1.26.
    const golden =
      '0a1f0a1200656d722e7265636f7264007265632d310012077b2261223a317d28090a240a016b1201001a1a5f696d706c696369745f6f72675f486f73706974616c414d535028090a060a026b3228090a220a0170221b0a1456414c49444154494f4e5f504152414d4554455212030102032815';
    const bytes = encodeWriteBatch([
      { key: '\u0000emr.record\u0000rec-1\u0000', collection: '', value: Buffer.from('{"a":1}'), type: 9 },
      { key: 'k', collection: '_implicit_org_HospitalAMSP', value: Buffer.from([0]), type: 9 },
      { key: 'k2', collection: '', value: new Uint8Array(), type: 9 },
      { key: 'p', collection: '', value: Buffer.from([1, 2, 3]), type: 21 },
    ]);
    expect(bytes.toString('hex')).toBe(golden);
  });

  it('holds writes until flush, keeps the last of two puts of a key, reads through, and sends nothing twice', async () => {
    const state = new MemoryState();
    state.data.set('old', Buffer.from('v0'));
    const sent: Buffer[] = [];
    const batch = new WriteBatch(async (_type, p) => (sent.push(p), Buffer.alloc(0)));
    const s = batch.wrap(state);
    await s.putState('a', Buffer.from('1'));
    await s.putState('a', Buffer.from('2'));
    await s.putPrivateData('_implicit_org_X', 'a', Buffer.from('p'));
    await s.setStateValidationParameter('a', Buffer.from([7]));
    expect(Buffer.from(await s.getState('old')).toString()).toBe('v0');
    expect(state.data.has('a')).toBe(false);
    expect(batch.size).toBe(3);
    await batch.flush();
    expect(sent).toHaveLength(1);
    expect(sent[0]).toEqual(
      encodeWriteBatch([
        { key: 'a', collection: '', value: Buffer.from('2'), type: 9 },
        { key: 'a', collection: '_implicit_org_X', value: Buffer.from('p'), type: 9 },
        { key: 'a', collection: '', value: Buffer.from([7]), type: 21 },
      ]),
    );
    await batch.flush();
    expect(sent).toHaveLength(1);
  });

  it("leaves the event on the shim's stub, where the shim reads it when the transaction ends", () => {
    const stub = Object.create(ShimStub.prototype);
    new WriteBatch(async () => Buffer.alloc(0)).wrap(stub).setEvent('emr.grant', Buffer.from('{}'));
    expect(stub.chaincodeEvent?.getEventName()).toBe('emr.grant');
  });

  it(`splits more than ${MAX_RECORDS_PER_BATCH} writes into messages the peer's default limit takes`, async () => {
    const sent: Buffer[] = [];
    const batch = new WriteBatch(async (_type, p) => (sent.push(p), Buffer.alloc(0)));
    const s = batch.wrap(new MemoryState());
    for (let i = 0; i < MAX_RECORDS_PER_BATCH + 1; i++) await s.putState(`k${i}`, Buffer.from([1]));
    await batch.flush();
    expect(sent.map((p) => p.length > 0)).toEqual([true, true]);
    expect(sent[1]).toEqual(encodeWriteBatch([{ key: `k${MAX_RECORDS_PER_BATCH}`, collection: '', value: Buffer.from([1]), type: 9 }]));
  });

  it("sends a transaction's writes as one message of type 24 on its own transaction, after the function returns", async () => {
    const base = new MemoryState();
    await unitContracts.consent.RegisterPatient(context(base, A, patient1, { txId: 'tx-0' }), recordInput().patientPseudonym);
    const { sent, state } = shimLike(base);
    const contract = new EmrContract();
    const ctx = context(state, 'HospitalAMSP', { 'hf.EnrollmentID': 'doctor1', role: 'doctor' });
    await contract.beforeTransaction(ctx);
    await contract.CreateRecord(ctx, JSON.stringify(recordInput()));
    // Its three reads (the patient's registration, the consortium's settings, the record id) went as one message.
    expect(sent.map((m) => m.type)).toEqual([25]);
    expect(keysOf(sent[0]!.payload).map((k) => k.split('\u0000')[1])).toEqual(['emr.patient', 'emr.consortium', 'emr.record']);
    await contract.afterTransaction(ctx);
    expect(sent).toHaveLength(2);
    expect(sent[1]).toMatchObject({ type: 24, txid: 'tx-1', channel: 'emr-channel' });
    // The record, its patient index, the log entry and its two indexes.
    const written = sent[1]!.payload.toString('latin1');
    for (const kind of ['emr.record', 'emr.record~patient', 'emr.log', 'emr.log~patient', 'emr.log~record']) expect(written).toContain(`\u0000${kind}\u0000`);
  });

  it('encodes GetStateMultiple and decodes GetStateMultipleResult as Go protobuf does, empty values included', () => {
    // proto.Marshal of GetStateMultiple{Keys} and GetStateMultipleResult{Values: {'{"a":1}', nil, 300 × 0x07}}, run once with Go 1.26 (fabric-protos-go-apiv2 v0.3.7).
    expect(encodeGetStateMultiple(['\u0000emr.patient\u0000p-1\u0000', 'k', 'é']).toString('hex')).toBe('0a1100656d722e70617469656e7400702d31000a016b0a02c3a9');
    const golden = Buffer.from(`0a077b2261223a317d0a000aac02${'07'.repeat(300)}`, 'hex');
    expect(decodeGetStateMultipleResult(golden).map((v) => Buffer.from(v).toString('hex'))).toEqual([Buffer.from('{"a":1}').toString('hex'), '', '07'.repeat(300)]);
    expect(resultOf([Buffer.from('{"a":1}'), new Uint8Array(), Buffer.alloc(300, 7)])).toEqual(golden);
    expect(() => decodeGetStateMultipleResult(Buffer.from([0x0a, 0x05, 0x01]))).toThrow(/runs past the end/);
    expect(() => decodeGetStateMultipleResult(Buffer.from([0x10, 0x01]))).toThrow(/unexpected field tag 16/);
  });

  it('prefetches keys in one message, answers later reads of them without asking, and asks no key twice', async () => {
    const state = new MemoryState();
    state.data.set('a', Buffer.from('1'));
    const asked: string[][] = [];
    const batch = new WriteBatch(async (type, payload) => {
      expect(type).toBe(25);
      asked.push(keysOf(payload));
      return peerAnswer(state, payload);
    });
    const s = batch.wrap(state);
    await s.prefetch(['a', 'b', 'a']);
    state.data.set('a', Buffer.from('changed under the transaction'));
    state.data.set('b', Buffer.from('2'));
    // The transaction sees what the one read returned: 'a' as it was, 'b' absent.
    expect(Buffer.from(await s.getState('a')).toString()).toBe('1');
    expect((await s.getState('b')).length).toBe(0);
    // A key not prefetched is read from the stub.
    state.data.set('c', Buffer.from('3'));
    expect(Buffer.from(await s.getState('c')).toString()).toBe('3');
    await s.prefetch(['a', 'c']);
    expect(asked).toEqual([['a', 'b'], ['c']]);
  });

  it(`splits more than ${MAX_KEYS_PER_READ} keys into reads the peer's default limit takes, and refuses an answer of the wrong length`, async () => {
    const state = new MemoryState();
    const sizes: number[] = [];
    const s = new WriteBatch(async (_type, payload) => (sizes.push(keysOf(payload).length), peerAnswer(state, payload))).wrap(state);
    await s.prefetch(Array.from({ length: MAX_KEYS_PER_READ + 1 }, (_, i) => `k${i}`));
    expect(sizes).toEqual([MAX_KEYS_PER_READ, 1]);
    const short = new WriteBatch(async () => peerAnswer(state, encodeGetStateMultiple(['x']))).wrap(state);
    await expect(short.prefetch(['x', 'y'])).rejects.toThrow(/answered 1 values for 2 keys/);
  });

  it('refuses a contract that is not a BatchingContract under fabric-shim, whose writes would be lost', () => {
    const { state } = shimLike(new MemoryState());
    expect(() => transactionState(context(state, 'HospitalAMSP', {}))).toThrow(/does not extend BatchingContract/);
  });

  it('every contract the chaincode serves is a BatchingContract', () => {
    for (const C of contracts) expect(new C()).toBeInstanceOf(BatchingContract);
  });

  it("reaches only fabric-shim 2.5's internals it was written against (a shim upgrade fails here first)", async () => {
    // The stub's own putState goes through `this.handler` with `this.channel_id` and `this.txId`.
    const calls: unknown[][] = [];
    await ShimStub.prototype.putState.call({ handler: { handlePutState: async (...a: unknown[]) => calls.push(a) }, channel_id: 'ch', txId: 'tx' }, 'k', Buffer.from('v'));
    expect(calls).toEqual([['', 'k', Buffer.from('v'), 'ch', 'tx']]);
    // The handler queues a message per transaction through _askPeerAndListen.
    const queued: unknown[] = [];
    void ChaincodeMessageHandler.prototype._askPeerAndListen.call({ msgQueueHandler: { queueMsg: (q: { getMsg(): unknown }) => queued.push(q.getMsg()) } }, 'message', 'WriteBatchState');
    expect(queued).toEqual(['message']);
    // Its gRPC stream takes the message transaction-state.ts builds (the serializer checks instanceof).
    const wire: Buffer[] = [];
    const batch = WriteBatch.overShim({ handler: { _askPeerAndListen: async (m: unknown) => (wire.push(peer.ChaincodeSupportClient.service.register.requestSerialize(m)), Buffer.alloc(0)) }, txId: 't', channel_id: 'c' });
    await batch.wrap(new MemoryState()).putState('k', Buffer.from('v'));
    await batch.flush();
    const decoded = peer.ChaincodeMessage.deserializeBinary(wire[0]!);
    expect([decoded.getType(), decoded.getTxid(), decoded.getChannelId()]).toEqual([24, 't', 'c']);
  });
});
