import type { Contract } from '@hyperledger/fabric-gateway';
import { mapGatewayError } from './errors';

const utf8 = new TextDecoder();

export interface PageOptions {
  /** 1..100, default 20. */
  pageSize?: number;
  /** From the previous page; omit for the first. */
  bookmark?: string;
}

/** Submits and evaluates chaincode transactions as JSON, mapping every failure to an SDK error. */
export abstract class ContractClient {
  constructor(protected readonly contract: Contract) {}

  /** Endorses, orders and waits for the commit; answers the parsed JSON result. */
  protected async submit<T>(name: string, ...args: string[]): Promise<T> {
    try {
      return JSON.parse(utf8.decode(await this.contract.submitTransaction(name, ...args))) as T;
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  /** Queries one peer without ordering. */
  protected async evaluate<T>(name: string, ...args: string[]): Promise<T> {
    try {
      return JSON.parse(utf8.decode(await this.contract.evaluateTransaction(name, ...args))) as T;
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  protected static page(options: PageOptions): [string, string] {
    return [String(options.pageSize ?? 20), options.bookmark ?? ''];
  }
}
