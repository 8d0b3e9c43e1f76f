/**
 * What became of a write whose submission failed. A refusal before ordering means it was
 * never written; a failure after the orderers may have taken it (an orderer or peer went
 * away, the commit status did not come) leaves that open, and only the ledger can say.
 */
import { EndorseError } from '@hyperledger/fabric-gateway';
import { ChaincodeRejectedError, EmrError, MvccConflictError, NotFoundError, TransactionInvalidError } from './errors';

/** The failed submission was certainly never written: the chaincode or the endorsers refused it, or the peers invalidated it. */
export const neverWritten = (err: unknown): boolean =>
  err instanceof ChaincodeRejectedError || err instanceof MvccConflictError || err instanceof TransactionInvalidError || (err instanceof EmrError && err.cause instanceof EndorseError);

export type WriteOutcome<T> = { written: true; value: T } | { written: false } | { written: 'unknown'; lastError: unknown };

/**
 * Settles a failed write: `read` answers what the write made, or throws NotFoundError while
 * it is not on the ledger. It is asked until it answers or `settleMs` passed (a transaction
 * the orderers took is in a block within a few block times, and a crashed node is back under
 * its supervisor within seconds). Unknown when the ledger stayed unreadable to the end.
 */
export async function settleWrite<T>(err: unknown, read: () => Promise<T>, settleMs: number, pollMs = 1000): Promise<WriteOutcome<T>> {
  if (neverWritten(err)) return { written: false };
  const deadline = Date.now() + settleMs;
  for (;;) {
    let lastError: unknown;
    try {
      return { written: true, value: await read() };
    } catch (e) {
      if (!(e instanceof NotFoundError)) lastError = e;
    }
    if (Date.now() >= deadline) return lastError === undefined ? { written: false } : { written: 'unknown', lastError };
    await new Promise((r) => setTimeout(r, pollMs));
  }
}
