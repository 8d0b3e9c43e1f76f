/**
 * Blocks as Fabric hashes and signs them (protoutil/blockutils.go), and the byzantine
 * mutations a deliver proxy applies to the blocks one orderer serves the peers:
 *
 * - garbage signatures: the SIGNATURES metadata keeps its value and signers, each signature
 *   becomes random bytes of the same length; header and data are untouched;
 * - equivocation: a block with the same number and previous hash but other data (its first
 *   transaction replayed at the end), the header's data hash recomputed, and the original
 *   signatures kept: they sign another header, so nothing valid signs this one.
 */
import { createHash, randomBytes } from 'node:crypto';
import { common } from '@hyperledger/fabric-protos';

/** DER length octets. */
function derLength(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v % 256);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

const tlv = (tag: number, value: Buffer): Buffer => Buffer.concat([Buffer.from([tag]), derLength(value.length), value]);

/** A non-negative DER INTEGER (two's complement, minimal, a leading 0 when the top bit is set). */
function derUnsigned(n: bigint): Buffer {
  if (n < 0n) throw new Error(`block number ${n} is negative`);
  let hex = n.toString(16);
  if (hex.length % 2) hex = `0${hex}`;
  let bytes = Buffer.from(hex, 'hex');
  if (bytes[0]! & 0x80) bytes = Buffer.concat([Buffer.from([0]), bytes]);
  return tlv(0x02, bytes);
}

export interface HeaderFields {
  number: bigint;
  previousHash: Uint8Array;
  dataHash: Uint8Array;
}

/** protoutil.BlockHeaderBytes: ASN.1 DER SEQUENCE { INTEGER number, OCTET STRING previousHash, OCTET STRING dataHash }. */
export const blockHeaderBytes = (h: HeaderFields): Buffer =>
  tlv(0x30, Buffer.concat([derUnsigned(h.number), tlv(0x04, Buffer.from(h.previousHash)), tlv(0x04, Buffer.from(h.dataHash))]));

export const headerFields = (block: common.Block): HeaderFields => {
  const h = block.getHeader();
  if (!h) throw new Error('block has no header');
  return { number: BigInt(h.getNumber()), previousHash: h.getPreviousHash_asU8(), dataHash: h.getDataHash_asU8() };
};

/** protoutil.BlockHeaderHash: what the next block's previous hash names. */
export const blockHash = (block: common.Block): Buffer => createHash('sha256').update(blockHeaderBytes(headerFields(block))).digest();

/** protoutil.ComputeBlockDataHash: SHA-256 of the envelopes concatenated. */
export const blockDataHash = (data: Uint8Array[]): Buffer => {
  const h = createHash('sha256');
  for (const d of data) h.update(d);
  return h.digest();
};

export const blockNumber = (block: common.Block): number => block.getHeader()?.getNumber() ?? -1;

const clone = (block: common.Block): common.Block => common.Block.deserializeBinary(block.serializeBinary());

/** The SIGNATURES metadata of a block, decoded (an empty Metadata when the slot is empty). */
export function signaturesOf(block: common.Block): common.Metadata {
  const raw = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.SIGNATURES];
  return raw && raw.length > 0 ? common.Metadata.deserializeBinary(raw) : new common.Metadata();
}

/** The payload each SIGNATURES entry signs: value ‖ (identifier or signature header) ‖ header bytes (protoutil.BlockSignatureVerifier). */
export function signedPayloads(block: common.Block): { signature: Uint8Array; payload: Buffer; consenterId?: number; creator?: Uint8Array }[] {
  const md = signaturesOf(block);
  const header = blockHeaderBytes(headerFields(block));
  return md.getSignaturesList().map((s) => {
    const idHeader = s.getIdentifierHeader_asU8();
    const sigHeader = s.getSignatureHeader_asU8();
    const useId = sigHeader.length === 0 && idHeader.length > 0;
    return {
      signature: s.getSignature_asU8(),
      payload: Buffer.concat([Buffer.from(md.getValue_asU8()), Buffer.from(useId ? idHeader : sigHeader), header]),
      ...(useId ? { consenterId: common.IdentifierHeader.deserializeBinary(idHeader).getIdentifier() } : { creator: common.SignatureHeader.deserializeBinary(sigHeader).getCreator_asU8() }),
    };
  });
}

/** The same block with every SIGNATURES signature replaced by random bytes of its length. */
export function garbleSignatures(block: common.Block, random: (n: number) => Uint8Array = randomBytes): common.Block {
  const out = clone(block);
  const md = signaturesOf(out);
  for (const s of md.getSignaturesList()) s.setSignature(random(Math.max(s.getSignature_asU8().length, 1)));
  const list = out.getMetadata()!.getMetadataList_asU8();
  list[common.BlockMetadataIndex.SIGNATURES] = md.serializeBinary();
  out.getMetadata()!.setMetadataList(list);
  return out;
}

/**
 * Another block at the same height: its first envelope replayed at the end and the data hash
 * recomputed, so its hash differs; the signatures are the original block's. A header-only
 * block (a peer's header stream) gets another data hash instead.
 */
export function equivocate(block: common.Block): common.Block {
  const out = clone(block);
  const header = out.getHeader()!;
  const data = out.getData()?.getDataList_asU8() ?? [];
  if (data.length === 0) {
    header.setDataHash(createHash('sha256').update(header.getDataHash_asU8()).update('equivocation').digest());
    return out;
  }
  const forged = [...data, data[0]!];
  out.getData()!.setDataList(forged);
  header.setDataHash(blockDataHash(forged));
  return out;
}
