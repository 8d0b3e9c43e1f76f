import { status as GrpcStatus } from '@grpc/grpc-js';
import { GatewayError, type Commit, type Contract, type ProposalOptions, type Status } from '@hyperledger/fabric-gateway';
import { gateway as gatewayProtos, msp } from '@hyperledger/fabric-protos';
import { encodeArgument, type Argument, type EvaluateName, type SubmitName, type TransactionArgs, type TransactionName, type TransactionResult, type TransactionTransient } from '@emr/protocol';
import { DEFAULT_TIMEOUTS, type EmrConnection } from './connection';
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

/**
 * Under Fabric BFT the gateway sends a transaction to every orderer and needs a quorum of them
 * to accept it. An orderer that already ordered it (its peers forwarded it, and the block was
 * cut before the gateway's own copy arrived) refuses the copy as 'request already processed',
 * and with two such refusals of four the gateway reports a failed submit for a transaction
 * that is being committed. Seen on fresh networks, whose gateway connections to some
 * orderers are still being set up.
 */
const alreadyOrdered = (err: unknown): boolean =>
  err instanceof GatewayError && err.details.length > 0 && err.details.every((d) => d.message.includes('request already processed'));

/** A commit status request for a transaction the caller submitted (the gateway signs it when asked). */
function commitOf(connection: ContractConnection, transactionId: string): Commit {
  const creator = new msp.SerializedIdentity();
  creator.setMspid(connection.mspId);
  creator.setIdBytes(Buffer.from(connection.certificate, 'utf8'));
  const request = new gatewayProtos.CommitStatusRequest();
  request.setTransactionId(transactionId);
  request.setChannelId(connection.channel);
  request.setIdentity(creator.serializeBinary());
  const signed = new gatewayProtos.SignedCommitStatusRequest();
  signed.setRequest(request.serializeBinary());
  return connection.gateway.newCommit(signed.serializeBinary());
}

/** A transaction handed to the ordering service: its endorsed result, its commit, and a way to hand the same signed transaction over again. */
export interface Ordered {
  result: Uint8Array;
  commit: Commit;
  resubmit: () => Promise<void>;
}

/**
 * Endorses a transaction and hands it to the ordering service. Errors are the gateway's
 * own; the typed clients below map them.
 */
export async function endorseAndOrder(connection: ContractConnection, name: string, options: ProposalOptions): Promise<Ordered> {
  const tx = await connection.contract.newProposal(name, options).endorse();
  const resubmit = async () => {
    await tx.submit().catch((err: unknown) => {
      if (!alreadyOrdered(err)) throw err;
    });
  };
  try {
    return { result: tx.getResult(), commit: await tx.submit(), resubmit };
  } catch (err) {
    if (!alreadyOrdered(err)) throw err;
    return { result: tx.getResult(), commit: commitOf(connection, tx.getTransactionId()), resubmit };
  }
}

/** How long a commit status may keep the caller waiting before the transaction goes to the ordering service again. */
export const COMMIT_STALL_MS = 10_000;
const isDeadline = (err: unknown) => err instanceof GatewayError && err.code === GrpcStatus.DEADLINE_EXCEEDED;

/**
 * The commit status of an ordered transaction. The ordering service can accept a
 * transaction and still lose it: a Raft leader that dies before replicating it, a BFT
 * leader replaced before it proposes it. Its status then never comes. So after `stallMs`
 * without one, the same signed transaction (the same id) is handed over again, until the
 * connection's commit-status deadline. If the first copy was ordered after all, the second
 * is refused as already processed or committed as a duplicate that the peers invalidate,
 * and the status is the first copy's.
 */
export async function commitStatus(ordered: Ordered, totalMs: number, stallMs = COMMIT_STALL_MS): Promise<Status> {
  const deadline = Date.now() + totalMs;
  for (;;) {
    try {
      return await ordered.commit.getStatus({ deadline: Math.min(Date.now() + stallMs, deadline) });
    } catch (err) {
      if (!isDeadline(err) || Date.now() >= deadline) throw err;
    }
    // A failure to hand it over again (the orderers are still down) leaves the first copy to wait for.
    await ordered.resubmit().catch(() => undefined);
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
export type ContractConnection = Pick<EmrConnection, 'gateway' | 'channel' | 'contract' | 'mspId' | 'enrollmentId' | 'certificate' | 'sign'> & Partial<Pick<EmrConnection, 'commitStatusMs' | 'sm2PublicKey'>>;

/** A transaction's canonical JSON answer, typed by @emr/protocol's table. */
const decode = <N extends TransactionName>(bytes: Uint8Array): TransactionResult<N> => JSON.parse(utf8.decode(bytes)) as TransactionResult<N>;
const encodeArguments = (args: readonly Argument[]): string[] => args.map(encodeArgument);

/**
 * Submits and evaluates chaincode transactions by @emr/protocol's names: the arguments are
 * checked against the transaction's table entry and the answer has its result type. Every
 * failure is mapped to an SDK error.
 */
export abstract class ContractClient {
  protected readonly contract: Contract;

  constructor(protected readonly connection: ContractConnection) {
    this.contract = connection.contract;
  }

  private get commitStatusMs(): number {
    return this.connection.commitStatusMs ?? DEFAULT_TIMEOUTS.commitStatus;
  }

  /** Endorses, orders and waits for the commit; answers the parsed JSON result. */
  protected submit<N extends SubmitName>(name: N, ...args: TransactionArgs<N>): Promise<TransactionResult<N>> {
    return this.submitWith(name, { arguments: encodeArguments(args) });
  }

  /**
   * As submit, private to the caller's org: its transient data goes to its own peers only,
   * and a transaction writing only its implicit collection needs only them to endorse.
   */
  protected submitOwnOrg<N extends SubmitName>(name: N, args: TransactionArgs<N>, transient: TransactionTransient<N>): Promise<TransactionResult<N>> {
    return this.submitWith(name, this.ownOrgOnly(args, transient));
  }

  /** As submit, with transient data for every endorser (a record's link: never on the ledger). */
  protected submitTransient<N extends SubmitName>(name: N, args: TransactionArgs<N>, transient: TransactionTransient<N>): Promise<TransactionResult<N>> {
    return this.submitWith(name, { arguments: encodeArguments(args), transientData: transientData(transient) });
  }

  private submitWith<N extends SubmitName>(name: N, options: ProposalOptions): Promise<TransactionResult<N>> {
    return retryWhilePeersDisagree(async () => {
      const ordered = await endorseAndOrder(this.connection, name, options);
      const status = await commitStatus(ordered, this.commitStatusMs);
      if (!status.successful) throw commitFailure(status.transactionId, status.code);
      return decode<N>(ordered.result);
    });
  }

  /**
   * Endorses and hands the transaction to the orderer, answering the endorsed result at once;
   * `committed` settles when the peers validated it (rejects with MvccConflictError or
   * TransactionInvalidError). For log entries whose commit nobody needs to wait for.
   */
  protected async submitAsync<N extends SubmitName>(name: N, ...args: TransactionArgs<N>): Promise<{ result: TransactionResult<N>; committed: Promise<void> }> {
    const ordered = await retryWhilePeersDisagree(() => endorseAndOrder(this.connection, name, { arguments: encodeArguments(args) }));
    const committed = commitStatus(ordered, this.commitStatusMs).then(
      (status) => {
        if (!status.successful) throw commitFailure(status.transactionId, status.code);
      },
      (err: unknown) => {
        throw mapGatewayError(err);
      },
    );
    committed.catch(() => undefined); // the caller decides whether to wait; never unhandled
    return { result: decode<N>(ordered.result), committed };
  }

  /** Queries one peer without ordering. */
  protected evaluate<N extends EvaluateName>(name: N, ...args: TransactionArgs<N>): Promise<TransactionResult<N>> {
    return this.evaluateWith(name, { arguments: encodeArguments(args) });
  }

  /** As evaluate, on a peer of the caller's own org (what only it holds: its implicit collection). */
  protected evaluateOwnOrg<N extends EvaluateName>(name: N, ...args: TransactionArgs<N>): Promise<TransactionResult<N>> {
    return this.evaluateWith(name, this.ownOrgOnly(args, {}));
  }

  /** As evaluate, with transient data for the peer. */
  protected evaluateTransient<N extends EvaluateName>(name: N, args: TransactionArgs<N>, transient: TransactionTransient<N>): Promise<TransactionResult<N>> {
    return this.evaluateWith(name, { arguments: encodeArguments(args), transientData: transientData(transient) });
  }

  private async evaluateWith<N extends EvaluateName>(name: N, options: ProposalOptions): Promise<TransactionResult<N>> {
    try {
      return decode<N>(await this.contract.evaluate(name, options));
    } catch (err) {
      throw mapGatewayError(err);
    }
  }

  private ownOrgOnly(args: readonly Argument[], transient: Record<string, Argument>): ProposalOptions {
    return { arguments: encodeArguments(args), transientData: transientData(transient), endorsingOrganizations: [this.connection.mspId] };
  }

  protected static page(options: PageOptions): [pageSize: number, bookmark: string] {
    return [options.pageSize ?? 20, options.bookmark ?? ''];
  }
}

/** Transient data as the gateway takes it; an absent (undefined) entry is left out. */
function transientData(transient: Record<string, Argument | undefined>): Record<string, Uint8Array> {
  return Object.fromEntries(Object.entries(transient).flatMap(([k, v]) => (v === undefined ? [] : [[k, new TextEncoder().encode(encodeArgument(v))]])));
}
