/**
 * Record content encryption: AES-256-GCM in fixed-size segments (a STREAM-style
 * construction, as in age or Tink's streaming AEAD), so files of any size are encrypted
 * and decrypted with bounded memory and no plaintext is released before its segment's
 * tag is verified. A fresh 32-byte data key per record; the PRE layer encapsulates it.
 *
 * Layout: header = "EMRC" | version 1 | log2(segment size) | 7-byte random nonce prefix,
 * then segments of `segmentSize` plaintext bytes (the last may be shorter, even empty),
 * each followed by its 16-byte tag. Segment i uses nonce = prefix | i (4 bytes, BE) |
 * last-flag (1 byte), and associated data = header | record id | version, so segments
 * cannot be reordered, dropped, truncated, or moved to another record or version.
 */
import { createCipheriv, createDecipheriv, createHash, randomBytes, type Hash } from 'node:crypto';
import { Transform, type TransformCallback } from 'node:stream';
import { frame, systemRng, type Rng } from './group';

export const CIPHER_SUITE = 'aes-256-gcm-stream.v1';
const MAGIC = Buffer.from('EMRC');
const VERSION = 1;
const HEADER_BYTES = 4 + 1 + 1 + 7;
const TAG_BYTES = 16;
export const DEFAULT_SEGMENT_LOG2 = 20; // 1 MiB

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

function checkKey(key: Uint8Array): Buffer {
  if (key.length !== 32) throw new RecordCipherError(`data key must be 32 bytes, got ${key.length}`);
  return Buffer.from(key);
}

const nonceFor = (prefix: Buffer, index: number, last: boolean): Buffer => {
  if (index > 0xffffffff) throw new RecordCipherError('record has too many segments');
  const n = Buffer.alloc(12);
  prefix.copy(n, 0);
  n.writeUInt32BE(index, 7);
  n[11] = last ? 1 : 0;
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
  private readonly key: Buffer;
  private readonly header: Buffer;
  private readonly aad: Buffer;
  private readonly segmentSize: number;
  private readonly pending = new ChunkQueue();
  private index = 0;
  private readonly hash: Hash = createHash('sha256');
  private digest?: string;

  constructor(dataKey: Uint8Array, binding: RecordBinding, segmentLog2 = DEFAULT_SEGMENT_LOG2, rng: Rng = systemRng) {
    super();
    if (!Number.isInteger(segmentLog2) || segmentLog2 < 10 || segmentLog2 > 24) throw new RecordCipherError('segment size must be 2^10..2^24 bytes');
    this.key = checkKey(dataKey);
    this.segmentSize = 2 ** segmentLog2;
    this.header = Buffer.concat([MAGIC, Buffer.from([VERSION, segmentLog2]), rng(7)]);
    this.aad = aadFor(this.header, binding);
    this.emit_(this.header);
  }

  private emit_(chunk: Buffer): void {
    this.hash.update(chunk);
    this.push(chunk);
  }

  /** Encrypts one segment from its parts without first copying them together. */
  private seal(parts: Buffer[], last: boolean): void {
    const cipher = createCipheriv('aes-256-gcm', this.key, nonceFor(this.header.subarray(6), this.index++, last));
    cipher.setAAD(this.aad);
    for (const p of parts) this.emit_(cipher.update(p));
    cipher.final();
    this.emit_(cipher.getAuthTag());
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    this.pending.push(chunk);
    // Keep at least one byte back so the final segment is known to be last.
    while (this.pending.bytes > this.segmentSize) this.seal(this.pending.take(this.segmentSize), false);
    done();
  }

  override _flush(done: TransformCallback): void {
    this.seal(this.pending.take(this.pending.bytes), true);
    this.digest = this.hash.digest('hex');
    done();
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
  private header?: Buffer;
  private aad?: Buffer;
  private segmentSize = 0;
  private readonly pending = new ChunkQueue();
  private index = 0;
  private sawLast = false;

  constructor(
    dataKey: Uint8Array,
    private readonly binding: RecordBinding,
  ) {
    super();
    this.key = checkKey(dataKey);
  }

  /** Decrypts one sealed segment (ciphertext parts, then its tag) and releases it only if the tag verifies. */
  private open(parts: Buffer[], tag: Buffer, last: boolean): void {
    const decipher = createDecipheriv('aes-256-gcm', this.key, nonceFor(this.header!.subarray(6), this.index, last));
    decipher.setAAD(this.aad!);
    decipher.setAuthTag(tag);
    try {
      const plain = parts.map((p) => decipher.update(p));
      decipher.final();
      this.index++;
      for (const p of plain) this.push(p);
    } catch {
      throw new RecordCipherError(`segment ${this.index} failed authentication (tampered, truncated, reordered, wrong key or wrong record)`);
    }
  }

  private openNext(sealedBytes: number, last: boolean): void {
    const parts = this.pending.take(sealedBytes - TAG_BYTES);
    this.open(parts, Buffer.concat(this.pending.take(TAG_BYTES)), last);
  }

  override _transform(chunk: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    try {
      if (this.sawLast) throw new RecordCipherError('data after the final segment');
      this.pending.push(chunk);
      if (!this.header) {
        if (this.pending.bytes < HEADER_BYTES) return done();
        const header = Buffer.concat(this.pending.take(HEADER_BYTES));
        if (!header.subarray(0, 4).equals(MAGIC)) throw new RecordCipherError('not an EMR record ciphertext (bad magic)');
        if (header[4] !== VERSION) throw new RecordCipherError(`unsupported record ciphertext version ${header[4]}`);
        if (header[5]! < 10 || header[5]! > 24) throw new RecordCipherError('invalid segment size');
        this.header = header;
        this.segmentSize = 2 ** header[5]!;
        this.aad = aadFor(this.header, this.binding);
      }
      const sealedSize = this.segmentSize + TAG_BYTES;
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
      if (this.pending.bytes < TAG_BYTES) throw new RecordCipherError('ciphertext is truncated');
      this.openNext(this.pending.bytes, true);
      this.sawLast = true;
      done();
    } catch (err) {
      done(err as Error);
    }
  }
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
export async function encryptRecord(plain: Uint8Array, dataKey: Uint8Array, binding: RecordBinding): Promise<{ ciphertext: Buffer; sha256: string }> {
  const enc = new RecordEncryptor(dataKey, binding);
  const ciphertext = await runThrough(enc, plain);
  return { ciphertext, sha256: enc.sha256() };
}

export const decryptRecord = (ciphertext: Uint8Array, dataKey: Uint8Array, binding: RecordBinding): Promise<Buffer> =>
  runThrough(new RecordDecryptor(dataKey, binding), ciphertext);
