// The `unit-mcl` jest project runs the crypto property tests again on the mcl backend.
import { useBackend } from '../../client/src/crypto/backend';

beforeAll(() => useBackend('mcl'));
