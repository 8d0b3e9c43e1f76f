/**
 * node --require tsx/cjs consensus-plugin/src/fabric/test-cluster.ts <dir> <base port> [n]
 *
 * For the Go chain's tests (fabric-orderer/drkpbft/replicas_test.go): n DRKPBFT replica
 * processes on 127.0.0.1 with host links on basePort + 10 + i. Prints `ready` once all
 * listen; stops every replica when stdin closes or on SIGTERM.
 */
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
  process.stdin.on('end', stop).on('close', stop).resume();
  process.on('SIGTERM', stop);
  process.stdout.write('ready\n');
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
