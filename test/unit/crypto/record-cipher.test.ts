import { createHash, randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import fc from 'fast-check';
import { CIPHER_SUITES, MIN_PADDED_BYTES, decryptRecord, encryptRecord, newDataKey, padme, paddedLength, RecordDecryptor, RecordEncryptor, type CipherSuite } from '../../../crypto/src/record-cipher';
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

describe('padded records: the ciphertext shows a Padmé size class, not the size (docs/privacy.md, "Sizes")', () => {
  async function encryptPadded(plain: Buffer, key: Uint8Array, suite: CipherSuite, chunks = 1) {
    const enc = new RecordEncryptor(key, binding, SEG, systemRng, suite, true);
    const parts: Buffer[] = [];
    const step = Math.ceil(plain.length / chunks) || 1;
    const pieces = Array.from({ length: Math.max(1, Math.ceil(plain.length / step)) }, (_, i) => plain.subarray(i * step, (i + 1) * step));
    await pipeline(Readable.from(pieces), enc, new Writable({ write: (c, _e, cb) => (parts.push(c), cb()) }));
    return { ciphertext: Buffer.concat(parts), sealed: enc.sealedBytes() };
  }
  const sealedSize = (plainBytes: number, suite: CipherSuite) => 13 + Math.ceil(plainBytes / 1024) * TAG[suite] + plainBytes;

  it('Padmé: at least the length, at most 12 % more, monotone, and few classes', () => {
    fc.assert(
      fc.property(fc.integer({ min: 2, max: 2 ** 40 }), fc.integer({ min: 2, max: 2 ** 40 }), (a, b) => {
        expect(padme(a)).toBeGreaterThanOrEqual(a);
        expect(padme(a)).toBeLessThanOrEqual(a * 1.125);
        if (a <= b) expect(padme(a)).toBeLessThanOrEqual(padme(b));
      }),
    );
    // Under 64 KiB: 16 classes per doubling from the 4 KiB minimum, where 61,440 sizes were.
    expect(new Set(Array.from({ length: 1 << 16 }, (_, i) => paddedLength(i))).size).toBe(4 * 16 + 1);
    expect(paddedLength(0)).toBe(MIN_PADDED_BYTES);
    expect(paddedLength(MIN_PADDED_BYTES - 1)).toBe(MIN_PADDED_BYTES);
  });

  it.each(CIPHER_SUITES)('%s: round-trips at every segment edge, in any chunking, to the class size', async (suite) => {
    for (const size of [0, 1, 1023, 1024, 1025, 4095, 4096, 5000, 9 * 1024 + 3, 20_000]) {
      for (const chunks of [1, 7]) {
        const key = newDataKey();
        const plain = randomBytes(size);
        const { ciphertext, sealed } = await encryptPadded(plain, key, suite, chunks);
        expect(sealed).toBe(paddedLength(size));
        expect(ciphertext.length).toBe(sealedSize(paddedLength(size), suite));
        await expect(decryptRecord(ciphertext, key, binding, suite)).resolves.toEqual(plain);
      }
    }
  });

  it('a one-line note and a 4 KiB letter give ciphertexts of the same length', async () => {
    const key = newDataKey();
    const a = await encryptPadded(Buffer.from('BP 120/80'), key, CIPHER_SUITES[0]!);
    const b = await encryptPadded(randomBytes(4000), key, CIPHER_SUITES[0]!);
    expect(a.ciphertext.length).toBe(b.ciphertext.length);
  });

  it.each(CIPHER_SUITES)('%s: refuses a padded ciphertext cut before its last padding segment, with a segment dropped, or with its padded flag cleared', async (suite) => {
    const key = newDataKey();
    // 9 KiB + 3 and 5000 bytes: the data ends in the last segment; 1500: one data segment, the data end, then two of padding alone.
    for (const p of [randomBytes(9 * 1024 + 3), randomBytes(5000), randomBytes(1500)]) {
      const { ciphertext } = await encryptPadded(p, key, suite);
      const seg = 1024 + TAG[suite];
      const lastStart = 13 + Math.floor((ciphertext.length - 13 - 1) / seg) * seg;
      await expect(decryptRecord(ciphertext.subarray(0, lastStart), key, binding, suite)).rejects.toThrow(/failed authentication/);
      const dropped = Buffer.concat([ciphertext.subarray(0, 13 + seg), ciphertext.subarray(13 + 2 * seg)]);
      await expect(decryptRecord(dropped, key, binding, suite)).rejects.toThrow(/failed authentication/);
      const flag = Buffer.from(ciphertext);
      flag[5] = flag[5]! & 0x7f;
      await expect(decryptRecord(flag, key, binding, suite)).rejects.toThrow(/failed authentication/);
    }
  });
});
