/**
 * Keeps one node running: restarts it in place, on its own data, when it exits without
 * being told to, with exponential back-off; stops it when told to stop (SIGTERM/SIGINT).
 * Every daemon of the network runs under one of these (processes.ts). It records the
 * node's own process in a file, so that tools can measure it or crash it on purpose.
 *
 * Usage: node supervise.js <child-record-file> <command> [args...]
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { processId } from './proc';

const [recordFile, command, ...args] = process.argv.slice(2);
if (!recordFile || !command) {
  console.error('usage: supervise <child-record-file> <command> [args...]');
  process.exit(2);
}

let child: ChildProcess | undefined;
let stopping = false;
let backoffMs = 500;

function record(pid: number): void {
  const id = processId(pid);
  if (!id) return; // it died at once: its exit handler restarts it
  writeFileSync(`${recordFile}.tmp`, JSON.stringify(id));
  renameSync(`${recordFile}.tmp`, recordFile!);
}

function launch(): void {
  const startedAt = Date.now();
  let ended = false;
  const relaunch = (why: string) => {
    if (ended) return; // 'error' and 'exit' may both come for one child
    ended = true;
    if (stopping) process.exit(0);
    if (Date.now() - startedAt > 60_000) backoffMs = 500; // it ran well: start afresh
    console.error(`supervise: ${command} ${why}; restarting in ${backoffMs} ms`);
    setTimeout(launch, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 30_000);
  };
  child = spawn(command!, args, { stdio: 'inherit' });
  if (child.pid !== undefined) record(child.pid);
  console.log(`supervise: started ${command} (pid ${child.pid})`);
  child.once('error', (err) => relaunch(`could not run: ${err.message}`));
  child.once('exit', (code, signal) => relaunch(`exited (code ${code}, signal ${signal})`));
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    stopping = true;
    if (!child || child.exitCode !== null || child.signalCode !== null) process.exit(0);
    child.kill('SIGTERM');
  });
}
launch();
