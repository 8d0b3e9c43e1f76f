/**
 * Known answers from the published standards for the SM primitives of the SM suite: SM3,
 * GB/T 32905-2016 Appendix A; SM4, GB/T 32907-2016 Appendix A (one block, and the same block
 * encrypted 1,000,000 times); SM2 signatures, GB/T 32918.2-2016 Annex A (its example curve)
 * and GB/T 32918.5-2017 Annex A (the recommended curve).
 */
import { createCipheriv, createHash } from 'node:crypto';
import { SM2P256V1, sm2Curve, sm2PublicKey, sm2UserIdDigest, sm2Verify } from '@emr/crypto';
import { sm2SignWithNonce } from '../../../crypto/src/sm2';

const hex = (s: string) => Buffer.from(s.replace(/\s+/g, ''), 'hex');

describe('SM3 (GB/T 32905-2016, Appendix A)', () => {
  it('example 1: "abc"', () => {
    expect(createHash('sm3').update('abc').digest()).toEqual(hex('66c7f0f4 62eeedd9 d1f2d46b dc10e4e2 4167c487 5cf2f7a2 297da02b 8f4ba8e0'));
  });
  it('example 2: "abcd" sixteen times (512 bits)', () => {
    expect(createHash('sm3').update('abcd'.repeat(16)).digest()).toEqual(hex('debe9ff9 2275b8a1 38604889 c18e5a4d 6fdb70e5 387e5765 293dcba3 9c0c5732'));
  });
});

describe('SM4 (GB/T 32907-2016, Appendix A)', () => {
  const key = hex('01234567 89abcdef fedcba98 76543210');
  const ecb = () => {
    const c = createCipheriv('sm4-ecb', key, null);
    c.setAutoPadding(false);
    return c;
  };
  it('example 1: one block', () => {
    expect(ecb().update(key)).toEqual(hex('681edf34 d206965e 86b3e94f 536e4246'));
  });
  it('example 2: the same block encrypted 1,000,000 times', () => {
    const c = ecb();
    let block = key;
    for (let i = 0; i < 1_000_000; i++) block = c.update(block);
    expect(block).toEqual(hex('595298c7 c6fd271f 0402f804 c33d3f66'));
  });
});

describe('SM2 signatures', () => {
  const int = (s: string) => BigInt(`0x${s.replace(/\s+/g, '')}`);
  const message = Buffer.from('message digest', 'utf8');
  const der = (r: bigint, s: bigint) => {
    const integer = (v: bigint) => {
      const bytes = hex(v.toString(16).padStart(64, '0'));
      const body = bytes[0]! & 0x80 ? Buffer.concat([Buffer.from([0]), bytes]) : bytes;
      return Buffer.concat([Buffer.from([2, body.length]), body]);
    };
    const body = Buffer.concat([integer(r), integer(s)]);
    return Buffer.concat([Buffer.from([0x30, body.length]), body]);
  };

  const cases = [
    {
      name: 'GB/T 32918.2-2016 Annex A: the example Fp-256 curve, ID ALICE123@YAHOO.COM',
      curve: sm2Curve({
        p: int('8542D69E 4C044F18 E8B92435 BF6FF7DE 45728391 5C45517D 722EDB8B 08F1DFC3'),
        a: int('787968B4 FA32C3FD 2417842E 73BBFEFF 2F3C848B 6831D7E0 EC65228B 3937E498'),
        b: int('63E4C6D3 B23B0C84 9CF84241 484BFE48 F61D59A5 B16BA06E 6E12D1DA 27C5249A'),
        n: int('8542D69E 4C044F18 E8B92435 BF6FF7DD 29772063 0485628D 5AE74EE7 C32E79B7'),
        h: 1n,
        Gx: int('421DEBD6 1B62EAB6 746434EB C3CC315E 32220B3B ADD50BDC 4C4E6C14 7FEDD43D'),
        Gy: int('0680512B CBB42C07 D47349D2 153B70C4 E5D7FDFC BFA36EA1 A85841B9 E46E09A2'),
      }),
      id: 'ALICE123@YAHOO.COM',
      d: int('128B2FA8 BD433C6C 068C8D80 3DFF7979 2A519A55 171B1B65 0C23661D 15897263'),
      publicKey: hex('04 0AE4C779 8AA0F119 471BEE11 825BE462 02BB79E2 A5844495 E97C04FF 4DF2548A 7C0240F8 8F1CD4E1 6352A73C 17B7F16F 07353E53 A176D684 A9FE0C6B B798E857'),
      k: int('6CB28D99 385C175C 94F94E93 4817663F C176D925 DD72B727 260DBAAE 1FB2F96F'),
      r: int('40F1EC59 F793D9F4 9E09DCEF 49130D41 94F79FB1 EED2CAA5 5BACDB49 C4E755D1'),
      s: int('6FC6DAC3 2C5D5CF1 0C77DFB2 0F7C2EB6 67A45787 2FB09EC5 6327A67E C7DEEBE7'),
    },
    {
      name: 'GB/T 32918.5-2017 Annex A: the recommended curve, the default ID 1234567812345678',
      curve: sm2Curve(SM2P256V1),
      id: '1234567812345678',
      d: int('3945208F 7B2144B1 3F36E38A C6D39F95 88939369 2860B51A 42FB81EF 4DF7C5B8'),
      publicKey: hex('04 09F9DF31 1E5421A1 50DD7D16 1E4BC5C6 72179FAD 1833FC07 6BB08FF3 56F35020 CCEA490C E26775A5 2DC6EA71 8CC1AA60 0AED05FB F35E084A 6632F607 2DA9AD13'),
      z: hex('B2E14C5C 79C6DF5B 85F4FE7E D8DB7A26 2B9DA7E0 7CCB0EA9 F4747B8C CDA8A4F3'),
      e: int('F0B43E94 BA45ACCA ACE692ED 534382EB 17E6AB5A 19CE7B31 F4486FDF C0D28640'),
      k: int('59276E27 D506861A 16680F3A D9C02DCC EF3CC1FA 3CDBE4CE 6D54B80D EAC1BC21'),
      r: int('F5A03B06 48D2C463 0EEAC513 E1BB81A1 5944DA38 27D5B741 43AC7EAC EEE720B3'),
      s: int('B1B6AA29 DF212FD8 763182BC 0D421CA1 BB9038FD 1F7F42D4 840B69C4 85BBC1AA'),
    },
  ];

  describe.each(cases)('$name', ({ curve, id, d, publicKey, k, r, s, ...digests }) => {
    it('derives the published public key', () => {
      expect(Buffer.from(sm2PublicKey(d, curve))).toEqual(publicKey);
    });
    it('signs with the published nonce to the published (r, s)', () => {
      const Z = sm2UserIdDigest(publicKey, { id, curve });
      if ('z' in digests) expect(Z).toEqual(digests.z);
      const e = BigInt(`0x${createHash('sm3').update(Z).update(message).digest('hex')}`);
      if ('e' in digests) expect(e).toBe(digests.e);
      expect(sm2SignWithNonce(e, d, k, curve)).toEqual({ r, s });
    });
    it('verifies the published signature, and not under another ID, message or key', () => {
      expect(sm2Verify(message, der(r, s), publicKey, { id, curve })).toBe(true);
      expect(sm2Verify(message, der(r, s), publicKey, { id: `${id}x`, curve })).toBe(false);
      expect(sm2Verify(Buffer.from('message digesT'), der(r, s), publicKey, { id, curve })).toBe(false);
      expect(sm2Verify(message, der(r, s), sm2PublicKey(d + 1n, curve), { id, curve })).toBe(false);
      expect(sm2Verify(message, der(s, r), publicKey, { id, curve })).toBe(false);
    });
  });
});
