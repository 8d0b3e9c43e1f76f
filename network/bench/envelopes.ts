/**
 * Signed envelopes for the orderers' AtomicBroadcast service, built as Fabric's gateway
 * builds them: a channel header (type, channel, timestamp, tx id), a signature header
 * (the creator's serialized identity and a fresh nonce), the tx id = SHA-256(nonce ‖ creator)
 * in hex, and the creator's low-S ECDSA signature over the payload's SHA-256.
 *
 * Broadcast checks only that signature against the channel's Writers policy, the creator's
 * MSP and the size limits (Fabric's orderer/common/msgprocessor: standardchannel.go,
 * sigfilter.go, sizefilter.go); it never looks at endorsements. So a load envelope carries
 * a Transaction with no actions: peers mark it INVALID_ENDORSER_TRANSACTION at validation
 * (core/common/validation/msgvalidation.go) and every peer path that parses the body
 * (filtered block events, chaincode events, private data) reads zero actions and moves on.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { Identity, Signer } from '@hyperledger/fabric-gateway';
import { common, msp, orderer } from '@hyperledger/fabric-protos';
import { Timestamp } from 'google-protobuf/google/protobuf/timestamp_pb';

/** A wallet identity with its signer (fabric-gateway's P-256 signer signs low-S, as Fabric requires). */
export interface SigningIdentity extends Identity {
  signer: Signer;
}

export interface SignedEnvelope {
  txId: string;
  envelope: common.Envelope;
}

/**
 * The body field that pads a load transaction: unknown to peer.Transaction (whose only
 * field is 1, actions), so every parser keeps the message as a Transaction with no actions.
 */
export const PADDING_FIELD = 15;

const varint = (n: number): number[] => {
  const out: number[] = [];
  for (; n >= 0x80; n = Math.floor(n / 0x80)) out.push((n % 0x80) | 0x80);
  out.push(n);
  return out;
};

/** A serialized peer.Transaction with no actions, exactly `size` bytes long (0, or at least 2). */
export function paddedTransaction(size: number): Uint8Array {
  if (size === 0) return new Uint8Array(0);
  if (size === 1) throw new Error('a transaction body of 1 byte cannot be padded; give 0 or at least 2');
  const tag = (PADDING_FIELD << 3) | 2; // length-delimited
  for (let n = size - 2; n >= 0; n--) {
    const head = [tag, ...varint(n)];
    if (head.length + n === size) return Uint8Array.from([...head, ...new Uint8Array(n)]);
  }
  // Just past a length prefix's growth (130, 16387 … bytes): an empty field first, then the rest.
  return Uint8Array.from([tag, 0, ...paddedTransaction(size - 2)]);
}

export const serializedIdentity = (id: Identity): Uint8Array => {
  const sid = new msp.SerializedIdentity();
  sid.setMspid(id.mspId);
  sid.setIdBytes(id.credentials);
  return sid.serializeBinary();
};

/** Fabric's tx id: hex SHA-256 of nonce ‖ creator (protoutil.ComputeTxID; peers check it). */
export const txIdOf = (nonce: Uint8Array, creator: Uint8Array): string => createHash('sha256').update(nonce).update(creator).digest('hex');

async function signedEnvelope(id: SigningIdentity, channel: string, type: number, data: Uint8Array): Promise<SignedEnvelope> {
  const creator = serializedIdentity(id);
  const nonce = randomBytes(24);
  const txId = txIdOf(nonce, creator);
  const channelHeader = new common.ChannelHeader();
  channelHeader.setType(type);
  channelHeader.setChannelId(channel);
  channelHeader.setTxId(txId);
  channelHeader.setTimestamp(Timestamp.fromDate(new Date()));
  const signatureHeader = new common.SignatureHeader();
  signatureHeader.setCreator(creator);
  signatureHeader.setNonce(nonce);
  const header = new common.Header();
  header.setChannelHeader(channelHeader.serializeBinary());
  header.setSignatureHeader(signatureHeader.serializeBinary());
  const payload = new common.Payload();
  payload.setHeader(header);
  payload.setData(data);
  const payloadBytes = payload.serializeBinary();
  const envelope = new common.Envelope();
  envelope.setPayload(payloadBytes);
  envelope.setSignature(await id.signer(createHash('sha256').update(payloadBytes).digest()));
  return { txId, envelope };
}

/** An ENDORSER_TRANSACTION whose body is a Transaction with no actions, `bodyBytes` long. */
export const loadEnvelope = (id: SigningIdentity, channel: string, bodyBytes: number): Promise<SignedEnvelope> =>
  signedEnvelope(id, channel, common.HeaderType.ENDORSER_TRANSACTION, paddedTransaction(bodyBytes));

/** A seek position: the newest block, or block `n`. */
const position = (at: 'newest' | number): orderer.SeekPosition => {
  const p = new orderer.SeekPosition();
  if (at === 'newest') p.setNewest(new orderer.SeekNewest());
  else {
    const specified = new orderer.SeekSpecified();
    specified.setNumber(at);
    p.setSpecified(specified);
  }
  return p;
};

/**
 * A Deliver request for blocks `start` to `stop` (the orderer checks Readers); `wait` blocks
 * until they exist, otherwise the orderer answers NOT_FOUND for a block it does not have yet.
 */
export async function seekEnvelope(id: SigningIdentity, channel: string, start: 'newest' | number, stop: 'newest' | number, wait: boolean): Promise<common.Envelope> {
  const seek = new orderer.SeekInfo();
  seek.setStart(position(start));
  seek.setStop(position(stop));
  seek.setBehavior(wait ? orderer.SeekInfo.SeekBehavior.BLOCK_UNTIL_READY : orderer.SeekInfo.SeekBehavior.FAIL_IF_NOT_READY);
  return (await signedEnvelope(id, channel, common.HeaderType.DELIVER_SEEK_INFO, seek.serializeBinary())).envelope;
}

/** A Deliver request: every block from the current newest on, waiting for new ones. */
export const seekNewestEnvelope = (id: SigningIdentity, channel: string): Promise<common.Envelope> => seekEnvelope(id, channel, 'newest', Number.MAX_SAFE_INTEGER, true);

/** The parts of an envelope a test or a block reader needs back. */
export function parseEnvelope(bytes: Uint8Array) {
  const envelope = common.Envelope.deserializeBinary(bytes);
  const payload = common.Payload.deserializeBinary(envelope.getPayload_asU8());
  const header = payload.getHeader();
  if (!header) throw new Error('envelope payload has no header');
  return {
    envelope,
    payload,
    channelHeader: common.ChannelHeader.deserializeBinary(header.getChannelHeader_asU8()),
    signatureHeader: common.SignatureHeader.deserializeBinary(header.getSignatureHeader_asU8()),
  };
}

/** The tx ids of a delivered block, in block order. */
export const txIdsOf = (block: common.Block): string[] =>
  (block.getData()?.getDataList_asU8() ?? []).map((env) => parseEnvelope(env).channelHeader.getTxId());
