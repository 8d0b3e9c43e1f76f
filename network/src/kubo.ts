/**
 * One Kubo (IPFS) node per member org, in a private swarm: a shared pre-shared key
 * (swarm.key, and LIBP2P_FORCE_PNET=1 so a node without it refuses to start), no public
 * bootstrap, no DHT or delegated routing, no mDNS, TCP only, every address on 127.0.0.1.
 * The nodes find each other through Kubo's Peering (kept connected, re-dialled after a
 * restart); bitswap then fetches blocks from whichever peer holds them.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { kuboBin, state } from './paths';
import { logFile, run, startDaemon, waitFor } from './processes';
import { topology, type MemberOrgSpec } from './topology';

export const kuboName = (org: MemberOrgSpec): string => `ipfs-${org.name}`;
export const kuboRepo = (org: MemberOrgSpec): string => path.join(state.ipfs, org.name);
export const kuboApi = (org: MemberOrgSpec): string => `http://${topology.host}:${org.ipfs.apiPort}`;
const swarmAddr = (org: MemberOrgSpec) => `/ip4/${topology.host}/tcp/${org.ipfs.swarmPort}`;
const kuboEnv = (org: MemberOrgSpec): NodeJS.ProcessEnv => ({ ...process.env, IPFS_PATH: kuboRepo(org), LIBP2P_FORCE_PNET: '1', IPFS_TELEMETRY: 'off', GOLOG_LOG_LEVEL: 'error' });

/** Creates every org's repository with the private-swarm configuration; returns the peer ids. */
export async function initKubo(): Promise<Map<string, string>> {
  const swarmKey = `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`;
  const ids = new Map<string, string>();
  await Promise.all(
    topology.members.map(async (org) => {
      // Owner-only: the repository holds swarm.key and, in config, the node's private key.
      mkdirSync(kuboRepo(org), { recursive: true, mode: 0o700 });
      await run(kuboBin(), ['init', '--empty-repo'], kuboEnv(org));
      writeFileSync(path.join(kuboRepo(org), 'swarm.key'), swarmKey, { mode: 0o600 });
      const config = JSON.parse(readFileSync(path.join(kuboRepo(org), 'config'), 'utf8')) as Record<string, unknown> & { Identity: { PeerID: string } };
      ids.set(org.name, config.Identity.PeerID);
    }),
  );
  for (const org of topology.members) {
    const file = path.join(kuboRepo(org), 'config');
    const config = JSON.parse(readFileSync(file, 'utf8')) as Record<string, Record<string, unknown>>;
    const others = topology.members.filter((o) => o !== org).map((o) => ({ ID: ids.get(o.name)!, Addrs: [swarmAddr(o)] }));
    Object.assign(config, {
      Addresses: { ...config.Addresses, API: `/ip4/${topology.host}/tcp/${org.ipfs.apiPort}`, Gateway: `/ip4/${topology.host}/tcp/${org.ipfs.gatewayPort}`, Swarm: [swarmAddr(org)], Announce: [swarmAddr(org)], NoAnnounce: [] },
      Bootstrap: [],
      Peering: { Peers: others },
      Discovery: { MDNS: { Enabled: false } },
      Routing: { ...config.Routing, Type: 'none', DelegatedRouters: [] },
      AutoConf: { Enabled: false },
      AutoTLS: { Enabled: false },
      AutoNAT: { ServiceMode: 'disabled' },
      DNS: { Resolvers: {} },
      Ipns: { ...config.Ipns, DelegatedPublishers: [] },
      Provide: { Enabled: false },
      Swarm: {
        ...config.Swarm,
        DisableNatPortMap: true,
        RelayClient: { Enabled: false },
        RelayService: { Enabled: false },
        Transports: { Network: { TCP: true, QUIC: false, WebTransport: false, WebRTCDirect: false, Websocket: false } },
      },
    });
    writeFileSync(file, JSON.stringify(config, null, 2)); // keeps the 0600 Kubo created it with (Identity.PrivKey)
  }
  return ids;
}

export function startKubo(org: MemberOrgSpec): void {
  startDaemon({ name: kuboName(org), command: kuboBin(), args: ['daemon', '--migrate=false'], env: kuboEnv(org) });
}

/** POSTs an RPC command; resolves with the parsed JSON answer. */
export async function kuboRpc<T>(org: MemberOrgSpec, command: string, args: Record<string, string> = {}): Promise<T> {
  const res = await fetch(`${kuboApi(org)}/api/v0/${command}?${new URLSearchParams(args).toString()}`, { method: 'POST', signal: AbortSignal.timeout(3000) });
  if (!res.ok) throw new Error(`ipfs ${command} on ${org.name}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** Waits until the org's node answers and is connected to every other org's node. */
export async function waitForKubo(org: MemberOrgSpec, ids: Map<string, string>): Promise<void> {
  const others = topology.members.filter((o) => o !== org).map((o) => ids.get(o.name)!);
  await waitFor(`${kuboName(org)} to join the private swarm`, async () => {
    const peers = await kuboRpc<{ Peers: { Peer: string }[] | null }>(org, 'swarm/peers');
    const connected = new Set((peers.Peers ?? []).map((p) => p.Peer));
    return others.every((id) => connected.has(id));
  }, 30000, logFile(kuboName(org)));
}

export const kuboHealthy = async (org: MemberOrgSpec): Promise<boolean> => existsSync(kuboRepo(org)) && !!(await kuboRpc<{ ID: string }>(org, 'id')).ID;
