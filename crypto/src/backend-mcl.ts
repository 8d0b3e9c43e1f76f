/**
 * The mcl backend: BLS12-381 in WebAssembly (mcl-wasm), several times faster than pure
 * JavaScript for multiplications, pairings and hashing to G2. Configured to agree byte for
 * byte with noble: ZCash point encodings ("ETH serialization"), RFC 9380 hashing with our
 * DSTs, subgroup checks on every decoded point, and noble's byte order for pairing values.
 */
import * as mcl from 'mcl-wasm';
import type { Backend, Curve, G1Point, G2Point, GroupElement, Gt } from './backend';
import { scalarToBytes } from './group';

type McPoint = mcl.G1 | mcl.G2;
/** mcl-wasm internals used below (present in the exactly pinned version, see client/package.json). */
interface McModule {
  _malloc(n: number): number;
  _free(p: number): void;
  HEAP8: Int8Array;
  [fn: string]: unknown;
}
type Op2 = { _op2(func: unknown, y: mcl.Fr): McPoint };
const utf8 = new TextEncoder();
const mod = (): McModule => (mcl as unknown as { mod: McModule }).mod;

/** A scalar as mcl's Fr, through its fixed 32 bytes: a hex string's length would vary with the (secret) value. */
function fr(s: bigint): mcl.Fr {
  const x = new mcl.Fr();
  x.deserialize(scalarToBytes(s));
  return x;
}

class MclElement<T extends McPoint> implements GroupElement<MclElement<T>> {
  constructor(
    readonly p: T,
    /** The constant-time multiplication of this group. */
    private readonly mulCT: unknown,
  ) {}
  add(other: MclElement<T>): MclElement<T> {
    return new MclElement((mcl.add as (x: T, y: T) => T)(this.p, other.p), this.mulCT);
  }
  subtract(other: MclElement<T>): MclElement<T> {
    return new MclElement((mcl.sub as (x: T, y: T) => T)(this.p, other.p), this.mulCT);
  }
  multiply(scalar: bigint): MclElement<T> {
    return new MclElement((this.p as unknown as Op2)._op2(this.mulCT, fr(scalar)) as T, this.mulCT);
  }
  equals(other: MclElement<T>): boolean {
    return (this.p as mcl.G1).isEqual(other.p as mcl.G1);
  }
  is0(): boolean {
    return this.p.isZero();
  }
  toBytes(): Uint8Array {
    return this.p.serialize();
  }
}

const equalBytes = (a: Uint8Array, b: Uint8Array) => a.length === b.length && a.every((v, i) => v === b[i]);

type HashWithDst = (out: number, msg: number, msgLen: number, dst: number, dstLen: number) => number;

function mclCurve<T extends McPoint>(name: 'G1' | 'G2', make: () => T, base: Uint8Array): Curve<MclElement<T>> {
  const m = mod();
  const mulCT = m[`_mclBn${name}_mulCT`];
  const hashWithDst = m[`_mclBn${name}_hashAndMapToWithDst`] as HashWithDst;
  const pointBytes = name === 'G1' ? 48 * 3 : 48 * 6; // projective coordinates in memory
  const wrap = (p: T) => new MclElement(p, mulCT);
  const fromBytes = (bytes: Uint8Array) => {
    const p = make();
    p.deserialize(bytes); // throws on a bad encoding, a point off the curve or outside the subgroup
    // mcl accepts some non-canonical encodings (stray bits in the identity): one point, one encoding.
    if (!equalBytes(p.serialize(), bytes)) throw new Error(`non-canonical ${name} encoding`);
    return wrap(p);
  };
  return {
    BASE: fromBytes(base),
    ZERO: wrap(make()),
    fromBytes,
    hashToCurve(msg, dst) {
      const d = utf8.encode(dst);
      const buf = m._malloc(pointBytes + d.length + msg.length);
      try {
        m.HEAP8.set(d, buf + pointBytes);
        m.HEAP8.set(msg, buf + pointBytes + d.length);
        if (hashWithDst(buf, buf + pointBytes + d.length, msg.length, buf + pointBytes, d.length) !== 0) throw new Error(`mcl: hash to ${name} failed`);
        const p = make();
        p.copyFromMem(buf);
        return wrap(p);
      } finally {
        m._free(buf);
      }
    },
    sumOfProducts: (points, scalars) => wrap((mcl.mulVec as (x: T[], y: mcl.Fr[]) => T)(points.map((p) => p.p), scalars.map(fr))),
    toBytesMany(points) {
      const ps = points.map((p) => p.p.clone() as T);
      mcl.normalizeVec(ps);
      return ps.map((p) => p.serialize());
    },
  };
}

/** mcl writes each Fp2 coefficient as (c1, c0), noble as (c0, c1). */
function gtToNobleBytes(x: mcl.GT): Uint8Array {
  const b = x.serialize();
  const out = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i += 96) {
    out.set(b.subarray(i + 48, i + 96), i);
    out.set(b.subarray(i, i + 48), i + 48);
  }
  return out;
}

let loaded: Backend | undefined;

export async function loadMcl(): Promise<Backend> {
  if (loaded) return loaded;
  await mcl.init(mcl.BLS12_381);
  mcl.setETHserialization(true);
  mcl.setMapToMode(mcl.IRTF);
  mcl.verifyOrderG1(true);
  mcl.verifyOrderG2(true);
  const { bls12_381 } = await import('@noble/curves/bls12-381.js');
  const G1 = mclCurve('G1', () => new mcl.G1(), bls12_381.G1.Point.BASE.toBytes());
  const G2 = mclCurve('G2', () => new mcl.G2(), bls12_381.G2.Point.BASE.toBytes());
  loaded = {
    name: 'mcl',
    G1: G1 as unknown as Curve<G1Point>,
    G2: G2 as unknown as Curve<G2Point>,
    pairing: (p, q) => mcl.pairing((p as unknown as MclElement<mcl.G1>).p, (q as unknown as MclElement<mcl.G2>).p) as unknown as Gt,
    pairingWith(q) {
      const lines = new mcl.PrecomputedG2((q as unknown as MclElement<mcl.G2>).p);
      return {
        pair: (p) => mcl.finalExp(mcl.precomputedMillerLoop((p as unknown as MclElement<mcl.G1>).p, lines)) as unknown as Gt,
        release: () => lines.destroy(),
      };
    },
    pairingProduct(pairs) {
      const miller = pairs.map(([p, q]) => mcl.millerLoop((p as unknown as MclElement<mcl.G1>).p, (q as unknown as MclElement<mcl.G2>).p));
      return mcl.finalExp(miller.reduce((acc, x) => mcl.mul(acc, x))) as unknown as Gt;
    },
    gtEquals: (a, b) => (a as unknown as mcl.GT).isEqual(b as unknown as mcl.GT),
    gtIsOne: (x) => (x as unknown as mcl.GT).isOne(),
    gtToBytes: (x) => gtToNobleBytes(x as unknown as mcl.GT),
  };
  return loaded;
}
