/**
 * kubo-rpc-client is ESM-only, and so are its own dependencies (e.g. cborg exports `import`
 * only). Node 20 require()s it natively, but tsx rewrites an ESM package that is require()d
 * into CommonJS, whose require() of those dependencies then fails. So: load it natively with
 * import(), put that module in the require cache where the SDK's require() finds it, and only
 * then load the SDK.
 */
import path from 'node:path';
import type * as Sdk from '../src';

export async function loadModules(): Promise<{ kubo: typeof import('kubo-rpc-client'); sdk: typeof Sdk }> {
  const kubo = await import('kubo-rpc-client');
  const file = require.resolve('kubo-rpc-client');
  require.cache[file] ??= { id: file, filename: file, path: path.dirname(file), loaded: true, exports: kubo, children: [], paths: [] } as unknown as NodeJS.Module;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  return { kubo, sdk: require('../src') as typeof Sdk };
}
