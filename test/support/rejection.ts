import { ChaincodeError } from '@emr/protocol';

/** The ChaincodeError `fn` throws (any other error is rethrown; none fails the test). */
export function rejection(fn: () => unknown): ChaincodeError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ChaincodeError) return err;
    throw err;
  }
  throw new Error('expected a ChaincodeError');
}
