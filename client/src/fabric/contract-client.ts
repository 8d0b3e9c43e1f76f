import { GatewayError, type Contract, type ProposalOptions } from '@hyperledger/fabric-gateway';
import type { EmrConnection } from './connection';
import { commitFailure, mapGatewayError } from './errors';

const utf8 = new TextDecoder();

const peersDisagree = (err: unknown): boolean =>
  err instanceof GatewayError && err.details.some((d) => d.message.includes('ProposalResponsePayloads do not match'));

/**
 * Runs a submission, mapping failures to SDK errors. Peers that have not all committed the
 * latest block yet endorse from different states; they agree again within a block, so the
 * proposal (never ordered) is simply made again.
 */
async function retryWhilePeersDisagree<T>(submit: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await submit();
    } catch (err) {
      if (attempt >= 4 || !peersDisagree(err)) throw mapGatewayError(err);
      await new Promise((r) => setTimeout(r, 250 * attempt));
    }
  }
}

export interface PageOptions {
  /** 1..100, default 20. */
  pageSize?: number;
  /** From the previous page; omit for the first. */
  bookmark?: string;
}

/** Every item of a paged list, fetched a full page (100) at a time. */
export async function allPages<P extends { bookmark: string }, T>(page: (options: PageOptions) => Promise<P>, items: (p: P) => T[]): Promise<T[]> {
  const out: T[] = [];
  for (let bookmark = ''; ; ) {
    const p = await page({ pageSize: 100, bookmark });
    out.push(...items(p));
    if (!p.bookmark) return out;
    bookmark = p.bookmark;
  }
}

/** What the typed clients need of a connection: the contract, the caller (org, enrollment id) and his signing key. */
export type ContractConnection = Pick<EmrConnection, 'contract' | 'mspId' | 'user' | 'sign'>;

/** Submits and evaluates chaincode transactions as JSON, mapping every failure to an SDK error. */
export abstract class ContractClient {
  protected readonly contract: Contract;

  constructor(protected readonly connection: ContractConnection) {
    this.contract = connection.contract;
  }

  /** Endorses, orders and waits for the commit; answers the parsed JSON result. */
  protected submit<T>(name: string, ...args: string[]): Promise<T> {
    return this.submitWith(name, { arguments: args });
  }

  /** As submit, with transient data or chosen endorsing orgs. */
  protected submitWith<T>(name: string, options: ProposalOptions): Promise<T> {
    return retryWhilePeersDisagree(async () => JSON.parse(utf8.decode(await this.contract.submit(name, options))) as T);
  }

  /**
   * Endorses and hands the transaction to the orderer, answering the endorsed result at once;
   * `committed` settles when the peers validated it (rejects with MvccConflictError or
   * TransactionInvalidError). For log entries whose commit nobody needs to wait for.
   */
  protected async submitAsync<T>(name: string, ...args: string[]): Promise<{ result: T; committed: Promise<void> }> {
    const tx = await retryWhilePeersDisagree(() => this.contract.submitAsync(name, { arguments: args }));
    const committed = tx.getStatus().then(
      (status) => {
        if (!status.successful) throw commitFailure(status.transactionId, status.code);
      },
      (err: unknown) => {
        throw mapGatewayError(err);
      },
    );
    committed.catch(() => undefined); // the caller decides whether to wait; never unhandled
    return { result: JSON.parse(utf8.decode(tx.getResult())) as T, committed };
  }

  /** Queries one peer without ordering. */
  protected evaluate<T>(name: string, ...args: string[]): Promise<T> {
    return this.evaluateWith(name, { arguments: args });
  }

  protected async evaluateWith<T>(name: string, options: ProposalOptions): Promise<T> {
    try {
      return JSON.parse(utf8.decode(await this.contract.evaluate(name, options))) as T;
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  /**
   * Private to the caller's org: its transient data goes to its own peers only, and a
   * transaction writing only its implicit collection needs only them to endorse.
   */
  protected ownOrgOnly(args: string[], transient: Record<string, string> = {}): ProposalOptions {
    const transientData = Object.fromEntries(Object.entries(transient).map(([k, v]) => [k, new TextEncoder().encode(v)]));
    return { arguments: args, transientData, endorsingOrganizations: [this.connection.mspId] };
  }

  protected static page(options: PageOptions): [string, string] {
    return [String(options.pageSize ?? 20), options.bookmark ?? ''];
  }
}
