/**
 * SM2 signatures beyond the standard's examples (sm-kat.test.ts): random keys and messages
 * round-trip, any change is refused, and the signatures agree with another implementation,
 * OpenSSL 3's command line (its own SM2 and SM3, the identifier passed as `distid`), in both
 * directions.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { SM2_DEFAULT_ID, deriveSm2Secret, randomSm2Secret, sm2PublicKey, sm2Sign, sm2Verify } from '@emr/crypto';

describe('SM2 signatures, property-tested', () => {
  const key = fc.uint8Array({ minLength: 32, maxLength: 32 }).map((seed) => deriveSm2Secret(seed, 'test'));

  it('verify accepts what sign made, under the same ID', () => {
    fc.assert(
      fc.property(key, fc.uint8Array({ maxLength: 200 }), fc.string({ maxLength: 40 }), (d, message, id) => {
        expect(sm2Verify(message, sm2Sign(message, d, { id }), sm2PublicKey(d), { id })).toBe(true);
      }),
      { numRuns: 25 },
    );
  });

  it('refuses a flipped bit in the message or the signature, another ID and another key', () => {
    fc.assert(
      fc.property(key, fc.uint8Array({ minLength: 1, maxLength: 100 }), fc.nat(), (d, message, at) => {
        const signature = sm2Sign(message, d);
        const publicKey = sm2PublicKey(d);
        const flipped = (bytes: Uint8Array, i: number) => Uint8Array.from(bytes, (b, j) => (j === i % bytes.length ? b ^ 1 : b));
        expect(sm2Verify(flipped(message, at), signature, publicKey)).toBe(false);
        expect(sm2Verify(message, flipped(signature, at), publicKey)).toBe(false);
        expect(sm2Verify(message, signature, publicKey, { id: 'another' })).toBe(false);
        expect(sm2Verify(message, signature, sm2PublicKey(d === 1n ? 2n : d - 1n))).toBe(false);
      }),
      { numRuns: 25 },
    );
  });

  it('returns false, never throws, for garbage signatures and keys', () => {
    const d = randomSm2Secret();
    expect(sm2Verify(Buffer.from('m'), Buffer.alloc(0), sm2PublicKey(d))).toBe(false);
    expect(sm2Verify(Buffer.from('m'), sm2Sign(Buffer.from('m'), d), Buffer.alloc(65, 4))).toBe(false);
    expect(sm2Verify(Buffer.from('m'), Buffer.from('3006020100020100', 'hex'), sm2PublicKey(d))).toBe(false);
  });

  it('derives one key per seed and label, and refuses a short seed', () => {
    const seed = Buffer.alloc(32, 7);
    expect(deriveSm2Secret(seed, 'a')).toBe(deriveSm2Secret(seed, 'a'));
    expect(deriveSm2Secret(seed, 'a')).not.toBe(deriveSm2Secret(seed, 'b'));
    expect(() => deriveSm2Secret(Buffer.alloc(16), 'a')).toThrow(/at least 32 bytes/);
  });
});

describe('SM2 interoperability with OpenSSL 3 (command line)', () => {
  // SubjectPublicKeyInfo of an uncompressed key on the SM2 curve: id-ecPublicKey, OID 1.2.156.10197.1.301.
  const SPKI_PREFIX = Buffer.from('3059301306072a8648ce3d020106082a811ccf5501822d034200', 'hex');
  let dir: string;
  const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' }).toString();
  const message = Buffer.from('an index entry signed by the patient, 2026-12-07', 'utf8');

  beforeAll(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'sm2-interop-'));
    writeFileSync(path.join(dir, 'message'), message);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it.each([SM2_DEFAULT_ID, 'ALICE123@YAHOO.COM'])('OpenSSL verifies our signature (ID %s)', (id) => {
    const d = randomSm2Secret();
    const spki = Buffer.concat([SPKI_PREFIX, sm2PublicKey(d)]);
    writeFileSync(path.join(dir, 'ours.pub.pem'), `-----BEGIN PUBLIC KEY-----\n${spki.toString('base64')}\n-----END PUBLIC KEY-----\n`);
    writeFileSync(path.join(dir, 'ours.sig'), sm2Sign(message, d, { id }));
    expect(openssl('dgst', '-sm3', '-verify', 'ours.pub.pem', '-sigopt', `distid:${id}`, '-signature', 'ours.sig', 'message')).toContain('Verified OK');
    // And OpenSSL refuses it under another identifier: the Z value is really in the signature.
    expect(() => openssl('dgst', '-sm3', '-verify', 'ours.pub.pem', '-sigopt', 'distid:someone-else', '-signature', 'ours.sig', 'message')).toThrow();
  });

  it.each([SM2_DEFAULT_ID, 'ALICE123@YAHOO.COM'])('we verify OpenSSL\'s signature (ID %s)', (id) => {
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:SM2', '-out', 'theirs.pem');
    openssl('pkey', '-in', 'theirs.pem', '-pubout', '-outform', 'DER', '-out', 'theirs.pub.der');
    openssl('dgst', '-sm3', '-sign', 'theirs.pem', '-sigopt', `distid:${id}`, '-out', 'theirs.sig', 'message');
    const spki = readFileSync(path.join(dir, 'theirs.pub.der'));
    expect(spki.subarray(0, SPKI_PREFIX.length)).toEqual(SPKI_PREFIX);
    const publicKey = spki.subarray(SPKI_PREFIX.length);
    const signature = readFileSync(path.join(dir, 'theirs.sig'));
    expect(sm2Verify(message, signature, publicKey, { id })).toBe(true);
    expect(sm2Verify(message, signature, publicKey, { id: 'someone-else' })).toBe(false);
  });
});
