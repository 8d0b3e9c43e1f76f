// The `unit-mcl` jest project runs the crypto property tests again on the mcl backend.
import { useBackend } from '../../crypto/src/backend';

beforeAll(() => useBackend('mcl'));
