import { reset, up, type UpResult } from '../../network/src/network';
import { satisfies, type OrderingRequest } from '../../network/src/ordering';
import { defaultStateDir, stateDir } from '../../network/src/paths';
import { runningSetting } from '../../network/src/run-state';

const log = (line: string) => console.log(`[network] ${line}`);

/**
 * The test network with the asked ordering, always with deliver proxies in front of the
 * orderers (the orderer faults need them, and one network then serves every live project):
 * resumed when its state has that setting, made afresh otherwise. Only the tests' own state
 * directory (jest.config.js) is ever reset.
 */
export async function upForTests(asked: OrderingRequest): Promise<UpResult> {
  const request = { ...asked, deliverProxies: true };
  if (stateDir === defaultStateDir) throw new Error(`the tests' network must not run in ${defaultStateDir}, the operator's (jest.config.js sets EMR_NETWORK_DIR)`);
  const previous = runningSetting();
  if (previous && !satisfies(previous, request)) {
    log(`the test network was made for another setting: deleting it (${stateDir})`);
    await reset(log);
  }
  return up(log, request);
}
