/**
 * The DKG board for unit tests: the real KeyCentreContract over an in-memory state, one
 * transaction at a time (as the chain orders them), its CONFLICT refusals as the SDK's
 * ConflictError. The live network's board is the chain itself.
 */
import { ChaincodeError } from '@emr/protocol';
import { KeyCentreContract } from '../../chaincode/src/key-centre-contract';
import { ConflictError } from '../../client/src';
import type { DkgBoardClient } from '../../client/src/services/dkg-round';
import { chaincodeContext, identity } from './chaincode-context';
import { MemoryState } from './memory-state';

export function memoryDkgBoard(state = new MemoryState()): (mspId: string, enrollmentId?: string) => DkgBoardClient {
  const contract = new KeyCentreContract();
  let tx = 0;
  let queue: Promise<unknown> = Promise.resolve();
  const serial = <T>(f: () => Promise<string>): Promise<T> => {
    const run = queue.then(f).then(
      (json) => JSON.parse(json) as T,
      (err: unknown) => {
        throw err instanceof ChaincodeError && err.code === 'CONFLICT' ? new ConflictError(err.code, err.detail, err.field) : err;
      },
    );
    queue = run.catch(() => undefined);
    return run;
  };
  return (mspId, enrollmentId = 'kgc') => {
    const as = () => chaincodeContext(state, mspId, identity(enrollmentId, 'kgc'), { txId: `dkg-${++tx}`, at: new Date().toISOString() });
    return {
      postDkg: (m) => serial(() => contract.PostDkgMessage(as(), JSON.stringify(m))),
      closeDkgPhase: (dkgId, phase, index) => serial(() => contract.CloseDkgPhase(as(), dkgId, phase, String(index))),
      readDkg: (dkgId) => serial(() => contract.ReadDkg(as(), dkgId)),
    };
  };
}
