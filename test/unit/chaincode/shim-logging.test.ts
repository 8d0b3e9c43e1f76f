import { createRequire } from 'node:module';
import { skipDisabledShimLogLines } from '../../../chaincode/src/shim-logging';

const fromShim = createRequire(require.resolve('fabric-shim'));
const { getLogger } = fromShim('./lib/logger') as { getLogger(name: string): { debug(m: string): void; info(m: string): void; format: { transform(info: unknown): unknown } } };

describe("fabric-shim's log lines below the level", () => {
  it('are dropped before winston formats them; lines at the level are still formatted', () => {
    process.env.CORE_CHAINCODE_LOGGING_LEVEL = 'INFO';
    skipDisabledShimLogLines();
    skipDisabledShimLogLines(); // once per process, however often it is called
    const logger = getLogger('shim-logging-test');
    const formatted = jest.spyOn(logger.format, 'transform').mockImplementation(() => false);
    try {
      logger.debug('not shown');
      expect(formatted).not.toHaveBeenCalled();
      logger.info('shown');
      expect(formatted).toHaveBeenCalledTimes(1);
    } finally {
      formatted.mockRestore();
    }
  });
});
