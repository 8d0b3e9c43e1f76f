/**
 * Keeps one service process running: restarts it when it exits unexpectedly, with
 * exponential back-off, and stops it when told to stop. `network up` starts the
 * chaincode services through this; `down` signals the supervisor's process group.
 *
 * Usage: node supervise.js <command> [args...]
 */
import { spawn, type ChildProcess } from 'node:child_process';

const [command, ...args] = process.argv.slice(2);
if (!command) {
  console.error('usage: supervise <command> [args...]');
  process.exit(2);
}

let child: ChildProcess | undefined;
let stopping = false;
let backoffMs = 500;

function launch(): void {
  const startedAt = Date.now();
  child = spawn(command!, args, { stdio: 'inherit' });
  console.log(`supervise: started ${command} (pid ${child.pid})`);
  child.once('exit', (code, signal) => {
    if (stopping) process.exit(0);
    if (Date.now() - startedAt > 60_000) backoffMs = 500; // it ran well: start afresh
    console.error(`supervise: ${command} exited (code ${code}, signal ${signal}); restarting in ${backoffMs} ms`);
    setTimeout(launch, backoffMs);
    backoffMs = Math.min(backoffMs * 2, 30_000);
  });
}

for (const sig of ['SIGTERM', 'SIGINT'] as const) {
  process.on(sig, () => {
    stopping = true;
    if (!child || child.exitCode !== null) process.exit(0);
    child.kill('SIGTERM');
  });
}
launch();
