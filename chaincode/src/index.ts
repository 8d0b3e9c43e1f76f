import { ConsentContract } from './consent-contract';
import { DirectoryContract } from './directory-contract';
import { EmergencyContract } from './emergency-contract';
import { EmrContract } from './emr-contract';
import { KeyCentreContract } from './key-centre-contract';
import { ProxyContract } from './proxy-contract';

export { ConsentContract, DirectoryContract, EmergencyContract, EmrContract, KeyCentreContract, ProxyContract };
export { canonicalJson } from './canonical-json';
export { ChaincodeError, ErrorCode } from './errors';
export { RECORD_TYPES, MAX_PAGE_SIZE, type EmrRecord, type EmrRecordInput, type Erasure, type InternalMetadata, type PatientApproval, type RecordPage, type RecordType } from './records';
export { ROLES, type Role, type Caller } from './roles';
export { PURPOSES, DENY_REASONS, type Consent, type ConsentInput, type ConsentPage, type ConsentScope, type ConsentStatus, type Grantee, type Purpose, type DenyReason } from './consents';
export type { PatientRegistration } from './patients';
export { REQUESTER_ROLES, type DirectoryEntry, type Member } from './directory';
export { pseudonymOf } from './pseudonyms';
export type { Party, Registration, RegistrationInput } from './registrations';
export type { Approval, ApprovalPolicy, ApprovalRequirement, ApproverRole, PolicySet } from './policies';
export type { Emergency, EmergencyInput, EmergencyStatus, Justification } from './emergencies';
export type { Proxy } from './proxies';
export type { KeyCentre, KeyCentreInput } from './key-centres';
export { LOG_ACTIONS, type LogAction, type LogEntry, type LogPage } from './access-log';

/** Read by fabric-chaincode-node: the contracts this chaincode serves. */
export const contracts = [EmrContract, ConsentContract, DirectoryContract, EmergencyContract, ProxyContract, KeyCentreContract];
