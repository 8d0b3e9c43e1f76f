/**
 * SDK error classes. Chaincode failures carry a stable code (`CODE[field]: text`) that is
 * mapped back to a class a caller can act on; transport failures map by gRPC status.
 */
import { status as GrpcStatus } from '@grpc/grpc-js';
import { CommitError, GatewayError, StatusCode } from '@hyperledger/fabric-gateway';

export class EmrError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** The chaincode rejected the transaction; `code` is its stable error code. */
export class ChaincodeRejectedError extends EmrError {
  constructor(
    readonly code: string,
    readonly detail: string,
    readonly field: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(`${code}${field ? `[${field}]` : ''}: ${detail}`, options);
  }
}
/** The caller's identity may not do this (chaincode `UNAUTHORIZED`, or the peer's access control). */
export class UnauthorizedError extends ChaincodeRejectedError {}
/** Input failed validation; `field` names what is wrong. */
export class InvalidArgumentError extends ChaincodeRejectedError {}
export class NotFoundError extends ChaincodeRejectedError {}
/** The ledger already holds what the caller tried to create. */
export class ConflictError extends ChaincodeRejectedError {}
/** Endorsement failed for a reason the chaincode did not classify. */
export class EndorsementError extends ChaincodeRejectedError {}
/** The peers already hold this transaction: a signed proposal of a committed transaction sent again (a replay). */
export class DuplicateTransactionError extends ChaincodeRejectedError {}

/** A concurrent transaction changed what this one read (MVCC read conflict); retrying may succeed. */
export class MvccConflictError extends EmrError {
  constructor(readonly transactionId: string, options?: { cause?: unknown }) {
    super(`transaction ${transactionId} was invalidated by a concurrent update (MVCC_READ_CONFLICT); retry it`, options);
  }
}
/** The transaction was ordered but the peers marked it invalid for another reason. */
export class TransactionInvalidError extends EmrError {
  constructor(readonly transactionId: string, readonly validationCode: string, options?: { cause?: unknown }) {
    super(`transaction ${transactionId} was invalidated with ${validationCode}`, options);
  }
}
/** The org or the user is not in the connection profile / wallet. */
export class UnknownIdentityError extends EmrError {}
/** A deadline passed before the network answered. */
export class TimeoutError extends EmrError {}
/** The peer or orderer could not be reached. */
export class UnavailableError extends EmrError {}

const CODE_CLASSES: Record<string, typeof ChaincodeRejectedError> = {
  UNAUTHORIZED: UnauthorizedError,
  INVALID_ARGUMENT: InvalidArgumentError,
  NOT_FOUND: NotFoundError,
  CONFLICT: ConflictError,
};

/** `CODE: text` or `CODE[field]: text`; a field may hold brackets itself (`approvals[0].count`). */
const CHAINCODE_MESSAGE = /\b([A-Z][A-Z_]+)(?:\[(.+?)\])?: (.*)$/s;

/** Finds the chaincode's `CODE[field]: text` in a gateway error and its details. */
function chaincodeMessage(err: GatewayError): { code: string; field?: string; detail: string } | undefined {
  const texts = [...err.details.map((d) => d.message), err.message];
  for (const text of texts) {
    const inner = text.replace(/^.*?chaincode response \d+, /s, '');
    const m = CHAINCODE_MESSAGE.exec(inner);
    if (m && CODE_CLASSES[m[1]!]) return { code: m[1]!, ...(m[2] ? { field: m[2] } : {}), detail: m[3]!.trim() };
  }
  return undefined;
}

/**
 * Refusals the peers make before any chaincode runs (Fabric's core/endorser), by what they
 * say: a transaction id they already committed, and a proposal whose creator or signature
 * they do not accept (the peer does not say which, on purpose: "access denied").
 */
function peerRefusal(err: GatewayError): ChaincodeRejectedError | undefined {
  for (const text of [...err.details.map((d) => d.message), err.message]) {
    const duplicate = /duplicate transaction found \[([^\]]*)\]/.exec(text);
    if (duplicate) return new DuplicateTransactionError('DUPLICATE_TRANSACTION', `the peers already hold transaction ${duplicate[1]}: a committed transaction sent again`, undefined, { cause: err });
    const denied = /access denied: channel \[[^\]]*\] creator org (?:\[([^\]]*)\]|unknown)/.exec(text);
    if (denied) return new UnauthorizedError('ACCESS_DENIED', `the peers refused the proposal: its creator (${denied[1] ?? 'org unknown'}) or its signature is not valid`, undefined, { cause: err });
  }
  return undefined;
}

/** The error for a transaction the peers marked invalid (from its commit status). */
export function commitFailure(transactionId: string, code: number): EmrError {
  if (code === StatusCode.MVCC_READ_CONFLICT) return new MvccConflictError(transactionId);
  const name = Object.entries(StatusCode).find(([, v]) => v === code)?.[0] ?? String(code);
  return new TransactionInvalidError(transactionId, name);
}

/** Runs a submit again (with a growing pause) while a concurrent writer invalidates it. */
export const retryMvcc = <T>(op: () => Promise<T>, attempts = 6): Promise<T> => retrying(op, (err) => err instanceof MvccConflictError, attempts);

/**
 * As retryMvcc, and also when the outcome is unknown (an orderer or peer did not answer in
 * time): only for a transaction the chaincode applies once however often it is submitted.
 */
export const retryIdempotent = <T>(op: () => Promise<T>, attempts = 6): Promise<T> =>
  retrying(op, (err) => err instanceof MvccConflictError || err instanceof UnavailableError || err instanceof TimeoutError, attempts);

async function retrying<T>(op: () => Promise<T>, again: (err: unknown) => boolean, attempts: number): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await op();
    } catch (err) {
      if (!again(err) || attempt >= attempts) throw err;
      await new Promise((r) => setTimeout(r, 200 * attempt + Math.random() * 200));
    }
  }
}

const detailsOf = (err: GatewayError, before = '', after = ''): string =>
  err.details.length ? `${before}${err.details.map((d) => `${d.mspId}@${d.address}: ${d.message}`).join('; ')}${after}` : '';

/** Maps anything thrown by fabric-gateway to an SDK error. */
export function mapGatewayError(err: unknown): Error {
  if (err instanceof EmrError) return err;
  if (err instanceof CommitError) {
    if (err.code === StatusCode.MVCC_READ_CONFLICT) return new MvccConflictError(err.transactionId, { cause: err });
    const name = Object.entries(StatusCode).find(([, v]) => v === err.code)?.[0] ?? String(err.code);
    return new TransactionInvalidError(err.transactionId, name, { cause: err });
  }
  if (err instanceof GatewayError) {
    if (err.code === GrpcStatus.DEADLINE_EXCEEDED) return new TimeoutError(`deadline exceeded: ${err.message}`, { cause: err });
    // With the details: under BFT each orderer's own refusal says why the quorum was not reached.
    if (err.code === GrpcStatus.UNAVAILABLE) return new UnavailableError(`network unavailable: ${err.message}${detailsOf(err, ' (', ')')}`, { cause: err });
    // The gateway found no live peers to satisfy the endorsement policy: an org's peer is down.
    if (err.code === GrpcStatus.FAILED_PRECONDITION && /no (?:peer )?combination of peers|no peers available/.test(err.message)) {
      return new UnavailableError(`endorsing peers unavailable: ${err.message}`, { cause: err });
    }
    if (err.code === GrpcStatus.PERMISSION_DENIED) return new UnauthorizedError('PERMISSION_DENIED', err.message, undefined, { cause: err });
    const parsed = chaincodeMessage(err);
    if (parsed) {
      const Class = CODE_CLASSES[parsed.code]!;
      return new Class(parsed.code, parsed.detail, parsed.field, { cause: err });
    }
    const refused = peerRefusal(err);
    if (refused) return refused;
    const detail = detailsOf(err) || err.message;
    // An endorsing peer the gateway dialled is down, or the peer is up but its chaincode
    // service is not (crashed, restarting): nothing ran.
    if (/code = Unavailable desc = connection error/.test(detail)) return new UnavailableError(`endorsing peer unavailable: ${detail}`, { cause: err });
    if (/could not launch chaincode|chaincode stream terminated/.test(detail)) return new UnavailableError(`chaincode unavailable: ${detail}`, { cause: err });
    return new EndorsementError('ENDORSEMENT_FAILED', detail, undefined, { cause: err });
  }
  return err instanceof Error ? err : new Error(String(err));
}

