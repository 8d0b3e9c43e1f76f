export { connectGateway, walletIdentity, type ConnectOptions, type EmrConnection, type Timeouts } from './fabric/connection';
export { EmrIndex, type PageOptions } from './fabric/emr-index';
export * from './fabric/errors';
export { loadProfile, type ConnectionProfile, type OrgProfile } from './fabric/profile';
export type { Caller, EmrRecord, EmrRecordInput, RecordPage, RecordType } from '@emr/chaincode';
