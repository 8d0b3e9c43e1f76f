/**
 * Starts a cluster of replica processes on 127.0.0.1: keys and configuration in a
 * directory, one process per replica (each with an IPC channel to this one), and stops
 * them again by pid. Replicas also exit by themselves when this process goes away.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { NodeId } from '../core/types';
import { COMMIT_LOG, type ClusterConfig, type DriverMessage, type ReplicaEntry, type ReplicaMessage, type ReplicaStats } from './config';
import { writeClusterKeys } from './keys';
import type { NetProtocolOptions, ProtocolName } from '../protocols';

export interface LaunchSpec {
  protocol: ProtocolName;
  n: number;
  /** Replica i listens on basePort + 2i (peers) and basePort + 2i + 1 (clients). */
  basePort: number;
  options: NetProtocolOptions;
  tickMs: number;
  fsync: boolean;
  /** Where keys, configuration and node directories go; a fresh temporary directory when absent. */
  dir?: string;
  readyTimeoutMs?: number;
  /** Replica i also serves a Fabric host link on hostLinkBasePort + i (src/fabric/host-link.ts). */
  hostLinkBasePort?: number;
}

const HOST = '127.0.0.1';
const STOP_GRACE_MS = 2_000;
const STATS_TIMEOUT_MS = 5_000;

/** The replica entry point next to this file, and how to run it (through tsx when running from sources). */
function replicaCommand(): { script: string; execArgv: string[] } {
  const fromSources = __filename.endsWith('.ts');
  return {
    script: path.join(__dirname, `replica-process${fromSources ? '.ts' : '.js'}`),
    execArgv: fromSources ? ['--require', require.resolve('tsx/cjs')] : [],
  };
}

export class Cluster {
  private readonly children = new Map<NodeId, ChildProcess>();
  private readonly killOnExit = () => {
    for (const child of this.children.values()) if (child.pid !== undefined && child.exitCode === null) process.kill(child.pid, 'SIGKILL');
  };

  private constructor(
    readonly dir: string,
    readonly configPath: string,
    readonly config: ClusterConfig,
    private readonly readyTimeoutMs: number,
  ) {}

  /** Writes keys and configuration, spawns every replica and waits until all listen. */
  static async launch(spec: LaunchSpec): Promise<Cluster> {
    const dir = spec.dir ?? mkdtempSync(path.join(os.tmpdir(), `consensus-${spec.protocol}-${spec.n}-`));
    const ids = Array.from({ length: spec.n }, (_, i) => i);
    const keys = writeClusterKeys(path.join(dir, 'keys'), ids);
    const replicas: ReplicaEntry[] = ids.map((id) => ({
      id,
      host: HOST,
      port: spec.basePort + 2 * id,
      clientPort: spec.basePort + 2 * id + 1,
      privateKey: keys.privateKey(id),
      dataDir: path.join(dir, `node-${id}`),
      ...(spec.hostLinkBasePort === undefined ? {} : { hostLinkPort: spec.hostLinkBasePort + id }),
    }));
    const config: ClusterConfig = { protocol: spec.protocol, members: ids, options: spec.options, replicas, publicKeys: keys.publicKeys, tickMs: spec.tickMs, fsync: spec.fsync };
    const configPath = path.join(dir, 'cluster.json');
    writeFileSync(configPath, JSON.stringify(config, null, 2));
    const cluster = new Cluster(dir, configPath, config, spec.readyTimeoutMs ?? 60_000);
    process.on('exit', cluster.killOnExit);
    try {
      await Promise.all(ids.map((id) => cluster.spawn(id)));
    } catch (error) {
      await cluster.stop();
      throw error;
    }
    return cluster;
  }

  /** The replica's process id while it runs. */
  pid(id: NodeId): number | undefined {
    const child = this.children.get(id);
    return child?.exitCode === null ? child.pid : undefined;
  }

  /** Kills replica `id` (SIGKILL, by pid: no chance to clean up) and waits until it is gone. */
  async kill(id: NodeId): Promise<void> {
    const child = this.children.get(id);
    if (child === undefined) return;
    this.children.delete(id);
    await terminate(child, 'SIGKILL');
  }

  /** Starts replica `id` again from its persisted state. */
  async restart(id: NodeId): Promise<void> {
    if (this.pid(id) !== undefined) throw new Error(`replica ${id} is running`);
    await this.spawn(id);
  }

  /** Counters from every running replica. */
  async stats(): Promise<ReplicaStats[]> {
    return Promise.all([...this.children.values()].map((child) => requestStats(child)));
  }

  /** Every replica's commit log so far: position → batch digest. */
  commitLogs(): Map<NodeId, Map<number, string>> {
    const logs = new Map<NodeId, Map<number, string>>();
    for (const { id, dataDir } of this.config.replicas) {
      const file = path.join(dataDir, COMMIT_LOG);
      const log = new Map<number, string>();
      if (existsSync(file)) {
        for (const line of readFileSync(file, 'utf8').split('\n')) {
          const [seq, digest] = line.split(' ');
          if (seq !== undefined && digest !== undefined) log.set(Number(seq), digest);
        }
      }
      logs.set(id, log);
    }
    return logs;
  }

  /** Stops every replica: SIGTERM by pid, SIGKILL after a grace period. Safe to call twice. */
  async stop(): Promise<void> {
    const children = [...this.children.values()];
    this.children.clear();
    await Promise.all(children.map((child) => terminate(child, 'SIGTERM')));
    process.off('exit', this.killOnExit);
  }

  private spawn(id: NodeId): Promise<void> {
    const entry = this.config.replicas[id]!;
    mkdirSync(entry.dataDir, { recursive: true });
    const logFile = path.join(entry.dataDir, 'replica.log');
    const log = openSync(logFile, 'a');
    const { script, execArgv } = replicaCommand();
    const child = fork(script, [this.configPath, String(id)], { execArgv, stdio: ['ignore', log, log, 'ipc'] });
    closeSync(log);
    this.children.set(id, child);
    return new Promise((resolve, reject) => {
      const fail = (why: string) => {
        clearTimeout(timer);
        const tail = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-2000) : '';
        reject(new Error(`replica ${id} ${why}; ${logFile}:\n${tail}`));
      };
      const timer = setTimeout(() => fail(`not ready after ${this.readyTimeoutMs} ms`), this.readyTimeoutMs);
      child.once('exit', (code, signal) => fail(`exited (${signal ?? code}) before it was ready`));
      child.on('message', (message: ReplicaMessage) => {
        if (message.type !== 'ready') return;
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve();
      });
    });
  }
}

/** Sends `signal` to the child's pid and waits for it to exit (SIGKILL after a grace period). */
function terminate(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return Promise.resolve();
  const pid = child.pid;
  return new Promise((resolve) => {
    const escalate = setTimeout(() => process.kill(pid, 'SIGKILL'), STOP_GRACE_MS);
    child.once('exit', () => {
      clearTimeout(escalate);
      resolve();
    });
    process.kill(pid, signal);
  });
}

function requestStats(child: ChildProcess): Promise<ReplicaStats> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('message', onMessage);
      reject(new Error(`replica pid ${child.pid} did not report its stats`));
    }, STATS_TIMEOUT_MS);
    const onMessage = (message: ReplicaMessage) => {
      if (message.type !== 'stats') return;
      clearTimeout(timer);
      child.off('message', onMessage);
      resolve(message.stats);
    };
    child.on('message', onMessage);
    const request: DriverMessage = { type: 'stats' };
    child.send(request);
  });
}

/** Positions where two replicas committed different batches (empty: the logs agree). */
export function conflictingPositions(logs: ReadonlyMap<NodeId, ReadonlyMap<number, string>>): number[] {
  const first = new Map<number, string>();
  const conflicts = new Set<number>();
  for (const log of logs.values()) {
    for (const [seq, digest] of log) {
      const seen = first.get(seq);
      if (seen === undefined) first.set(seq, digest);
      else if (seen !== digest) conflicts.add(seq);
    }
  }
  return [...conflicts].sort((a, b) => a - b);
}
