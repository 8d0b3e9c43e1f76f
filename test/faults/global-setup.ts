import { up } from '../../network/src/network';
import { orderingFromEnv } from '../../network/src/ordering';

/**
 * Starts the real network for the fault tests: the ordering service EMR_ORDERING /
 * EMR_ORDERERS ask for, always with deliver proxies in front of the orderers for the peers
 * (a healthy network without them is restarted). If it cannot start, the run fails here
 * with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  await up((line) => console.log(`[network] ${line}`), { ...orderingFromEnv(), deliverProxies: true });
}
