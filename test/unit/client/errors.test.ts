import { Metadata, status } from '@grpc/grpc-js';
import { CommitError, GatewayError, StatusCode } from '@hyperledger/fabric-gateway';
import {
  ConflictError,
  EndorsementError,
  InvalidArgumentError,
  MvccConflictError,
  NotFoundError,
  TimeoutError,
  TransactionInvalidError,
  UnauthorizedError,
  UnavailableError,
  mapGatewayError,
} from '../../../client/src';

const gatewayError = (code: number, message: string, detail?: string) =>
  new GatewayError({
    code,
    message,
    details: detail ? [{ address: '127.0.0.1:7051', mspId: 'HospitalAMSP', message: detail }] : [],
    cause: Object.assign(new Error(message), { code, details: message, metadata: new Metadata() }),
  });

describe('mapGatewayError', () => {
  it.each([
    ['UNAUTHORIZED: role \'researcher\' may not call CreateRecord', UnauthorizedError, undefined],
    ['INVALID_ARGUMENT[category]: must be a department path', InvalidArgumentError, 'category'],
    ['NOT_FOUND[recordId]: record \'x\' does not exist', NotFoundError, 'recordId'],
    ['CONFLICT[recordId]: record \'x\' already exists', ConflictError, 'recordId'],
  ])('maps the chaincode message %j to its class and field', (chaincodeMessage, Class, field) => {
    const err = mapGatewayError(gatewayError(status.ABORTED, '10 ABORTED: failed to endorse', `chaincode response 500, ${chaincodeMessage}`));
    expect(err).toBeInstanceOf(Class);
    expect(err).toMatchObject({ code: chaincodeMessage.split(/[[:]/)[0], field });
    expect(err.message).toBe(chaincodeMessage);
  });

  it('keeps an unclassified endorsement failure with every peer\'s message', () => {
    const err = mapGatewayError(gatewayError(status.ABORTED, 'failed', 'chaincode response 500, TypeError: boom'));
    expect(err).toBeInstanceOf(EndorsementError);
    expect(err.message).toContain('HospitalAMSP@127.0.0.1:7051: chaincode response 500, TypeError: boom');
  });

  it('maps deadlines and unreachable peers by gRPC status', () => {
    expect(mapGatewayError(gatewayError(status.DEADLINE_EXCEEDED, 'deadline'))).toBeInstanceOf(TimeoutError);
    expect(mapGatewayError(gatewayError(status.UNAVAILABLE, 'no connection'))).toBeInstanceOf(UnavailableError);
    expect(mapGatewayError(gatewayError(status.PERMISSION_DENIED, 'access denied'))).toBeInstanceOf(UnauthorizedError);
  });

  it('keeps each orderer\'s reason when a BFT quorum was not reached', () => {
    const err = mapGatewayError(gatewayError(status.UNAVAILABLE, 'insufficient number of orderers', 'failed to submit request'));
    expect(err).toBeInstanceOf(UnavailableError);
    expect(err.message).toBe('network unavailable: insufficient number of orderers (HospitalAMSP@127.0.0.1:7051: failed to submit request)');
    expect(mapGatewayError(gatewayError(status.UNAVAILABLE, 'no connection')).message).toBe('network unavailable: no connection');
  });

  it('maps an MVCC read conflict at commit, and names any other validation code', () => {
    const mvcc = mapGatewayError(new CommitError({ code: StatusCode.MVCC_READ_CONFLICT, transactionId: 'tx1' }));
    expect(mvcc).toBeInstanceOf(MvccConflictError);
    expect(mvcc).toMatchObject({ transactionId: 'tx1' });
    const other = mapGatewayError(new CommitError({ code: StatusCode.ENDORSEMENT_POLICY_FAILURE, transactionId: 'tx2' }));
    expect(other).toBeInstanceOf(TransactionInvalidError);
    expect(other.message).toContain('ENDORSEMENT_POLICY_FAILURE');
  });

  it('passes anything else through unchanged', () => {
    const plain = new Error('x');
    expect(mapGatewayError(plain)).toBe(plain);
  });
});
