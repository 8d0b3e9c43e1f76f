/**
 * What any member org sees of the channel: every block its own peer holds, decoded as far as
 * the blocks allow without anyone's keys. For each valid transaction of the chaincode: when,
 * who submitted it (the creator's certificate: MSP, enrollment id, role attribute), the
 * function and its arguments as the proposal carried them, every key it wrote with the value,
 * the hashes of its private writes, and its events. Nothing here needs more than the org's
 * admin identity, which every member has.
 */
import { X509Certificate } from 'node:crypto';
import { common, ledger, msp, peer } from '@hyperledger/fabric-protos';
import { certificateAttributes } from '../src/fabric/certificates';
import type { EmrConnection } from '../src';

export interface Creator {
  mspId: string;
  enrollmentId: string;
  role: string | undefined;
}

export interface Write {
  /** The composite key's object type (`emr.record`) and attributes, or the plain key as one part. */
  objectType: string;
  attributes: string[];
  /** The value, parsed as JSON when it is, else its byte length; undefined for a delete. */
  value: unknown;
  bytes: number;
}

export interface SeenTx {
  block: number;
  txId: string;
  timestamp: Date;
  creator: Creator;
  /** `contract:Transaction`, as the proposal named it. */
  fn: string;
  args: string[];
  /** The public keys it read (the read set is in the block too). */
  reads: { objectType: string; attributes: string[] }[];
  writes: Write[];
  /** Private writes: collection and the key's hash only (the value stays on the collection's peers). */
  privateWrites: { collection: string; keyHash: string }[];
  events: { name: string; payload: unknown }[];
  /** Envelope size: what the block stores for this transaction. */
  envelopeBytes: number;
}

const decoder = new TextDecoder();
const text = (b: Uint8Array) => decoder.decode(b);
const jsonOr = (b: Uint8Array): unknown => {
  try {
    return JSON.parse(text(b));
  } catch {
    return b.length;
  }
};

/** `\0type\0a\0b\0` → {type, [a, b]}; a plain key is its own type. */
function splitKey(key: string): { objectType: string; attributes: string[] } {
  if (!key.startsWith('\u0000')) return { objectType: key, attributes: [] };
  const [objectType = '', ...attributes] = key.slice(1, -1).split('\u0000');
  return { objectType, attributes };
}

function creatorOf(bytes: Uint8Array): Creator {
  const identity = msp.SerializedIdentity.deserializeBinary(bytes);
  const cert = new X509Certificate(Buffer.from(identity.getIdBytes_asU8()));
  const attrs = certificateAttributes(cert);
  const cn = /CN=([^\n,]+)/.exec(cert.subject)?.[1] ?? '';
  return { mspId: identity.getMspid(), enrollmentId: attrs['hf.EnrollmentID'] ?? cn, role: attrs.role };
}

/** The chaincode transactions of a block that the peer marked valid. */
export function transactionsOf(block: common.Block, chaincode: string): SeenTx[] {
  const number = block.getHeader()!.getNumber();
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array();
  const seen: SeenTx[] = [];
  (block.getData()?.getDataList_asU8() ?? []).forEach((envelopeBytes, i) => {
    if (filter[i] !== peer.TxValidationCode.VALID) return;
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelopeBytes).getPayload_asU8());
    const channelHeader = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8());
    if (channelHeader.getType() !== common.HeaderType.ENDORSER_TRANSACTION) return;
    const signatureHeader = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
    const transaction = peer.Transaction.deserializeBinary(payload.getData_asU8());
    for (const action of transaction.getActionsList()) {
      const actionPayload = peer.ChaincodeActionPayload.deserializeBinary(action.getPayload_asU8());
      const proposal = peer.ChaincodeProposalPayload.deserializeBinary(actionPayload.getChaincodeProposalPayload_asU8());
      const spec = peer.ChaincodeInvocationSpec.deserializeBinary(proposal.getInput_asU8()).getChaincodeSpec();
      if (spec?.getChaincodeId()?.getName() !== chaincode) continue;
      const [fn = '', ...args] = (spec.getInput()?.getArgsList_asU8() ?? []).map(text);
      const response = peer.ProposalResponsePayload.deserializeBinary(actionPayload.getAction()!.getProposalResponsePayload_asU8());
      const chaincodeAction = peer.ChaincodeAction.deserializeBinary(response.getExtension_asU8());
      const rwset = ledger.rwset.TxReadWriteSet.deserializeBinary(chaincodeAction.getResults_asU8());
      const reads: SeenTx['reads'] = [];
      const writes: Write[] = [];
      const privateWrites: SeenTx['privateWrites'] = [];
      for (const ns of rwset.getNsRwsetList()) {
        if (ns.getNamespace() !== chaincode) continue;
        const kv = ledger.rwset.kvrwset.KVRWSet.deserializeBinary(ns.getRwset_asU8());
        for (const r of kv.getReadsList()) reads.push(splitKey(r.getKey()));
        for (const w of kv.getWritesList()) {
          const value = w.getValue_asU8();
          writes.push({ ...splitKey(w.getKey()), value: w.getIsDelete() ? undefined : jsonOr(value), bytes: value.length });
        }
        for (const c of ns.getCollectionHashedRwsetList()) {
          const hashed = ledger.rwset.kvrwset.HashedRWSet.deserializeBinary(c.getHashedRwset_asU8());
          for (const w of hashed.getHashedWritesList()) privateWrites.push({ collection: c.getCollectionName(), keyHash: Buffer.from(w.getKeyHash_asU8()).toString('hex') });
        }
      }
      const event = chaincodeAction.getEvents_asU8().length ? peer.ChaincodeEvent.deserializeBinary(chaincodeAction.getEvents_asU8()) : undefined;
      seen.push({
        block: number,
        txId: channelHeader.getTxId(),
        timestamp: channelHeader.getTimestamp()!.toDate(),
        creator: creatorOf(signatureHeader.getCreator_asU8()),
        fn,
        args,
        reads,
        writes,
        privateWrites,
        events: event && event.getEventName() ? [{ name: event.getEventName(), payload: jsonOr(event.getPayload_asU8()) }] : [],
        envelopeBytes: envelopeBytes.length,
      });
    }
  });
  return seen;
}

/** Every valid chaincode transaction on the channel, from block 0 to the peer's height now. */
export async function readChannel(connection: EmrConnection, channel: string, chaincode: string): Promise<{ height: number; txs: SeenTx[] }> {
  const network = connection.gateway.getNetwork(channel);
  const info = common.BlockchainInfo.deserializeBinary(await network.getContract('qscc').evaluateTransaction('GetChainInfo', channel));
  const height = info.getHeight();
  const txs: SeenTx[] = [];
  if (height === 0) return { height, txs };
  const events = await network.getBlockEvents({ startBlock: 0n });
  try {
    for await (const raw of events) {
      const block = raw as unknown as common.Block;
      txs.push(...transactionsOf(block, chaincode));
      if (block.getHeader()!.getNumber() >= height - 1) break;
    }
  } finally {
    events.close();
  }
  return { height, txs };
}
