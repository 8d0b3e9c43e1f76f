/**
 * The deliver proxy's byzantine block mutations and its reading of Deliver requests, on
 * blocks built and signed here the way Fabric's BFT orderers sign them (value ‖ identifier
 * header ‖ ASN.1 header, ECDSA P-256 over SHA-256).
 */
import { createHash, generateKeyPairSync, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { common, msp, orderer } from '@hyperledger/fabric-protos';
import { blockDataHash, blockHash, blockHeaderBytes, equivocate, garbleSignatures, headerFields, signaturesOf, signedPayloads } from '../../../network/src/deliver-proxy/blocks';
import { applyMode, describeSeek, parseProxyMode, PROXY_MODES } from '../../../network/src/deliver-proxy/proxy';

const keys = [1, 2, 3].map((id) => ({ id, ...generateKeyPairSync('ec', { namedCurve: 'P-256' }) }));

/** Block `number` with `txs` opaque envelopes, signed by the three consenters. */
function signedBlock(number: number, txs: number): common.Block {
  const data = Array.from({ length: txs }, () => new Uint8Array(randomBytes(40)));
  const header = new common.BlockHeader();
  header.setNumber(number);
  header.setPreviousHash(createHash('sha256').update(`block ${number - 1}`).digest());
  header.setDataHash(blockDataHash(data));
  const block = new common.Block();
  block.setHeader(header);
  const blockData = new common.BlockData();
  blockData.setDataList(data);
  block.setData(blockData);
  const md = new common.Metadata();
  md.setValue(Buffer.from('orderer block metadata'));
  const headerBytes = blockHeaderBytes(headerFields(block));
  md.setSignaturesList(
    keys.map(({ id, privateKey }) => {
      const idHeader = new common.IdentifierHeader();
      idHeader.setIdentifier(id);
      const s = new common.MetadataSignature();
      s.setIdentifierHeader(idHeader.serializeBinary());
      s.setSignature(sign('sha256', Buffer.concat([Buffer.from(md.getValue_asU8()), Buffer.from(idHeader.serializeBinary()), headerBytes]), privateKey));
      return s;
    }),
  );
  const metadata = new common.BlockMetadata();
  metadata.setMetadataList([md.serializeBinary(), new Uint8Array(), new Uint8Array(), new Uint8Array(), new Uint8Array()]);
  block.setMetadata(metadata);
  return block;
}

const publicKeyOf = (id: number): KeyObject => keys.find((k) => k.id === id)!.publicKey;
const validSignatures = (block: common.Block) => signedPayloads(block).filter((s) => verify('sha256', s.payload, publicKeyOf(s.consenterId!), Buffer.from(s.signature))).length;
const bytes = (m: { serializeBinary(): Uint8Array } | undefined) => Buffer.from(m!.serializeBinary()).toString('hex');

describe('block hashing as Fabric does it (protoutil)', () => {
  it('encodes the header as an ASN.1 DER sequence of number, previous hash and data hash', () => {
    const h = { number: 1n, previousHash: Buffer.alloc(32, 1), dataHash: Buffer.alloc(32, 2) };
    expect(blockHeaderBytes(h).toString('hex')).toBe(`3047020101` + `0420${'01'.repeat(32)}` + `0420${'02'.repeat(32)}`);
    // A number with its top bit set gets a leading zero (DER INTEGER is signed); 0 is one zero byte.
    expect(blockHeaderBytes({ ...h, number: 128n }).subarray(0, 6).toString('hex')).toBe('304802020080');
    expect(blockHeaderBytes({ ...h, number: 0n }).subarray(0, 5).toString('hex')).toBe('3047020100');
  });

  it('hashes the data as the SHA-256 of the envelopes concatenated', () => {
    const a = Buffer.from('one');
    const b = Buffer.from('two');
    expect(blockDataHash([a, b]).equals(createHash('sha256').update('onetwo').digest())).toBe(true);
  });

  it('signs blocks the test can verify, three valid signatures each', () => {
    expect(validSignatures(signedBlock(5, 2))).toBe(3);
  });
});

describe('garbage signatures', () => {
  it('keeps header, data and the metadata value and signers; every signature is replaced and none verifies', () => {
    const block = signedBlock(7, 3);
    const garbled = garbleSignatures(block);
    expect(bytes(garbled.getHeader())).toBe(bytes(block.getHeader()));
    expect(bytes(garbled.getData())).toBe(bytes(block.getData()));
    expect(blockHash(garbled).equals(blockHash(block))).toBe(true);
    const [before, after] = [signaturesOf(block), signaturesOf(garbled)];
    expect(Buffer.from(after.getValue_asU8()).equals(Buffer.from(before.getValue_asU8()))).toBe(true);
    expect(after.getSignaturesList().map((s) => bytes(common.IdentifierHeader.deserializeBinary(s.getIdentifierHeader_asU8())))).toEqual(before.getSignaturesList().map((s) => bytes(common.IdentifierHeader.deserializeBinary(s.getIdentifierHeader_asU8()))));
    after.getSignaturesList().forEach((s, i) => {
      const original = before.getSignaturesList()[i]!.getSignature_asU8();
      expect(s.getSignature_asU8()).toHaveLength(original.length);
      expect(Buffer.from(s.getSignature_asU8()).equals(Buffer.from(original))).toBe(false);
    });
    expect(validSignatures(garbled)).toBe(0);
    // The original is left as it was.
    expect(validSignatures(block)).toBe(3);
  });
});

describe('equivocation', () => {
  it('is another block at the same height: same number and previous hash, other data and data hash, signatures of the original that do not verify', () => {
    const block = signedBlock(9, 2);
    const forged = equivocate(block);
    const [h, f] = [headerFields(block), headerFields(forged)];
    expect(f.number).toBe(h.number);
    expect(Buffer.from(f.previousHash).equals(Buffer.from(h.previousHash))).toBe(true);
    expect(Buffer.from(f.dataHash).equals(Buffer.from(h.dataHash))).toBe(false);
    const data = forged.getData()!.getDataList_asU8();
    expect(data).toHaveLength(3);
    expect(Buffer.from(f.dataHash).equals(blockDataHash(data))).toBe(true);
    expect(blockHash(forged).equals(blockHash(block))).toBe(false);
    expect(bytes(signaturesOf(forged))).toBe(bytes(signaturesOf(block)));
    expect(validSignatures(forged)).toBe(0);
  });

  it('changes the data hash of a header-only block (a peer\'s header stream)', () => {
    const block = signedBlock(3, 0);
    block.setData(undefined);
    const forged = equivocate(block);
    expect(Buffer.from(headerFields(forged).dataHash).equals(Buffer.from(headerFields(block).dataHash))).toBe(false);
    expect(validSignatures(forged)).toBe(0);
  });
});

describe('modes applied to Deliver responses', () => {
  const blockResponse = (block: common.Block) => {
    const r = new orderer.DeliverResponse();
    r.setBlock(block);
    return Buffer.from(r.serializeBinary());
  };
  const statusResponse = () => {
    const r = new orderer.DeliverResponse();
    r.setStatus(common.Status.SUCCESS);
    return Buffer.from(r.serializeBinary());
  };

  it('passes bytes unchanged when honest', () => {
    const response = blockResponse(signedBlock(2, 1));
    const { out, kind } = applyMode('honest', response);
    expect(kind).toBe('forwarded');
    expect(out!.equals(response)).toBe(true);
  });

  it('mutates blocks under garbage-signatures and equivocate, and passes statuses on', () => {
    const block = signedBlock(4, 2);
    for (const mode of ['garbage-signatures', 'equivocate'] as const) {
      const { out, kind } = applyMode(mode, blockResponse(block));
      expect(kind).toBe('mutated');
      const sent = orderer.DeliverResponse.deserializeBinary(out!).getBlock()!;
      expect(sent.getHeader()!.getNumber()).toBe(4);
      expect(validSignatures(sent)).toBe(0);
      expect(applyMode(mode, statusResponse())).toEqual({ out: statusResponse(), kind: 'status' });
    }
  });

  it('drops blocks and statuses when withholding', () => {
    expect(applyMode('withhold', blockResponse(signedBlock(4, 1)))).toEqual({ kind: 'withheld' });
    expect(applyMode('withhold', statusResponse())).toEqual({ kind: 'status' });
  });

  it('refuses unknown modes by name', () => {
    expect(PROXY_MODES.map((m) => parseProxyMode(m))).toEqual([...PROXY_MODES]);
    expect(() => parseProxyMode('evil')).toThrow("unknown deliver proxy mode 'evil'; choose one of honest, garbage-signatures, withhold, equivocate, refuse");
  });
});

describe('reading a Deliver request', () => {
  const request = (mspId: string, content: 'block' | 'header') => {
    const sid = new msp.SerializedIdentity();
    sid.setMspid(mspId);
    sid.setIdBytes(Buffer.from('cert'));
    const sigHeader = new common.SignatureHeader();
    sigHeader.setCreator(sid.serializeBinary());
    const header = new common.Header();
    header.setSignatureHeader(sigHeader.serializeBinary());
    header.setChannelHeader(new common.ChannelHeader().serializeBinary());
    const seek = new orderer.SeekInfo();
    seek.setContentType(content === 'header' ? orderer.SeekInfo.SeekContentType.HEADER_WITH_SIG : orderer.SeekInfo.SeekContentType.BLOCK);
    const payload = new common.Payload();
    payload.setHeader(header);
    payload.setData(seek.serializeBinary());
    const env = new common.Envelope();
    env.setPayload(payload.serializeBinary());
    return Buffer.from(env.serializeBinary());
  };

  it('names the requesting MSP and whether it pulls blocks or headers', () => {
    expect(describeSeek(request('HospitalAMSP', 'block'))).toEqual({ mspId: 'HospitalAMSP', content: 'block' });
    expect(describeSeek(request('HospitalBMSP', 'header'))).toEqual({ mspId: 'HospitalBMSP', content: 'header' });
  });

  it('says nothing about bytes that are not an envelope', () => {
    expect(describeSeek(Buffer.from([0xff, 0xff, 0xff]))).toEqual({});
  });
});
