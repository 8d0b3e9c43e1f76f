import { ChaincodeError, ErrorCode, ROLES, checkEnrollmentId, isRole, methodOf, type Caller, type Role, type TransactionName } from '@emr/protocol';

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
  // Nobody acts under a group party's name (`area:research`, groups.ts), nor under any id the parties' rule refuses.
  try {
    checkEnrollmentId(enrollmentId);
  } catch {
    throw new ChaincodeError(ErrorCode.Unauthorized, `certificate from ${mspId} has enrollment id '${enrollmentId.slice(0, 64)}', which is not an enrollment id (1-128 characters of A-Z a-z 0-9 @ . _ -)`);
  }
  if (!isRole(role)) throw new ChaincodeError(ErrorCode.Unauthorized, `certificate of '${enrollmentId}' (${mspId}) has no valid role attribute`);
  return { mspId, enrollmentId, role };
}

/**
 * Which roles may call each transaction, by @emr/protocol's transaction names: a transaction
 * missing here, or one the protocol does not know, does not compile.
 */
export const PERMISSIONS = {
  // emr: the record index
  'emr:WhoAmI': ROLES,
  'emr:CreateRecord': ['doctor', 'patient'],
  'emr:ReadRecord': ['doctor', 'patient', 'researcher', 'proxy', 'kgc', 'admin'],
  'emr:ListRecordsByPatient': ['doctor', 'patient', 'proxy', 'admin'],
  'emr:FindUnlinkedRecords': ['doctor', 'patient', 'kgc', 'admin'],
  'emr:ApproveRecord': ['patient'],
  'emr:SwitchType': ['patient'],
  'emr:EraseRecord': ['patient', 'admin'],
  'emr:PutInternalMetadata': ['doctor', 'admin'],
  'emr:ReadInternalMetadata': ['doctor', 'admin'],
  // consent: patients, consents, approvals, grants, requests, the log
  'consent:RegisterPatient': ['patient'],
  'consent:ReadPatient': ['patient', 'doctor', 'researcher', 'admin', 'kgc'],
  'consent:RegisterSm2Key': ['patient'],
  'consent:SetAreaPolicy': ['patient'],
  'consent:ClearAreaPolicy': ['patient'],
  'consent:ListAreaPolicies': ['patient', 'kgc', 'admin'],
  'consent:RequestAreaAccess': ['doctor', 'researcher'],
  'consent:GrantConsent': ['patient'],
  'consent:RevokeConsent': ['patient'],
  'consent:ReadConsent': ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'],
  'consent:ListConsentsByPatient': ['patient', 'admin'],
  'consent:SetApprovalPolicy': ['admin'],
  'consent:ReadApprovalPolicies': ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'],
  'consent:AttestBlindedReach': ['kgc'],
  'consent:ApproveConsent': ['doctor', 'admin'],
  'consent:RequestAccess': ['doctor', 'researcher'],
  'consent:RequestDelegatedAccess': ['doctor', 'researcher'],
  'consent:ReadAccessEntry': ['doctor', 'researcher', 'proxy', 'admin'],
  'consent:ListGrantsByConsent': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  'consent:ConfirmReceipt': ['doctor', 'researcher'],
  'consent:ListPatientLog': ['patient', 'admin'],
  'consent:ListRecordLog': ['patient', 'admin'],
  'consent:RegisterGrant': ['patient', 'doctor', 'researcher'],
  'consent:ReadGrant': ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'],
  'consent:ListGrants': ['admin'],
  'consent:ReportKeyLeak': ['patient', 'doctor', 'researcher', 'admin'],
  // emergency: break-glass
  'emergency:RecordJustification': ['doctor'],
  'emergency:RequestBreakGlass': ['doctor'],
  'emergency:ApproveBreakGlass': ['doctor'],
  'emergency:RequestEmergencyAccess': ['doctor'],
  'emergency:ReadBreakGlass': ['patient', 'doctor', 'kgc', 'admin'],
  'emergency:ReadJustification': ['doctor', 'admin'],
  // proxy: registry, stake, election, faults, re-encryption log
  'proxy:RegisterProxy': ['proxy'],
  'proxy:RegisterSm2Key': ['proxy'],
  'proxy:VoteStake': ['admin'],
  'proxy:ReadProxy': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  'proxy:ListProxies': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  'proxy:ElectProxies': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  'proxy:ReportBadFragment': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  'proxy:LogReEncryption': ['proxy'],
  // directory: who a consent may name
  'directory:RegisterIdentity': ['doctor', 'researcher', 'admin'],
  'directory:ReadIdentity': ['patient', 'doctor', 'researcher', 'proxy', 'admin'],
  // kgc: the key generation centres' public record
  'kgc:RegisterKeyCentre': ['kgc'],
  'kgc:ListKeyCentres': ['patient', 'doctor', 'researcher', 'proxy', 'kgc', 'admin'],
  // consortium: settings the member orgs' admins change together
  'consortium:ReadSettings': ROLES,
  'consortium:ProposeSettings': ['admin'],
  'consortium:ApproveSettings': ['admin'],
  'consortium:ReadProposal': ['admin'],
  'kgc:PostDkgMessage': ['kgc'],
  'kgc:CloseDkgPhase': ['kgc'],
  'kgc:ReadDkg': ['kgc', 'admin'],
  // bench: the benchmark floor; admins only, so no user writes through it
  'bench:PutState': ['admin'],
  'bench:ReadThenPutState': ['admin'],
} as const satisfies { readonly [N in TransactionName]: readonly Role[] };

export function authorize(caller: Caller, transaction: TransactionName): void {
  const allowed: readonly Role[] = PERMISSIONS[transaction];
  if (!allowed.includes(caller.role)) {
    throw new ChaincodeError(
      ErrorCode.Unauthorized,
      `role '${caller.role}' of '${caller.enrollmentId}' (${caller.mspId}) may not call ${methodOf(transaction)}; allowed: ${allowed.join(', ')}`,
    );
  }
}
