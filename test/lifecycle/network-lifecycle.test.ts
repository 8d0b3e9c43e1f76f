/**
 * The network tooling itself on real processes: cold start, idempotent up, supervision of
 * the chaincode services, recovery from an unhealthy network, and a clean, repeatable down.
 * Runs alone (its own jest run), after the integration project has stopped its network,
 * on the ordering service EMR_ORDERING / EMR_ORDERERS ask for (CI runs it on each).
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { connectGateway, EmrIndex } from '../../client/src';
import { down, isUp, status, up } from '../../network/src/network';
import { orderingFromEnv, settingFor } from '../../network/src/ordering';
import { runningSetting, runningTopology } from '../../network/src/run-state';
import { channelConfigDir } from '../../network/src/node-env';
import { binDir, stateDir } from '../../network/src/paths';
import { isAlive, portInUse, recordedDaemons, run, waitFor } from '../../network/src/processes';
import { allPorts } from '../../network/src/topology';

jest.setTimeout(180_000);

const asked = settingFor(orderingFromEnv());

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
  await down(() => undefined);
});

it('starts from nothing to a committed chaincode, and a second up changes nothing', async () => {
  await down(() => undefined);
  expect(await boundPorts()).toEqual([]);

  const first = await up(() => undefined);
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
  const second = await up(() => undefined);
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

it('refuses a bad ordering setting before touching the running network', async () => {
  const pidsBefore = recordedDaemons().map((d) => d.pid).sort();
  await expect(up(() => undefined, { ordering: 'drkpbft', orderers: 3 })).rejects.toThrow("ordering 'drkpbft' needs at least 4 orderers (3f + 1 with f = 1); 3 was asked");
  expect(recordedDaemons().map((d) => d.pid).sort()).toEqual(pidsBefore);
  expect(await isUp()).toBe(true);
});

it('restarts a chaincode service that dies, under its supervisor', async () => {
  const supervisor = recordedDaemons().find((d) => d.name === 'chaincode-HospitalB')!;
  const childPid = () => Number(execFileSync('pgrep', ['-P', String(supervisor.pid)]).toString().trim().split('\n')[0]);
  const victim = childPid();
  process.kill(victim, 'SIGKILL');
  await waitFor('the supervisor to start a new chaincode process', async () => !isAlive(victim) && Number.isInteger(childPid()) && childPid() !== victim, 30_000);
  await waitFor('HospitalB to answer through its restarted chaincode', async () => (await whoAmI('HospitalB')) === 'HospitalBMSP', 30_000);
  expect(isAlive(supervisor.pid)).toBe(true);
});

it('up on an unhealthy network restarts it cleanly', async () => {
  const peer = recordedDaemons().find((d) => d.name === 'peer0.hospitala.emr')!;
  process.kill(peer.pid, 'SIGKILL');
  await waitFor('the peer to die', async () => !isAlive(peer.pid), 10_000);
  expect(await isUp()).toBe(false);
  const again = await up(() => undefined);
  expect(again.alreadyUp).toBe(false);
  expect(await isUp()).toBe(true);
  await expect(whoAmI('HospitalA')).resolves.toBe('HospitalAMSP');
});

it('down stops every process it started and frees every port; a second down is harmless', async () => {
  const daemons = recordedDaemons();
  // 4 CAs, the orderers (under drkpbft each with its replica); per member a peer, a chaincode service, a Kubo node, a key centre, a proxy.
  expect(daemons.length).toBe(4 + asked.orderers * (asked.ordering === 'drkpbft' ? 2 : 1) + 5 * 3);
  const result = await down(() => undefined);
  console.log(`down: ${result.seconds.toFixed(1)} s`);
  expect(result.stopped.sort()).toEqual(daemons.map((d) => d.name).sort());
  expect(daemons.filter((d) => isAlive(d.pid))).toEqual([]);
  expect(await boundPorts()).toEqual([]);
  expect(existsSync(stateDir)).toBe(false);
  const twice = await down(() => undefined);
  expect(twice.stopped).toEqual([]);
});
