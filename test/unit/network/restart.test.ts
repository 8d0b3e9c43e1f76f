/**
 * The fault tests' kill and restart helpers, on real (harmless) processes in a throw-away run
 * state: which daemons make up an orderer, refusals that name the problem, SIGKILL by the
 * recorded pid, and a restart with the recorded command, arguments and environment.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { processId } from '../../../network/src/proc';
import { topologyFor } from '../../../network/src/topology';

const dir = mkdtempSync(path.join(tmpdir(), 'emr-restart-'));
process.env.EMR_NETWORK_DIR = dir;

type Processes = typeof import('../../../network/src/processes');
type Network = typeof import('../../../network/src/network');
type RunState = typeof import('../../../network/src/run-state');
let processes: Processes;
let network: Network;
let runState: RunState;

beforeAll(async () => {
  // Loaded after EMR_NETWORK_DIR is set: the run state's paths are fixed when paths.ts loads.
  processes = await import('../../../network/src/processes');
  network = await import('../../../network/src/network');
  runState = await import('../../../network/src/run-state');
});

afterAll(async () => {
  await processes.stopAllDaemons(1000);
  rmSync(dir, { recursive: true, force: true });
});

const cmdline = (pid: number) => readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
const environ = (pid: number) => readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
/** A stand-in for an orderer: sleeps until killed. */
const standIn = (name: string, extraEnv: Record<string, string> = {}) =>
  processes.startDaemon({ name, command: process.execPath, args: ['-e', 'setTimeout(() => {}, 600000)', name], env: { ...process.env, ...extraEnv } });

describe('which daemons make up an orderer', () => {
  it('is the orderer alone, or under drkpbft its replica first and then the orderer', () => {
    const under = (ordering: 'etcdraft' | 'bft' | 'drkpbft') => topologyFor({ ordering, orderers: 4, wan: false, deliverProxies: true });
    expect(network.ordererDaemons(under('etcdraft'), 'orderer2')).toEqual(['orderer2']);
    expect(network.ordererDaemons(under('bft'), 'orderer4')).toEqual(['orderer4']);
    expect(network.ordererDaemons(under('drkpbft'), 'orderer1')).toEqual(['orderer1-drkpbft', 'orderer1']);
  });

  it('refuses a name the network does not have, listing the ones it has', () => {
    const t = topologyFor({ ordering: 'bft', orderers: 4, wan: false, deliverProxies: false });
    expect(() => network.ordererDaemons(t, 'orderer5')).toThrow("unknown orderer 'orderer5'; this network's orderers are orderer1, orderer2, orderer3, orderer4");
    expect(() => network.ordererDaemons(t, 'peer0')).toThrow("unknown orderer 'peer0'");
  });
});

describe('kill and restart', () => {
  beforeAll(() => runState.recordSetting({ ordering: 'bft', orderers: 4, wan: false, deliverProxies: true }));

  it('refuses to restart an orderer that was never started, or one that still runs', async () => {
    await expect(network.restartOrderer('orderer3')).rejects.toThrow(`no daemon named 'orderer3' was started by this network`);
    await expect(network.restartOrderer('orderer9')).rejects.toThrow("unknown orderer 'orderer9'");
    const pid = standIn('orderer2');
    await expect(network.restartOrderer('orderer2')).rejects.toThrow(`orderer2 (pid ${pid}) still running: kill orderer2 before restarting it`);
    await expect(processes.restartDaemon('orderer2')).rejects.toThrow(`orderer2 still runs (pid ${pid})`);
  });

  it('kills by the recorded pid with SIGKILL, and refuses to kill what is not running', async () => {
    const pid = processes.recordedDaemons().find((d) => d.name === 'orderer2')!.pid;
    expect(processes.isAlive(pid)).toBe(true);
    await expect(network.killOrderer('orderer2')).resolves.toEqual(['orderer2']);
    expect(processes.isAlive(pid)).toBe(false);
    expect(processes.recordedDaemons().find((d) => d.name === 'orderer2')).toMatchObject({ pid, alive: false });
    await expect(network.killOrderer('orderer2')).rejects.toThrow(`orderer2 (pid ${pid}) is not running`);
    await expect(processes.killDaemon('nobody')).rejects.toThrow("no daemon named 'nobody' was started by this network");
  });

  it('restarts with the command, arguments and own environment it was first started with', async () => {
    const first = standIn('orderer1', { EMR_FAULT_TEST_MARK: 'first-start' });
    const args = cmdline(first);
    await processes.killDaemon('orderer1');
    const second = await processes.restartDaemon('orderer1');
    expect(second).not.toBe(first);
    expect(processes.isAlive(second)).toBe(true);
    expect(cmdline(second)).toEqual(args);
    expect(environ(second)).toContain('EMR_FAULT_TEST_MARK=first-start');
    expect(processes.recordedDaemons().find((d) => d.name === 'orderer1')).toMatchObject({ pid: second, alive: true });
    // The recorded environment is what differed from the starter's, not a copy of all of it.
    expect(Object.keys(processes.recordedSpec('orderer1').env)).toEqual(['EMR_FAULT_TEST_MARK']);
  });
});

describe('supervision', () => {
  const nodeOf = (name: string) => processes.recordedDaemons().find((d) => d.name === name)?.nodePid;

  it('runs the node itself under its supervisor, which restarts it in place when it dies', async () => {
    const supervisor = standIn('peer0.hospitala.emr');
    await processes.waitFor('the node to start', async () => nodeOf('peer0.hospitala.emr') !== undefined, 10_000);
    const node = nodeOf('peer0.hospitala.emr')!;
    expect(node).not.toBe(supervisor);
    expect(cmdline(node)).toEqual([process.execPath, '-e', 'setTimeout(() => {}, 600000)', 'peer0.hospitala.emr']);
    await expect(processes.crashNode('peer0.hospitala.emr')).resolves.toBe(node);
    await processes.waitFor('the supervisor to start it again', async () => (nodeOf('peer0.hospitala.emr') ?? node) !== node, 10_000);
    expect(processes.isAlive(supervisor)).toBe(true);
    expect(cmdline(nodeOf('peer0.hospitala.emr')!)).toEqual([process.execPath, '-e', 'setTimeout(() => {}, 600000)', 'peer0.hospitala.emr']);
  });

  it('reaps a node left running by a supervisor killed alone, before starting it again', async () => {
    const supervisor = processes.recordedDaemons().find((d) => d.name === 'peer0.hospitala.emr')!.pid;
    const orphan = nodeOf('peer0.hospitala.emr')!;
    process.kill(supervisor, 'SIGKILL');
    await processes.waitFor('the supervisor to die', async () => !processes.isAlive(supervisor), 10_000);
    expect(processId(orphan)).toBeDefined();
    await processes.restartDaemon('peer0.hospitala.emr');
    expect(processId(orphan)).toBeUndefined(); // gone (at most a zombie until its new parent reaps it)
    await processes.waitFor('the new node', async () => nodeOf('peer0.hospitala.emr') !== undefined, 10_000);
  });

  it('never takes a recorded pid that another process now has for ours (a reboot, or a pid reused)', async () => {
    const stranger = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 600000)'], { stdio: 'ignore' });
    try {
      const id = { pid: stranger.pid!, startTime: 1, bootId: readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim() };
      writeFileSync(path.join(dir, 'pids', 'orderer3.pid'), JSON.stringify(id));
      writeFileSync(path.join(dir, 'pids', 'orderer4.pid'), JSON.stringify({ ...id, startTime: Number(readFileSync(`/proc/${stranger.pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[19]), bootId: 'another-boot' }));
      expect(processes.recordedDaemons().filter((d) => d.name === 'orderer3' || d.name === 'orderer4').map((d) => d.alive)).toEqual([false, false]);
      await processes.stopAllDaemons(1000);
      expect(processes.isAlive(stranger.pid!)).toBe(true);
      // The specs stay for the next `up`; only who ran them is forgotten.
      expect(processes.recordedDaemons()).toEqual([]);
      expect(processes.recordedNames().sort()).toEqual(['orderer1', 'orderer2', 'peer0.hospitala.emr']);
    } finally {
      stranger.kill('SIGKILL');
    }
  });
});
