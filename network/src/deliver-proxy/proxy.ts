/**
 * Deliver proxies: one gRPC server on loopback in front of each orderer's client port, which
 * the peers dial instead of the orderer (their `addressOverrides`, fabric-config.ts). It serves
 * the orderer's own TLS certificate, so the peers accept it as that orderer, and forwards
 * AtomicBroadcast byte for byte: Broadcast always, Deliver as the orderer's current mode says.
 * A byzantine orderer without changing Fabric: switch one proxy to
 *
 * | mode | Deliver streams get |
 * |---|---|
 * | `honest` | the orderer's responses unchanged |
 * | `garbage-signatures` | each block with its SIGNATURES signatures replaced by random bytes |
 * | `withhold` | nothing more (blocks, headers and statuses dropped), the stream left open |
 * | `equivocate` | each block replaced by another at the same height (blocks.ts), still carrying the original signatures |
 * | `refuse` | closed at once with UNAVAILABLE, open ones as well |
 *
 * Every stream's first request is decoded only to learn who asks (the creator's MSP) and for
 * what (full blocks or headers with signatures), so that a test can tell which peers pull
 * their blocks from which orderer.
 */
import * as grpc from '@grpc/grpc-js';
import { common, msp, orderer } from '@hyperledger/fabric-protos';
import { equivocate, garbleSignatures } from './blocks';

export const PROXY_MODES = ['honest', 'garbage-signatures', 'withhold', 'equivocate', 'refuse'] as const;
export type ProxyMode = (typeof PROXY_MODES)[number];

export function parseProxyMode(value: unknown): ProxyMode {
  const mode = PROXY_MODES.find((m) => m === value);
  if (!mode) throw new Error(`unknown deliver proxy mode '${String(value)}'; choose one of ${PROXY_MODES.join(', ')}`);
  return mode;
}

export interface ProxyTarget {
  /** The orderer's name (orderer<k>). */
  name: string;
  listenPort: number;
  /** The orderer's client port on the same host. */
  targetPort: number;
  /** Its TLS pair, PEM: the proxy stands in for it. */
  certPem: string;
  keyPem: string;
  /** The name the orderer's certificate is checked against on the upstream connection. */
  tlsHostname: string;
}

export interface ProxyConfig {
  host: string;
  /** The orderer org's TLS root, PEM: the upstream connection checks the orderer with it. */
  caPem: string;
  targets: ProxyTarget[];
}

export interface DeliverStream {
  id: number;
  /** The MSP of the requester (a peer's org), when its request parsed. */
  mspId?: string;
  /** `block` (full blocks) or `header` (headers with signatures: a BFT peer's censorship watch). */
  content?: 'block' | 'header';
  openedAt: number;
}

export interface ProxyStats {
  mode: ProxyMode;
  /** Since the proxy started. */
  deliverStreams: number;
  broadcastStreams: number;
  /** Deliver responses carrying a block (or header) passed on unchanged, mutated, or dropped. */
  forwarded: number;
  mutated: number;
  withheld: number;
  /** Mutated blocks sent on full-block streams (what a block source serves). */
  mutatedOnBlockStreams: number;
  refused: number;
  /** Deliver streams open now. */
  open: DeliverStream[];
}

type Bytes = Buffer;
const identity = (b: Bytes) => b;
const passthrough = {
  requestSerialize: identity,
  requestDeserialize: identity,
  responseSerialize: identity,
  responseDeserialize: identity,
};
const SERVICE: grpc.ServiceDefinition = {
  Broadcast: { path: '/orderer.AtomicBroadcast/Broadcast', requestStream: true, responseStream: true, originalName: 'broadcast', ...passthrough },
  Deliver: { path: '/orderer.AtomicBroadcast/Deliver', requestStream: true, responseStream: true, originalName: 'deliver', ...passthrough },
};
const CHANNEL_OPTIONS = { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 };

/** Who asks for what, from a Deliver request envelope (undefined parts when it does not parse). */
export function describeSeek(envelope: Bytes): Pick<DeliverStream, 'mspId' | 'content'> {
  try {
    const payload = common.Payload.deserializeBinary(common.Envelope.deserializeBinary(envelope).getPayload_asU8());
    const sigHeader = common.SignatureHeader.deserializeBinary(payload.getHeader()!.getSignatureHeader_asU8());
    const mspId = msp.SerializedIdentity.deserializeBinary(sigHeader.getCreator_asU8()).getMspid();
    const seek = orderer.SeekInfo.deserializeBinary(payload.getData_asU8());
    return { mspId, content: seek.getContentType() === orderer.SeekInfo.SeekContentType.HEADER_WITH_SIG ? 'header' : 'block' };
  } catch {
    return {};
  }
}

/** What a mode makes of one Deliver response: the bytes to send, or undefined to drop it. */
export function applyMode(mode: ProxyMode, response: Bytes): { out?: Bytes; kind: 'forwarded' | 'mutated' | 'withheld' | 'status' } {
  if (mode === 'honest' || mode === 'refuse') return { out: response, kind: 'forwarded' };
  const decoded = orderer.DeliverResponse.deserializeBinary(response);
  const block = decoded.getBlock();
  if (mode === 'withhold') return { kind: block ? 'withheld' : 'status' };
  if (!block) return { out: response, kind: 'status' };
  const changed = mode === 'garbage-signatures' ? garbleSignatures(block) : equivocate(block);
  const reply = new orderer.DeliverResponse();
  reply.setBlock(changed);
  return { out: Buffer.from(reply.serializeBinary()), kind: 'mutated' };
}

interface Lane {
  target: ProxyTarget;
  server: grpc.Server;
  upstream: grpc.Client;
  stats: Omit<ProxyStats, 'open'>;
  open: Map<number, { stream: DeliverStream; close: (why: string) => void }>;
}

export class DeliverProxies {
  private readonly lanes = new Map<string, Lane>();
  private nextStream = 1;

  constructor(private readonly config: ProxyConfig) {}

  async start(): Promise<void> {
    const upstreamCreds = grpc.credentials.createSsl(Buffer.from(this.config.caPem));
    for (const target of this.config.targets) {
      const upstream = new grpc.Client(`${this.config.host}:${target.targetPort}`, upstreamCreds, { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': target.tlsHostname });
      const server = new grpc.Server({ ...CHANNEL_OPTIONS, 'grpc.keepalive_permit_without_calls': 1 });
      const lane: Lane = {
        target,
        server,
        upstream,
        stats: { mode: 'honest', deliverStreams: 0, broadcastStreams: 0, forwarded: 0, mutated: 0, withheld: 0, mutatedOnBlockStreams: 0, refused: 0 },
        open: new Map(),
      };
      server.addService(SERVICE, {
        Broadcast: (call: grpc.ServerDuplexStream<Bytes, Bytes>) => this.broadcast(lane, call),
        Deliver: (call: grpc.ServerDuplexStream<Bytes, Bytes>) => this.deliver(lane, call),
      });
      const creds = grpc.ServerCredentials.createSsl(null, [{ cert_chain: Buffer.from(target.certPem), private_key: Buffer.from(target.keyPem) }], false);
      await new Promise<void>((resolve, reject) => server.bindAsync(`${this.config.host}:${target.listenPort}`, creds, (err) => (err ? reject(err) : resolve())));
      this.lanes.set(target.name, lane);
    }
  }

  private lane(name: string): Lane {
    const lane = this.lanes.get(name);
    if (!lane) throw new Error(`no deliver proxy for '${name}'; the proxies serve ${[...this.lanes.keys()].join(', ')}`);
    return lane;
  }

  setMode(name: string, mode: ProxyMode): void {
    const lane = this.lane(name);
    lane.stats.mode = mode;
    if (mode === 'refuse') for (const s of [...lane.open.values()]) s.close(`${name} refuses to deliver`);
  }

  stats(): Record<string, ProxyStats> {
    return Object.fromEntries([...this.lanes].map(([name, l]) => [name, { ...l.stats, open: [...l.open.values()].map((o) => o.stream) }]));
  }

  async stop(): Promise<void> {
    for (const lane of this.lanes.values()) {
      for (const s of lane.open.values()) s.close('proxy stopping');
      lane.upstream.close();
      await new Promise<void>((resolve) => lane.server.tryShutdown(() => resolve()));
    }
  }

  /** Broadcast: bytes both ways, whatever the mode. */
  private broadcast(lane: Lane, call: grpc.ServerDuplexStream<Bytes, Bytes>): void {
    lane.stats.broadcastStreams++;
    this.pipe(lane, call, (b) => call.write(b), () => undefined);
  }

  private deliver(lane: Lane, call: grpc.ServerDuplexStream<Bytes, Bytes>): void {
    lane.stats.deliverStreams++;
    if (lane.stats.mode === 'refuse') {
      lane.stats.refused++;
      call.emit('error', { code: grpc.status.UNAVAILABLE, details: `${lane.target.name} refuses to deliver` });
      return;
    }
    const stream: DeliverStream = { id: this.nextStream++, openedAt: Date.now() };
    let described = false;
    const { close } = this.pipe(
      lane,
      call,
      (response) => {
        const { out, kind } = applyMode(lane.stats.mode, response);
        if (kind === 'forwarded') lane.stats.forwarded++;
        else if (kind === 'withheld') lane.stats.withheld++;
        else if (kind === 'mutated') {
          lane.stats.mutated++;
          if (stream.content === 'block') lane.stats.mutatedOnBlockStreams++;
        }
        if (out) call.write(out);
      },
      (request) => {
        if (described) return;
        described = true;
        Object.assign(stream, describeSeek(request));
      },
      () => lane.open.delete(stream.id),
    );
    lane.open.set(stream.id, { stream, close });
  }

  /**
   * Opens the upstream call and copies requests up and responses down; ends each side when
   * the other ends, and passes an upstream error (an orderer killed) to the client.
   */
  private pipe(lane: Lane, call: grpc.ServerDuplexStream<Bytes, Bytes>, down: (b: Bytes) => void, up: (b: Bytes) => void, done: () => void = () => undefined) {
    const path = call.getPath();
    const upstream = lane.upstream.makeBidiStreamRequest<Bytes, Bytes>(path, identity, identity);
    let finished = false;
    const finish = (error?: { code: grpc.status; details: string }) => {
      if (finished) return;
      finished = true;
      done();
      try {
        if (error) call.emit('error', error);
        else call.end();
      } catch {
        /* the client went away first */
      }
      upstream.cancel();
    };
    upstream.on('data', (b: Bytes) => {
      if (!finished) down(b);
    });
    upstream.on('end', () => finish());
    upstream.on('error', (e: grpc.ServiceError) => finish({ code: e.code ?? grpc.status.UNAVAILABLE, details: `${lane.target.name}: ${e.details ?? e.message}` }));
    call.on('data', (b: Bytes) => {
      up(b);
      upstream.write(b);
    });
    call.on('end', () => upstream.end());
    call.on('cancelled', () => finish());
    call.on('error', () => finish());
    return { close: (why: string) => finish({ code: grpc.status.UNAVAILABLE, details: why }) };
  }
}
