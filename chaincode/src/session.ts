import { ChaincodeError, ErrorCode, canonicalJson, pseudonymOf, recordSigningPayload, signatureValid, type EmrRecord, type TransactionName } from '@emr/protocol';
import type { Context } from 'fabric-contract-api';
import { authorize, callerOf } from './access';
import { AccessLog } from './access-log';
import { ConsentStore } from './consents';
import { Directory } from './directory';
import { EmergencyStore } from './emergencies';
import { txOf } from './ledger';
import { PatientStore } from './patients';
import { PolicyStore } from './policies';
import { ProxyStore } from './proxies';
import { RecordStore } from './records';
import { RegistrationStore } from './registrations';
import { transactionState } from './transaction-state';

/**
 * What every transaction starts with: the caller from the certificate, checked against the
 * transaction's roles before any argument is read, and the stores over the stub.
 */
export function session(ctx: Context, transaction: TransactionName) {
  const caller = callerOf(ctx.clientIdentity);
  authorize(caller, transaction);
  const stub = transactionState(ctx);
  const tx = txOf(ctx);
  let ownPseudonym: string | undefined;
  return {
    caller,
    stub,
    tx,
    patients: new PatientStore(stub, caller, () => (ownPseudonym ??= pseudonymOf(caller.mspId, ctx.clientIdentity.getIDBytes()))),
    directory: new Directory(stub),
    consents: new ConsentStore(stub),
    records: new RecordStore(stub),
    grants: new RegistrationStore(stub),
    policies: new PolicyStore(stub),
    emergencies: new EmergencyStore(stub),
    proxies: new ProxyStore(stub),
    log: new AccessLog(stub, tx),
    /** The caller's certificate (PEM). */
    certificate: (): Uint8Array => ctx.clientIdentity.getIDBytes(),
    /** Throws INVALID_ARGUMENT[field] unless the record's patient approval is the caller's signature over its index fields. */
    requirePatientSignature(record: EmrRecord, field: string): void {
      if (!signatureValid(ctx.clientIdentity.getIDBytes(), recordSigningPayload(record), record.patientApproval?.signature ?? '')) {
        throw new ChaincodeError(ErrorCode.InvalidArgument, `is not a valid signature of '${caller.enrollmentId}' over the index fields`, field);
      }
    },
    /** One event per transaction (Fabric keeps the last set); ids only, never PHI. */
    event: (name: string, payload: Record<string, string>): void => stub.setEvent(name, Buffer.from(canonicalJson(payload), 'utf8')),
  };
}
