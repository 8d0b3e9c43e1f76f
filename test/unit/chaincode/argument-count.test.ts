/**
 * A call with too many or too few arguments, through fabric-shim's own dispatch
 * (ChaincodeFromContract, as the chaincode server runs it): refused INVALID_ARGUMENT[arguments]
 * for every transaction of the table, where the shim alone answered "Expected 1 parameters,
 * but 2 have been supplied" with no code.
 */
import { createRequire } from 'node:module';
import { TRANSACTIONS, type TransactionName } from '@emr/protocol';
import { JSONSerializer } from 'fabric-contract-api';
import { contracts } from '../../../chaincode/src';
import { testCa } from '../../support/test-certs';

const fromShim = createRequire(require.resolve('fabric-shim'));
const ChaincodeFromContract = fromShim('./lib/contract-spi/chaincodefromcontract.js') as new (...args: unknown[]) => {
  invokeFunctionality(stub: unknown): Promise<{ status: number; message: string; payload?: Uint8Array }>;
};
const chaincode = new ChaincodeFromContract([...contracts], { transaction: 'jsonSerializer', serializers: { jsonSerializer: JSONSerializer } }, {}, 'emr', 'test');
const doctor = testCa('HospitalAMSP').enroll('doctor1', 'doctor');

/** What the shim asks of a stub before it reaches the contract. */
const stubFor = (name: string, args: string[]) => ({
  getBufferArgs: () => [name, ...args].map((a) => Buffer.from(a)),
  getTxID: () => 'tx-args',
  getChannelID: () => 'emr',
  getCreator: () => ({ mspid: 'HospitalAMSP', idBytes: Buffer.from(doctor.certificate) }),
});

const ARITY = Object.fromEntries(contracts.flatMap((C) => {
  const c = new C() as unknown as { getName(): string } & Record<string, (...a: unknown[]) => unknown>;
  return Object.keys(TRANSACTIONS).filter((n) => n.startsWith(`${c.getName()}:`)).map((n) => [n, c[n.slice(n.indexOf(':') + 1)]!.length - 1]);
})) as Record<TransactionName, number>;

describe('the number of arguments', () => {
  it.each(Object.keys(TRANSACTIONS) as TransactionName[])('%s: one too many, or one too few, is INVALID_ARGUMENT[arguments] naming what it takes', async (name) => {
    const count = ARITY[name];
    const calls = [Array.from({ length: count + 1 }, () => 'x'), ...(count > 0 ? [Array.from({ length: count - 1 }, () => 'x')] : [])];
    for (const args of calls) {
      const response = await chaincode.invokeFunctionality(stubFor(name, args));
      expect([args.length, response.status]).toEqual([args.length, 500]);
      expect(response.message).toMatch(new RegExp(`^INVALID_ARGUMENT\\[arguments\\]: ${name.slice(name.indexOf(':') + 1)} takes ${count} arguments?( \\(.+\\))?, not ${args.length}$`));
    }
  });

  it('the right number reaches the contract (here its role check, for a caller of the wrong role)', async () => {
    const response = await chaincode.invokeFunctionality(stubFor('bench:PutState', ['key-1']));
    expect([response.status, response.message]).toEqual([500, expect.stringMatching(/^UNAUTHORIZED: role 'doctor' of 'doctor1' \(HospitalAMSP\) may not call PutState/)]);
  });
});
