/**
 * fabric-shim logs through winston, which formats every line (timestamp, colours, its
 * arguments as JSON) before the transport drops a line below the level. At the default INFO
 * a transaction pays for about a dozen DEBUG lines nobody sees, more for a transaction with
 * more messages to the peer (docs/chaincode.md#writes-in-one-message-reads-in-one-message-no-hidden-log-lines). This drops such a
 * line before it is formatted; what is logged does not change.
 */
import { createRequire } from 'node:module';

interface WinstonLogger {
  write(info: unknown, ...rest: unknown[]): boolean;
  isLevelEnabled(level: string): boolean;
}

let installed = false;

/** Makes the loggers of fabric-shim's winston skip a line below their level (once per process). */
export function skipDisabledShimLogLines(): void {
  if (installed) return;
  installed = true;
  const winston = createRequire(require.resolve('fabric-shim'))('winston') as { Logger: { prototype: WinstonLogger } };
  const proto = winston.Logger.prototype;
  const write = proto.write;
  proto.write = function (this: WinstonLogger, info: unknown, ...rest: unknown[]): boolean {
    const level = (info as { level?: unknown } | null)?.level;
    if (typeof level === 'string' && !this.isLevelEnabled(level)) return true;
    return write.call(this, info, ...rest);
  };
}
