import { down } from '../../network/src/network';

/** Stops the network the run started; EMR_KEEP_NETWORK=1 leaves it up for debugging. */
export default async function globalTeardown(): Promise<void> {
  if (process.env.EMR_KEEP_NETWORK === '1') return;
  await down((line) => console.log(`[network] ${line}`));
}
