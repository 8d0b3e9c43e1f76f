import { down } from '../../network/src/network';

/**
 * Stops the tests' network (its state stays for the next run). EMR_KEEP_NETWORK=1 leaves it
 * running: for debugging, and for test/run-all.js, whose next live project uses it.
 */
export default async function globalTeardown(): Promise<void> {
  if (process.env.EMR_KEEP_NETWORK === '1') return;
  await down((line) => console.log(`[network] ${line}`));
}
