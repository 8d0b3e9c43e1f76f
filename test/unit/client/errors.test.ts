import { Metadata, status } from '@grpc/grpc-js';
import { CommitError, GatewayError, StatusCode } from '@hyperledger/fabric-gateway';
import {
  ConflictError,
  DuplicateTransactionError,
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
    // Fields with brackets of their own were not parsed (ENDORSEMENT_FAILED, no field).
    ['INVALID_ARGUMENT[approvals[0].count]: must be an integer from 1 to 5', InvalidArgumentError, 'approvals[0].count'],
    ['INVALID_ARGUMENT[scope.recordIds[2]]: names another patient\'s record', InvalidArgumentError, 'scope.recordIds[2]'],
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

  it("names the peers' own refusals: a committed transaction sent again, and a creator or signature they do not accept", () => {
    const duplicate = mapGatewayError(gatewayError(status.ABORTED, '10 ABORTED: failed to endorse transaction, see attached details for more info', 'rpc error: code = Unknown desc = duplicate transaction found [0f1e2d]. Creator [0a0c486f737069]'));
    expect(duplicate).toBeInstanceOf(DuplicateTransactionError);
    expect(duplicate).toMatchObject({ code: 'DUPLICATE_TRANSACTION', detail: 'the peers already hold transaction 0f1e2d: a committed transaction sent again' });
    for (const text of ['error validating proposal: access denied: channel [emr] creator org [HospitalAMSP]', 'access denied: channel [emr] creator org unknown, creator is malformed']) {
      const denied = mapGatewayError(gatewayError(status.ABORTED, '10 ABORTED: failed to endorse transaction', `rpc error: code = Unknown desc = ${text}`));
      expect([text, denied]).toEqual([text, expect.any(UnauthorizedError)]);
      expect((denied as UnauthorizedError).code).toBe('ACCESS_DENIED');
    }
  });

  it('maps deadlines and unreachable peers by gRPC status', () => {
    expect(mapGatewayError(gatewayError(status.DEADLINE_EXCEEDED, 'deadline'))).toBeInstanceOf(TimeoutError);
    expect(mapGatewayError(gatewayError(status.UNAVAILABLE, 'no connection'))).toBeInstanceOf(UnavailableError);
    expect(mapGatewayError(gatewayError(status.PERMISSION_DENIED, 'access denied'))).toBeInstanceOf(UnauthorizedError);
    const noEndorsers = mapGatewayError(gatewayError(status.FAILED_PRECONDITION, 'no combination of peers can be derived which satisfy the endorsement policy: no peer combination can satisfy the endorsement policy'));
    expect(noEndorsers).toBeInstanceOf(UnavailableError);
    expect(noEndorsers.message).toMatch(/^endorsing peers unavailable: no combination of peers/);
    for (const detail of ['error in simulation: failed to execute transaction 2e55: error sending: chaincode stream terminated', 'error in simulation: failed to execute transaction 11b7: could not launch chaincode emr_1.0:6171: connection to emr_1.0:6171 failed']) {
      const down = mapGatewayError(gatewayError(status.ABORTED, '10 ABORTED: failed to endorse transaction', detail));
      expect([detail, down]).toEqual([detail, expect.any(UnavailableError)]);
      expect(down.message).toMatch(/^chaincode unavailable: HospitalAMSP@127.0.0.1:7051: error in simulation/);
    }
    const peerDown = mapGatewayError(gatewayError(status.ABORTED, 'failed to endorse', 'rpc error: code = Unavailable desc = connection error: desc = "transport: Error while dialing: dial tcp 127.0.0.1:7051: connect: connection refused"'));
    expect(peerDown).toBeInstanceOf(UnavailableError);
    expect(peerDown.message).toMatch(/^endorsing peer unavailable: HospitalAMSP@127.0.0.1:7051: rpc error/);
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
