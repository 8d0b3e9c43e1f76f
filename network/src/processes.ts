import { spawn } from 'node:child_process';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { state } from './paths';

export interface DaemonSpec {
  /** Unique name: pid file and log file are named after it. */
  name: string;
  command: string;
  args: string[];
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

export const logFile = (name: string): string => path.join(state.logs, `${name}.log`);
const pidFile = (name: string): string => path.join(state.pids, `${name}.pid`);
/** What a daemon was started with, so that a fault test can restart it the same way. */
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

function envDelta(env: NodeJS.ProcessEnv | undefined): Record<string, string> {
  const delta: Record<string, string> = {};
  for (const [k, v] of Object.entries(env ?? {})) if (v !== undefined && process.env[k] !== v) delta[k] = v;
  return delta;
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Starts a long-running process in its own process group, detached from us, logging to a file. */
export function startDaemon(spec: DaemonSpec): number {
  mkdirSync(state.pids, { recursive: true });
  mkdirSync(state.logs, { recursive: true });
  const out = openSync(logFile(spec.name), 'a');
  try {
    const child = spawn(spec.command, spec.args, {
      cwd: spec.cwd,
      env: spec.env ?? process.env,
      detached: true,
      stdio: ['ignore', out, out],
    });
    if (child.pid === undefined) throw new Error(`could not start ${spec.name} (${spec.command})`);
    child.unref();
    writeFileSync(pidFile(spec.name), `${child.pid}\n`);
    const recorded: RecordedSpec = { name: spec.name, command: spec.command, args: spec.args, env: envDelta(spec.env), ...(spec.cwd ? { cwd: spec.cwd } : {}) };
    writeFileSync(specFile(spec.name), JSON.stringify(recorded, null, 2), { mode: 0o600 });
    return child.pid;
  } finally {
    closeSync(out);
  }
}

/** Processes we started, from their pid files, with whether each still runs. */
export function recordedDaemons(): { name: string; pid: number; alive: boolean }[] {
  if (!existsSync(state.pids)) return [];
  return readdirSync(state.pids)
    .filter((f) => f.endsWith('.pid'))
    .map((f) => {
      const pid = Number(readFileSync(path.join(state.pids, f), 'utf8').trim());
      return { name: f.slice(0, -4), pid, alive: Number.isInteger(pid) && pid > 0 && isAlive(pid) };
    });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Stops one process we started (SIGTERM to its group, SIGKILL after the grace period); for fault tests. */
export async function stopDaemon(name: string, graceMs = 5000): Promise<void> {
  const d = recordedDaemons().find((x) => x.name === name);
  if (!d?.alive) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-d.pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(d.pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(d.pid)) signal('SIGKILL');
  while (isAlive(d.pid)) await sleep(20);
}

/**
 * Kills one process we started at once (SIGKILL to its process group, by its recorded pid: a
 * crash, for the fault tests) and waits until it is gone. Its pid file stays: `whyNotUp`
 * reports it stopped until `restartDaemon`. Returns the pid it killed.
 */
export async function killDaemon(name: string): Promise<number> {
  const d = recordedDaemons().find((x) => x.name === name);
  if (!d) throw new Error(`no daemon named '${name}' was started by this network`);
  if (!d.alive) throw new Error(`${name} (pid ${d.pid}) is not running`);
  try {
    process.kill(-d.pid, 'SIGKILL');
  } catch {
    process.kill(d.pid, 'SIGKILL');
  }
  while (isAlive(d.pid)) await sleep(20);
  return d.pid;
}

/**
 * Starts a stopped daemon again with the spec it was first started with (command, arguments,
 * working directory, and its own environment over ours). Refuses one that still runs. Returns
 * the new pid.
 */
export function restartDaemon(name: string): number {
  const spec = recordedSpec(name);
  const d = recordedDaemons().find((x) => x.name === name);
  if (d?.alive) throw new Error(`${name} still runs (pid ${d.pid}); kill or stop it before restarting it`);
  return startDaemon({ name: spec.name, command: spec.command, args: spec.args, env: { ...process.env, ...spec.env }, ...(spec.cwd ? { cwd: spec.cwd } : {}) });
}

/** Stops every process we started: SIGTERM to its process group, SIGKILL after a grace period. */
export async function stopAllDaemons(graceMs = 5000): Promise<string[]> {
  const daemons = recordedDaemons().filter((d) => d.alive);
  const signal = (pid: number, sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig); // the whole group: a supervisor and its child
    } catch {
      try {
        process.kill(pid, sig);
      } catch {
        /* already gone */
      }
    }
  };
  for (const d of daemons) signal(d.pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (daemons.some((d) => isAlive(d.pid)) && Date.now() < deadline) await sleep(50);
  for (const d of daemons) if (isAlive(d.pid)) signal(d.pid, 'SIGKILL');
  while (daemons.some((d) => isAlive(d.pid))) await sleep(20);
  if (existsSync(state.pids)) rmSync(state.pids, { recursive: true, force: true });
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
