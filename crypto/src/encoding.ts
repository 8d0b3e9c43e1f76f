/**
 * Versioned canonical binary encodings. Every object starts with a 4-byte header:
 * magic 'E' 'P', version 1, and a type tag. Fields follow in a fixed order: points
 * compressed (G1 48 bytes, G2 96 bytes), scalars 32 bytes big-endian, byte strings and
 * UTF-8 strings with a 4-byte length. Decoding rejects wrong magic, version or tag,
 * truncation, trailing bytes, non-canonical scalars and points off the subgroup.
 */
import { Fr, G1, G2, concat, type G1Point, type G2Point, bytesToBigint, scalarToBytes } from './group';

export const ENCODING_VERSION = 1;
export const TAGS = {
  capsule: 1,
  fragment: 2,
  reKeyShare: 3,
  grantKey: 4,
  partialKey: 5,
  identityKey: 6,
  dealing: 7,
  sealedRecordKey: 8,
  proxyShare: 9,
  keyPossession: 10,
} as const;
export type TagName = keyof typeof TAGS;

export class EncodingError extends Error {
  constructor(what: string, detail: string) {
    super(`invalid ${what}: ${detail}`);
    this.name = 'EncodingError';
  }
}

export class Writer {
  private readonly parts: Uint8Array[] = [];
  constructor(private readonly tag: TagName) {
    this.parts.push(Uint8Array.of(0x45, 0x50, ENCODING_VERSION, TAGS[tag]));
  }
  g1(p: G1Point): this {
    this.parts.push(p.toBytes());
    return this;
  }
  g2(p: G2Point): this {
    this.parts.push(p.toBytes());
    return this;
  }
  scalar(s: bigint): this {
    this.parts.push(scalarToBytes(s));
    return this;
  }
  u32(n: number): this {
    // DataView would wrap a larger number silently: an index 2^32 + 1 must not become 1.
    if (!Number.isSafeInteger(n) || n < 0 || n > 0xffffffff) throw new EncodingError(this.tag, `${n} does not fit a 32-bit field`);
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, n);
    this.parts.push(b);
    return this;
  }
  bytes(b: Uint8Array): this {
    return this.u32(b.length).raw(b);
  }
  string(s: string): this {
    return this.bytes(new TextEncoder().encode(s));
  }
  raw(b: Uint8Array): this {
    this.parts.push(b);
    return this;
  }
  finish(): Uint8Array {
    return concat(...this.parts);
  }
}

export class Reader {
  private offset = 4;
  constructor(
    private readonly buf: Uint8Array,
    private readonly tag: TagName,
  ) {
    if (!(buf instanceof Uint8Array)) throw new EncodingError(tag, 'expected bytes');
    if (buf.length < 4 || buf[0] !== 0x45 || buf[1] !== 0x50) throw new EncodingError(tag, 'bad magic (not an EMR crypto object)');
    if (buf[2] !== ENCODING_VERSION) throw new EncodingError(tag, `unsupported version ${buf[2]}`);
    if (buf[3] !== TAGS[tag]) throw new EncodingError(tag, `type tag ${buf[3]} is not ${tag} (${TAGS[tag]})`);
  }
  private take(n: number, field: string): Uint8Array {
    if (this.offset + n > this.buf.length) throw new EncodingError(this.tag, `truncated at ${field}`);
    const out = this.buf.subarray(this.offset, this.offset + n);
    this.offset += n;
    return out;
  }
  /** A compressed point, checked to be on the curve and in the prime-order subgroup. */
  private point<P>(field: string, size: number, group: string, fromBytes: (b: Uint8Array) => P): P {
    const b = this.take(size, field);
    try {
      return fromBytes(b);
    } catch (err) {
      throw new EncodingError(this.tag, `${field} is not a ${group} point (${(err as Error).message})`);
    }
  }
  g1(field: string): G1Point {
    return this.point(field, 48, 'G1', (b) => G1.fromBytes(b));
  }
  g2(field: string): G2Point {
    return this.point(field, 96, 'G2', (b) => G2.fromBytes(b));
  }
  scalar(field: string, { nonZero = true } = {}): bigint {
    const s = bytesToBigint(this.take(32, field));
    if (s >= Fr.ORDER) throw new EncodingError(this.tag, `${field} is not a canonical scalar`);
    if (nonZero && s === 0n) throw new EncodingError(this.tag, `${field} is zero`);
    return s;
  }
  u32(field: string): number {
    return new DataView(this.take(4, field).slice().buffer).getUint32(0);
  }
  bytes(field: string, max = 1 << 20): Uint8Array {
    const n = this.u32(field);
    if (n > max) throw new EncodingError(this.tag, `${field} is longer than ${max} bytes`);
    return this.take(n, field).slice();
  }
  string(field: string, max = 4096): string {
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes(field, max));
    } catch (err) {
      if (err instanceof EncodingError) throw err;
      throw new EncodingError(this.tag, `${field} is not UTF-8`);
    }
  }
  /** Whether every byte was read (for a trailing optional field). */
  atEnd(): boolean {
    return this.offset === this.buf.length;
  }
  end(): void {
    if (this.offset !== this.buf.length) throw new EncodingError(this.tag, `${this.buf.length - this.offset} trailing bytes`);
  }
}

export const toBase64url = (b: Uint8Array): string => Buffer.from(b).toString('base64url');
export function fromBase64url(s: string, what: string): Uint8Array {
  if (typeof s !== 'string' || !/^[A-Za-z0-9_-]*$/.test(s)) throw new EncodingError(what, 'not base64url');
  return new Uint8Array(Buffer.from(s, 'base64url'));
}
