import { up } from '../../network/src/network';

/**
 * Starts the real network once for the whole integration run (a no-op when it is
 * already up). If it cannot start, the run fails here with the reason: no test is skipped.
 */
export default async function globalSetup(): Promise<void> {
  const result = await up((line) => console.log(`[network] ${line}`));
  process.env.EMR_NETWORK_STARTED_BY_TESTS = result.alreadyUp ? '' : '1';
}
