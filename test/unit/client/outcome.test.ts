/**
 * Settling a failed write on the ledger (client/src/fabric/outcome.ts): an upload unpins its
 * content only when its index entry was certainly not written, so that a write that
 * committed after all never loses its content.
 */
import { EndorseError, GatewayError } from '@hyperledger/fabric-gateway';
import { status } from '@grpc/grpc-js';
import { ConflictError, MvccConflictError, NotFoundError, TimeoutError, TransactionInvalidError, UnavailableError, mapGatewayError, neverWritten, settleWrite } from '../../../client/src';

const notFound = () => new NotFoundError('NOT_FOUND', "record 'r' does not exist", 'recordId');
const gatewayError = (Class: typeof GatewayError | typeof EndorseError) =>
  Class === EndorseError
    ? new EndorseError({ code: status.UNAVAILABLE, details: [], message: 'peer down', cause: new Error('x'), transactionId: 'tx1' } as never)
    : new GatewayError({ code: status.UNAVAILABLE, details: [], message: 'orderer down', cause: new Error('x') } as never);

describe('which failures leave the outcome open', () => {
  it('refusals before ordering and invalidations are never written', () => {
    expect(neverWritten(new ConflictError('CONFLICT', 'exists', 'recordId'))).toBe(true);
    expect(neverWritten(new MvccConflictError('tx1'))).toBe(true);
    expect(neverWritten(new TransactionInvalidError('tx1', 'ENDORSEMENT_POLICY_FAILURE'))).toBe(true);
    expect(neverWritten(mapGatewayError(gatewayError(EndorseError)))).toBe(true);
  });

  it('an unreachable orderer or a commit status that did not come is open', () => {
    const afterEndorsement = mapGatewayError(gatewayError(GatewayError));
    expect(afterEndorsement).toBeInstanceOf(UnavailableError);
    expect(neverWritten(afterEndorsement)).toBe(false);
    expect(neverWritten(new TimeoutError('deadline exceeded'))).toBe(false);
    expect(neverWritten(new Error('socket hang up'))).toBe(false);
  });
});

describe('settleWrite', () => {
  const open = new UnavailableError('network unavailable');

  it('answers not written at once for a refusal, without reading the ledger', async () => {
    const read = jest.fn(async () => 'record');
    await expect(settleWrite(new ConflictError('CONFLICT', 'exists', 'recordId'), read, 1000, 10)).resolves.toEqual({ written: false });
    expect(read).not.toHaveBeenCalled();
  });

  it('finds a write that committed after all, once the ledger answers', async () => {
    let calls = 0;
    const read = async () => {
      calls += 1;
      if (calls === 1) throw new UnavailableError('peer restarting');
      if (calls === 2) throw notFound(); // not yet in a block
      return 'record';
    };
    await expect(settleWrite(open, read, 1000, 10)).resolves.toEqual({ written: true, value: 'record' });
    expect(calls).toBe(3);
  });

  it('answers not written when the ledger says so until the settle time passed', async () => {
    const t0 = Date.now();
    await expect(settleWrite(open, async () => Promise.reject(notFound()), 100, 10)).resolves.toEqual({ written: false });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(100);
  });

  it('answers unknown when the ledger stayed unreadable to the end', async () => {
    const down = new UnavailableError('peer down');
    await expect(settleWrite(open, async () => Promise.reject(down), 50, 10)).resolves.toEqual({ written: 'unknown', lastError: down });
  });
});
