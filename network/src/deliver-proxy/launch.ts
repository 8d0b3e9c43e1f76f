/**
 * `up` with the `deliverProxies` setting: the proxies as one daemon, `deliver-proxies`, started
 * before the peers (peer config: fabric-config.ts, deliverOverrides), and the client side of
 * its control port for the fault tests.
 */
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { caCertOf, tlsDirOf } from '../ca';
import { compiledDaemon, state } from '../paths';
import { logFile, portInUse, startDaemon, waitFor } from '../processes';
import { DELIVER_PROXY_CONTROL_PORT, deliverProxyPort, hostnameOf, type Topology } from '../topology';
import type { ProxiesFile } from './process';
import { parseProxyMode, type ProxyMode, type ProxyStats } from './proxy';

export const PROXIES_NAME = 'deliver-proxies';

export function proxiesFile(t: Topology): ProxiesFile {
  const oo = t.ordererOrg;
  return {
    host: t.host,
    controlPort: DELIVER_PROXY_CONTROL_PORT,
    caPem: readFileSync(caCertOf(oo), 'utf8'),
    targets: oo.orderers.map((o) => ({
      name: o.name,
      listenPort: deliverProxyPort(o),
      targetPort: o.port,
      certPem: readFileSync(path.join(tlsDirOf(oo, o.name), 'cert.pem'), 'utf8'),
      keyPem: readFileSync(path.join(tlsDirOf(oo, o.name), 'key.pem'), 'utf8'),
      tlsHostname: hostnameOf(o, oo),
    })),
  };
}

export async function startDeliverProxies(t: Topology): Promise<void> {
  const file = path.join(state.config, 'deliver-proxies.json');
  rmSync(file, { force: true }); // it holds the orderers' TLS keys: 0600 from creation, never an older file's mode
  writeFileSync(file, JSON.stringify(proxiesFile(t), null, 2), { mode: 0o600, flag: 'wx' });
  startDaemon({ name: PROXIES_NAME, command: process.execPath, args: [compiledDaemon(path.join('deliver-proxy', 'process.js')), file] });
  await waitFor(`the deliver proxies to serve their control port ${DELIVER_PROXY_CONTROL_PORT}`, () => portInUse(DELIVER_PROXY_CONTROL_PORT), 15_000, logFile(PROXIES_NAME));
}

const controlUrl = (t: Topology, p: string) => `http://${t.host}:${DELIVER_PROXY_CONTROL_PORT}${p}`;

/** Every proxy's mode, counts and open Deliver streams. */
export async function proxyStats(t: Topology): Promise<Record<string, ProxyStats>> {
  if (!t.deliverProxies) throw new Error('the network runs without deliver proxies: start it with `up --deliver-proxies` (or EMR_DELIVER_PROXIES=1)');
  const res = await fetch(controlUrl(t, '/proxies'));
  if (!res.ok) throw new Error(`deliver proxies: GET /proxies answered ${res.status}`);
  return (await res.json()) as Record<string, ProxyStats>;
}

/** Switches one orderer's deliver proxy to `mode`. */
export async function setProxyMode(t: Topology, orderer: string, mode: ProxyMode): Promise<ProxyStats> {
  if (!t.deliverProxies) throw new Error('the network runs without deliver proxies: start it with `up --deliver-proxies` (or EMR_DELIVER_PROXIES=1)');
  parseProxyMode(mode);
  const res = await fetch(controlUrl(t, '/mode'), { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ orderer, mode }) });
  const body = (await res.json()) as ProxyStats & { error?: string };
  if (!res.ok) throw new Error(`deliver proxies: ${body.error ?? res.status}`);
  return body;
}
