import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { compiledDaemon, state } from './paths';
import { processId, stillRuns, type ProcessId } from './proc';

export interface DaemonSpec {
  /** Unique name: pid file and log file are named after it. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export const logFile = (name: string): string => path.join(state.logs, `${name}.log`);
/** The supervisor's identity (proc.ts), while it was started and not stopped by `down`. */
const pidFile = (name: string): string => path.join(state.pids, `${name}.pid`);
/** The node's own process, as its supervisor last started it (supervise.ts writes it). */
const nodeFile = (name: string): string => path.join(state.pids, `${name}.node`);
/** What a daemon was started with, so that `up` can resume it and a fault test restart it the same way; kept by `down`. */
const specFile = (name: string): string => path.join(state.pids, `${name}.spec.json`);

/** The spec as recorded: the environment only where it differs from ours (a restart merges it over the restarter's). */
export interface RecordedSpec {
  name: string;
  command: string;
  args: string[];
  env: Record<string, string>;
  cwd?: string;
}

export function recordedSpec(name: string): RecordedSpec {
  if (!existsSync(specFile(name))) throw new Error(`no daemon named '${name}' was started by this network (no ${specFile(name)})`);
  return JSON.parse(readFileSync(specFile(name), 'utf8')) as RecordedSpec;
}

/** Every daemon this network's state records a spec for, running or not. */
export function recordedNames(): string[] {
  if (!existsSync(state.pids)) return [];
  return readdirSync(state.pids).filter((f) => f.endsWith('.spec.json')).map((f) => f.slice(0, -'.spec.json'.length));
}

function envDelta(env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const delta: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) if (v !== undefined && process.env[k] !== v) delta[k] = v;
  return delta;
}

/** The process has not exited (a zombie, exited but not yet reaped by its parent, counts as gone). */
export const isAlive = (pid: number): boolean => processId(pid) !== undefined;

/** A recorded process identity, if the file holds one (a torn or foreign file names nobody). */
function readId(file: string): ProcessId | undefined {
  try {
    const id = JSON.parse(readFileSync(file, 'utf8')) as ProcessId;
    return Number.isInteger(id.pid) && id.pid > 0 && typeof id.bootId === 'string' ? id : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Starts a long-running node under its supervisor (supervise.ts), in a process group of
 * its own, detached from us, logging to a file; records the spec and who runs it.
 */
export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(state.pids, { recursive: true });
  mkdirSync(state.logs, { recursive: true });
  rmSync(nodeFile(spec.name), { force: true });
  const out = openSync(logFile(spec.name), 'a');
  try {
    const child = spawn(process.execPath, [compiledDaemon('supervise.js'), nodeFile(spec.name), spec.command, ...spec.args], {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    const id = child.pid === undefined ? undefined : processId(child.pid);
    if (!id) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    const recorded: RecordedSpec = { name: spec.name, command: spec.command, args: spec.args, env: envDelta(spec.env), ...(spec.cwd ? { cwd: spec.cwd } : {}) };
    writeFileSync(specFile(spec.name), JSON.stringify(recorded, null, 2), { mode: 0o600 });
    writeFileSync(pidFile(spec.name), JSON.stringify(id));
    return id.pid;
  } finally {
    closeSync(out);
  }
}

export interface RecordedDaemon {
  name: string;
  /** Its supervisor's pid: the process group that `stop`, `down` and `killDaemon` signal. */
  pid: number;
  /** The supervisor still runs (the node itself may be between a crash and its restart). */
  alive: boolean;
  /** The node's own pid, while it runs: what to measure, or crash on purpose. */
  nodePid?: number;
}

/** Processes we started and `down` has not stopped, from their pid files, with whether each still runs. */
export function recordedDaemons(): RecordedDaemon[] {
  if (!existsSync(state.pids)) return [];
  return readdirSync(state.pids)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => {
      const name = f.slice(0, -4);
      const id = readId(path.join(state.pids, f));
      const node = readId(nodeFile(name));
      const alive = id !== undefined && stillRuns(id);
      return { name, pid: id?.pid ?? 0, alive, ...(alive && node && stillRuns(node) ? { nodePid: node.pid } : {}) };
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function signalGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig); // the whole group: the supervisor and its node
  } catch {
    try {
      process.kill(pid, sig);
    } catch {
      /* already gone */
    }
  }
}

/**
 * A node left running by a supervisor that was killed alone (SIGKILL to its pid only): it
 * would hold the node's ports and data against a restart. Only the very process recorded
 * is killed, never whatever reuses its pid.
 */
async function reapOrphan(name: string): Promise<void> {
  const node = readId(nodeFile(name));
  if (!node || !stillRuns(node)) return;
  process.kill(node.pid, 'SIGKILL');
  while (stillRuns(node)) await sleep(20);
}

/** Stops one node (SIGTERM to its group, SIGKILL after the grace period); it stays stopped until started again. */
export async function stopDaemon(name: string, graceMs = 5000): Promise<void> {
  const d = recordedDaemons().find((x) => x.name === name);
  if (d?.alive) {
    signalGroup(d.pid, 'SIGTERM');
    const deadline = Date.now() + graceMs;
    while (isAlive(d.pid) && Date.now() < deadline) await sleep(50);
    if (isAlive(d.pid)) signalGroup(d.pid, 'SIGKILL');
    while (isAlive(d.pid)) await sleep(20);
  }
  await reapOrphan(name);
}

/**
 * Takes one node down at once, as a crash with no one to restart it would: SIGKILL to its
 * supervisor's process group, by the recorded pid. Its pid file stays: `whyNotUp` reports
 * it stopped until `restartDaemon`. Returns the pid it killed.
 */
export async function killDaemon(name: string): Promise<number> {
  const d = recordedDaemons().find((x) => x.name === name);
  if (!d) throw new Error(`no daemon named '${name}' was started by this network`);
  if (!d.alive) throw new Error(`${name} (pid ${d.pid}) is not running`);
  signalGroup(d.pid, 'SIGKILL');
  while (isAlive(d.pid)) await sleep(20);
  await reapOrphan(name);
  return d.pid;
}

/**
 * Crashes the node itself (SIGKILL to its own process, not its supervisor), which its
 * supervisor then restarts in place. Returns the pid it killed.
 */
export async function crashNode(name: string): Promise<number> {
  const d = recordedDaemons().find((x) => x.name === name);
  if (!d?.nodePid) throw new Error(`${name} is not running under its supervisor`);
  const node = readId(nodeFile(name))!;
  process.kill(node.pid, 'SIGKILL');
  while (stillRuns(node)) await sleep(20);
  return node.pid;
}

/**
 * Starts a stopped daemon again with the spec it was first started with (command, arguments,
 * working directory, and its own environment over ours). Refuses one that still runs. Returns
 * the new pid.
 */
export async function restartDaemon(name: string): Promise<number> {
  const spec = recordedSpec(name);
  const d = recordedDaemons().find((x) => x.name === name);
  if (d?.alive) throw new Error(`${name} still runs (pid ${d.pid}); kill or stop it before restarting it`);
  await reapOrphan(name);
  return startDaemon({ name: spec.name, command: spec.command, args: spec.args, env: { ...process.env, ...spec.env }, ...(spec.cwd ? { cwd: spec.cwd } : {}) });
}

/**
 * Stops every process we started: SIGTERM to its process group, SIGKILL after a grace period.
 * The specs stay, so that `up` can resume the same nodes on their data.
 */
export async function stopAllDaemons(graceMs = 5000): Promise<string[]> {
  const daemons = recordedDaemons().filter((d) => d.alive);
  for (const d of daemons) signalGroup(d.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (daemons.some((d) => isAlive(d.pid)) && Date.now() < deadline) await sleep(50);
  for (const d of daemons) if (isAlive(d.pid)) signalGroup(d.pid, 'SIGKILL');
  while (daemons.some((d) => isAlive(d.pid))) await sleep(20);
  for (const name of recordedNames()) await reapOrphan(name);
  if (existsSync(state.pids)) {
    for (const f of readdirSync(state.pids)) if (f.endsWith('.pid') || f.endsWith('.node')) rmSync(path.join(state.pids, f), { force: true });
  }
  return daemons.map((d) => d.name);
}

/**
 * True when something accepts TCP connections on 127.0.0.1:port. Loopback answers at once
 * (accepted or refused), so the timeout only guards against a stalled event loop here: it
 * is generous so that a busy process never reads a listening port as free.
 */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
    socket.once('error', () => resolve(false));
  });
}

/** Polls `check` until it returns true; on timeout the error names what was awaited and the log to read. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number, log?: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      const tail = log && existsSync(log) ? `\n--- last lines of ${log}:\n${readFileSync(log, 'utf8').split('\n').slice(-15).join('\n')}` : '';
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${tail}`);
    }
    await sleep(100);
  }
}

/** Runs a command to completion; a non-zero exit throws with the command's own output. */
export function run(command: string, args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env: env ?? process.env, cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${path.basename(command)} ${args.join(' ')} exited with ${code}:\n${out.split('\n').slice(-20).join('\n')}`));
    });
  });
}
