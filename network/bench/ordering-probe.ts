/**
 * What the ordering benchmark reads from the running network besides its own clients: the
 * CPU time of every process the network started, by component (/proc; the ordering
 * processes' among them), the bytes the ordering processes sent each other (the kernel's
 * per-socket counters, `ss -tinp`), and the channel height (each mode's committed-block gauge).
 * Nothing is inserted on the path, so the figures cost the measured system nothing. Under
 * the `wan` setting orderers dial each other through the relays, which count instead.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { consensusView } from '../src/network';
import { recordedDaemons } from '../src/processes';
import { state } from '../src/paths';
import { RELAY_STATS_PORT, type Topology } from '../src/topology';
import type { LinkCount } from '../src/wan/relay';

/** Clock ticks per second of /proc/<pid>/stat's utime and stime (Linux's USER_HZ is 100). */
const USER_HZ = 100;

/** The processes of one ordering node: the orderer, and under drkpbft its replica. */
export function orderingProcesses(t: Topology): Map<number, string> {
  const byPid = new Map<number, string>();
  for (const o of t.ordererOrg.orderers) {
    for (const name of t.ordering === 'drkpbft' ? [o.name, `${o.name}-drkpbft`] : [o.name]) {
      const file = path.join(state.pids, `${name}.pid`);
      if (existsSync(file)) byPid.set(Number(readFileSync(file, 'utf8').trim()), o.name);
    }
  }
  return byPid;
}

/** Who spends the CPU a transaction costs: the benchmark's own process is the client. */
export const ROLES = ['orderers', 'replicas', 'peers', 'chaincode', 'client', 'other'] as const;
export type Role = (typeof ROLES)[number];

/** A daemon's role from its name (network/src: `orderer1`, `orderer1-drkpbft`, `peer0.…`, `chaincode-…`). */
export function roleOf(name: string): Role {
  if (name.endsWith('-drkpbft')) return 'replicas';
  if (name.startsWith('orderer')) return 'orderers';
  if (name.startsWith('peer')) return 'peers';
  if (name.startsWith('chaincode')) return 'chaincode';
  return 'other';
}

/** Every process's parent and CPU seconds so far (user + system), one read of /proc/<pid>/stat each. */
function processTable(): Map<number, { parent: number; seconds: number }> {
  const table = new Map<number, { parent: number; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // Fields after the command name, which is in parentheses and may hold spaces.
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      table.set(Number(entry), { parent: Number(fields[1]), seconds: (Number(fields[11]) + Number(fields[12])) / USER_HZ });
    } catch {
      // gone meanwhile
    }
  }
  return table;
}

/**
 * CPU seconds so far of every process the network started, with their children (the
 * chaincode runs under a supervisor), and of this process, by pid.
 */
function cpuByProcess(): Map<number, { role: Role; seconds: number }> {
  const cpu = new Map<number, { role: Role; seconds: number }>();
  const roleOfPid = new Map<number, Role>();
  for (const d of recordedDaemons()) if (d.alive) roleOfPid.set(d.pid, roleOf(d.name));
  const table = processTable();
  for (const [pid, { seconds }] of table) {
    // A process belongs to the nearest recorded daemon among its ancestors.
    let at: number | undefined = pid;
    while (at !== undefined && at > 1 && !roleOfPid.has(at)) at = table.get(at)?.parent;
    const role = at === undefined ? undefined : roleOfPid.get(at);
    if (role !== undefined) cpu.set(pid, { role, seconds });
  }
  const own = process.cpuUsage();
  cpu.set(process.pid, { role: 'client', seconds: (own.user + own.system) / 1e6 });
  return cpu;
}

export interface SocketSample {
  /** `local remote pid` → bytes this socket sent. */
  sent: Map<string, number>;
}

/**
 * Bytes each established TCP socket of an ordering process has sent to a socket of another
 * ordering node (not its own replica: that is the host link, inside one node). Both ends of
 * such a connection belong to ordering processes, so each byte is counted once, by its sender.
 */
export function sampleSockets(processes: ReadonlyMap<number, string>): SocketSample {
  return parseSockets(execFileSync('ss', ['-tinpH', 'state', 'established'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 }), processes);
}

/** `ss -tinpH state established` output: a socket's line, then its counters' line. */
export function parseSockets(out: string, processes: ReadonlyMap<number, string>): SocketSample {
  const sockets: { local: string; remote: string; pid: number; sent: number }[] = [];
  const lines = out.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const head = /^\s*\d+\s+\d+\s+(\S+)\s+(\S+)\s+users:\(\(".*?",pid=(\d+),/.exec(lines[i]!);
    if (head === null) continue;
    const sent = /bytes_sent:(\d+)/.exec(lines[i + 1] ?? '');
    sockets.push({ local: head[1]!, remote: head[2]!, pid: Number(head[3]), sent: sent ? Number(sent[1]) : 0 });
  }
  const nodeAt = new Map<string, string>();
  for (const s of sockets) {
    const node = processes.get(s.pid);
    if (node !== undefined) nodeAt.set(s.local, node);
  }
  const sample: SocketSample = { sent: new Map() };
  for (const s of sockets) {
    const from = processes.get(s.pid);
    const to = nodeAt.get(s.remote);
    if (from !== undefined && to !== undefined && from !== to) sample.sent.set(`${s.local} ${s.remote} ${s.pid}`, s.sent);
  }
  return sample;
}

/** Bytes sent between ordering nodes from `before` to `after` (a connection opened in between counts whole; one closed in between is lost). */
export function bytesBetween(before: SocketSample, after: SocketSample): number {
  let bytes = 0;
  for (const [key, sent] of after.sent) bytes += sent - (before.sent.get(key) ?? 0);
  return bytes;
}

/** The highest block any orderer reports committed (each mode's own gauge). */
export async function channelHeight(t: Topology): Promise<number> {
  const view = await consensusView(t);
  return Math.max(...view.orderers.map((o) => o.committedBlock ?? 0));
}

/** Everything sampled at one instant, to diff over a measured window. */
export interface Probe {
  at: number;
  processes: Map<number, { role: Role; seconds: number }>;
  sockets: SocketSample;
  /** Under `wan`: the bytes the relays carried between orderers so far. */
  relayed?: number;
  height: number;
}

/** Bytes the WAN relays carried between two different orderers (relay-process.ts, GET /links). */
async function relayedBytes(t: Topology): Promise<number> {
  const links = (await (await fetch(`http://${t.host}:${RELAY_STATS_PORT}/links`)).json()) as LinkCount[];
  return links.filter((l) => l.from !== '?' && l.from !== l.to).reduce((sum, l) => sum + l.bytes, 0);
}

export async function probe(t: Topology): Promise<Probe> {
  const processes = orderingProcesses(t);
  return {
    at: performance.now(),
    processes: cpuByProcess(),
    sockets: sampleSockets(processes),
    ...(t.wan ? { relayed: await relayedBytes(t) } : {}),
    height: await channelHeight(t),
  };
}

export interface ProbeDelta {
  seconds: number;
  /** CPU of all ordering processes together (orderers and replicas), in cores (1.0 = one core busy all the time). */
  orderingCores: number;
  /** Every component's CPU, in cores (a process started in between counts whole; one gone by the end, nothing). */
  coresByRole: Record<Role, number>;
  bytesBetweenOrderers: number;
  blocks: number;
}

export function delta(a: Probe, b: Probe): ProbeDelta {
  const seconds = (b.at - a.at) / 1000;
  const bytes = a.relayed !== undefined && b.relayed !== undefined ? b.relayed - a.relayed : bytesBetween(a.sockets, b.sockets);
  const coresByRole = Object.fromEntries(ROLES.map((r) => [r, 0])) as Record<Role, number>;
  for (const [pid, end] of b.processes) coresByRole[end.role] += (end.seconds - (a.processes.get(pid)?.seconds ?? 0)) / seconds;
  return { seconds, orderingCores: coresByRole.orderers + coresByRole.replicas, coresByRole, bytesBetweenOrderers: bytes, blocks: b.height - a.height };
}
