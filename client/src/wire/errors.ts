/** Errors of calling the services (key centres, proxies, Kubo nodes); all are EmrErrors. */
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
/** The key centres could not give this identity a key (too few answered, or a partial key was bad). */
export class KeyExtractionError extends EmrError {}
/** The chain has no (or not enough agreeing) key centre registrations: the DKG has not completed. */
export class ConsortiumNotReadyError extends EmrError {}
