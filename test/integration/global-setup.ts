import { orderingFromEnv } from '../../network/src/ordering';
import { upForTests } from '../support/network-state';

/**
 * Starts the real network once for the whole integration run, with the ordering service
 * EMR_ORDERING / EMR_ORDERERS ask for (resumed, or a no-op, when the test network already
 * has that setting). If it cannot start, the run fails here with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  await upForTests(orderingFromEnv());
}
