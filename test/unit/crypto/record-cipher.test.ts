import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { CIPHER_SUITES, decryptRecord, encryptRecord, newDataKey, RecordDecryptor, RecordEncryptor, type CipherSuite } from '../../../crypto/src/record-cipher';
import { systemRng } from '../../../crypto/src/group';

jest.setTimeout(120_000);
const binding = { recordId: 'rec-1', version: 1 };
const SEG = 10; // 1 KiB segments so edge cases are cheap

const TAG: Record<CipherSuite, number> = { 'aes-256-gcm-stream.v1': 16, 'sm4-ctr-hmac-sm3-stream.v1': 32 };

async function encryptSmall(plain: Buffer, key: Uint8Array, suite: CipherSuite, b = binding) {
  const enc = new RecordEncryptor(key, b, SEG, systemRng, suite);
  const parts: Buffer[] = [];
  await pipeline(Readable.from([plain]), enc, new Writable({ write: (c, _e, cb) => (parts.push(c), cb()) }));
  return { ciphertext: Buffer.concat(parts), sha256: enc.sha256() };
}

describe.each(CIPHER_SUITES)('segmented record encryption, %s', (suite) => {
  it.each([0, 1, 1023, 1024, 1025, 3 * 1024, 5000])('round-trips %i bytes and reports the SHA-256 of the ciphertext', async (size) => {
    const key = newDataKey();
    const plain = randomBytes(size);
    const { ciphertext, sha256 } = await encryptSmall(plain, key, suite);
    expect(sha256).toBe(createHash('sha256').update(ciphertext).digest('hex'));
    expect(ciphertext.length).toBe(13 + Math.max(1, Math.ceil(size / 1024)) * TAG[suite] + size);
    await expect(decryptRecord(ciphertext, key, binding, suite)).resolves.toEqual(plain);
  });

  it('uses a fresh nonce prefix: the same plaintext and key never give the same ciphertext', async () => {
    const key = newDataKey();
    const a = await encryptRecord(Buffer.from('same'), key, binding, suite);
    const b = await encryptRecord(Buffer.from('same'), key, binding, suite);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('a ciphertext of the other suite is refused, not decrypted (no downgrade through the index)', async () => {
    const key = newDataKey();
    const { ciphertext } = await encryptRecord(Buffer.from('x'), key, binding, suite);
    const other = CIPHER_SUITES.find((x) => x !== suite)!;
    await expect(decryptRecord(ciphertext, key, binding, other)).rejects.toThrow(`the ciphertext is ${suite}, the record's index names ${other}`);
  });

  describe('rejects', () => {
    const key = newDataKey();
    let ciphertext: Buffer;
    beforeAll(async () => {
      ciphertext = (await encryptSmall(randomBytes(3000), key, suite)).ciphertext; // 3 segments
    });
    const seg = 1024 + TAG[suite];
    const header = 13;

    it.each([
      ['a flipped byte in a middle segment', () => { const c = Buffer.from(ciphertext); c[header + seg + 5]! ^= 1; return c; }],
      ['a flipped tag byte', () => { const c = Buffer.from(ciphertext); c[c.length - 1]! ^= 1; return c; }],
      ['a changed header', () => { const c = Buffer.from(ciphertext); c[8]! ^= 1; return c; }],
      ['a dropped final segment', () => ciphertext.subarray(0, header + 2 * seg)],
      ['a truncated final segment', () => ciphertext.subarray(0, ciphertext.length - 3)],
      ['swapped segments', () => Buffer.concat([ciphertext.subarray(0, header), ciphertext.subarray(header + seg, header + 2 * seg), ciphertext.subarray(header, header + seg), ciphertext.subarray(header + 2 * seg)])],
      ['extra bytes at the end', () => Buffer.concat([ciphertext, Buffer.from([0])])],
    ])('%s', async (_what, make) => {
      await expect(decryptRecord(make(), key, binding, suite)).rejects.toThrow(/failed authentication|truncated|after the final|bad magic|the ciphertext is/);
    });

    it('another record id, another version or another key', async () => {
      await expect(decryptRecord(ciphertext, key, { recordId: 'rec-2', version: 1 }, suite)).rejects.toThrow(/failed authentication/);
      await expect(decryptRecord(ciphertext, key, { recordId: 'rec-1', version: 2 }, suite)).rejects.toThrow(/failed authentication/);
      await expect(decryptRecord(ciphertext, newDataKey(), binding, suite)).rejects.toThrow(/failed authentication/);
    });

    it('a key of the wrong length and input that is not a record ciphertext', async () => {
      expect(() => new RecordEncryptor(new Uint8Array(16), binding, SEG, systemRng, suite)).toThrow(/32 bytes/);
      await expect(decryptRecord(Buffer.from('hello world, not a ciphertext'), key, binding, suite)).rejects.toThrow(/bad magic/);
      expect(() => new RecordEncryptor(key, binding, SEG, systemRng, 'rot13' as CipherSuite)).toThrow(/unknown cipher suite 'rot13'; the suites are aes-256-gcm-stream.v1, sm4-ctr-hmac-sm3-stream.v1/);
    });

    it('releases no plaintext of a segment that fails', async () => {
      const c = Buffer.from(ciphertext);
      c[header + 3]! ^= 1; // first segment
      const got: Buffer[] = [];
      const dec = new RecordDecryptor(key, binding, suite);
      await expect(pipeline(Readable.from([c]), dec, new Writable({ write: (d, _e, cb) => (got.push(d), cb()) }))).rejects.toThrow(/segment 0/);
      expect(got).toEqual([]);
    });
  });

  // The streaming is the suites' common code: 1 GiB once, 128 MiB for the slower SM suite.
  const total = suite === 'aes-256-gcm-stream.v1' ? 1024 ** 3 : 128 * 1024 ** 2;
  it(`streams ${total / 1024 ** 2} MiB through encryption and decryption with bounded memory`, async () => {
    const key = newDataKey();
    const chunk = randomBytes(1 << 20);
    let produced = 0;
    const source = new Readable({
      read() {
        if (produced >= total) return void this.push(null);
        produced += chunk.length;
        this.push(chunk);
      },
    });
    let plainOut = 0;
    let peakRss = 0;
    const before = process.memoryUsage().rss;
    const sink = new Writable({
      write(d: Buffer, _e, cb) {
        plainOut += d.length;
        if ((plainOut & 0x3ffffff) < d.length) peakRss = Math.max(peakRss, process.memoryUsage().rss);
        cb();
      },
    });
    await pipeline(source, new RecordEncryptor(key, binding, undefined, systemRng, suite), new RecordDecryptor(key, binding, suite), sink);
    expect(plainOut).toBe(total);
    expect(peakRss - before).toBeLessThan(128 * 1024 * 1024);
  });
});
