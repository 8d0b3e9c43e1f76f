/**
 * The network tooling itself on real processes: `reset` deletes all state and says what, a
 * cold start, idempotent up, nodes restarted in place by their supervisors, one node stopped
 * and started, and a network resumed on its data after `down` and after every process was
 * killed with SIGKILL, a record stored before still readable, byte for byte, through the key
 * centres and proxies. Runs first for each ordering service in test/run-all.js (EMR_ORDERING
 * / EMR_ORDERERS), in the tests' own state directory, and leaves its network to the next
 * live project.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connectGateway, EmrClient, EmrIndex } from '../../client/src';
import { down, isUp, reset, resetScope, startNode, status, stopNode, up, waitForEndorsers, whyNotUp } from '../../network/src/network';
import { orderingFromEnv, settingFor } from '../../network/src/ordering';
import { recordSetting, runningSetting, runningTopology } from '../../network/src/run-state';
import { channelConfigDir } from '../../network/src/node-env';
import { binDir, state, stateDir } from '../../network/src/paths';
import { crashNode, isAlive, killDaemon, portInUse, recordedDaemons, run, waitFor } from '../../network/src/processes';
import { newPatient } from '../support/network';
import { allPorts } from '../../network/src/topology';

jest.setTimeout(180_000);

// With deliver proxies, as every live project's network: the next one in test/run-all.js uses this one.
const request = { ...orderingFromEnv(), deliverProxies: true };
const asked = settingFor(request);
/** 4 CAs, the orderers (under drkpbft each with its replica), the deliver proxies; per member a peer, a chaincode service, a Kubo node, a key centre, a proxy. */
const DAEMONS = 4 + asked.orderers * (asked.ordering === 'drkpbft' ? 2 : 1) + 1 + 5 * 3;

const boundPorts = async () => {
  const bound: number[] = [];
  for (const { port } of allPorts()) if (await portInUse(port)) bound.push(port);
  return bound;
};

async function whoAmI(org: string): Promise<string> {
  const c = connectGateway({ org, user: 'admin', profile: stateDir });
  try {
    return (await new EmrIndex(c).whoAmI()).mspId;
  } finally {
    c.close();
  }
}

afterAll(async () => {
  // test/run-all.js runs the other live projects on the network this one leaves.
  if (process.env.EMR_KEEP_NETWORK !== '1') await down(() => undefined);
});

const pidsOf = () => recordedDaemons().map((d) => d.pid).sort();

it('reset deletes all the state there is, and says what; up then starts from nothing to a committed chaincode; a second up changes nothing', async () => {
  // A network to delete: the previous project's (test/run-all.js) or, when the run starts
  // from nothing, the files of one (stopping processes is what `down` is tested on below).
  if (!existsSync(path.join(stateDir, 'up.json'))) {
    for (const dir of [state.ledgers, state.ipfs, state.services, state.wallet]) mkdirSync(dir, { recursive: true });
    recordSetting(asked);
    writeFileSync(path.join(stateDir, 'up.json'), '{}');
  }
  const scope = resetScope();
  const { deleted } = await reset(() => undefined);
  expect(deleted).toEqual(scope);
  expect(deleted.join('\n')).toMatch(/ledgers of \d+ orderers.*\n.*IPFS repositories.*\n.*key centres' DKG shares/);
  expect(existsSync(stateDir)).toBe(false);
  expect(await boundPorts()).toEqual([]);
  expect((await reset(() => undefined)).deleted).toEqual([]);

  const first = await up(() => undefined, request);
  expect(first.alreadyUp).toBe(false);
  console.log(`cold up (${asked.ordering}, ${asked.orderers} orderers): ${first.seconds.toFixed(1)} s\n${first.steps.map((s) => `  ${s.step}: ${s.seconds.toFixed(1)} s`).join('\n')}`);
  const s = await status();
  expect(s.up).toBe(true);
  expect(s.lines.filter((l) => !l.healthy || l.process !== 'running')).toEqual([]);
  expect(runningSetting()).toEqual(asked);
  // Every orderer reports the channel's consensus of the asked mode, with one agreed leader.
  expect(s.consensus).toMatchObject({ setting: asked, ordering: asked.ordering, consensusType: asked.ordering === 'etcdraft' ? 'etcdraft' : 'BFT', ready: true });
  expect(s.consensus!.orderers.map((o) => [o.name, o.reachable, o.clusterSize])).toEqual(runningTopology().ordererOrg.orderers.map((o) => [o.name, true, asked.orderers]));
  expect(s.consensus!.orderers.filter((o) => o.isLeader).map((o) => o.name)).toEqual([s.consensus!.leader]);
  await expect(whoAmI('ResearchInstitute')).resolves.toBe('ResearchInstituteMSP');

  const pidsBefore = recordedDaemons().map((d) => d.pid).sort();
  const second = await up(() => undefined, request);
  expect(second.alreadyUp).toBe(true);
  expect(recordedDaemons().map((d) => d.pid).sort()).toEqual(pidsBefore);
});

it('has the mode\'s consensus type and block validation policy in the genesis block, as configtxgen made it', async () => {
  const json = await run(path.join(binDir(), 'configtxgen'), ['-inspectBlock', path.join(channelConfigDir(), 'emr.block')], { ...process.env, FABRIC_LOGGING_SPEC: 'error' });
  const orderer = JSON.parse(json).data.data[0].payload.data.config.channel_group.groups.Orderer;
  const policy = orderer.policies.BlockValidation.policy;
  if (asked.ordering === 'etcdraft') {
    expect([orderer.values.ConsensusType.value.type, policy]).toEqual(['etcdraft', { type: 3, value: { rule: 'ANY', sub_policy: 'Writers' } }]);
  } else {
    // A signature policy: ⌈(n + f + 1)/2⌉ of the n consenters' own identities (common/policies/bft.go).
    const n = asked.orderers;
    const f = Math.floor((n - 1) / 3);
    expect(orderer.values.ConsensusType.value.type).toBe('BFT');
    expect(orderer.values.Orderers.value.consenter_mapping.map((c: { id: number; port: number }) => [c.id, c.port])).toEqual(runningTopology().ordererOrg.orderers.map((o) => [o.consenterId, o.port]));
    expect(policy.type).toBe(1);
    expect(policy.value.rule.n_out_of.n).toBe(Math.ceil((n + f + 1) / 2));
    expect(policy.value.identities).toHaveLength(n);
  }
});

it('refuses a bad ordering setting, or another setting than its state was made for, before touching the running network', async () => {
  const pidsBefore = pidsOf();
  await expect(up(() => undefined, { ordering: 'drkpbft', orderers: 3 })).rejects.toThrow("ordering 'drkpbft' needs at least 4 orderers (3f + 1 with f = 1); 3 was asked");
  const other = asked.ordering === 'etcdraft' ? 'bft' : 'etcdraft';
  await expect(up(() => undefined, { ordering: other })).rejects.toThrow(`this network's state was made for ${asked.ordering}`);
  await expect(up(() => undefined, { ordering: other })).rejects.toThrow('`reset --yes`');
  expect(pidsOf()).toEqual(pidsBefore);
  expect(await isUp()).toBe(true);
});

describe('a node that dies is restarted in place by its supervisor, on its data', () => {
  it.each([['a chaincode service', 'chaincode-HospitalB'], ['a peer', 'peer0.hospitalb.emr'], ['a key centre', 'kgc-HospitalB']])('%s (%s)', async (_, name) => {
    const supervisor = recordedDaemons().find((d) => d.name === name)!;
    const victim = await crashNode(name);
    await waitFor(`the supervisor to start ${name} again`, async () => {
      const now = recordedDaemons().find((d) => d.name === name);
      return now?.nodePid !== undefined && now.nodePid !== victim;
    }, 30_000);
    await waitFor('the network to be whole again', async () => (await whyNotUp()).length === 0, 60_000);
    await waitForEndorsers();
    expect(isAlive(supervisor.pid)).toBe(true);
    await waitFor('HospitalB to answer through its restarted node', async () => (await whoAmI('HospitalB')) === 'HospitalBMSP', 60_000);
  });
});

it('stops one node, keeping its data, and starts it again', async () => {
  expect(await stopNode('peer0.hospitala')).toEqual(['peer0.hospitala.emr']);
  const line = (await status()).lines.find((l) => l.name === 'peer0.hospitala.emr')!;
  expect([line.process, line.healthy]).toEqual(['stopped', false]);
  expect(await whyNotUp()).toEqual(['peer0.hospitala.emr is not running']);
  await expect(stopNode('peer9')).rejects.toThrow("no node named 'peer9'; this network's nodes are ");
  expect(await startNode('peer0.hospitala')).toEqual(['peer0.hospitala.emr']);
  expect(await startNode('peer0.hospitala')).toEqual([]);
  await waitFor('HospitalA to answer again', async () => (await whoAmI('HospitalA')) === 'HospitalAMSP', 60_000);
});

describe('what a user stored survives', () => {
  const data = Buffer.from(JSON.stringify({ resourceType: 'Observation', status: 'final', valueString: `lifecycle ${Date.now()}` }));
  let recordId: string;
  let patientUser: string;

  /** The patient reads his record back: index from the chain, content from IPFS checked against its SHA-256, key from the key centres. */
  async function readBack(): Promise<Buffer> {
    const patient = EmrClient.connect({ org: 'HospitalA', user: patientUser, profile: stateDir });
    try {
      return (await patient.fetchRecord(recordId, undefined, { purpose: 'treatment' })).data!;
    } finally {
      patient.close();
    }
  }

  beforeAll(async () => {
    const p = await newPatient('HospitalA', 'lifecycle-patient');
    patientUser = p.user;
    const doctor = EmrClient.connect({ org: 'HospitalA', user: 'doctor1', profile: stateDir });
    try {
      recordId = (await doctor.uploadRecord({ patientPseudonym: p.pseudonym, category: 'lifecycle/notes', source: data })).record.recordId;
    } finally {
      doctor.close();
    }
    expect((await readBack()).equals(data)).toBe(true);
  });

  it('down stops every process and frees every port, keeping all state; up resumes it; a second down is harmless', async () => {
    const daemons = recordedDaemons();
    expect(daemons.length).toBe(DAEMONS);
    const result = await down(() => undefined);
    console.log(`down: ${result.seconds.toFixed(1)} s`);
    expect(result.stopped.sort()).toEqual(daemons.map((d) => d.name).sort());
    expect(daemons.filter((d) => isAlive(d.pid))).toEqual([]);
    expect(await boundPorts()).toEqual([]);
    expect(existsSync(stateDir)).toBe(true);
    expect((await down(() => undefined)).stopped).toEqual([]);

    const resumed = await up(() => undefined, request);
    console.log(`resume after down: ${resumed.seconds.toFixed(1)} s`);
    expect(resumed.resumed!.sort()).toEqual(daemons.map((d) => d.name).sort());
    expect(runningSetting()).toEqual(asked);
    expect((await readBack()).equals(data)).toBe(true);

    // `down` for another directory, while this network runs: refused at once, saying why, and this one stays up.
    const elsewhere = spawnSync(process.execPath, [path.join(__dirname, '../../network/dist/cli.js'), 'down'], { env: { ...process.env, EMR_NETWORK_DIR: mkdtempSync(path.join(tmpdir(), 'emr-other-')) }, encoding: 'utf8', timeout: 30_000 });
    expect([elsewhere.status, elsewhere.stderr]).toEqual([1, expect.stringMatching(/nothing of the network in .* was running, yet ports [\d, …]+ are taken: by a network of another directory/)]);
    expect(await isUp()).toBe(true);
  });

  it('every process killed with SIGKILL at once, supervisors included, as a power cut would: up resumes it', async () => {
    const daemons = recordedDaemons();
    for (const d of daemons) await killDaemon(d.name);
    expect(await isUp()).toBe(false);
    const resumed = await up(() => undefined, request);
    console.log(`resume after SIGKILL of all ${daemons.length} processes: ${resumed.seconds.toFixed(1)} s`);
    expect(resumed.resumed!.sort()).toEqual(daemons.map((d) => d.name).sort());
    expect(await isUp()).toBe(true);
    expect((await readBack()).equals(data)).toBe(true);
    // The network still takes writes after the crash: a second upload, read back.
    const doctor = EmrClient.connect({ org: 'HospitalA', user: 'doctor1', profile: stateDir });
    try {
      const again = await doctor.uploadRecord({ patientPseudonym: (await doctor.index.readRecord(recordId)).patientPseudonym, category: 'lifecycle/notes', source: data });
      expect(again.record.version).toBe(1);
    } finally {
      doctor.close();
    }
  });
});
