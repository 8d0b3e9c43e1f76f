export { connectGateway, walletIdentity, type ConnectOptions, type EmrConnection, type Timeouts } from './fabric/connection';
export { EmrIndex } from './fabric/emr-index';
export { ConsentLedger, AccessDeniedError } from './fabric/consent-ledger';
export type { PageOptions } from './fabric/contract-client';
export * from './fabric/errors';
export { loadProfile, type ConnectionProfile, type OrgProfile } from './fabric/profile';
export type { Caller, Consent, ConsentInput, ConsentPage, ConsentScope, DenyReason, EmrRecord, EmrRecordInput, Grantee, LogEntry, LogPage, Party, PatientRegistration, Purpose, RecordPage, Registration, RegistrationInput, RecordType } from '@emr/chaincode';
