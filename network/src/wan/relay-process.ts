/**
 * The orderer relays as a daemon: `node relay-process.js <relays.json>`. The network starts it
 * before the orderers and stops it by pid like every other process. `GET /links` on the
 * stats port answers the bytes each orderer sent each other orderer since the start.
 */
import { existsSync, readFileSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import { Relays, type RelayLink } from './relay';
import type { WanPlan } from './zones';

export interface RelaysFile {
  host: string;
  links: RelayLink[];
  /** Absent: relays count bytes and add no delay. */
  plan?: WanPlan;
  /** For each node, the names of the pid files of its processes (an orderer and its consensus replica). */
  nodes: Record<string, string[]>;
  /** Where the network keeps its pid files (`<name>.pid`). */
  pidDir: string;
  statsPort: number;
}

/** pid → node, from the pid files as they are now (a restarted node has a new pid). */
function processesOf(file: RelaysFile): Map<number, string> {
  const byPid = new Map<number, string>();
  for (const [node, names] of Object.entries(file.nodes)) {
    for (const name of names) {
      const pidFile = path.join(file.pidDir, `${name}.pid`);
      if (!existsSync(pidFile)) continue;
      const pid = Number(readFileSync(pidFile, 'utf8').trim());
      if (Number.isInteger(pid) && pid > 0) byPid.set(pid, node);
    }
  }
  return byPid;
}

async function main(): Promise<void> {
  const [configPath] = process.argv.slice(2);
  if (configPath === undefined) throw new Error('usage: relay-process <relays.json>');
  const file = JSON.parse(readFileSync(configPath, 'utf8')) as RelaysFile;
  const relays = new Relays({ host: file.host, links: file.links, plan: file.plan, processes: () => processesOf(file) });
  await relays.start();
  const stats = http.createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/links') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(relays.links()));
    } else res.writeHead(404).end();
  });
  await new Promise<void>((resolve, reject) => {
    stats.once('error', reject);
    stats.listen(file.statsPort, file.host, () => resolve());
  });
  const stop = () => void relays.stop().finally(() => process.exit(0));
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`relays: ${file.links.length} links${file.plan ? ', emulated WAN' : ''}; stats on ${file.host}:${file.statsPort}/links`);
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
