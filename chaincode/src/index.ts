import type { TransactionArgs, TransactionName } from '@emr/protocol';
import type { Context, Contract } from 'fabric-contract-api';
import { BenchContract } from './bench-contract';
import { ConsentContract } from './consent-contract';
import { ConsortiumContract } from './consortium-contract';
import { DirectoryContract } from './directory-contract';
import { EmergencyContract } from './emergency-contract';
import { EmrContract } from './emr-contract';
import { KeyCentreContract } from './key-centre-contract';
import { ProxyContract } from './proxy-contract';
import { nameArgumentCountErrors } from './argument-count';
import { skipDisabledShimLogLines } from './shim-logging';

skipDisabledShimLogLines();
nameArgumentCountErrors();

export { BenchContract, ConsentContract, ConsortiumContract, DirectoryContract, EmergencyContract, EmrContract, KeyCentreContract, ProxyContract };
// The vocabulary these contracts speak (ids, parties, records, consents, transactions) is
// @emr/protocol's; import it from there.

/** Read by fabric-chaincode-node: the contracts this chaincode serves. */
export const contracts = [EmrContract, ConsentContract, DirectoryContract, EmergencyContract, ProxyContract, KeyCentreContract, ConsortiumContract, BenchContract];

/**
 * The contracts serve exactly @emr/protocol's transactions (`contract:Method`), each method
 * taking as many arguments as the protocol's table says. Otherwise this does not compile,
 * and the error names the transactions that differ. (The contract names are checked at run
 * time too: test/unit/protocol/transactions.test.ts.)
 */
interface ContractsByName {
  emr: EmrContract;
  consent: ConsentContract;
  directory: DirectoryContract;
  emergency: EmergencyContract;
  proxy: ProxyContract;
  kgc: KeyCentreContract;
  consortium: ConsortiumContract;
  bench: BenchContract;
}
type Served = { [C in keyof ContractsByName]: `${C}:${Exclude<keyof ContractsByName[C], keyof Contract> & string}` }[keyof ContractsByName];
type MethodOf<N> = N extends `${infer C extends keyof ContractsByName}:${infer M}` ? (M extends keyof ContractsByName[C] ? ContractsByName[C][M] : never) : never;
type ArgumentCount<F> = F extends (ctx: Context, ...args: infer A) => unknown ? A['length'] : never;
interface Drift {
  notInProtocol: Exclude<Served, TransactionName>;
  notServed: Exclude<TransactionName, Served>;
  wrongArgumentCount: { [N in TransactionName]: ArgumentCount<MethodOf<N>> extends TransactionArgs<N>['length'] ? never : N }[TransactionName];
}
type Agree<D extends { notInProtocol: never; notServed: never; wrongArgumentCount: never }> = D;
/** Only a name for the check above. */
export type ServesProtocol = Agree<Drift>;
