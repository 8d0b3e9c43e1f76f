/**
 * Real processes: each protocol as n replica processes on 127.0.0.1 with Ed25519 signatures
 * (`runCluster`), one cluster at a time so they do not compete for the cores.
 */
import { runCluster, type ClusterResult } from '../src/net/cluster';
import type { ProtocolName } from './setup';

export interface RealSettings {
  durationSec: number;
  warmupSec: number;
  clients: number;
  /** Outstanding requests per client. */
  window: number;
  batch: number;
  requestTimeoutMs: number;
}

/**
 * 2048 requests outstanding: on one host a commit takes ~0.1–0.3 s at n = 4, so fewer leave
 * the replicas idle (8 × 50 gave half of flat PBFT's throughput at n = 4); at n = 16 the
 * queueing delay reaches seconds, hence the 5 s request timeout.
 */
export const REAL_SETTINGS: RealSettings = { durationSec: 10, warmupSec: 3, clients: 16, window: 128, batch: 100, requestTimeoutMs: 5000 };

export type RealRow = { protocol: ProtocolName; n: number; result: ClusterResult } | { protocol: ProtocolName; n: number; error: string };

/** Far from the cluster tool's default 7600, so a cluster someone else runs on this host does not collide; 2n ports per run. */
const BASE_PORT = 17600;

/** Every (n, protocol) in turn; a protocol that fails to run is reported with its error, not fatal. */
export async function runRealClusters(sizes: readonly number[], protocols: readonly ProtocolName[], settings: RealSettings, log: (line: string) => void): Promise<RealRow[]> {
  const rows: RealRow[] = [];
  let run = 0;
  for (const n of sizes) {
    for (const protocol of protocols) {
      const basePort = BASE_PORT + 200 * run++;
      log(`real: ${protocol} n=${n} (${settings.warmupSec} s warm-up + ${settings.durationSec} s) …`);
      try {
        const result = await runCluster({ protocol, n, basePort, ...settings });
        rows.push({ protocol, n, result });
        log(`real: ${protocol} n=${n}: ${result.throughput.toFixed(0)} req/s, p50 ${result.latencyMs.p50.toFixed(1)} ms`);
      } catch (error) {
        const message = error instanceof Error ? error.message.split('\n')[0] : String(error);
        rows.push({ protocol, n, error: message });
        log(`real: ${protocol} n=${n} failed: ${message}`);
      }
    }
  }
  return rows;
}
