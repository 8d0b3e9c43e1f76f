import { EmrContract } from './emr-contract';

export { EmrContract };
export { canonicalJson } from './canonical-json';
export { ChaincodeError, ErrorCode } from './errors';
export { RECORD_TYPES, MAX_PAGE_SIZE, type EmrRecord, type EmrRecordInput, type RecordPage, type RecordType } from './records';
export { ROLES, type Role, type Caller } from './roles';

/** Read by fabric-chaincode-node: the contracts this chaincode serves. */
export const contracts = [EmrContract];
