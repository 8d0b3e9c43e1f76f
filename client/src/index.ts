export { connectGateway, walletIdentity, type ConnectOptions, type EmrConnection, type Timeouts } from './fabric/connection';
export { EmrIndex } from './fabric/emr-index';
export { ConsentLedger, AccessDeniedError } from './fabric/consent-ledger';
export { EmergencyAccess } from './fabric/emergency-access';
export { ProxyRegistry, type SignedFragment } from './fabric/proxy-registry';
export type { ContractConnection, PageOptions } from './fabric/contract-client';
export * from './fabric/errors';
export { loadProfile, type ConnectionProfile, type OrgProfile } from './fabric/profile';
export type {
  Approval,
  ApprovalPolicy,
  ApprovalRequirement,
  Caller,
  Consent,
  ConsentInput,
  ConsentPage,
  ConsentScope,
  ConsentStatus,
  DenyReason,
  Emergency,
  EmergencyInput,
  EmergencyStatus,
  EmrRecord,
  EmrRecordInput,
  Grantee,
  InternalMetadata,
  Justification,
  LogEntry,
  LogPage,
  Party,
  PatientApproval,
  PatientRegistration,
  PolicySet,
  Proxy,
  Purpose,
  RecordPage,
  Registration,
  RegistrationInput,
  RecordType,
} from '@emr/chaincode';
