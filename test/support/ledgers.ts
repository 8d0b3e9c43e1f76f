/**
 * What the fault tests watch on the live network: a steady load through the gateways (which
 * transactions the client saw commit, and when), every peer's ledger block by block (through
 * the peer's own Deliver service), the orderers' ledgers (straight from each orderer, not
 * through the deliver proxies), and the checks that tie them together.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { common, msp, orderer, peer } from '@hyperledger/fabric-protos';
import { connectGateway, endorseAndOrder, loadProfile, walletIdentity, type EmrConnection } from '../../client/src';
import { seekEnvelope, type SigningIdentity } from '../../network/bench/envelopes';
import { caCertOf, mspDirOf } from '../../network/src/ca';
import { blockHash, signedPayloads } from '../../network/src/deliver-proxy/blocks';
import { isBft } from '../../network/src/ordering';
import { stateDir } from '../../network/src/paths';
import { hostnameOf, type OrdererSpec, type Topology } from '../../network/src/topology';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// ------------------------------------------------------------------ the load

export interface LoadTx {
  txId?: string;
  org: string;
  submittedAt: number;
  committedAt?: number;
  /** Committed with a successful status (VALID), as the client saw it. */
  ok: boolean;
  failure?: string;
}

/**
 * bench:PutState transactions at `ratePerS`, by the member orgs' admins in turn, each awaited to
 * its commit status; a slow or failing network delays or fails transactions, not the rate.
 */
export class Load {
  readonly txs: LoadTx[] = [];
  private running = true;
  private readonly pending = new Set<Promise<void>>();
  private readonly loop: Promise<void>;
  private seq = 0;

  constructor(private readonly connections: EmrConnection[], ratePerS: number) {
    this.loop = this.run(1000 / ratePerS);
  }

  private async run(intervalMs: number): Promise<void> {
    while (this.running) {
      const c = this.connections[this.seq % this.connections.length]!;
      const p = this.one(c, `fault-${process.pid}-${this.seq++}`);
      this.pending.add(p);
      void p.finally(() => this.pending.delete(p));
      await sleep(intervalMs);
    }
  }

  private async one(c: EmrConnection, key: string): Promise<void> {
    const tx: LoadTx = { org: c.org, submittedAt: Date.now(), ok: false };
    this.txs.push(tx);
    try {
      // As the SDK submits: a BFT 'request already processed' refusal is not a failure.
      const { commit } = await endorseAndOrder(c, 'bench:PutState', { arguments: [key] });
      tx.txId = commit.getTransactionId();
      const status = await commit.getStatus();
      tx.committedAt = Date.now();
      tx.ok = status.successful;
      if (!status.successful) tx.failure = `validation code ${status.code}`;
    } catch (error) {
      tx.failure = (error as Error).message.split('\n')[0];
    }
  }

  /** Transactions the client saw commit successfully. */
  committed(): (LoadTx & { txId: string; committedAt: number })[] {
    return this.txs.filter((t): t is LoadTx & { txId: string; committedAt: number } => t.ok && t.txId !== undefined && t.committedAt !== undefined);
  }

  /** When the first transaction submitted at or after `t` committed; undefined while none has. */
  firstCommitOfTxSubmittedAfter(t: number): number | undefined {
    const times = this.committed().filter((x) => x.submittedAt >= t).map((x) => x.committedAt);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  failures(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const t of this.txs) if (t.failure) out[t.failure] = (out[t.failure] ?? 0) + 1;
    return out;
  }

  async stop(): Promise<void> {
    this.running = false;
    await this.loop;
    await Promise.all([...this.pending]);
  }
}

// ------------------------------------------------------------------ peers' ledgers

export interface SeenBlock {
  number: number;
  hash: string;
  previousHash: string;
  /** tx id → validation code (TRANSACTIONS_FILTER), as the peer committed it. */
  txs: Map<string, number>;
  block: common.Block;
  receivedAt: number;
}

/** Every tx id of a block with the validation code the committing peer gave it. */
export function txsOf(block: common.Block): Map<string, number> {
  const filter = block.getMetadata()?.getMetadataList_asU8()[common.BlockMetadataIndex.TRANSACTIONS_FILTER] ?? new Uint8Array();
  const txs = new Map<string, number>();
  (block.getData()?.getDataList_asU8() ?? []).forEach((env, i) => {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(env).getPayload_asU8());
    const txId = common.ChannelHeader.deserializeBinary(payload.getHeader()!.getChannelHeader_asU8()).getTxId();
    if (txId) txs.set(txId, filter[i] ?? -1);
  });
  return txs;
}

const seen = (block: common.Block, receivedAt: number): SeenBlock => ({
  number: block.getHeader()!.getNumber(),
  hash: blockHash(block).toString('hex'),
  previousHash: Buffer.from(block.getHeader()!.getPreviousHash_asU8()).toString('hex'),
  txs: txsOf(block),
  block,
  receivedAt,
});

/** One peer's committed blocks from `from` on, as its Deliver service streams them, with their arrival times. */
export class PeerLedger {
  readonly blocks: SeenBlock[] = [];
  error?: string;
  private readonly ended: Promise<void>;
  private closing = false;
  private events?: { close(): void };

  constructor(readonly org: string, private readonly connection: EmrConnection, channel: string, readonly from = 0) {
    this.ended = this.follow(channel);
  }

  private async follow(channel: string): Promise<void> {
    const events = await this.connection.gateway.getNetwork(channel).getBlockEvents({ startBlock: BigInt(this.from) });
    this.events = events;
    if (this.closing) events.close();
    try {
      for await (const block of events) this.blocks.push(seen(block as unknown as common.Block, Date.now()));
    } catch (error) {
      if (!this.closing) this.error = `${this.org}'s peer block stream: ${(error as Error).message}`;
    } finally {
      events.close();
    }
  }

  get height(): number {
    return this.from + this.blocks.length;
  }

  /** Block number `n`, once the peer has it. */
  at(n: number): SeenBlock | undefined {
    return this.blocks[n - this.from];
  }

  /** Ends the block stream (closing the connection alone leaves an open call behind). */
  async close(): Promise<void> {
    this.closing = true;
    this.events?.close();
    await this.ended.catch(() => undefined);
    this.connection.close();
  }
}

/** Every member's peer, from block `from` on (what a test's own transactions can be in). */
export function watchPeers(t: Topology, from = 0): PeerLedger[] {
  return t.members.map((m) => new PeerLedger(m.name, connectGateway({ org: m.name, user: 'admin', profile: stateDir }), t.channel, from));
}

// ------------------------------------------------------------------ orderers' ledgers

/** Deliver straight from the orderers' own client ports (never through a proxy), as a member org's admin. */
export class OrdererLedgers {
  private readonly identity: SigningIdentity;
  private readonly clients = new Map<string, grpc.Client>();

  constructor(private readonly t: Topology) {
    const profile = loadProfile(stateDir);
    const org = t.members[0]!.name;
    const id = walletIdentity(profile.orgs[org]!, org, 'admin');
    this.identity = { ...id.identity, signer: id.signer };
  }

  /**
   * A plain client with its own (de)serializers: the generated AtomicBroadcastClient checks
   * `instanceof common.Envelope`, which fails across jest's module registries.
   */
  private client(o: OrdererSpec): grpc.Client {
    if (!this.clients.has(o.name)) {
      const oo = this.t.ordererOrg;
      const creds = grpc.credentials.createSsl(readFileSync(caCertOf(oo)));
      this.clients.set(o.name, new grpc.Client(`${this.t.host}:${o.port}`, creds, { 'grpc.ssl_target_name_override': hostnameOf(o, oo), 'grpc.max_receive_message_length': -1 }));
    }
    return this.clients.get(o.name)!;
  }

  /** Blocks `from` to `to` (or to the newest) from one orderer; fails on any status but SUCCESS. */
  async blocks(o: OrdererSpec, from: number | 'newest', to: number | 'newest', timeoutMs = 15_000): Promise<common.Block[]> {
    const seek = await seekEnvelope(this.identity, this.t.channel, from, to, false);
    const call = this.client(o).makeBidiStreamRequest(
      '/orderer.AtomicBroadcast/Deliver',
      (env: common.Envelope) => Buffer.from(env.serializeBinary()),
      (bytes: Buffer) => orderer.DeliverResponse.deserializeBinary(bytes),
      new grpc.Metadata(),
      { deadline: Date.now() + timeoutMs },
    );
    const out: common.Block[] = [];
    return new Promise((resolve, reject) => {
      call.on('data', (r: orderer.DeliverResponse) => {
        const block = r.getBlock();
        if (block) out.push(block);
        else {
          const status = r.getStatus();
          call.cancel();
          if (status === common.Status.SUCCESS) resolve(out);
          else reject(new Error(`${o.name}: deliver of blocks ${from}..${to} ended with status ${status}`));
        }
      });
      call.on('error', (e: grpc.ServiceError) => {
        if (e.code !== grpc.status.CANCELLED) reject(new Error(`${o.name}: deliver: ${e.message}`));
      });
      call.write(seek);
    });
  }

  /** The orderer's ledger height (its newest block's number + 1). */
  async height(o: OrdererSpec): Promise<number> {
    const [newest] = await this.blocks(o, 'newest', 'newest', 5000);
    return newest!.getHeader()!.getNumber() + 1;
  }

  close(): void {
    for (const c of this.clients.values()) c.close();
  }
}

// ------------------------------------------------------------------ checks

/** The channel's block signers: consenter id → enrolment certificate key (the ConsenterMapping's identities). */
export function consenterKeys(t: Topology): Map<number, KeyObject> {
  const oo = t.ordererOrg;
  return new Map(oo.orderers.map((o) => [o.consenterId, createPublicKey(readFileSync(path.join(mspDirOf(oo, o.name), 'signcerts', 'cert.pem')))]));
}

/**
 * How many distinct orderers validly signed the block (ECDSA over SHA-256 of the signed payload,
 * as protoutil.BlockSignatureVerifier checks it): BFT blocks name the consenter by id, Raft
 * blocks carry the orderer's serialized identity.
 */
export function validSigners(block: common.Block, keys: Map<number, KeyObject>, ordererMsp: string): number {
  const signers = new Set<string>();
  for (const s of signedPayloads(block)) {
    let key: KeyObject | undefined;
    let who: string;
    if (s.consenterId !== undefined) {
      key = keys.get(s.consenterId);
      who = `consenter ${s.consenterId}`;
    } else {
      const id = msp.SerializedIdentity.deserializeBinary(s.creator!);
      if (id.getMspid() !== ordererMsp) continue;
      key = createPublicKey(Buffer.from(id.getIdBytes_asU8()));
      who = Buffer.from(id.getIdBytes_asU8()).toString('base64');
    }
    if (key && verify('sha256', s.payload, key, Buffer.from(s.signature))) signers.add(who);
  }
  return signers.size;
}

/** Blocks a peer may accept: a BFT quorum ⌈(n + f + 1)/2⌉ of consenters, or one orderer under Raft. */
export const requiredSigners = (t: Topology): number => {
  const n = t.ordererOrg.orderers.length;
  return isBft(t.ordering) ? Math.ceil((n + Math.floor((n - 1) / 3) + 1) / 2) : 1;
};

export interface LedgerCheck {
  committed: number;
  peerHeights: Record<string, number>;
  comparedHeight: number;
  txIdsPerPeer: Record<string, number>;
}

/**
 * The acceptance of every fault: each transaction the client saw commit is VALID in every
 * peer's ledger; each peer's chain is gap-free and hash-linked; all peers hold identical block
 * hashes at every height they share, equal to every orderer's own block there; every block a
 * peer holds (after the genesis block) carries enough valid orderer signatures. Waits up to
 * `timeoutMs` for the peers to hold every committed transaction, then throws the first
 * violation it finds.
 */
export async function checkLedgers(t: Topology, load: Load, peers: PeerLedger[], orderers: OrdererLedgers, timeoutMs = 30_000): Promise<LedgerCheck> {
  const committed = load.committed();
  const missing = () =>
    peers.flatMap((p) => {
      const have = new Map<string, number>();
      for (const b of p.blocks) for (const [id, code] of b.txs) if (!have.has(id) || code === peer.TxValidationCode.VALID) have.set(id, code);
      return committed.filter((c) => have.get(c.txId) !== peer.TxValidationCode.VALID).map((c) => `${c.txId} (${c.org}) not VALID in ${p.org}'s ledger (code ${have.get(c.txId) ?? 'absent'})`);
    });
  const deadline = Date.now() + timeoutMs;
  while (missing().length > 0 && Date.now() < deadline) await sleep(250);
  const problems: string[] = [...missing().slice(0, 10), ...peers.filter((p) => p.error).map((p) => p.error!)];

  const keys = consenterKeys(t);
  const need = requiredSigners(t);
  for (const p of peers) {
    p.blocks.forEach((b, i) => {
      const n = p.from + i;
      if (b.number !== n) problems.push(`${p.org}: block at position ${n} is number ${b.number} (a gap or a repeat)`);
      if (i > 0 && b.previousHash !== p.blocks[i - 1]!.hash) problems.push(`${p.org}: block ${n}'s previous hash does not name block ${n - 1}`);
      if (n > 0) {
        const signers = validSigners(b.block, keys, t.ordererOrg.mspId);
        if (signers < need) problems.push(`${p.org}: block ${n} carries ${signers} valid orderer signatures, fewer than ${need}`);
      }
    });
  }
  const from = Math.max(...peers.map((p) => p.from));
  const height = Math.min(...peers.map((p) => p.height));
  for (let n = from; n < height; n++) {
    const hashes = new Set(peers.map((p) => p.at(n)!.hash));
    if (hashes.size !== 1) problems.push(`block ${n} differs between peers: ${peers.map((p) => `${p.org} ${p.at(n)!.hash.slice(0, 12)}`).join(', ')}`);
  }
  for (const o of t.ordererOrg.orderers) {
    if (height <= from) break;
    const blocks = await orderers.blocks(o, from, height - 1, 60_000);
    if (blocks.length !== height - from) problems.push(`${o.name} delivered ${blocks.length} blocks of ${from}..${height - 1}`);
    blocks.forEach((b, i) => {
      const h = blockHash(b).toString('hex');
      const ours = peers[0]!.at(from + i)!.hash;
      if (h !== ours) problems.push(`${o.name}'s block ${from + i} (${h.slice(0, 12)}) differs from the peers' (${ours.slice(0, 12)})`);
    });
  }
  if (problems.length > 0) throw new Error(`ledger check failed:\n  ${problems.slice(0, 20).join('\n  ')}`);
  return {
    committed: committed.length,
    peerHeights: Object.fromEntries(peers.map((p) => [p.org, p.height])),
    comparedHeight: height,
    txIdsPerPeer: Object.fromEntries(peers.map((p) => [p.org, p.blocks.reduce((n, b) => n + b.txs.size, 0)])),
  };
}
