/**
 * Record ciphertext on the consortium's private IPFS swarm through `kubo-rpc-client`.
 * An upload streams into the hospital's node and one other org's node at once (both must
 * agree on the CIDv1), so the record survives either node; a read tries the reader's own
 * node first (it fetches from any holder over bitswap), then every other node.
 */
import { PassThrough, type Readable } from 'node:stream';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { ContentUnavailableError, IntegrityError, ServiceUnavailableError } from './errors';

export interface IpfsNode {
  org: string;
  api: string;
}

export interface StoredContent {
  cid: string;
  /** Orgs whose node pinned it. */
  pinnedOn: string[];
}

/** kubo-rpc-client is ESM-only: loaded when first used (Node 20 requires it natively; jest transpiles it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kubo = (): typeof import('kubo-rpc-client') => require('kubo-rpc-client');

/** Kubo's add options for records: CIDv1, raw leaves, 1 MiB chunks, pinned. */
const ADD_OPTIONS = { cidVersion: 1, rawLeaves: true, chunker: 'size-1048576', pin: true } as const;

export class IpfsStore {
  private readonly clients = new Map<string, KuboRPCClient>();

  /** `nodes[0]` is the caller's own org's node. */
  constructor(private readonly nodes: IpfsNode[]) {
    if (nodes.length === 0) throw new Error('no IPFS nodes in the connection profile');
  }

  private client(node: IpfsNode): KuboRPCClient {
    let c = this.clients.get(node.org);
    if (!c) this.clients.set(node.org, (c = kubo().create({ url: `${node.api}/api/v0`, timeout: 600_000 })));
    return c;
  }

  private async reachable(node: IpfsNode): Promise<boolean> {
    try {
      await this.client(node).id({ timeout: 2000 });
      return true;
    } catch {
      return false;
    }
  }

  /**
   * Adds a stream to the own node and the first reachable other node in parallel; both pin.
   * Fails (and unpins what was added) unless both agree on the CID.
   */
  async add(source: Readable): Promise<StoredContent> {
    const [own, ...others] = this.nodes;
    if (!(await this.reachable(own!))) throw new ServiceUnavailableError(`ipfs-${own!.org}`, `the IPFS node of ${own!.org} (${own!.api}) is unreachable`);
    let replica: IpfsNode | undefined;
    for (const o of others) if (await this.reachable(o)) { replica = o; break; }
    if (!replica) throw new ServiceUnavailableError('ipfs', `no other org's IPFS node is reachable to hold a replica (tried ${others.map((o) => o.org).join(', ')})`);
    const targets = [own!, replica];
    const branches = targets.map(() => new PassThrough({ highWaterMark: 1 << 20 }));
    // Tee with back-pressure: the source pauses while either branch is full.
    source.on('data', (chunk: Buffer) => {
      const full = branches.map((b) => !b.write(chunk)).some(Boolean);
      if (full) {
        source.pause();
        let waiting = branches.filter((b) => b.writableNeedDrain).length;
        for (const b of branches) if (b.writableNeedDrain) b.once('drain', () => --waiting === 0 && source.resume());
      }
    });
    source.on('end', () => branches.forEach((b) => b.end()));
    source.on('error', (err) => branches.forEach((b) => b.destroy(err)));
    const results = await Promise.allSettled(targets.map((node, i) => this.client(node).add(branches[i]!, ADD_OPTIONS)));
    const cids = results.map((r) => (r.status === 'fulfilled' ? r.value.cid.toString() : undefined));
    const added = targets.filter((_, i) => cids[i]);
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed || cids[0] !== cids[1]) {
      for (const [i, node] of targets.entries()) if (cids[i]) await this.unpinOn(node, cids[i]!).catch(() => undefined);
      if (failed) throw failed.reason instanceof Error && /source|cipher|segment/i.test(failed.reason.message) ? failed.reason : new ServiceUnavailableError('ipfs', `adding to IPFS failed: ${(failed.reason as Error).message}`, { cause: failed.reason });
      throw new IntegrityError(`the two IPFS nodes computed different CIDs (${cids.join(' vs ')})`);
    }
    return { cid: cids[0]!, pinnedOn: added.map((n) => n.org) };
  }

  /** The content as a stream, from the first node (own first) that holds it pinned. */
  async cat(cid: string): Promise<AsyncIterable<Uint8Array>> {
    const failures: string[] = [];
    for (const node of this.nodes) {
      if (await this.holds(node, cid)) return this.client(node).cat(cid as never, { timeout: 600_000 });
      failures.push(`${node.org}: ${(await this.reachable(node)) ? 'does not hold it' : 'unreachable'}`);
    }
    throw new ContentUnavailableError(cid, `no IPFS node could serve ${cid} (${failures.join('; ')})`);
  }

  /** Whether the node has the content pinned (a local answer: no swarm search). */
  async holds(node: IpfsNode, cid: string): Promise<boolean> {
    try {
      for await (const _ of this.client(node).pin.ls({ paths: [cid as never], timeout: 5000 })) return true;
      return false;
    } catch {
      return false;
    }
  }

  async unpinOn(node: IpfsNode, cid: string): Promise<void> {
    try {
      await this.client(node).pin.rm(cid as never);
    } catch (err) {
      if (!/not pinned/i.test((err as Error).message)) throw err;
    }
  }

  /** Unpins everywhere and collects garbage; reports the nodes it could not reach. */
  async erase(cid: string): Promise<{ erasedOn: string[]; unreachable: string[] }> {
    const erasedOn: string[] = [];
    const unreachable: string[] = [];
    for (const node of this.nodes) {
      try {
        await this.unpinOn(node, cid);
        for await (const _ of this.client(node).repo.gc()) void _;
        erasedOn.push(node.org);
      } catch {
        unreachable.push(node.org);
      }
    }
    return { erasedOn, unreachable };
  }
}
