/**
 * The pure parts of the services and the fetch path: who may get which identity key from a
 * key centre, and the collection of proxy fragments (good, bad, missing), with real crypto.
 */
import { G1, decodeCapsule, encodeCapsule, encodeFragment, encrypt, openGrantKey, decryptReEncrypted, openShare, reEncrypt, reKeyGen, slotIdentity, toBase64url, type Capsule, type Fragment } from '@emr/crypto';
import { pseudonymOf, type Caller, type Party } from '@emr/protocol';
import { InsufficientFragmentsError, ServiceUnavailableError, type SignedFragment } from '../../../client/src';
import { mayExtract } from '../../../client/src/services/kgc-service';
import type { ServedFragment } from '../../../client/src/wire/routes';
import { collectFragments } from '../../../client/src/sharing/fragments';
import { testCentres } from '../../support/consortium';
import { testCa } from '../../support/test-certs';

describe('key centre: who may get which key', () => {
  const patient: Caller = { mspId: 'HospitalAMSP', enrollmentId: 'patient1', role: 'patient' };
  const mine = testCa('HospitalAMSP').enroll('patient1', 'patient').certificate;
  const other = testCa('HospitalBMSP').enroll('patient1', 'patient').certificate;
  const pA = pseudonymOf('HospitalAMSP', mine);
  const slot = (owner: string) => slotIdentity({ owner, type: 'sharable', condition: 'cardiology/ecg' });

  it('a user his own identity; a patient the slots of the pseudonym of his own key only', () => {
    expect(mayExtract(patient, mine, 'patient1@HospitalAMSP')).toBe(true);
    expect(mayExtract(patient, mine, 'patient1@HospitalBMSP')).toBe(false); // same name, another org
    expect(mayExtract(patient, mine, slot(pA))).toBe(true);
    expect(mayExtract(patient, other, slot(pA))).toBe(false); // same name and org claimed, another key
    expect(mayExtract(patient, mine, slot(pseudonymOf('HospitalBMSP', mine)))).toBe(false); // his key, another org's pseudonym
    expect(mayExtract(patient, mine, slot(pseudonymOf('HospitalBMSP', other)))).toBe(false);
    expect(mayExtract({ ...patient, role: 'doctor' }, mine, slot(pA))).toBe(false);
    expect(mayExtract(patient, mine, 'emr-slot:v1:not json')).toBe(false);
    expect(mayExtract(patient, mine, 'emr-slot:v1:[42]')).toBe(false);
    expect(mayExtract(patient, mine, 'proxy@HospitalAMSP')).toBe(false);
  });

  describe("a group's key, to its members only", () => {
    const settings = {
      members: ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'],
      areas: [
        { name: 'own-hospital', members: [{ org: '$home', roles: ['doctor' as const] }] },
        { name: 'other-hospitals', members: [{ org: '$others', roles: ['doctor' as const] }] },
        { name: 'research', members: [{ org: 'ResearchInstituteMSP', roles: ['researcher' as const] }] },
      ],
    };
    const who = (mspId: string, role: Caller['role'], enrollmentId = 'x1'): Caller => ({ mspId, enrollmentId, role });
    const may = (caller: Caller, identity: string) => mayExtract(caller, mine, identity, settings);

    it('an area is relative to the patient\'s home hospital', () => {
      expect(may(who('HospitalAMSP', 'doctor'), 'area:own-hospital@HospitalAMSP')).toBe(true);
      expect(may(who('HospitalBMSP', 'doctor'), 'area:own-hospital@HospitalAMSP')).toBe(false);
      expect(may(who('HospitalBMSP', 'doctor'), 'area:other-hospitals@HospitalAMSP')).toBe(true);
      expect(may(who('HospitalAMSP', 'doctor'), 'area:other-hospitals@HospitalAMSP')).toBe(false);
      expect(may(who('HospitalAMSP', 'researcher'), 'area:own-hospital@HospitalAMSP')).toBe(false); // the area's roles only
      expect(may(who('ResearchInstituteMSP', 'researcher'), 'area:research@HospitalBMSP')).toBe(true);
      expect(may(who('ResearchInstituteMSP', 'researcher'), 'area:research@OutsiderMSP')).toBe(false); // no such member hospital
      expect(may(who('ResearchInstituteMSP', 'researcher'), 'area:no-such-area@HospitalAMSP')).toBe(false);
      expect(mayExtract(who('HospitalAMSP', 'doctor'), mine, 'area:own-hospital@HospitalAMSP')).toBe(false); // no settings read: nothing
    });

    it('a role at an org, and an org\'s requesters (never its proxy, key centre or patients)', () => {
      expect(may(who('HospitalBMSP', 'doctor'), 'role:doctor@HospitalBMSP')).toBe(true);
      expect(may(who('HospitalBMSP', 'researcher'), 'role:doctor@HospitalBMSP')).toBe(false);
      expect(may(who('HospitalAMSP', 'doctor'), 'role:doctor@HospitalBMSP')).toBe(false);
      expect(may(who('HospitalBMSP', 'admin'), 'org:members@HospitalBMSP')).toBe(true);
      for (const role of ['proxy', 'kgc', 'patient'] as const) expect(may(who('HospitalBMSP', role), 'org:members@HospitalBMSP')).toBe(false);
      expect(may(who('HospitalBMSP', 'doctor'), 'org:everyone@HospitalBMSP')).toBe(false); // not a group's form
    });

    it("a certificate whose enrollment id takes a group's form gets nothing as its own", () => {
      expect(may(who('HospitalBMSP', 'researcher', 'area:own-hospital'), 'area:own-hospital@HospitalBMSP')).toBe(false);
      expect(may(who('HospitalBMSP', 'researcher', 'role:doctor'), 'role:doctor@HospitalBMSP')).toBe(false);
    });
  });
});

describe('collecting fragments', () => {
  const { params, keyOf } = testCentres();
  const proxies: Party[] = ['HospitalAMSP', 'HospitalBMSP', 'ResearchInstituteMSP'].map((mspId) => ({ mspId, enrollmentId: 'proxy' }));
  const idOf = (p: Party) => `${p.enrollmentId}@${p.mspId}`;
  const slotValue = { owner: 'pA', type: 'sharable' as const, condition: 'cardiology/ecg' };
  const dataKey = new Uint8Array(32).fill(9);
  const capsule = encrypt(params, slotValue, dataKey);
  const { grant, shares } = reKeyGen(params, { grantId: 'g1', slot: slotValue, delegatorKey: keyOf(slotIdentity(slotValue)), delegatee: 'researcher1@RI', hop: 1, proxies: proxies.map(idOf), threshold: 2 });
  const honest = shares.map((s) => reEncrypt(capsule, grant, s.index, openShare(s, grant, keyOf(s.proxy))));
  const served = (i: number, f: Fragment, c: Capsule = capsule): ServedFragment => ({ entryId: 'e1', grantId: 'g1', recordId: 'r1', proxy: proxies[i]!, capsule: toBase64url(encodeCapsule(c)), fragment: toBase64url(encodeFragment(f)), signature: 'sig' });
  const opens = (c: Capsule) => Buffer.from(decryptReEncrypted(c, openGrantKey(params, grant, keyOf('researcher1@RI')))).equals(Buffer.from(dataKey));

  it('t good fragments open the data key; a bad one is reported and does not stop the read', async () => {
    const reported: SignedFragment[] = [];
    const bad = { ...honest[1]!, u: honest[1]!.u.add(G1.BASE) };
    const answers = [served(0, honest[0]!), served(1, bad), served(2, honest[2]!)];
    const next = await collectFragments(capsule, grant, proxies, { ask: async (p) => answers[proxies.indexOf(p)]!, report: (s) => reported.push(s) });
    expect(opens(next)).toBe(true);
    expect(next.hops).toBe(1);
    expect(decodeCapsule(encodeCapsule(next)).u.equals(next.u)).toBe(true);
    expect(reported).toHaveLength(1);
    expect(reported[0]).toMatchObject({ grantId: 'g1', proxy: proxies[1] });
  });

  it('a fragment claiming another index, or for another capsule, is bad', async () => {
    const reported: SignedFragment[] = [];
    const other = encrypt(params, slotValue, new Uint8Array(32).fill(1));
    const answers = [served(0, { ...honest[0]!, index: 2n }), served(1, reEncrypt(other, grant, shares[1]!.index, openShare(shares[1]!, grant, keyOf(shares[1]!.proxy)))), served(2, honest[2]!)];
    const err = await collectFragments(capsule, grant, proxies, { ask: async (p) => answers[proxies.indexOf(p)]!, report: (s) => reported.push(s) }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(InsufficientFragmentsError);
    expect((err as InsufficientFragmentsError).failures.map((f) => f.proxy)).toEqual(['proxy@HospitalAMSP', 'proxy@HospitalBMSP']);
    expect(reported).toHaveLength(2);
  });

  it('proxies that do not answer: t of n still read; below t the error names each missing proxy and why', async () => {
    const down = (i: number) => async (p: Party) => {
      if (i >= 0 && proxies.indexOf(p) <= i) throw new ServiceUnavailableError(`proxy ${idOf(p)}`, `proxy ${idOf(p)} is unreachable`);
      return served(proxies.indexOf(p), honest[proxies.indexOf(p)]!);
    };
    expect(opens(await collectFragments(capsule, grant, proxies, { ask: down(0), report: () => undefined }))).toBe(true);
    const err = (await collectFragments(capsule, grant, proxies, { ask: down(1), report: () => undefined }).catch((e: unknown) => e)) as InsufficientFragmentsError;
    expect(err).toBeInstanceOf(InsufficientFragmentsError);
    expect(err.message).toMatch(/needs 2 verified fragments; 2 proxies failed: proxy@HospitalAMSP: proxy proxy@HospitalAMSP is unreachable/);
  });
});
