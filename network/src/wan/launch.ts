/**
 * `up` with the `wan` setting: the relays between orderers as one daemon (`wan-relays`),
 * started before the orderers and their replicas. Each orderer (and under drkpbft its
 * replica) gets a relay port that the other orderers dial (topology.ts, relayPorts); the
 * three-zone plan puts orderer k in zone (k − 1) mod 3.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { compiledDaemon, state } from '../paths';
import { logFile, portInUse, startDaemon, waitFor } from '../processes';
import { RELAY_STATS_PORT, relayPorts, replicaPorts, type Topology } from '../topology';
import type { RelaysFile } from './relay-process';
import { wanPlan } from './zones';

export const RELAYS_NAME = 'wan-relays';

export function relaysFile(t: Topology): RelaysFile {
  const orderers = t.ordererOrg.orderers;
  const drkpbft = t.ordering === 'drkpbft';
  return {
    host: t.host,
    links: orderers.flatMap((o) => [
      { to: o.name, listenPort: relayPorts(o).orderer, targetPort: o.port },
      ...(drkpbft ? [{ to: o.name, listenPort: relayPorts(o).replica, targetPort: replicaPorts(o).port }] : []),
    ]),
    plan: wanPlan(orderers.map((o) => o.name)),
    nodes: Object.fromEntries(orderers.map((o) => [o.name, drkpbft ? [o.name, `${o.name}-drkpbft`] : [o.name]])),
    pidDir: state.pids,
    statsPort: RELAY_STATS_PORT,
  };
}

export async function startRelays(t: Topology): Promise<void> {
  const file = path.join(state.config, 'wan-relays.json');
  writeFileSync(file, JSON.stringify(relaysFile(t), null, 2));
  startDaemon({ name: RELAYS_NAME, command: process.execPath, args: [compiledDaemon(path.join('wan', 'relay-process.js')), file] });
  await waitFor(`the WAN relays to serve their stats on ${RELAY_STATS_PORT}`, () => portInUse(RELAY_STATS_PORT), 15_000, logFile(RELAYS_NAME));
}
