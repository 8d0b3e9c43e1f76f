/**
 * Issue 18, point 2: one org backs up its own state, loses it (its directories deleted, as a
 * dead disk would), restores it from the backup while the network goes on, and its peer
 * catches up from the orderers: what was indexed after the backup reads through its gateway
 * again. Bad archives and another org's backup are refused before anything stops.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { common } from '@hyperledger/fabric-protos';
import { connectGateway, EmrClient, type EmrConnection } from '../../client/src';
import { backup, readBackup, restore } from '../../network/src/backup';
import { kuboRpc } from '../../network/src/kubo';
import { isUp } from '../../network/src/network';
import { stateDir } from '../../network/src/paths';
import { runningTopology } from '../../network/src/run-state';
import { memberOrg } from '../../network/src/topology';
import { newPatient } from '../support/network';

jest.setTimeout(300_000);

const t = runningTopology();
const dir = mkdtempSync(path.join(tmpdir(), 'emr-backup-test-'));
const open: { close(): void }[] = [];
const as = (org: string, user: string) => {
  const c = EmrClient.connect({ org, user, profile: stateDir });
  open.push(c);
  return c;
};
const admin = (org: string): EmrConnection => {
  const c = connectGateway({ org, user: 'admin', profile: stateDir });
  open.push(c);
  return c;
};
const height = async (c: EmrConnection) =>
  common.BlockchainInfo.deserializeBinary(await c.gateway.getNetwork(t.channel).getContract('qscc').evaluateTransaction('GetChainInfo', t.channel)).getHeight();
/** The key centre's share file(s). */
const kgcFiles = () => readdirSync(path.join(stateDir, 'services', 'kgc-HospitalB')).filter((f) => f.endsWith('.json'));
const pinned = async (org: string, cid: string) => Object.keys((await kuboRpc<{ Keys: Record<string, unknown> | null }>(memberOrg(org), 'pin/ls', { type: 'recursive' })).Keys ?? {}).includes(cid);

afterAll(() => {
  for (const c of open) c.close();
  rmSync(dir, { recursive: true, force: true });
});

it('restores a lost org from its backup; its peer catches up and what came after reads again', async () => {
  const patient = await newPatient('HospitalA', 'backup-patient');
  const doctorB = as('HospitalB', 'doctor1');
  const before = await doctorB.uploadRecord({ patientPseudonym: patient.pseudonym, category: 'backup/notes', source: randomBytes(2048) });
  const kgcShare = readFileSync(path.join(stateDir, 'services', 'kgc-HospitalB', kgcFiles()[0]!));

  const file = path.join(dir, 'hospitalb.tar.gz');
  const taken = await backup('HospitalB', file);
  console.log(`backup of HospitalB: ${taken.seconds.toFixed(1)} s, ${(statSync(file).size / 1024).toFixed(0)} KiB`);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect((await readBackup(file)).paths).toEqual(['crypto/HospitalB', 'ledgers/HospitalB', 'ipfs/HospitalB', 'services/kgc-HospitalB', 'services/proxy-HospitalB', 'wallet/HospitalB']);
  expect(await isUp()).toBe(true);
  await expect(backup('HospitalB', file)).rejects.toThrow('already exists; a backup never overwrites a file');

  // Written after the backup: the restored peer must learn it from the others.
  const data = randomBytes(4096);
  const after = await doctorB.uploadRecord({ patientPseudonym: patient.pseudonym, category: 'backup/notes', source: data });
  expect((await after.replicated).pinnedOn).toHaveLength(2);

  // Bad input is refused before anything stops.
  const junk = path.join(dir, 'junk.tar.gz');
  writeFileSync(junk, 'not an archive');
  await expect(restore('HospitalB', junk)).rejects.toThrow('is not a readable backup archive');
  await expect(restore('HospitalA', file)).rejects.toThrow('is a backup of HospitalB, not of HospitalA');
  await expect(restore('Nowhere', file)).rejects.toThrow("unknown org 'Nowhere'");
  expect(await isUp()).toBe(true);

  // The disk is lost: the org's state is gone, while its nodes run on what they hold in memory; then restore.
  for (const p of taken.manifest.paths) rmSync(path.join(stateDir, p), { recursive: true, force: true });
  const restored = await restore('HospitalB', file);
  console.log(`restore of HospitalB: ${restored.seconds.toFixed(1)} s`);
  expect(await isUp()).toBe(true);

  const [a, b] = [admin('HospitalA'), admin('HospitalB')];
  const deadline = Date.now() + 60_000;
  while ((await height(b)) < (await height(a)) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 500));
  expect(await height(b)).toBeGreaterThanOrEqual(await height(a));
  // Through HospitalB's own gateway and peer: the record indexed after the backup.
  expect((await as('HospitalB', 'doctor1').index.readRecord(after.record.recordId)).cid).toBe(after.record.cid);
  expect(await pinned('HospitalB', before.record.cid)).toBe(true);
  expect(readFileSync(path.join(stateDir, 'services', 'kgc-HospitalB', kgcFiles()[0]!)).equals(kgcShare)).toBe(true);
  // The content written after the backup reads from its replica; the whole read path works.
  const read = await as('HospitalA', patient.user).fetchRecord(after.record.recordId, undefined, { purpose: 'treatment' });
  expect(read.data!.equals(data)).toBe(true);
  expect(existsSync(path.join(stateDir, 'ledgers', 'HospitalB'))).toBe(true);
});
