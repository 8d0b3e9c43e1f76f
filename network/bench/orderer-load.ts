/**
 * tsx network/bench/orderer-load.ts --count N (--rate N | --window N) [--size BYTES]
 *   [--to all|leader|ordererK] [--streams N|each] [--deliver-from ordererK] [--seconds S] [--drain S]
 *   [--org HospitalA --user admin] [--json]
 *
 * The ordering service on its own, on the running network: pre-signed envelopes
 * (envelopes.ts) are broadcast straight to the orderers, over long-lived pipelined
 * Broadcast streams (--streams N per orderer, default 1) or a stream per envelope as
 * Fabric's gateway does (--streams each), and a Deliver client on one orderer times each
 * tx id from its first send to the block that carries it. No peer is on the
 * timed path, so these figures show what the ordering service itself costs; the peers
 * still pull and validate the blocks on the same machine, and mark these transactions
 * INVALID_ENDORSER_TRANSACTION (a Transaction with no actions).
 *
 * Targets follow Fabric's gateway (internal/pkg/gateway/submit.go): under BFT every orderer,
 * an envelope counting as accepted on a quorum ⌈(n + f + 1)/2⌉ of SUCCESS replies; under
 * etcdraft one orderer (the leader by default; a follower forwards), since Raft would order
 * each copy sent to several orderers.
 */
import { performance } from 'node:perf_hooks';
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import * as grpc from '@grpc/grpc-js';
import { common, orderer } from '@hyperledger/fabric-protos';
import { loadProfile, walletIdentity } from '@emr/client';
import { caCertOf } from '../src/ca';
import { consensusView } from '../src/network';
import { isBft } from '../src/ordering';
import { stateDir } from '../src/paths';
import { runningSetting, runningTopology } from '../src/run-state';
import { hostnameOf } from '../src/topology';
import { loadEnvelope, seekNewestEnvelope, txIdsOf, type SignedEnvelope, type SigningIdentity } from './envelopes';
import { quantile } from './stats';

export interface OrdererEndpoint {
  name: string;
  /** host:port of its client (Broadcast/Deliver) listener. */
  address: string;
  /** The name its TLS certificate is checked against. */
  tlsHostname: string;
}

export interface LoadOptions {
  channel: string;
  identity: SigningIdentity;
  /** PEM of the CA that issued the orderers' TLS certificates. */
  tlsRootCert: Buffer;
  /** Every envelope goes to each of these; it is accepted once `quorum` of them reply SUCCESS. */
  targets: OrdererEndpoint[];
  quorum: number;
  /**
   * Long-lived Broadcast streams per target, used in turn (default 1), or 'each': a new
   * stream per envelope, as Fabric's gateway does. An orderer handles one stream's
   * envelopes one after another, but separate streams side by side.
   */
  streams?: number | 'each';
  /** The orderer whose Deliver stream counts blocks and transactions. */
  deliverFrom: OrdererEndpoint;
  count: number;
  /** Size of each transaction body (the envelope adds the headers and the signature). */
  bodyBytes: number;
  /** Open loop at this many envelopes per second, or closed loop with `window` envelopes sent and not yet delivered. */
  rate?: number;
  window?: number;
  /** Offering stops after this long; then the accepted envelopes have `drainSeconds` to be delivered. */
  maxSeconds: number;
  drainSeconds: number;
}

export interface LatencyStats {
  p50: number;
  p99: number;
  mean: number;
  max: number;
}

export interface LoadResult {
  targets: string[];
  quorum: number;
  streams: number | 'each';
  deliverFrom: string;
  offered: { rate?: number; window?: number; count: number; bodyBytes: number; envelopeBytes: number };
  sent: number;
  /** Reached a quorum of SUCCESS replies / could no longer reach it. */
  accepted: number;
  rejected: number;
  /** Distinct load transactions seen in delivered blocks. */
  delivered: number;
  /** Accepted, but in no block by the end of the drain. */
  missing: number;
  /** Load transactions ordered more than once (a copy per orderer that was not deduplicated). */
  duplicates: number;
  /** Transactions of other clients in the blocks delivered meanwhile. */
  otherTxs: number;
  /** From the first send to the last, and sent / that span: the offered rate achieved. */
  sendSeconds: number;
  sendRate: number;
  /** Ordered load transactions per second over the steady window (steadyThroughput). */
  throughput: number;
  /** First send → delivery of its block, per delivered transaction. */
  latencyMs: LatencyStats;
  /** Blocks delivered with at least one load transaction, and load transactions per such block. */
  blocks: number;
  txsPerBlock: { mean: number; max: number };
  /**
   * Every Broadcast reply, by status: SUCCESS included; STREAM_ERROR when a stream broke;
   * UNREAD_AFTER_REFUSAL for what a pipelined stream held behind a refused envelope.
   */
  replies: Record<string, number>;
  errors: string[];
}

// ---------------------------------------------------------------- statistics

export function latencyStats(samples: readonly number[]): LatencyStats {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((s, x) => s + x, 0) / sorted.length;
  return { p50: quantile(sorted, 0.5), p99: quantile(sorted, 0.99), mean, max: sorted[sorted.length - 1] ?? Number.NaN };
}

/**
 * Transactions per second between the first and the last block carrying load (times in ms):
 * the first block's transactions were gathered before the window opens, so they are left
 * out. With one block only, its transactions over the time since the first send.
 */
export function steadyThroughput(blocks: readonly { at: number; txs: number }[], firstSendAt: number): number {
  if (blocks.length === 0) return 0;
  const first = blocks[0]!;
  const last = blocks[blocks.length - 1]!;
  if (blocks.length === 1) return last.at > firstSendAt ? (last.txs * 1000) / (last.at - firstSendAt) : 0;
  const txs = blocks.slice(1).reduce((s, b) => s + b.txs, 0);
  return last.at > first.at ? (txs * 1000) / (last.at - first.at) : 0;
}

/** Fabric's BFT quorum (internal/pkg/gateway/submit.go, common/policies/bft.go). */
export const bftQuorum = (n: number): number => Math.ceil((n + Math.floor((n - 1) / 3) + 1) / 2);

const statusName = (code: number): string => Object.entries(common.Status).find(([, v]) => v === code)?.[0] ?? `STATUS_${code}`;

// ---------------------------------------------------------------- streams

/** Sends one envelope to one orderer and resolves with the status of its reply. */
interface Broadcaster {
  send(envelope: common.Envelope): Promise<string>;
  close(): void;
}

/**
 * One long-lived Broadcast stream, pipelined: the orderer answers a stream's envelopes in
 * order, so replies match a FIFO of waiters. Fabric's orderer stops reading a stream after
 * any reply other than SUCCESS (orderer/common/broadcast/broadcast.go, Handle): the
 * envelopes sent after that one are reported UNREAD_AFTER_REFUSAL, not sent again (under
 * SmartBFT, where followers refuse what is already ordered, sending again cascades), and
 * the next send opens a new stream. A broken stream fails its waiters (STREAM_ERROR).
 */
class PipelinedStream implements Broadcaster {
  private readonly waiting: ((status: string) => void)[] = [];
  private call: grpc.ClientDuplexStream<common.Envelope, orderer.BroadcastResponse> | undefined;
  private closed = false;

  constructor(
    private readonly client: orderer.AtomicBroadcastClient,
    private readonly name: string,
    private readonly errors: string[],
  ) {}

  private open(): grpc.ClientDuplexStream<common.Envelope, orderer.BroadcastResponse> {
    const call = this.client.broadcast();
    this.call = call;
    // Events of a stream already given up (e.g. a late "write after end") concern nobody.
    const current = () => this.call === call && !this.closed;
    const drop = (status: string) => {
      this.call = undefined;
      for (const w of this.waiting.splice(0)) w(status);
    };
    call.on('data', (r: orderer.BroadcastResponse) => {
      if (!current()) return;
      const status = statusName(r.getStatus());
      this.waiting.shift()?.(status);
      if (status !== 'SUCCESS') {
        call.end();
        drop('UNREAD_AFTER_REFUSAL');
      }
    });
    const fail = (why: string) => {
      if (!current()) return;
      this.errors.push(`broadcast to ${this.name}: ${why}`);
      drop('STREAM_ERROR');
    };
    call.on('end', () => fail('stream ended by the orderer'));
    call.on('error', (e: Error) => fail(e.message));
    return call;
  }

  send(envelope: common.Envelope): Promise<string> {
    return new Promise((resolve) => {
      this.waiting.push(resolve);
      (this.call ?? this.open()).write(envelope);
    });
  }

  close(): void {
    this.closed = true;
    this.call?.end();
  }
}

/** A new Broadcast stream per envelope, as Fabric's gateway does (internal/pkg/gateway/submit.go). */
class StreamPerEnvelope implements Broadcaster {
  constructor(
    private readonly client: orderer.AtomicBroadcastClient,
    private readonly name: string,
    private readonly errors: string[],
  ) {}

  send(envelope: common.Envelope): Promise<string> {
    return new Promise((resolve) => {
      const call = this.client.broadcast();
      let done = false;
      const finish = (status: string) => {
        if (done) return;
        done = true;
        call.end();
        resolve(status);
      };
      call.on('data', (r: orderer.BroadcastResponse) => finish(statusName(r.getStatus())));
      call.on('error', (e: Error) => {
        if (!done) this.errors.push(`broadcast to ${this.name}: ${e.message}`);
        finish('STREAM_ERROR');
      });
      call.write(envelope);
    });
  }

  close(): void {}
}

/**
 * A Deliver stream from the newest block on. The first block it sends existed before the
 * load started, so it only marks the stream as ready; `onBlock` gets every later one.
 */
function deliverStream(client: orderer.AtomicBroadcastClient, seek: common.Envelope, onBlock: (block: common.Block, at: number) => void, errors: string[]) {
  const call = client.deliver();
  let closing = false;
  const ready = new Promise<void>((resolve, reject) => {
    let first = true;
    call.on('data', (r: orderer.DeliverResponse) => {
      const block = r.getBlock();
      if (!block) {
        const why = `deliver ended with status ${statusName(r.getStatus())}`;
        errors.push(why);
        reject(new Error(why));
      } else if (first) {
        first = false;
        resolve();
      } else onBlock(block, performance.now());
    });
    call.on('error', (e: Error) => {
      if (closing) return;
      errors.push(`deliver: ${e.message}`);
      reject(e);
    });
  });
  call.write(seek);
  return {
    ready,
    close() {
      closing = true;
      call.cancel();
    },
  };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

// ---------------------------------------------------------------- the load

export async function ordererLoad(o: LoadOptions): Promise<LoadResult> {
  if ((o.rate === undefined) === (o.window === undefined)) throw new Error('give exactly one of rate (open loop) and window (closed loop)');
  if (o.quorum < 1 || o.quorum > o.targets.length) throw new Error(`quorum ${o.quorum} is not between 1 and the ${o.targets.length} targets`);
  // Signed beforehand, so that client-side signing does not limit the rate under test.
  const envelopes: SignedEnvelope[] = [];
  for (let i = 0; i < o.count; i++) envelopes.push(await loadEnvelope(o.identity, o.channel, o.bodyBytes));

  const credentials = grpc.credentials.createSsl(o.tlsRootCert);
  const clients = new Map<string, orderer.AtomicBroadcastClient>();
  const clientOf = (e: OrdererEndpoint) => {
    if (!clients.has(e.name)) {
      clients.set(e.name, new orderer.AtomicBroadcastClient(e.address, credentials, { 'grpc.ssl_target_name_override': e.tlsHostname, 'grpc.max_receive_message_length': -1 }));
    }
    return clients.get(e.name)!;
  };

  const errors: string[] = [];
  const replies: Record<string, number> = {};
  const sentAt = new Map<string, number>();
  const acceptedIds = new Set<string>();
  const delivered = new Set<string>();
  const latencies: number[] = [];
  const blocks: { at: number; txs: number }[] = [];
  let rejected = 0;
  let awaitedReplies = 0;
  let duplicates = 0;
  let otherTxs = 0;
  let next = 0;
  let firstSendAt = Number.NaN;
  let lastSendAt = Number.NaN;

  // One envelope to every target, each on its next stream in turn.
  const offerOne = (perTarget: Broadcaster[][]) => {
    const streams = perTarget.map((group) => group[next % group.length]!);
    const { txId, envelope } = envelopes[next++]!;
    lastSendAt = performance.now();
    if (next === 1) firstSendAt = lastSendAt;
    sentAt.set(txId, lastSendAt);
    let ok = 0;
    let bad = 0;
    for (const s of streams) {
      awaitedReplies++;
      void s.send(envelope).then((status) => {
        awaitedReplies--;
        replies[status] = (replies[status] ?? 0) + 1;
        if (status === 'SUCCESS') ok++;
        else bad++;
        // Decided by the reply that reaches the quorum, or by the one that makes it unreachable.
        if (status === 'SUCCESS' && ok === o.quorum) acceptedIds.add(txId);
        if (status !== 'SUCCESS' && bad === streams.length - o.quorum + 1) rejected++;
      });
    }
  };

  let pump = () => {};
  const deliver = deliverStream(
    clientOf(o.deliverFrom),
    await seekNewestEnvelope(o.identity, o.channel),
    (block, at) => {
      let mine = 0;
      for (const id of txIdsOf(block)) {
        const t0 = sentAt.get(id);
        if (t0 === undefined) otherTxs++;
        else if (delivered.has(id)) duplicates++;
        else {
          delivered.add(id);
          latencies.push(at - t0);
          mine++;
        }
      }
      if (mine > 0) blocks.push({ at, txs: mine });
      pump();
    },
    errors,
  );
  const streams: Broadcaster[][] = [];
  try {
    await deliver.ready;
    const kind = o.streams ?? 1;
    streams.push(
      ...o.targets.map((t) =>
        kind === 'each' ? [new StreamPerEnvelope(clientOf(t), t.name, errors)] : Array.from({ length: kind }, () => new PipelinedStream(clientOf(t), t.name, errors)),
      ),
    );
    const start = performance.now();
    const offerUntil = start + o.maxSeconds * 1000;
    const offering = () => next < o.count && performance.now() < offerUntil;

    if (o.window !== undefined) {
      const window = o.window;
      pump = () => {
        while (offering() && next - delivered.size - rejected < window) offerOne(streams);
      };
      pump();
      while (offering()) await sleep(20); // blocks refill the window; this only watches the clock
    } else {
      const rate = o.rate!;
      while (offering()) {
        const due = Math.min(o.count, Math.floor(((performance.now() - start) * rate) / 1000) + 1);
        while (next < due) offerOne(streams);
        await sleep(Math.max(1, start + (next * 1000) / rate - performance.now()));
      }
    }
    pump = () => {};

    const drainUntil = performance.now() + o.drainSeconds * 1000;
    // Every reply in (so that `replies` is complete) and every accepted envelope in a block.
    const settled = () => awaitedReplies === 0 && [...acceptedIds].every((id) => delivered.has(id));
    while (!settled() && performance.now() < drainUntil) await sleep(20);
  } finally {
    for (const s of streams.flat()) s.close();
    deliver.close();
    for (const c of clients.values()) c.close();
  }

  const sendSeconds = (lastSendAt - firstSendAt) / 1000;
  return {
    targets: o.targets.map((t) => t.name),
    quorum: o.quorum,
    streams: o.streams ?? 1,
    deliverFrom: o.deliverFrom.name,
    offered: {
      ...(o.rate !== undefined ? { rate: o.rate } : { window: o.window! }),
      count: o.count,
      bodyBytes: o.bodyBytes,
      envelopeBytes: envelopes[0]?.envelope.serializeBinary().length ?? 0,
    },
    sent: next,
    accepted: acceptedIds.size,
    rejected,
    delivered: delivered.size,
    missing: [...acceptedIds].filter((id) => !delivered.has(id)).length,
    duplicates,
    otherTxs,
    sendSeconds: next > 0 ? sendSeconds : 0,
    sendRate: sendSeconds > 0 ? (next - 1) / sendSeconds : 0,
    throughput: steadyThroughput(blocks, firstSendAt),
    latencyMs: latencyStats(latencies),
    blocks: blocks.length,
    txsPerBlock: { mean: blocks.length ? delivered.size / blocks.length : 0, max: Math.max(0, ...blocks.map((b) => b.txs)) },
    replies,
    errors,
  };
}

// ---------------------------------------------------------------- on the running network

export interface NetworkLoadRequest {
  count: number;
  bodyBytes: number;
  rate?: number;
  window?: number;
  /** `all` (default under BFT), `leader` (default under etcdraft) or an orderer's name. */
  to?: string;
  /** Default: the first target. */
  deliverFrom?: string;
  streams?: number | 'each';
  /** The signing identity, a wallet entry: HospitalA's admin by default. */
  org?: string;
  user?: string;
  maxSeconds?: number;
  drainSeconds?: number;
}

/** Resolves a request against the running network's ordering setting, wallet and orderers. */
export async function networkLoadOptions(req: NetworkLoadRequest): Promise<LoadOptions> {
  const setting = runningSetting();
  if (!setting) throw new Error(`no network state under ${stateDir}: run \`npm run network -- up\` first`);
  const t = runningTopology();
  const oo = t.ordererOrg;
  const endpoint = (name: string): OrdererEndpoint => {
    const spec = oo.orderers.find((x) => x.name === name);
    if (!spec) throw new Error(`unknown orderer '${name}'; the network has ${oo.orderers.map((x) => x.name).join(', ')}`);
    return { name, address: `${t.host}:${spec.port}`, tlsHostname: hostnameOf(spec, oo) };
  };
  const to = req.to ?? (isBft(setting.ordering) ? 'all' : 'leader');
  let targets: OrdererEndpoint[];
  if (to === 'all') {
    if (!isBft(setting.ordering)) throw new Error('etcdraft orders every copy it receives: send to one orderer (--to leader or a name)');
    targets = oo.orderers.map((x) => endpoint(x.name));
  } else if (to === 'leader') {
    const leader = (await consensusView(t)).leader;
    if (!leader) throw new Error('the ordering service reports no agreed leader; name an orderer with --to');
    targets = [endpoint(leader)];
  } else targets = [endpoint(to)];

  const org = req.org ?? 'HospitalA';
  const profile = loadProfile(stateDir);
  const orgProfile = profile.orgs[org];
  if (!orgProfile) throw new Error(`unknown org '${org}'; the profile has ${Object.keys(profile.orgs).join(', ')}`);
  const { identity, signer } = walletIdentity(orgProfile, org, req.user ?? 'admin');
  return {
    channel: profile.channel,
    identity: { ...identity, signer },
    tlsRootCert: readFileSync(caCertOf(oo)),
    targets,
    quorum: targets.length === 1 ? 1 : bftQuorum(oo.orderers.length),
    streams: req.streams,
    deliverFrom: req.deliverFrom ? endpoint(req.deliverFrom) : targets[0]!,
    count: req.count,
    bodyBytes: req.bodyBytes,
    rate: req.rate,
    window: req.window !== undefined ? Math.floor(req.window) : undefined,
    maxSeconds: req.maxSeconds ?? 60,
    drainSeconds: req.drainSeconds ?? 30,
  };
}

export function formatResult(r: LoadResult): string[] {
  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const loop = r.offered.rate !== undefined ? `${r.offered.rate}/s offered` : `closed loop, window ${r.offered.window}`;
  return [
    `orderer load: ${r.offered.count} envelopes of ${r.offered.envelopeBytes} B (body ${r.offered.bodyBytes} B), ${loop}`,
    `  broadcast to ${r.targets.join(', ')} (quorum ${r.quorum}, ${r.streams === 'each' ? 'a stream per envelope' : `${r.streams} stream(s) each`}); blocks from ${r.deliverFrom}`,
    `  sent ${r.sent} in ${r.sendSeconds.toFixed(2)} s (${r.sendRate.toFixed(1)}/s); accepted ${r.accepted}, rejected ${r.rejected}`,
    `  ordered ${r.delivered} (missing ${r.missing}, duplicates ${r.duplicates}, other txs ${r.otherTxs}): ${r.throughput.toFixed(1)} tx/s`,
    `  latency p50 ${ms(r.latencyMs.p50)}, p99 ${ms(r.latencyMs.p99)}, mean ${ms(r.latencyMs.mean)}, max ${ms(r.latencyMs.max)}`,
    `  ${r.blocks} blocks, ${r.txsPerBlock.mean.toFixed(1)} txs per block (max ${r.txsPerBlock.max})`,
    `  replies ${Object.entries(r.replies).map(([s, n]) => `${s} ${n}`).join(', ') || 'none'}`,
    ...r.errors.map((e) => `  error: ${e}`),
  ];
}

// ---------------------------------------------------------------- CLI

async function main(argv: string[]): Promise<void> {
  const text = ['count', 'size', 'rate', 'window', 'to', 'deliver-from', 'streams', 'org', 'user', 'seconds', 'drain'] as const;
  const { values } = parseArgs({ args: argv, options: { json: { type: 'boolean' }, ...Object.fromEntries(text.map((name) => [name, { type: 'string' as const }])) } });
  const value = (name: (typeof text)[number]): string | undefined => (values as Record<string, string | boolean | undefined>)[name] as string | undefined;
  const number = (name: (typeof text)[number], min: number): number | undefined => {
    const v = value(name);
    if (v === undefined) return undefined;
    const n = Number(v);
    if (!Number.isFinite(n) || n < min) throw new Error(`--${name} must be a number ≥ ${min}, got '${v}'`);
    return n;
  };
  const count = number('count', 1);
  if (count === undefined) throw new Error('--count is required');
  const result = await ordererLoad(
    await networkLoadOptions({
      count: Math.floor(count),
      bodyBytes: Math.floor(number('size', 0) ?? 1024),
      rate: number('rate', 0.1),
      window: number('window', 1),
      to: value('to'),
      deliverFrom: value('deliver-from'),
      streams: value('streams') === 'each' ? 'each' : number('streams', 1),
      org: value('org'),
      user: value('user'),
      maxSeconds: number('seconds', 1),
      drainSeconds: number('drain', 0),
    }),
  );
  console.log(values.json === true ? JSON.stringify({ ordering: runningSetting(), ...result }, null, 2) : formatResult(result).join('\n'));
  if (result.errors.length > 0 || result.missing > 0) process.exitCode = 1;
}

if (require.main === module) {
  main(process.argv.slice(2)).catch((e: unknown) => {
    console.error(e instanceof Error ? e.message : e);
    process.exitCode = 1;
  });
}
