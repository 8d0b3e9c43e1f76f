/**
 * Known-answer vectors from a seeded RNG, committed in test/vectors/crypto-v1.json.
 * Any change to an encoding, a hash, a DST or an algorithm changes them: that is a
 * format change and needs a new version. Regenerate with UPDATE_VECTORS=1 only then.
 * Every backend must reproduce them: that is what makes their outputs interchangeable.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { useBackend, type BackendName } from '../../../crypto/src/backend';
import { KeyGenerationCentre, runDkg } from '../../../crypto/src/dkg';
import { toBase64url } from '../../../crypto/src/encoding';
import { combinePartialKeys, extractPartial } from '../../../crypto/src/ibe';
import { combineFragments, decryptReEncrypted, encodeCapsule, encodeFragment, encodeGrant, encrypt, openGrantKey, openShare, reEncrypt, reKeyGen, slotIdentity } from '../../../crypto/src/pre';
import { RecordEncryptor } from '../../../crypto/src/record-cipher';
import { seededRng } from '../../support/consortium';

jest.setTimeout(120_000);
const file = path.join(__dirname, '..', '..', 'vectors', 'crypto-v1.json');

async function generate(): Promise<Record<string, string>> {
  const rng = seededRng('emr-crypto-vectors-v1');
  const centres = Array.from({ length: 5 }, (_, i) => new KeyGenerationCentre(i + 1, 5, 3, rng));
  const dkg = runDkg(centres);
  const keyOf = (id: string) => combinePartialKeys(dkg.params, id, [1, 2, 3].map((j) => extractPartial(BigInt(j), dkg.secretShares.get(j)!, id)));
  const slot = { owner: 'patient1@HospitalA', type: 'sharable' as const, condition: 'cardiology/ecg' };
  const dataKey = rng(32);
  const capsule = encrypt(dkg.params, slot, dataKey, rng);
  const proxies = ['proxy@HospitalA', 'proxy@HospitalB', 'proxy@ResearchInstitute'];
  const { grant, shares } = reKeyGen(dkg.params, { grantId: 'grant-1', slot, delegatorKey: keyOf(slotIdentity(slot)), delegatee: 'researcher1@ResearchInstitute', hop: 1, proxies, threshold: 2 }, rng);
  const fragments = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy)), rng));
  const after = combineFragments(capsule, grant, fragments.slice(0, 2)).capsule;
  const recovered = decryptReEncrypted(after, openGrantKey(dkg.params, grant, keyOf(grant.delegatee)));
  const enc = new RecordEncryptor(dataKey, { recordId: 'rec-1', version: 1 }, 10, rng);
  const parts: Buffer[] = [];
  await pipeline(Readable.from([Buffer.from('{"resourceType":"Bundle","type":"collection"}')]), enc, new Writable({ write: (c, _e, cb) => (parts.push(c), cb()) }));
  return {
    mpk: toBase64url(dkg.params.mpk.toBytes()),
    publicShare1: toBase64url(dkg.publicShares.get(1)!.toBytes()),
    identityKey: toBase64url(keyOf('patient1@HospitalA').toBytes()),
    dataKey: toBase64url(dataKey),
    capsule: toBase64url(encodeCapsule(capsule)),
    grant: toBase64url(encodeGrant(grant)),
    fragment1: toBase64url(encodeFragment(fragments[0]!)),
    reEncryptedCapsule: toBase64url(encodeCapsule(after)),
    recoveredDataKey: toBase64url(recovered),
    recordCiphertext: toBase64url(Buffer.concat(parts)),
    recordCiphertextSha256: enc.sha256(),
  };
}

describe.each<BackendName>(['noble', 'mcl'])('backend %s', (name) => {
  beforeAll(() => useBackend(name));
  afterAll(() => useBackend('noble'));

  it('the seeded run reproduces the committed vectors byte for byte', async () => {
    const vectors = await generate();
    expect(vectors.recoveredDataKey).toBe(vectors.dataKey);
    if (process.env.UPDATE_VECTORS === '1' && name === 'noble') writeFileSync(file, `${JSON.stringify(vectors, null, 2)}\n`);
    expect(vectors).toEqual(JSON.parse(readFileSync(file, 'utf8')));
  });
});
