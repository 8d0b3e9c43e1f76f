import { ConsentContract } from './consent-contract';
import { EmrContract } from './emr-contract';

export { ConsentContract, EmrContract };
export { canonicalJson } from './canonical-json';
export { ChaincodeError, ErrorCode } from './errors';
export { RECORD_TYPES, MAX_PAGE_SIZE, type EmrRecord, type EmrRecordInput, type RecordPage, type RecordType } from './records';
export { ROLES, type Role, type Caller } from './roles';
export { PURPOSES, DENY_REASONS, type Consent, type ConsentInput, type ConsentPage, type ConsentScope, type Grantee, type Purpose, type DenyReason } from './consents';
export type { PatientRegistration } from './patients';
export type { Party, Registration, RegistrationInput } from './registrations';
export { LOG_ACTIONS, type LogAction, type LogEntry, type LogPage } from './access-log';

/** Read by fabric-chaincode-node: the contracts this chaincode serves. */
export const contracts = [EmrContract, ConsentContract];
