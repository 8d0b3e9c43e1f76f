/**
 * Stable error codes of the chaincode. A failed transaction's message is
 * `CODE: text` or `CODE[field]: text`; the SDK parses it back (client/src/fabric/errors.ts).
 * The checks of this package (ids.ts, party.ts) throw INVALID_ARGUMENT[field] the same way,
 * on whichever side they run.
 */
export const ErrorCode = {
  InvalidArgument: 'INVALID_ARGUMENT',
  Unauthorized: 'UNAUTHORIZED',
  NotFound: 'NOT_FOUND',
  Conflict: 'CONFLICT',
} as const;
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export class ChaincodeError extends Error {
  constructor(
    readonly code: ErrorCode,
    readonly detail: string,
    readonly field?: string,
  ) {
    super(`${code}${field ? `[${field}]` : ''}: ${detail}`);
    this.name = 'ChaincodeError';
  }
}

export const invalid = (field: string, detail: string): ChaincodeError =>
  new ChaincodeError(ErrorCode.InvalidArgument, detail, field);
