// The `unit` jest project runs on the default crypto backend (mcl), chosen as every entry
// point chooses it, before a test makes its first point.
import { ready } from '../../crypto/src/backend';

beforeAll(() => ready());
