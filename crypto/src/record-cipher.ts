/**
 * Record content encryption in fixed-size segments (a STREAM-style construction, as in age
 * or Tink's streaming AEAD), so files of any size are encrypted and decrypted with bounded
 * memory and no plaintext is released before its segment's tag is verified. A fresh 32-byte
 * data key per record; the PRE layer encapsulates it. Two suites, each on Node's native
 * primitives: AES-256-GCM (the default), and for hospitals under Chinese regulation SM4-CTR
 * with HMAC-SM3, encrypt-then-MAC (GB/T 32907, GB/T 32905; Node's OpenSSL has no SM4-GCM).
 *
 * Layout: header = "EMRC" | suite version (1 AES-GCM, 2 SM4/SM3) | log2(segment size) |
 * 7-byte random nonce prefix, then segments of `segmentSize` plaintext bytes (the last may
 * be shorter, even empty), each followed by its tag (16 bytes GCM, 32 bytes HMAC-SM3).
 * Segment i uses nonce = prefix | i (4 bytes, BE) | flags (1 byte: 1 last, 2 data end), and
 * associated data = header | record id | version, so segments cannot be reordered, dropped,
 * truncated, or moved to another record or version.
 *
 * Padded (the high bit of the segment-size byte; docs/privacy.md, "Sizes"): the plaintext is
 * data | 0x80 | zeros, to a length that Padmé (Nikitin et al., PETS 2019) allows, at least
 * MIN_PADDED_BYTES, so the ciphertext shows a size class and not the record's size. The
 * segment holding the 0x80 is flagged "data end"; every segment after it is padding. Every
 * segment but the last is full, as unpadded.
 */
import { createCipheriv, createDecipheriv, createHash, createHmac, randomBytes, timingSafeEqual, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { frame, systemRng, type Rng } from './group';

/** How one segment is sealed and opened under a suite's keys. */
interface SegmentAead {
  version: number;
  tagBytes: number;
  /** The suite's keys from the record's 32-byte data key. */
  keys(dataKey: Buffer): { enc: Buffer; mac?: Buffer };
  seal(keys: { enc: Buffer; mac?: Buffer }, nonce: Buffer, aad: Buffer, parts: Buffer[], emit: (b: Buffer) => void): void;
  /** The plaintext parts, only after the tag verified; throws otherwise. */
  open(keys: { enc: Buffer; mac?: Buffer }, nonce: Buffer, aad: Buffer, parts: Buffer[], tag: Buffer): Buffer[];
}

const AES_256_GCM: SegmentAead = {
  version: 1,
  tagBytes: 16,
  keys: (k) => ({ enc: k }),
  seal({ enc }, nonce, aad, parts, emit) {
    const cipher = createCipheriv('aes-256-gcm', enc, nonce);
    cipher.setAAD(aad);
    for (const p of parts) emit(cipher.update(p));
    cipher.final();
    emit(cipher.getAuthTag());
  },
  open({ enc }, nonce, aad, parts, tag) {
    const decipher = createDecipheriv('aes-256-gcm', enc, nonce);
    decipher.setAAD(aad);
    decipher.setAuthTag(tag);
    const plain = parts.map((p) => decipher.update(p));
    decipher.final();
    return plain;
  },
};

/** HMAC-SM3 over the associated data (length-prefixed), the nonce and the ciphertext. */
function sm3Mac(key: Buffer, nonce: Buffer, aad: Buffer, ciphertext: Buffer[]): Buffer {
  const mac = createHmac('sm3', key);
  const length = Buffer.alloc(4);
  length.writeUInt32BE(aad.length);
  mac.update(length).update(aad).update(nonce);
  for (const c of ciphertext) mac.update(c);
  return mac.digest();
}

/** SM4-CTR (counter = nonce | 32-bit block counter from 0: a 16 MiB segment needs 2^20 blocks) then HMAC-SM3. */
const SM4_CTR_HMAC_SM3: SegmentAead = {
  version: 2,
  tagBytes: 32,
  // Separate keys for the cipher and the MAC, both from the data key by HMAC-SM3.
  keys: (k) => ({ enc: createHmac('sm3', k).update('EMR-SM4-CTR-v1 enc').digest().subarray(0, 16), mac: createHmac('sm3', k).update('EMR-SM4-CTR-v1 mac').digest() }),
  seal({ enc, mac }, nonce, aad, parts, emit) {
    const cipher = createCipheriv('sm4-ctr', enc, Buffer.concat([nonce, Buffer.alloc(4)]));
    const ciphertext = parts.map((p) => cipher.update(p));
    cipher.final();
    for (const c of ciphertext) emit(c);
    emit(sm3Mac(mac!, nonce, aad, ciphertext));
  },
  open({ enc, mac }, nonce, aad, parts, tag) {
    if (!timingSafeEqual(sm3Mac(mac!, nonce, aad, parts), tag)) throw new Error('tag mismatch');
    const decipher = createDecipheriv('sm4-ctr', enc, Buffer.concat([nonce, Buffer.alloc(4)]));
    const plain = parts.map((p) => decipher.update(p));
    decipher.final();
    return plain;
  },
};

/** The suites by their id on chain (the index record's `cipherSuite`). */
const SUITES = { 'aes-256-gcm-stream.v1': AES_256_GCM, 'sm4-ctr-hmac-sm3-stream.v1': SM4_CTR_HMAC_SM3 } as const;
export type CipherSuite = keyof typeof SUITES;
export const CIPHER_SUITES = Object.keys(SUITES) as CipherSuite[];
/** The default suite. */
export const CIPHER_SUITE: CipherSuite = 'aes-256-gcm-stream.v1';
const suiteOfVersion = (v: number): CipherSuite | undefined => CIPHER_SUITES.find((s) => SUITES[s].version === v);

const MAGIC = Buffer.from('EMRC');
const HEADER_BYTES = 4 + 1 + 1 + 7;
export const DEFAULT_SEGMENT_LOG2 = 20; // 1 MiB
const PADDED = 0x80;
const LAST = 1;
const DATA_END = 2;
/** A padded record's plaintext is at least this long: every note under it looks the same. */
export const MIN_PADDED_BYTES = 4096;

/**
 * Padmé: the length L rounded up so that only its top ⌊log2 ⌊log2 L⌋⌋ + 1 bits vary (the
 * rest are zero). It leaks O(log log L) bits of the size, for at most 12 % more bytes.
 */
export function padme(length: number): number {
  if (length < 2) return length;
  const e = Math.floor(Math.log2(length));
  const s = Math.floor(Math.log2(e)) + 1;
  const step = 2 ** (e - s);
  return Math.ceil(length / step) * step;
}

/** The plaintext length of a padded record with `dataBytes` of content (the marker and zeros included). */
export const paddedLength = (dataBytes: number): number => padme(Math.max(dataBytes + 1, MIN_PADDED_BYTES));

export class RecordCipherError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RecordCipherError';
  }
}

/** Binds ciphertext to the record it belongs to. */
export interface RecordBinding {
  recordId: string;
  version: number;
}

export const newDataKey = (): Uint8Array => new Uint8Array(randomBytes(32));

function aeadOf(suite: string): SegmentAead {
  const aead = SUITES[suite as CipherSuite];
  if (!aead) throw new RecordCipherError(`unknown cipher suite '${suite}'; the suites are ${CIPHER_SUITES.join(', ')}`);
  return aead;
}

function checkKey(key: Uint8Array): Buffer {
  if (key.length !== 32) throw new RecordCipherError(`data key must be 32 bytes, got ${key.length}`);
  return Buffer.from(key);
}

const nonceFor = (prefix: Buffer, index: number, flags: number): Buffer => {
  if (index > 0xffffffff) throw new RecordCipherError('record has too many segments');
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = flags;
  return n;
};

const aadFor = (header: Buffer, binding: RecordBinding) => Buffer.concat([header, frame(binding.recordId, String(binding.version))]);

/** Bytes queued as the chunks they arrived in; segments are taken out without copying. */
class ChunkQueue {
  private chunks: Buffer[] = [];
  bytes = 0;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.bytes += chunk.length;
  }

  /** The next n bytes (n ≤ bytes), as views of the queued chunks. */
  take(n: number): Buffer[] {
    const parts: Buffer[] = [];
    for (let need = n; need > 0; ) {
      const head = this.chunks[0]!;
      if (head.length <= need) {
        parts.push(head);
        this.chunks.shift();
        need -= head.length;
      } else {
        parts.push(head.subarray(0, need));
        this.chunks[0] = head.subarray(need);
        need = 0;
      }
    }
    this.bytes -= n;
    return parts;
  }
}

/** Encrypts a stream; `sha256()` gives the hex SHA-256 of the ciphertext once it has ended. */
export class RecordEncryptor extends Transform {
  private readonly aead: SegmentAead;
  private readonly keys: { enc: Buffer; mac?: Buffer };
  private readonly header: Buffer;
  private readonly aad: Buffer;
  private readonly segmentSize: number;
  private readonly pending = new ChunkQueue();
  private index = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest?: string;
  /** Plaintext bytes sealed so far, padding included. */
  private sealed = 0;

  /** `pad`: to a size class (paddedLength), the format's padded variant. */
  constructor(
    dataKey: Uint8Array,
    binding: RecordBinding,
    segmentLog2 = DEFAULT_SEGMENT_LOG2,
    rng: Rng = systemRng,
    suite: CipherSuite = CIPHER_SUITE,
    private readonly pad = false,
  ) {
    super();
    if (!Number.isInteger(segmentLog2) || segmentLog2 < 10 || segmentLog2 > 24) throw new RecordCipherError('segment size must be 2^10..2^24 bytes');
    this.aead = aeadOf(suite);
    this.keys = this.aead.keys(checkKey(dataKey));
    this.segmentSize = 2 ** segmentLog2;
    this.header = Buffer.concat([MAGIC, Buffer.from([this.aead.version, segmentLog2 | (pad ? PADDED : 0)]), rng(7)]);
    this.aad = aadFor(this.header, binding);
    this.emit_(this.header);
  }

  private emit_(chunk: Buffer): void {
    this.hash.update(chunk);
    this.push(chunk);
  }

  /** Encrypts one segment from its parts without first copying them together. */
  private seal(parts: Buffer[], flags: number): void {
    for (const p of parts) this.sealed += p.length;
    this.aead.seal(this.keys, nonceFor(this.header.subarray(6), this.index++, flags), this.aad, parts, (b) => this.emit_(b));
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    // Unpadded, keep at least one byte back so the final segment is known to be last;
    // padded, keep room for the marker in the data-end segment.
    const keep = this.pad ? this.segmentSize - 1 : this.segmentSize;
    while (this.pending.bytes > keep) this.seal(this.pending.take(this.segmentSize), 0);
    done();
  }

  override _flush(done: TransformCallback): void {
    if (this.pad) this.sealPadded();
    else this.seal(this.pending.take(this.pending.bytes), LAST);
    this.digest = this.hash.digest('hex');
    done();
  }

  /** The data-end segment (the tail, the 0x80 marker, zeros), then segments of zeros up to the size class. */
  private sealPadded(): void {
    const dataBytes = this.sealed + this.pending.bytes;
    let left = paddedLength(dataBytes) - this.sealed;
    const tail = this.pending.take(this.pending.bytes);
    const first = Math.min(this.segmentSize, left);
    const tailBytes = tail.reduce((n, p) => n + p.length, 0);
    left -= first;
    this.seal([...tail, Buffer.from([0x80]), Buffer.alloc(first - tailBytes - 1)], DATA_END | (left === 0 ? LAST : 0));
    const zeros = Buffer.alloc(Math.min(this.segmentSize, left));
    while (left > 0) {
      const n = Math.min(this.segmentSize, left);
      left -= n;
      this.seal([zeros.subarray(0, n)], left === 0 ? LAST : 0);
    }
  }

  /** Plaintext bytes sealed, padding included (after 'end': the size the index records). */
  sealedBytes(): number {
    return this.sealed;
  }

  /** Hex SHA-256 of every ciphertext byte produced (available after 'end'). */
  sha256(): string {
    if (!this.digest) throw new RecordCipherError('the ciphertext hash is known only after the stream ended');
    return this.digest;
  }
}

/** Decrypts a stream, releasing each segment only after its tag verified; errors on any change or truncation. */
export class RecordDecryptor extends Transform {
  private readonly key: Buffer;
  private aead?: SegmentAead;
  private keys?: { enc: Buffer; mac?: Buffer };
  private header?: Buffer;
  private aad?: Buffer;
  private segmentSize = 0;
  private readonly pending = new ChunkQueue();
  private index = 0;
  private sawLast = false;
  private padded = false;
  private sawDataEnd = false;

  /** `suite`: the one the record's index names; a ciphertext of another suite is refused (no downgrade). */
  constructor(
    dataKey: Uint8Array,
    private readonly binding: RecordBinding,
    private readonly suite: CipherSuite = CIPHER_SUITE,
  ) {
    super();
    this.key = checkKey(dataKey);
  }

  /**
   * Decrypts one sealed segment (ciphertext parts, then its tag) and releases it only if the
   * tag verifies. Padded, a segment before the data end may be the data end: its flag is
   * tried second, so only that one segment is opened twice.
   */
  private open(parts: Buffer[], tag: Buffer, last: boolean): void {
    const base = last ? LAST : 0;
    const tries = this.padded && !this.sawDataEnd ? (last ? [base | DATA_END] : [base, base | DATA_END]) : [base];
    for (const flags of tries) {
      let plain: Buffer[];
      try {
        plain = this.aead!.open(this.keys!, nonceFor(this.header!.subarray(6), this.index, flags), this.aad!, parts, tag);
      } catch {
        continue;
      }
      this.index++;
      if (this.sawDataEnd) return; // padding
      if (flags & DATA_END) {
        this.sawDataEnd = true;
        this.push(dataBeforeMarker(Buffer.concat(plain), this.index - 1));
        return;
      }
      for (const p of plain) this.push(p);
      return;
    }
    throw new RecordCipherError(`segment ${this.index} failed authentication (tampered, truncated, reordered, wrong key or wrong record)`);
  }

  private openNext(sealedBytes: number, last: boolean): void {
    const tagBytes = this.aead!.tagBytes;
    const parts = this.pending.take(sealedBytes - tagBytes);
    this.open(parts, Buffer.concat(this.pending.take(tagBytes)), last);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.sawLast) throw new RecordCipherError('data after the final segment');
      this.pending.push(chunk);
      if (!this.header) {
        if (this.pending.bytes < HEADER_BYTES) return done();
        const header = Buffer.concat(this.pending.take(HEADER_BYTES));
        if (!header.subarray(0, 4).equals(MAGIC)) throw new RecordCipherError('not an EMR record ciphertext (bad magic)');
        const suite = suiteOfVersion(header[4]!);
        if (!suite) throw new RecordCipherError(`unsupported record ciphertext version ${header[4]}`);
        if (suite !== this.suite) throw new RecordCipherError(`the ciphertext is ${suite}, the record's index names ${this.suite}`);
        const log2 = header[5]! & ~PADDED;
        if (log2 < 10 || log2 > 24) throw new RecordCipherError('invalid segment size');
        this.aead = SUITES[suite];
        this.keys = this.aead.keys(this.key);
        this.header = header;
        this.padded = (header[5]! & PADDED) !== 0;
        this.segmentSize = 2 ** log2;
        this.aad = aadFor(this.header, this.binding);
      }
      const sealedSize = this.segmentSize + this.aead!.tagBytes;
      // A full segment followed by more data cannot be the last one.
      while (this.pending.bytes > sealedSize) this.openNext(sealedSize, false);
      done();
    } catch (err) {
      done(err as Error);
    }
  }

  override _flush(done: TransformCallback): void {
    try {
      if (!this.header) throw new RecordCipherError('ciphertext is shorter than its header');
      if (this.pending.bytes < this.aead!.tagBytes) throw new RecordCipherError('ciphertext is truncated');
      this.openNext(this.pending.bytes, true);
      this.sawLast = true;
      done();
    } catch (err) {
      done(err as Error);
    }
  }
}

/** The data-end segment's content before its 0x80 marker (only zeros may follow it). */
function dataBeforeMarker(plain: Buffer, index: number): Buffer {
  let end = plain.length - 1;
  while (end >= 0 && plain[end] === 0) end--;
  if (end < 0 || plain[end] !== 0x80) throw new RecordCipherError(`segment ${index} ends the data without its padding marker`);
  return plain.subarray(0, end);
}

/** Pushes one buffer through a transform and collects everything it outputs. */
async function runThrough(transform: Transform, input: Uint8Array): Promise<Buffer> {
  const out: Buffer[] = [];
  transform.on('data', (d: Buffer) => out.push(d));
  const done = new Promise<void>((resolve, reject) => {
    transform.on('end', resolve);
    transform.on('error', reject);
  });
  transform.end(Buffer.from(input));
  await done;
  return Buffer.concat(out);
}

/** Whole-buffer convenience for small records. */
export async function encryptRecord(plain: Uint8Array, dataKey: Uint8Array, binding: RecordBinding, suite: CipherSuite = CIPHER_SUITE): Promise<{ ciphertext: Buffer; sha256: string }> {
  const enc = new RecordEncryptor(dataKey, binding, DEFAULT_SEGMENT_LOG2, systemRng, suite);
  const ciphertext = await runThrough(enc, plain);
  return { ciphertext, sha256: enc.sha256() };
}

export const decryptRecord = (ciphertext: Uint8Array, dataKey: Uint8Array, binding: RecordBinding, suite: CipherSuite = CIPHER_SUITE): Promise<Buffer> =>
  runThrough(new RecordDecryptor(dataKey, binding, suite), ciphertext);
