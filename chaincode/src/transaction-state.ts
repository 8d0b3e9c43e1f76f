/**
 * The state a transaction's stores use: its writes sent to the peer as one message, and the
 * reads a transaction knows it needs fetched in one message.
 *
 * fabric-shim 2.5 (the newest Node shim) sends every putState as its own round trip to the
 * peer, and each costs the peer and the chaincode a gRPC message, a dispatch and a context
 * lookup. Fabric 3.1 peers also take all of a transaction's writes as one WRITE_BATCH_STATE
 * message (`chaincode.runtimeParams.useWriteBatch`, on by default; the Go shim sends its
 * writes that way), applying each exactly as a PutState / PutStateMetadata message. Here
 * the writes are kept until the transaction function returns, then sent as that one message
 * through the shim's own per-transaction queue (docs/chaincode.md#writes-in-one-message-reads-in-one-message-no-hidden-log-lines).
 *
 * Fabric's reads never see the transaction's own writes, so holding writes back changes no
 * read. A transaction that throws sends nothing, which is what the peer does with its writes
 * anyway. Two puts of one key keep the last, as the peer's write set does.
 *
 * Reads go the same way: `prefetch` asks for several keys in one GET_STATE_MULTIPLE message
 * (Fabric 3.1, `chaincode.runtimeParams.useGetMultipleKeys`), which puts each key in the read
 * set as GetState does, and later getState calls of those keys are answered from what came
 * back. A transaction reads committed state only, so a value read once stays the value.
 */
import { createRequire } from 'node:module';
import type { Context } from 'fabric-contract-api';
import { Contract } from 'fabric-contract-api';
import { ready } from '@emr/crypto';
import type { StateStore } from './ledger';

/** ChaincodeMessage.Type values (fabric-protos peer/chaincode_shim.proto). */
const WRITE_BATCH_STATE = 24;
const GET_STATE_MULTIPLE = 25;
/** WriteRecord.Type values (the same proto). */
const PUT_STATE = 9;
const PUT_STATE_METADATA = 21;
/** The metadata key fabric-shim writes a key-level endorsement policy under. */
const VALIDATION_PARAMETER = 'VALIDATION_PARAMETER';
/** The peer's `chaincode.runtimeParams.maxSizeWriteBatch` default: records per message. */
export const MAX_RECORDS_PER_BATCH = 1000;
/** The peer's `chaincode.runtimeParams.maxSizeGetMultipleKeys` default: keys per message. */
export const MAX_KEYS_PER_READ = 1000;

export interface WriteRecord {
  key: string;
  collection: string;
  /** PUT_STATE's value, or the endorsement policy of PUT_STATE_METADATA. */
  value: Uint8Array;
  type: typeof PUT_STATE | typeof PUT_STATE_METADATA;
}

// Protobuf wire format, for the messages fabric-shim's protos (0.2) do not have.
function varint(n: number): number[] {
  const out: number[] = [];
  for (; n > 0x7f; n = Math.floor(n / 128)) out.push((n & 0x7f) | 0x80);
  out.push(n);
  return out;
}
const lengthDelimited = (field: number, bytes: Uint8Array): Buffer => Buffer.concat([Buffer.from([...varint((field << 3) | 2), ...varint(bytes.length)]), bytes]);
const text = (field: number, value: string): Buffer => (value === '' ? Buffer.alloc(0) : lengthDelimited(field, Buffer.from(value, 'utf8')));

/** WriteBatchState{rec: [WriteRecord{key=1, value=2, collection=3, metadata=4 (StateMetadata{metakey=1, value=2}), type=5}]}. */
export function encodeWriteBatch(records: readonly WriteRecord[]): Buffer {
  return Buffer.concat(
    records.map((r) => {
      const body =
        r.type === PUT_STATE
          ? [text(1, r.key), r.value.length > 0 ? lengthDelimited(2, r.value) : Buffer.alloc(0), text(3, r.collection)]
          : [text(1, r.key), text(3, r.collection), lengthDelimited(4, Buffer.concat([text(1, VALIDATION_PARAMETER), lengthDelimited(2, r.value)]))];
      return lengthDelimited(1, Buffer.concat([...body, Buffer.from([...varint(5 << 3), ...varint(r.type)])]));
    }),
  );
}

/** GetStateMultiple{keys=1 (repeated), collection=2 (empty: the public state)}. */
export const encodeGetStateMultiple = (keys: readonly string[]): Buffer => Buffer.concat(keys.map((k) => lengthDelimited(1, Buffer.from(k, 'utf8'))));

/** GetStateMultipleResult{values=1 (repeated bytes)}: one value per key asked, empty for a key that has none. */
export function decodeGetStateMultipleResult(bytes: Uint8Array): Uint8Array[] {
  const values: Uint8Array[] = [];
  let at = 0;
  const readVarint = (): number => {
    let n = 0;
    for (let shift = 1; ; shift *= 128) {
      if (at >= bytes.length) throw new Error('GetStateMultipleResult: truncated varint');
      const b = bytes[at++]!;
      n += (b & 0x7f) * shift;
      if (b < 0x80) return n;
    }
  };
  while (at < bytes.length) {
    const tag = readVarint();
    if (tag !== ((1 << 3) | 2)) throw new Error(`GetStateMultipleResult: unexpected field tag ${tag}`);
    const length = readVarint();
    if (at + length > bytes.length) throw new Error('GetStateMultipleResult: value runs past the end');
    values.push(bytes.subarray(at, at + length));
    at += length;
  }
  return values;
}

/** The parts of fabric-shim 2.5's stub and handler this reaches into (checked in test/unit/chaincode/transaction-state.test.ts). */
interface ShimStub {
  channel_id: string;
  txId: string;
  handler: { _askPeerAndListen(message: unknown, method: string): Promise<unknown> };
}
interface ChaincodeMessageClass {
  new (): { setType(t: number): void; setPayload(p: Uint8Array): void; setTxid(t: string): void; setChannelId(c: string): void };
}

let chaincodeMessage: ChaincodeMessageClass | undefined;
/** The ChaincodeMessage class of fabric-shim's own protos: its gRPC stream accepts no other (instanceof). */
function shimChaincodeMessage(): ChaincodeMessageClass {
  if (chaincodeMessage === undefined) {
    const fromShim = createRequire(require.resolve('fabric-shim'));
    chaincodeMessage = (fromShim('@hyperledger/fabric-protos') as { peer: { ChaincodeMessage: ChaincodeMessageClass } }).peer.ChaincodeMessage;
  }
  return chaincodeMessage;
}

function isShimStub(stub: unknown): stub is ShimStub {
  const s = stub as Partial<ShimStub>;
  return typeof s.handler?._askPeerAndListen === 'function' && typeof s.txId === 'string' && typeof s.channel_id === 'string';
}

/** Sends one message of the given type on the transaction and resolves with the peer's response payload. */
type Send = (type: typeof WRITE_BATCH_STATE | typeof GET_STATE_MULTIPLE, payload: Buffer) => Promise<Uint8Array>;

/** One transaction's writes, held until `flush`, and its prefetched reads. */
export class WriteBatch {
  private readonly records = new Map<string, WriteRecord>();
  private readonly fetched = new Map<string, Uint8Array>();

  constructor(private readonly send: Send) {}

  /**
   * The stub with its writes held here and its prefetched reads answered from here.
   * Everything else is the stub's own, called on the stub itself: setEvent, for one, keeps
   * the event on the stub, where the shim reads it at the end.
   */
  wrap(stub: StateStore): StateStore {
    const hold = (record: WriteRecord) => {
      this.records.set(`${record.type}\u0000${record.collection}\u0000${record.key}`, record);
      return Promise.resolve();
    };
    const own: Partial<StateStore> = {
      putState: (key, value) => hold({ key, collection: '', value, type: PUT_STATE }),
      putPrivateData: (collection, key, value) => hold({ key, collection, value, type: PUT_STATE }),
      setStateValidationParameter: (key, policy) => hold({ key, collection: '', value: policy, type: PUT_STATE_METADATA }),
      getState: (key) => {
        const value = this.fetched.get(key);
        return value !== undefined ? Promise.resolve(value) : stub.getState(key);
      },
      prefetch: (keys) => this.prefetch(keys),
    };
    return new Proxy(stub, {
      get(target, name, receiver) {
        const mine = own[name as keyof StateStore];
        if (mine !== undefined) return mine;
        const value: unknown = Reflect.get(target, name, receiver);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
  }

  get size(): number {
    return this.records.size;
  }

  /** Fetches the keys not fetched yet, at most MAX_KEYS_PER_READ per message. */
  async prefetch(keys: readonly string[]): Promise<void> {
    const missing = [...new Set(keys)].filter((k) => !this.fetched.has(k));
    for (let i = 0; i < missing.length; i += MAX_KEYS_PER_READ) {
      const chunk = missing.slice(i, i + MAX_KEYS_PER_READ);
      const values = decodeGetStateMultipleResult(await this.send(GET_STATE_MULTIPLE, encodeGetStateMultiple(chunk)));
      if (values.length !== chunk.length) throw new Error(`internal: the peer answered ${values.length} values for ${chunk.length} keys`);
      chunk.forEach((key, j) => this.fetched.set(key, Buffer.from(values[j]!)));
    }
  }

  /** Sends what is held, at most MAX_RECORDS_PER_BATCH records per message, and forgets it. */
  async flush(): Promise<void> {
    const records = [...this.records.values()];
    this.records.clear();
    for (let i = 0; i < records.length; i += MAX_RECORDS_PER_BATCH) await this.send(WRITE_BATCH_STATE, encodeWriteBatch(records.slice(i, i + MAX_RECORDS_PER_BATCH)));
  }

  /** A batch that sends through fabric-shim's per-transaction message queue, as the shim's own putState and getState do. */
  static overShim(stub: ShimStub): WriteBatch {
    const Message = shimChaincodeMessage();
    return new WriteBatch(async (type, payload) => {
      const message = new Message();
      message.setType(type);
      message.setPayload(payload);
      message.setTxid(stub.txId);
      message.setChannelId(stub.channel_id);
      // The shim answers a method it does not know with the response payload as a Buffer.
      return (await stub.handler._askPeerAndListen(message, type === GET_STATE_MULTIPLE ? 'GetStateMultiple' : 'WriteBatchState')) as Uint8Array;
    });
  }
}

const batches = new WeakMap<Context, WriteBatch>();

/**
 * The base of every contract here: each transaction's writes go to the peer in one message
 * when its function returns. Its checks of grants and fragments run on the default crypto
 * backend, chosen once per process before the first transaction touches a point.
 */
export abstract class BatchingContract extends Contract {
  override async beforeTransaction(ctx: Context): Promise<void> {
    await ready();
    if (isShimStub(ctx.stub)) batches.set(ctx, WriteBatch.overShim(ctx.stub));
  }

  override async afterTransaction(ctx: Context): Promise<void> {
    await batches.get(ctx)?.flush();
  }
}

/**
 * The state a transaction's stores use. Under fabric-shim, a contract that is not a
 * BatchingContract would hold writes nobody sends, so it is refused outright. (A unit test's
 * in-memory state, which is not fabric-shim's stub, is used as it is.)
 */
export function transactionState(ctx: Context): StateStore {
  const batch = batches.get(ctx);
  if (batch !== undefined) return batch.wrap(ctx.stub as unknown as StateStore);
  if (isShimStub(ctx.stub)) throw new Error('internal: this contract does not extend BatchingContract, so its writes would never reach the peer');
  return ctx.stub as unknown as StateStore;
}
