/**
 * node --require tsx/cjs consensus-plugin/src/fabric/test-cluster.ts <dir> <base port> [n]
 *
 * For the Go chain's tests (fabric-orderer/drkpbft/replicas_test.go): n DRKPBFT replica
 * processes on 127.0.0.1 with host links on basePort + 10 + i. Prints `ready` once all
 * listen. Reads commands on stdin, one a line: `kill <id>` (SIGKILL by pid) and
 * `restart <id>`, each answered `ok`. Stops every replica when stdin closes or on SIGTERM.
 */
import { createInterface } from 'node:readline';
import { netProtocolOptions } from '../net/cluster';
import { Cluster } from '../net/launcher';

async function main(): Promise<void> {
  const [dir, portText, nText] = process.argv.slice(2);
  if (dir === undefined || portText === undefined) throw new Error('usage: test-cluster <dir> <base port> [n]');
  const basePort = Number(portText);
  const n = Number(nText ?? 4);
  const tickMs = 10;
  const cluster = await Cluster.launch({
    protocol: 'drkpbft',
    n,
    basePort,
    hostLinkBasePort: basePort + 10,
    options: netProtocolOptions('drkpbft', n, 20, tickMs, 1_000),
    tickMs,
    fsync: false,
    dir,
  });
  const stop = () => void cluster.stop().finally(() => process.exit(0));
  const commands = createInterface({ input: process.stdin });
  commands.on('line', (line) => {
    const [command, id] = line.trim().split(' ');
    const run = command === 'kill' ? cluster.kill(Number(id)) : command === 'restart' ? cluster.restart(Number(id)) : Promise.reject(new Error(line));
    run.then(
      () => process.stdout.write('ok\n'),
      (error: unknown) => process.stdout.write(`error ${String(error)}\n`),
    );
  });
  commands.on('close', stop);
  process.on('SIGTERM', stop);
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
