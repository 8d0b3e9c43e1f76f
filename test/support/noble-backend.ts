// The `unit-noble` jest project runs the crypto property tests again on the pure-JavaScript
// backend, the fallback where WebAssembly cannot load.
import { useBackend } from '../../crypto/src/backend';

beforeAll(() => useBackend('noble'));
