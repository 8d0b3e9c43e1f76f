/** Errors of the end-to-end flows (IPFS, key centres, proxies, integrity); all are EmrErrors. */
import { EmrError } from '../fabric/errors';

/** A service (key centre, proxy) answered with a refusal; `code` is its reason. */
export class ServiceError extends EmrError {
  constructor(
    readonly service: string,
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}
/** A service (key centre, proxy, Kubo node) did not answer. */
export class ServiceUnavailableError extends EmrError {
  constructor(
    readonly service: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
/** No Kubo node that holds the content could serve it (all down, or the CID is unknown to them). */
export class ContentUnavailableError extends EmrError {
  constructor(
    readonly cid: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }
}
/** Bytes do not match what the chain recorded (SHA-256), or failed authenticated decryption. */
export class IntegrityError extends EmrError {}
/** Fewer than t proxies returned a fragment that verifies; `failures` says why each other one did not. */
export class InsufficientFragmentsError extends EmrError {
  constructor(
    readonly grantId: string,
    readonly needed: number,
    readonly failures: { proxy: string; reason: string }[],
    /** What it means for the caller (e.g. a registered grant whose shares were refused). */
    detail?: string,
  ) {
    super(`grant '${grantId}' needs ${needed} verified fragments; ${failures.length} proxies failed: ${failures.map((f) => `${f.proxy}: ${f.reason}`).join('; ')}${detail ? `. ${detail}` : ''}`);
  }
}
/** The key centres could not give this identity a key (too few answered, or a partial key was bad). */
export class KeyExtractionError extends EmrError {}
/** The chain has no (or not enough agreeing) key centre registrations: the DKG has not completed. */
export class ConsortiumNotReadyError extends EmrError {}
