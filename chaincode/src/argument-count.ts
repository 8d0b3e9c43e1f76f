/**
 * fabric-shim checks a call's number of arguments against the transaction function's before
 * the contract runs, and refuses a wrong count with a message of its own ("Expected 2
 * parameters, but 3 have been supplied") that carries no code, so the SDK cannot name it.
 * This refuses it as every other malformed call is refused: INVALID_ARGUMENT[arguments],
 * naming the arguments the function takes. The count is public (the contract metadata lists
 * every function's parameters), so checking it before the caller's role tells a refused
 * caller nothing.
 */
import { createRequire } from 'node:module';
import { invalid } from '@emr/protocol';

/** What fabric-shim's DataMarshall knows of a transaction function (from its @Transaction metadata). */
interface TransactionMetadata {
  name: string;
  parameters?: { name: string }[];
}
interface DataMarshall {
  handleParameters(fn: TransactionMetadata, parameters: Uint8Array[], loggerPrefix: string): unknown[];
}

let installed = false;

/** Makes fabric-shim's argument-count refusal a coded one (once per process). */
export function nameArgumentCountErrors(): void {
  if (installed) return;
  installed = true;
  const marshall = createRequire(require.resolve('fabric-shim'))('./lib/contract-spi/datamarshall.js') as { prototype: DataMarshall };
  const handle = marshall.prototype.handleParameters;
  marshall.prototype.handleParameters = function (this: DataMarshall, fn: TransactionMetadata, parameters: Uint8Array[], loggerPrefix: string): unknown[] {
    const expected = fn.parameters ?? [];
    if (parameters.length !== expected.length) {
      const names = expected.length ? ` (${expected.map((p) => p.name).join(', ')})` : '';
      throw invalid('arguments', `${fn.name} takes ${expected.length} argument${expected.length === 1 ? '' : 's'}${names}, not ${parameters.length}`);
    }
    return handle.call(this, fn, parameters, loggerPrefix);
  };
}
