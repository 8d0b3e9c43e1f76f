export { connectGateway, walletIdentity, type ConnectOptions, type EmrConnection, type Timeouts } from './fabric/connection';
export { EmrIndex } from './fabric/emr-index';
export { ConsentLedger, AccessDeniedError } from './fabric/consent-ledger';
export { EmergencyAccess } from './fabric/emergency-access';
export { ProxyRegistry, type SignedFragment } from './fabric/proxy-registry';
export { KeyCentreRegistry } from './fabric/key-centre-registry';
export { DirectoryClient } from './fabric/directory-client';
export { ConsortiumSettingsClient } from './fabric/consortium-settings';
export { pseudonymOf } from '@emr/protocol';
export { EmrClient, FlowError, type FetchOptions, type FetchResult, type GrantResult, type Progress, type Timings, type UploadInput, type UploadResult, type Via } from './sharing/emr-client';
export { IpfsStore, type IpfsNode, type Replication } from './sharing/ipfs-store';
export { capsuleForSlot, encapsulateForCategory, recordCapsules } from './fabric/record-capsules';
export { loadConsortium, extractKey, type Consortium } from './wire/key-centres';
export * from './sharing/errors';
export * from './wire/errors';
export { endorseAndOrder } from './fabric/contract-client';
export type { ContractConnection, PageOptions } from './fabric/contract-client';
export * from './fabric/errors';
export * from './fabric/outcome';
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
  DirectoryEntry,
  Emergency,
  EmergencyInput,
  EmergencyStatus,
  EmrRecord,
  EmrRecordInput,
  Erasure,
  KeyCentre,
  KeyCentreInput,
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
} from '@emr/protocol';
