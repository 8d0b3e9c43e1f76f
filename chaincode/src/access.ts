import { ChaincodeError, ErrorCode } from './errors';
import { isRole, type Caller, type Role } from './roles';

/** The part of fabric-contract-api's ClientIdentity used for authorization. */
export interface CertificateIdentity {
  getMSPID(): string;
  getAttributeValue(name: string): string | null;
  /** The caller's certificate (PEM): checks his signatures, keeps a proxy's key. */
  getIDBytes(): Uint8Array;
}

/** Reads the caller from the transaction creator's certificate (attributes set by Fabric CA). */
export function callerOf(identity: Pick<CertificateIdentity, 'getMSPID' | 'getAttributeValue'>): Caller {
  const mspId = identity.getMSPID();
  const enrollmentId = identity.getAttributeValue('hf.EnrollmentID');
  const role = identity.getAttributeValue('role');
  if (!enrollmentId) throw new ChaincodeError(ErrorCode.Unauthorized, `certificate from ${mspId} has no hf.EnrollmentID attribute`);
  if (!isRole(role)) throw new ChaincodeError(ErrorCode.Unauthorized, `certificate of '${enrollmentId}' (${mspId}) has no valid role attribute`);
  return { mspId, enrollmentId, role };
}

/** Which roles may call each transaction. */
export const PERMISSIONS = {
  // emr: the record index
  CreateRecord: ['doctor', 'patient'],
  ReadRecord: ['doctor', 'patient', 'researcher', 'proxy', 'admin'],
  ListRecordsByPatient: ['doctor', 'patient', 'proxy', 'admin'],
  ApproveRecord: ['patient'],
  SwitchType: ['patient'],
  EraseRecord: ['patient', 'admin'],
  PutInternalMetadata: ['doctor', 'admin'],
  ReadInternalMetadata: ['doctor', 'admin'],
  // consent: patients, consents, approvals, grants, requests, the log
  RegisterPatient: ['patient'],
  ReadPatient: ['patient', 'doctor', 'admin', 'kgc'],
  GrantConsent: ['patient'],
  RevokeConsent: ['patient'],
  ReadConsent: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ListConsentsByPatient: ['patient', 'admin'],
  SetApprovalPolicy: ['admin'],
  ReadApprovalPolicies: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ApproveConsent: ['doctor', 'admin'],
  RequestAccess: ['doctor', 'researcher'],
  RequestDelegatedAccess: ['doctor', 'researcher'],
  ReadAccessEntry: ['doctor', 'researcher', 'proxy', 'admin'],
  ListGrantsByConsent: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ConfirmReceipt: ['doctor', 'researcher'],
  ListPatientLog: ['patient', 'admin'],
  ListRecordLog: ['patient', 'admin'],
  RegisterGrant: ['patient', 'doctor', 'researcher'],
  ReadGrant: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  // emergency: break-glass
  RecordJustification: ['doctor'],
  RequestBreakGlass: ['doctor'],
  ApproveBreakGlass: ['doctor'],
  RequestEmergencyAccess: ['doctor'],
  ReadBreakGlass: ['patient', 'doctor', 'admin'],
  ReadJustification: ['doctor', 'admin'],
  // proxy: registry, stake, election, faults, re-encryption log
  RegisterProxy: ['proxy'],
  VoteStake: ['admin'],
  ReadProxy: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ListProxies: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ElectProxies: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  ReportBadFragment: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  LogReEncryption: ['proxy'],
  // directory: who a consent may name
  RegisterIdentity: ['doctor', 'researcher', 'admin'],
  ReadIdentity: ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  // kgc: the key generation centres' public record
  RegisterKeyCentre: ['kgc'],
  ListKeyCentres: ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'],
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
