import { up } from '../../network/src/network';
import { orderingFromEnv } from '../../network/src/ordering';

/**
 * Starts the real network once for the whole integration run, with the ordering service
 * EMR_ORDERING / EMR_ORDERERS ask for (a no-op when such a network is already up). If it
 * cannot start, the run fails here with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  const result = await up((line) => console.log(`[network] ${line}`), orderingFromEnv());
  process.env.EMR_NETWORK_STARTED_BY_TESTS = result.alreadyUp ? '' : '1';
}
