/**
 * npm run bench:crypto [-- --json]
 * Our PRE operations, under each arithmetic backend (mcl, the default, and noble), beside
 * @nucypher/umbral-pre (the reference) in the same process,
 * with each operation's floor: its count of group operations times their unit costs
 * measured in this run. Medians over repeated runs.
 */
import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import os from 'node:os';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import * as umbral from '@nucypher/umbral-pre';
import { useBackend, type BackendName } from '../src/backend';
import { G1, hashToG2, pairing, pairingsEqual, randomScalar } from '../src/group';
import { KeyGenerationCentre, runDkg } from '../src/dkg';
import { combinePartialKeys, extractPartial, verifyPartialKey } from '../src/ibe';
import { combineFragments, decodeGrant, decryptReEncrypted, encodeGrant, encrypt, grantAnchor, openGrantKey, openShare, reEncrypt, reKeyGen, slotIdentity, type GrantPublic, type Slot } from '../src/pre';
import { traceGrantKey } from '../src/trace';
import { RecordEncryptor, type CipherSuite } from '../src/record-cipher';
import { randomSm2Secret, sm2PublicKey, sm2Sign, sm2Verify } from '../src/sm2';

const json = process.argv.includes('--json');
const log = (...a: unknown[]) => { if (!json) console.log(...a); };

function median(fn: () => unknown, runs: number): number {
  for (let i = 0; i < Math.min(3, runs); i++) fn(); // warm-up
  const times: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)]!;
}

interface BackendRun {
  unitCostsMs: Record<string, number>;
  ours: Record<Op | 'encryptKnownSlot', number>;
  floor: Record<Op, number>;
  dkg5of3Ms: number;
  extractionT3Ms: number;
}
const OPS = ['encrypt', 'reEncrypt', 'decryptAfterOneHopT3', 'reKeyGenN5T3'] as const;
type Op = (typeof OPS)[number];

/** Our operations, their unit costs and floors, all under one backend. */
async function runOurs(name: BackendName, dataKey: Uint8Array): Promise<BackendRun> {
  await useBackend(name);
  log(`[${name}] unit costs ...`);
  const s = randomScalar();
  const points = Array.from({ length: 64 }, () => G1.BASE.multiply(randomScalar()));
  const q2 = Array.from({ length: 32 }, (_, i) => hashToG2(`unit-cost-${i}`));
  let i1 = 0;
  let i2 = 0;
  const p = () => points[i1++ % points.length]!;
  const unit = {
    g1Base: median(() => G1.BASE.multiply(s), 60),
    g1Var: median(() => p().multiply(s), 60),
    /** Two-term multi-multiplications with full scalars (the two halves of a proof check). */
    g1Msm2: median(() => G1.sumOfProducts([p(), p()], [s, s]), 60),
    g1Msm2Base: median(() => G1.sumOfProducts([G1.BASE, p()], [s, s]), 60),
    /** Three terms with full scalars (combining t = 3 fragments). */
    g1Msm3: median(() => G1.sumOfProducts([p(), p(), p()], [s, s, s]), 60),
    /** Three terms with the scalars 1, j, j² (a public share from t = 3 commitments). */
    g1Msm3Small: median(() => G1.sumOfProducts([p(), p(), p()], [1n, 5n, 25n]), 60),
    g2Var: median(() => q2[i2++ % q2.length]!.multiply(s), 30),
    pairing: median(() => pairing(p(), q2[i2++ % q2.length]!), 20),
    hashToG2: median(() => hashToG2(`id-${Math.random()}`), 30),
  };

  log(`[${name}] DKG and extraction ...`);
  const dkg5of3Ms = median(() => runDkg(Array.from({ length: 5 }, (_, i) => new KeyGenerationCentre(i + 1, 5, 3))), 3);
  const dkg = runDkg(Array.from({ length: 5 }, (_, i) => new KeyGenerationCentre(i + 1, 5, 3)));
  const keyOf = (id: string) => combinePartialKeys(dkg.params, id, [1, 2, 3].map((j) => extractPartial(BigInt(j), dkg.secretShares.get(j)!, id)));
  const extractionT3Ms = median(() => {
    const id = `user-${Math.random()}`;
    const partials = [1, 2, 3].map((j) => extractPartial(BigInt(j), dkg.secretShares.get(j)!, id));
    for (const p of partials) verifyPartialKey(p, dkg.publicShares.get(Number(p.index))!, id);
    combinePartialKeys(dkg.params, id, partials);
  }, 5);

  log(`[${name}] PRE ...`);
  const slot: Slot = { owner: 'patient1@HospitalA', type: 'sharable', condition: 'cardiology/ecg' };
  const proxies = ['p1', 'p2', 'p3', 'p4', 'p5'];
  const slotKey = keyOf(slotIdentity(slot));
  const { grant, shares } = reKeyGen(dkg.params, { grantId: 'g', slot, delegatorKey: slotKey, delegatee: 'bob', hop: 1, proxies, threshold: 3 });
  const openShares = shares.map((sh) => ({ index: sh.index, share: openShare(sh, grant, keyOf(sh.proxy)) }));
  const grantKey = openGrantKey(dkg.params, grant, keyOf('bob'));
  // Fresh capsules and fragments for every run: no operation sees the same point twice.
  const pool = Array.from({ length: 24 }, () => {
    const capsule = encrypt(dkg.params, slot, dataKey);
    return { capsule, fragments: openShares.slice(0, 3).map((sh) => reEncrypt(capsule, grant, sh.index, sh.share)) };
  });
  let next = 0;
  const fresh = () => pool[next++ % pool.length]!;
  const ours = {
    // A slot never seen before: H_Q (and noble's pairing precomputation) are paid in full.
    encrypt: median(() => encrypt(dkg.params, { ...slot, condition: `c-${Math.random()}` }, dataKey), 20),
    // The same slot again (a hospital uploading a patient's next record): H_Q is cached.
    encryptKnownSlot: median(() => encrypt(dkg.params, slot, dataKey), 20),
    reEncrypt: median(() => reEncrypt(fresh().capsule, grant, openShares[0]!.index, openShares[0]!.share), 20),
    decryptAfterOneHopT3: median(() => {
      const { capsule, fragments } = fresh();
      decryptReEncrypted(combineFragments(capsule, grant, fragments).capsule, grantKey);
    }, 20),
    reKeyGenN5T3: median(() => reKeyGen(dkg.params, { grantId: 'g2', slot, delegatorKey: slotKey, delegatee: 'bob', hop: 1, proxies, threshold: 3 }), 7),
  };
  // Floors: the group operations of each algorithm (docs/crypto.md, "Cost") at this run's unit costs.
  const floor = {
    encrypt: unit.hashToG2 + unit.g1Base + unit.g1Var + unit.pairing,
    reEncrypt: 2 * unit.g1Base + 2 * unit.g1Var,
    decryptAfterOneHopT3: 3 * (unit.g1Msm3Small + unit.g1Msm2Base + unit.g1Msm2) + unit.g1Msm3 + unit.pairing + unit.g1Base,
    // The proxies' and delegatee's identities recur across grants, so H_Q is cached here.
    reKeyGenN5T3: unit.g2Var + 3 * unit.g1Base + 6 * (unit.g1Base + unit.g1Var + unit.pairing),
  };
  return { unitCostsMs: unit, ours, floor, dkg5of3Ms, extractionT3Ms };
}

const TRACE_GRANTS = 10_000;
const TRACE_SLOTS = 100;

/**
 * `emr trace`'s search on the default backend: a leaked grant key among 10,000 registered
 * grants over 100 slots, its own grant last (the whole list is scanned). Synthetic grants:
 * a real grant's encoding with a fresh anchor and slot each, which is all the search reads.
 * Beside it, the plain check per candidate (a two-pairing product, as openGrantKey makes it)
 * on the first 1,000, and decoding the encoded grants as the SDK does after listing them.
 */
async function traceBench() {
  await useBackend('mcl');
  log(`[mcl] tracing a leaked key among ${TRACE_GRANTS} grants ...`);
  const dkg = runDkg(Array.from({ length: 3 }, (_, i) => new KeyGenerationCentre(i + 1, 3, 2)));
  const keyOf = (id: string) => combinePartialKeys(dkg.params, id, [1, 2].map((j) => extractPartial(BigInt(j), dkg.secretShares.get(j)!, id)));
  const slot = (i: number): Slot => ({ owner: `patient${i % TRACE_SLOTS}@HospitalA`, type: 'sharable', condition: `consent-${i % TRACE_SLOTS}` });
  const leaked = reKeyGen(dkg.params, { grantId: 'leaked', slot: slot(TRACE_GRANTS - 1), delegatorKey: keyOf(slotIdentity(slot(TRACE_GRANTS - 1))), delegatee: 'bob@HospitalB', hop: 1, proxies: ['p1', 'p2', 'p3'], threshold: 2 }).grant;
  const x = openGrantKey(dkg.params, leaked, keyOf('bob@HospitalB'));
  const grants: GrantPublic[] = Array.from({ length: TRACE_GRANTS - 1 }, (_, i) => ({ ...leaked, grantId: `g${i}`, slot: slot(i), commitments: [G1.BASE.multiply(randomScalar()), leaked.commitments[1]!] }));
  grants.push(leaked);
  const encoded = grants.map(encodeGrant);
  const t0 = performance.now();
  const found = traceGrantKey(dkg.params, x, grants);
  const traceMs = performance.now() - t0;
  if (found?.grantId !== 'leaked') throw new Error('trace bench: the leaked grant was not found');
  const plain = grants.slice(0, 1000);
  const hq = new Map(plain.map((g) => [slotIdentity(g.slot), hashToG2(slotIdentity(g.slot))])); // H_Q once per slot, as the trace does
  const t1 = performance.now();
  for (const g of plain) pairingsEqual(grantAnchor(g)!, x, dkg.params.mpk, hq.get(slotIdentity(g.slot))!);
  const plainPer1000Ms = performance.now() - t1;
  const t2 = performance.now();
  for (const e of encoded) decodeGrant(e);
  const decodeMs = performance.now() - t2;
  return { grants: TRACE_GRANTS, slots: TRACE_SLOTS, traceMs, perGrantMs: traceMs / TRACE_GRANTS, plainCheckPerGrantMs: plainPer1000Ms / plain.length, decodeMs };
}

async function main() {
  const dataKey = new Uint8Array(randomBytes(32));
  const backends = ['mcl', 'noble'] as const;
  const runs = {} as Record<BackendName, BackendRun>;
  for (const b of backends) runs[b] = await runOurs(b, dataKey);
  const trace = await traceBench();

  log('Umbral (reference) ...');
  const aliceSk = umbral.SecretKey.random();
  const alicePk = aliceSk.publicKey();
  const bobSk = umbral.SecretKey.random();
  const bobPk = bobSk.publicKey();
  const signer = new umbral.Signer(umbral.SecretKey.random());
  const [uCapsule, uCiphertext] = umbral.encrypt(alicePk, dataKey);
  const kfrags = umbral.generateKFrags(aliceSk, bobPk, signer, 3, 5, true, true);
  const cfrags = kfrags.slice(0, 3).map((k) => umbral.reencrypt(uCapsule, k));
  const reference: Record<Op, number> & { decryptAfterOneHopT3WithVerify: number } = {
    encrypt: median(() => umbral.encrypt(alicePk, dataKey), 200),
    reEncrypt: median(() => umbral.reencrypt(uCapsule, kfrags[0]!), 200),
    decryptAfterOneHopT3: median(() => umbral.decryptReencrypted(bobSk, alicePk, uCapsule, cfrags, uCiphertext), 200),
    decryptAfterOneHopT3WithVerify: median(() => {
      const verified = cfrags.map((c) => umbral.CapsuleFrag.fromBytes(c.toBytes()).verify(uCapsule, signer.verifyingKey(), alicePk, bobPk));
      umbral.decryptReencrypted(bobSk, alicePk, uCapsule, verified, uCiphertext);
    }, 100),
    reKeyGenN5T3: median(() => umbral.generateKFrags(aliceSk, bobPk, signer, 3, 5, true, true), 50),
  };

  log('content: each record suite + SHA-256 of 100 MiB ...');
  const size = 100 * 1024 * 1024;
  const chunk = randomBytes(1 << 20);
  /** Median of three encryptions of a 100 MiB stream (with the ciphertext's SHA-256), in MB/s. */
  const contentRate = async (suite: CipherSuite): Promise<number> => {
    const runs: number[] = [];
    for (let run = 0; run < 3; run++) {
      const t0 = performance.now();
      let n = 0;
      const enc = new RecordEncryptor(dataKey, { recordId: 'bench', version: 1 }, undefined, undefined, suite);
      await pipeline(
        new Readable({ read() { if (n >= size) this.push(null); else { n += chunk.length; this.push(chunk); } } }),
        enc,
        new Writable({ write: (_c, _e, cb) => cb() }),
      );
      enc.sha256();
      runs.push(performance.now() - t0);
    }
    runs.sort((a, b) => a - b);
    return size / 1e6 / (runs[1]! / 1000);
  };
  const contentMBps = await contentRate('aes-256-gcm-stream.v1');
  const contentSmMBps = await contentRate('sm4-ctr-hmac-sm3-stream.v1');

  log('signatures: SM2 (ours, noble arithmetic) beside ECDSA P-256 (Node, OpenSSL), a 600-byte index payload ...');
  const payload = randomBytes(600);
  const sm2Secret = randomSm2Secret();
  const sm2Public = sm2PublicKey(sm2Secret);
  const sm2Sig = sm2Sign(payload, sm2Secret);
  const ecdsa = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const ecdsaSig = sign('sha256', payload, ecdsa.privateKey);
  const signatures = {
    sm2SignMs: median(() => sm2Sign(payload, sm2Secret), 200),
    sm2VerifyMs: median(() => sm2Verify(payload, sm2Sig, sm2Public), 200),
    ecdsaSignMs: median(() => sign('sha256', payload, ecdsa.privateKey), 200),
    ecdsaVerifyMs: median(() => verify('sha256', payload, ecdsa.publicKey, ecdsaSig), 200),
  };

  const operations = backends.flatMap((backend) =>
    OPS.map((op) => ({
      backend,
      operation: op,
      oursMs: runs[backend].ours[op],
      referenceMs: reference[op],
      ratio: runs[backend].ours[op] / reference[op],
      floorMs: runs[backend].floor[op],
      ofFloor: runs[backend].ours[op] / runs[backend].floor[op],
    })),
  );
  const result = {
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model, node: process.version },
    operations,
    encryptKnownSlot: backends.map((backend) => ({ backend, oursMs: runs[backend].ours.encryptKnownSlot, referenceMs: reference.encrypt, ratio: runs[backend].ours.encryptKnownSlot / reference.encrypt })),
    referenceDecryptWithCfragVerifyMs: reference.decryptAfterOneHopT3WithVerify,
    backends: Object.fromEntries(backends.map((b) => [b, { unitCostsMs: runs[b].unitCostsMs, dkg5of3Ms: runs[b].dkg5of3Ms, extractionT3Ms: runs[b].extractionT3Ms }])),
    contentAesGcmSha256MBps: contentMBps,
    contentSm4CtrHmacSm3Sha256MBps: contentSmMBps,
    signatures,
    traceMcl: trace,
  };
  if (json) {
    console.log(JSON.stringify(result, null, 2));
    return;
  }
  console.log('\nbackend  operation                 ours ms   umbral ms    ratio   floor ms  ours/floor');
  for (const r of operations) {
    console.log(`${r.backend.padEnd(8)} ${r.operation.padEnd(24)} ${r.oursMs.toFixed(2).padStart(8)} ${r.referenceMs.toFixed(3).padStart(10)} ${r.ratio.toFixed(1).padStart(8)}x ${r.floorMs.toFixed(2).padStart(9)} ${r.ofFloor.toFixed(2).padStart(10)}x`);
  }
  for (const e of result.encryptKnownSlot) console.log(`[${e.backend}] encrypt to a slot seen before (cached H_Q): ${e.oursMs.toFixed(2)} ms, ${e.ratio.toFixed(1)}x Umbral`);
  console.log(`umbral decryptReencrypted incl. verifying 3 cfrags: ${reference.decryptAfterOneHopT3WithVerify.toFixed(3)} ms`);
  for (const b of backends) {
    const r = runs[b];
    console.log(`[${b}] unit costs (ms): ${Object.entries(r.unitCostsMs).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ')}`);
    console.log(`[${b}] DKG 5 centres, t = 3: ${r.dkg5of3Ms.toFixed(0)} ms; identity key extraction (3 partials, verified, combined): ${r.extractionT3Ms.toFixed(0)} ms`);
  }
  console.log(`content AES-256-GCM + SHA-256, 100 MiB: ${contentMBps.toFixed(0)} MB/s; SM4-CTR + HMAC-SM3 + SHA-256: ${contentSmMBps.toFixed(0)} MB/s (${(contentSmMBps / contentMBps).toFixed(2)}x)`);
  console.log(
    `signatures, 600 bytes: SM2 sign ${signatures.sm2SignMs.toFixed(2)} ms / verify ${signatures.sm2VerifyMs.toFixed(2)} ms; ECDSA P-256 (OpenSSL) ${signatures.ecdsaSignMs.toFixed(3)} / ${signatures.ecdsaVerifyMs.toFixed(3)} ms ` +
      `(${(signatures.sm2SignMs / signatures.ecdsaSignMs).toFixed(1)}x / ${(signatures.sm2VerifyMs / signatures.ecdsaVerifyMs).toFixed(1)}x)`,
  );
  console.log(
    `[mcl] trace a leaked grant key among ${trace.grants} grants (${trace.slots} slots): ${(trace.traceMs / 1000).toFixed(1)} s, ${trace.perGrantMs.toFixed(2)} ms per grant ` +
      `(the plain two-pairing check: ${trace.plainCheckPerGrantMs.toFixed(2)} ms per grant); decoding the ${trace.grants} listed grants: ${(trace.decodeMs / 1000).toFixed(1)} s`,
  );
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
