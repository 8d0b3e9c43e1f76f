import { orderingFromEnv } from '../../network/src/ordering';
import { upForTests } from '../support/network-state';

/**
 * Starts the tests' network once for the whole run of a live project (integration, faults,
 * soak), with the ordering service EMR_ORDERING / EMR_ORDERERS ask for; a network the
 * previous project left running is used as it is. If it cannot start, the run fails here
 * with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  await upForTests(orderingFromEnv());
}
