import { orderingFromEnv } from '../../network/src/ordering';
import { upForTests } from '../support/network-state';

/**
 * Starts the real network for the fault tests: the ordering service EMR_ORDERING /
 * EMR_ORDERERS ask for, always with deliver proxies in front of the orderers for the peers.
 * If it cannot start, the run fails here with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  await upForTests({ ...orderingFromEnv(), deliverProxies: true });
}
