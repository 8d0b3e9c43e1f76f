import { ChaincodeError, ErrorCode } from './errors';
import { isRole, type Caller, type Role } from './roles';

/** The part of fabric-contract-api's ClientIdentity used for authorization. */
export interface CertificateIdentity {
  getMSPID(): string;
  getAttributeValue(name: string): string | null;
}

/** Reads the caller from the transaction creator's certificate (attributes set by Fabric CA). */
export function callerOf(identity: CertificateIdentity): Caller {
  const mspId = identity.getMSPID();
  const enrollmentId = identity.getAttributeValue('hf.EnrollmentID');
  const role = identity.getAttributeValue('role');
  if (!enrollmentId) throw new ChaincodeError(ErrorCode.Unauthorized, `certificate from ${mspId} has no hf.EnrollmentID attribute`);
  if (!isRole(role)) throw new ChaincodeError(ErrorCode.Unauthorized, `certificate of '${enrollmentId}' (${mspId}) has no valid role attribute`);
  return { mspId, enrollmentId, role };
}

/** Which roles may call each transaction. */
export const PERMISSIONS = {
  CreateRecord: ['doctor'],
  ReadRecord: ['doctor', 'patient', 'researcher', 'proxy', 'admin'],
  ListRecordsByPatient: ['doctor', 'patient', 'proxy', 'admin'],
  RegisterPatient: ['admin'],
  GrantConsent: ['patient'],
  RevokeConsent: ['patient'],
  ReadConsent: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ListConsentsByPatient: ['patient', 'admin'],
  RequestAccess: ['doctor', 'researcher'],
  ListPatientLog: ['patient', 'admin'],
  ListRecordLog: ['patient', 'admin'],
  RegisterGrant: ['patient', 'doctor', 'researcher'],
  ReadGrant: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
} as const satisfies Record<string, readonly Role[]>;

export function authorize(caller: Caller, transaction: keyof typeof PERMISSIONS): void {
  const allowed: readonly Role[] = PERMISSIONS[transaction];
  if (!allowed.includes(caller.role)) {
    throw new ChaincodeError(
      ErrorCode.Unauthorized,
      `role '${caller.role}' of '${caller.enrollmentId}' (${caller.mspId}) may not call ${transaction}; allowed: ${allowed.join(', ')}`,
    );
  }
}
