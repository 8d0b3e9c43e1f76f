/**
 * Record ciphertext on the consortium's private IPFS swarm. An upload streams into the
 * hospital's node, then a second org's node pins the CID over bitswap, so the record
 * survives either node; a read asks each node (own first) whether it holds the content
 * pinned and streams it from the first that does. Everything but the streamed add goes
 * through `kubo-rpc-client`.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { KuboRPCClient } from 'kubo-rpc-client';
import { ServiceUnavailableError } from '../wire/errors';
import { ContentUnavailableError } from './errors';

export interface IpfsNode {
  org: string;
  api: string;
}

export interface Replication {
  /** Orgs whose node holds the content pinned once replication ended. */
  pinnedOn: string[];
  /** Why no replica could be made (the content is then on the own node only). */
  error?: Error;
}

export interface StoredContent {
  cid: string;
  /** Orgs whose node pinned it. */
  pinnedOn: string[];
}

/** kubo-rpc-client is ESM-only: loaded when first used (Node 20 requires it natively; jest transpiles it). */
// eslint-disable-next-line @typescript-eslint/no-require-imports
const kubo = (): typeof import('kubo-rpc-client') => require('kubo-rpc-client');

/**
 * Kubo's add options for records: CIDv1, raw leaves, 1 MiB chunks, not pinned yet. The pin
 * follows once the CID is known, so a node killed mid-add leaves no pin the uploader cannot
 * name and remove (unpinned blocks go at the next garbage collection).
 */
const ADD_QUERY = 'cid-version=1&raw-leaves=true&chunker=size-1048576&pin=false&quieter=true&progress=false';
/** How long an upload that failed after its pin keeps asking the own node to remove it (the node may be restarting). */
const UNPIN_SETTLE_MS = 30_000;

/**
 * `add` as a streamed multipart upload with back-pressure: memory stays bounded whatever
 * the size (kubo-rpc-client's `add` holds the whole body in memory: +1 GiB for 1 GiB).
 */
function streamAdd(node: IpfsNode, source: Readable): Promise<string> {
  const boundary = `emr-${randomBytes(12).toString('hex')}`;
  const url = new URL(`${node.api}/api/v0/add?${ADD_QUERY}`);
  return new Promise((resolve, reject) => {
    const req = http.request(url, { method: 'POST', headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        const last = body.trim().split('\n').filter(Boolean).pop() ?? '{}';
        const answer = JSON.parse(last) as { Hash?: string; Message?: string };
        if (res.statusCode === 200 && answer.Hash) resolve(answer.Hash);
        else reject(new ServiceUnavailableError(`ipfs-${node.org}`, `ipfs add on ${node.org} failed: HTTP ${res.statusCode} ${answer.Message ?? body.slice(0, 200)}`));
      });
      res.on('error', reject);
    });
    let requestError: Error | undefined;
    req.on('error', (err) => {
      requestError = err;
      reject(new ServiceUnavailableError(`ipfs-${node.org}`, `ipfs add on ${node.org} failed: ${err.message}`, { cause: err }));
    });
    const head = Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="file"; filename="record"\r\nContent-Type: application/octet-stream\r\n\r\n`);
    const tail = Buffer.from(`\r\n--${boundary}--\r\n`);
    async function* body() {
      yield head;
      for await (const chunk of source) yield chunk as Buffer;
      yield tail;
    }
    // A failing source (file, cipher) rejects with its own error; a failing node was answered above.
    pipeline(Readable.from(body()), req).catch((err: Error) => {
      if (err === requestError) return;
      req.destroy(err);
      reject(err);
    });
  });
}

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
   * Streams the content into the own org's node, pins it there by its CID, and starts replicating it to
   * the first reachable other org's node, which pins it by CID over bitswap. `replicated`
   * settles when the replica is pinned (never rejects: a failure is in its `error`).
   */
  async add(source: Readable): Promise<StoredContent & { replicated: Promise<Replication> }> {
    const [own, ...others] = this.nodes;
    const cid = await streamAdd(own!, source);
    try {
      // Local blocks: fast. An erasure's garbage collection on this node between the add and the pin would take them; then this times out and the upload fails (retry it).
      await this.client(own!).pin.add(cid as never, { timeout: 120_000 });
    } catch (err) {
      // The pin may have been made before the answer was lost: remove it once the node answers again.
      await this.unpinWhenBack(own!, cid);
      throw new ServiceUnavailableError(`ipfs-${own!.org}`, `ipfs pin of ${cid} on ${own!.org} failed: ${(err as Error).message.split('\n')[0]}`, { cause: err });
    }
    const replicated = (async (): Promise<Replication> => {
      const failures: string[] = [];
      for (const o of others) {
        try {
          await this.client(o).pin.add(cid as never, { timeout: 600_000 });
          return { pinnedOn: [own!.org, o.org] };
        } catch (err) {
          failures.push(`${o.org}: ${(err as Error).message.split('\n')[0]}`);
        }
      }
      return { pinnedOn: [own!.org], error: new ServiceUnavailableError('ipfs', `no other org's IPFS node pinned a replica of ${cid} (${failures.join('; ')})`) };
    })();
    return { cid, pinnedOn: [own!.org], replicated };
  }

  /** The content as a stream, from the first node (own first) that holds it pinned. */
  async cat(cid: string): Promise<AsyncIterable<Uint8Array>> {
    const failures: string[] = [];
    for (const node of this.nodes) {
      if (await this.holds(node, cid)) return brokenAs(cid, node, this.client(node).cat(cid as never, { timeout: 600_000 }));
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

  /** Unpins on a node, retrying while it does not answer, for up to UNPIN_SETTLE_MS; a node that stays away keeps the pin (and the content). */
  private async unpinWhenBack(node: IpfsNode, cid: string): Promise<void> {
    for (const deadline = Date.now() + UNPIN_SETTLE_MS; Date.now() < deadline; await new Promise((r) => setTimeout(r, 500))) {
      try {
        return await this.unpinOn(node, cid);
      } catch {
        // not back yet
      }
    }
  }

  /** Unpins on every node that answers (an upload that could not be indexed). */
  async unpinEverywhere(cid: string): Promise<void> {
    await Promise.all(this.nodes.map((n) => this.unpinOn(n, cid).catch(() => undefined)));
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

/** A stream that breaks (its node went away mid-read) is content unavailable from there, not content that failed its checks. */
async function* brokenAs(cid: string, node: IpfsNode, source: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
  try {
    yield* source;
  } catch (err) {
    throw new ContentUnavailableError(cid, `the stream of ${cid} from ${node.org}'s IPFS node broke: ${(err as Error).message}`, { cause: err });
  }
}
