/** Errors of the end-to-end flows (IPFS, fragments, integrity); all are EmrErrors. The services' own are in wire/errors.ts. */
import { EmrError } from '../fabric/errors';

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
/**
 * An upload's content is stored, but whether its index entry was committed could not be
 * learnt (the ledger stayed unreadable). The content stays pinned, so that nothing that may
 * be indexed is lost; read the record later, or upload again with the same recordId.
 */
export class IndexOutcomeUnknownError extends EmrError {
  constructor(
    readonly recordId: string,
    readonly cid: string,
    options?: { cause?: unknown },
  ) {
    super(`record '${recordId}': its index write may or may not have committed, and the ledger could not be read to tell; its content ${cid} stays pinned`, options);
  }
}
