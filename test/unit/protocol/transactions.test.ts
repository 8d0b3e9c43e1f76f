/**
 * The shared transaction table against the chaincode as it runs: the role table is keyed by
 * it, the contracts serve exactly its transactions, submitted or evaluated as it says, and
 * every transaction authorizes under its own name. (Argument counts are checked when the
 * chaincode compiles: chaincode/src/index.ts.)
 */
import { ROLES, TRANSACTIONS, contractOf, encodeArgument, methodOf, type TransactionName } from '@emr/protocol';
import type { Contract } from 'fabric-contract-api';
import { PERMISSIONS } from '../../../chaincode/src/access';
import { contracts } from '../../../chaincode/src';
import { chaincodeContext, identity } from '../../support/chaincode-context';
import { MemoryState } from '../../support/memory-state';

const names = Object.keys(TRANSACTIONS) as TransactionName[];
const instances = contracts.map((C) => new C() as unknown as Contract & Record<string, (...args: unknown[]) => Promise<string>>);
const contractNamed = (name: string) => instances.find((c) => c.getName() === name)!;
interface TransactionMetadata {
  name: string;
  tag: string[];
  parameters: unknown[];
}
const metadataOf = (c: Contract): TransactionMetadata[] =>
  (Reflect as unknown as { getMetadata(key: string, target: object): TransactionMetadata[] }).getMetadata('fabric:transactions', Object.getPrototypeOf(c));

describe('the transaction table', () => {
  it('names the same transactions as the chaincode role table, in the same order', () => {
    expect(Object.keys(PERMISSIONS)).toEqual(names);
  });

  it('is what the contracts serve: every @Transaction method and no other, submitted or evaluated as the table says', () => {
    const served = instances.flatMap((c) => metadataOf(c).map((t) => [`${c.getName()}:${t.name}`, t.tag.includes('SUBMIT') ? 'submit' : 'evaluate'] as const));
    expect(Object.fromEntries(served)).toEqual(TRANSACTIONS);
    expect(served).toHaveLength(names.length);
  });

  it('splits a name into its contract and method', () => {
    expect(contractOf('consent:RequestAccess')).toBe('consent');
    expect(methodOf('consent:RequestAccess')).toBe('RequestAccess');
  });

  it.each(names.filter((n) => PERMISSIONS[n].length < ROLES.length))('%s authorizes under its own name, before reading any argument', async (name) => {
    const refused = ROLES.find((r) => !(PERMISSIONS[name] as readonly string[]).includes(r))!;
    const contract = contractNamed(contractOf(name));
    const method = methodOf(name);
    const arity = metadataOf(contract).find((t) => t.name === method)!.parameters.length;
    const ctx = chaincodeContext(new MemoryState(), 'HospitalAMSP', identity('someone', refused));
    await expect(contract[method]!(ctx, ...Array(arity).fill('{'))).rejects.toThrow(new RegExp(`^UNAUTHORIZED: role '${refused}' of 'someone' \\(HospitalAMSP\\) may not call ${method};`));
  });
});

describe('encodeArgument', () => {
  it('sends text as it is, numbers in decimal and objects as JSON', () => {
    expect(encodeArgument('r1')).toBe('r1');
    expect(encodeArgument('')).toBe('');
    expect(encodeArgument(20)).toBe('20');
    expect(encodeArgument({ b: 1, a: [true] })).toBe('{"b":1,"a":[true]}');
  });
});
