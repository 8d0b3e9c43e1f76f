/**
 * Known answers from the published standards for the SM primitives the SM record suite is
 * built on (Node's OpenSSL): SM3, GB/T 32905-2016 Appendix A; SM4, GB/T 32907-2016
 * Appendix A (one block, and the same block encrypted 1,000,000 times).
 */
import { createCipheriv, createHash } from 'node:crypto';

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
