/**
 * One replica as an OS process: `node replica-process.js <cluster.json> <id>`.
 *
 * Runs the protocol's pure state machine behind the TCP transport. Every input (a peer
 * message, a tick, a client request) yields a Ready; the Readies that arrive while the
 * previous ones are being written are merged (group commit) and handled in the contract's
 * order: persist the last state (state-file.ts: appended to one log, long strings once;
 * fsync when configured), then send the messages, then apply
 * the commits (notify the clients that submitted the requests). `commits.log`, the record
 * the driver checks agreement on, is appended before the state is written. A restarted
 * process resumes from its state file.
 *
 * Started by the cluster driver with an IPC channel: it reports `ready` once both ports
 * listen, answers `stats`, and exits when the driver goes away.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import net, { type Server, type Socket } from 'node:net';
import path from 'node:path';
import { requestKey } from '../core/digest';
import type { ClientRequest, Commit, ConsensusNode, LeaderView, NodeId, Outbound, Ready } from '../core/types';
import { COMMIT_LOG, type ClusterConfig, type CommittedFrame, type DriverMessage, type ReplicaEntry, type ReplicaMessage, type ReplicaStats, type SubmitFrame } from './config';
import { AppendFile } from './append-file';
import { encodeFrame, onJsonFrames } from './framing';
import { loadAuthenticator } from './keys';
import { createProtocol } from '../protocols';
import { StateFile } from './state-file';
import { PeerTransport } from './transport';
import { HostLink } from '../fabric/host-link';

/**
 * What an embedding (the Fabric host link, `src/fabric/host-link.ts`) adds to a replica: it
 * persists each flush's commits before the state that covers them, and it takes the peer
 * messages that are not protocol messages.
 */
export interface ReplicaHooks {
  persistCommits(commits: Commit[]): Promise<void>;
  /** True when `message` was for the hooks (then the protocol never sees it). */
  takePeerMessage(from: NodeId, message: unknown): boolean;
  /** After each flush: who the node now believes leads. */
  observeLeader(view: LeaderView): void;
}

function isClientRequest(value: unknown): value is ClientRequest {
  const r = value as Partial<ClientRequest> | null;
  return typeof r === 'object' && r !== null && typeof r.client === 'string' && Number.isSafeInteger(r.timestamp) && typeof r.operation === 'string';
}

export class Replica {
  private readonly node: ConsensusNode<unknown, unknown>;
  private readonly transport: PeerTransport<unknown>;
  private readonly clientServer: Server;
  private readonly clients = new Set<Socket>();
  /** Who submitted each request not yet committed here: the commit is reported to them. */
  private readonly waiting = new Map<string, Socket>();
  private readonly stateFile: StateFile;
  private readonly commitLog: AppendFile;
  private ticker?: NodeJS.Timeout;
  private pausedClients = false;
  // Readies merged since the last flush started.
  private pendingState: unknown;
  private hasPendingState = false;
  private pendingMessages: Outbound<unknown>[] = [];
  private pendingCommits: Commit[] = [];
  private flushScheduled = false;
  /** A flush is writing to disk: new Readies wait for the next one (group commit). */
  private flushing = false;
  private committedSeq = 0;
  private committedRequests = 0;

  constructor(
    private readonly config: ClusterConfig,
    private readonly entry: ReplicaEntry,
    private readonly hooks?: ReplicaHooks,
  ) {
    mkdirSync(entry.dataDir, { recursive: true });
    this.stateFile = new StateFile(entry.dataDir, config.fsync);
    this.commitLog = new AppendFile(path.join(entry.dataDir, COMMIT_LOG), false);
    const auth = loadAuthenticator(entry.id, entry.privateKey, config.publicKeys);
    const protocol = createProtocol(config.protocol, config.members, config.options);
    const persisted: unknown = this.stateFile.load();
    this.node = protocol.createNode(entry.id, auth, persisted);
    this.transport = new PeerTransport<unknown>({
      self: entry,
      peers: config.replicas.map((r) => ({ id: r.id, host: r.host, port: r.dialPort ?? r.port })),
      auth,
      onMessage: (from, message) => {
        if (this.hooks?.takePeerMessage(from, message) !== true) this.absorb(this.node.step(from, message));
      },
    });
    this.clientServer = net.createServer((socket) => this.serveClient(socket));
  }

  /** Listens on both ports and starts ticking. */
  async start(): Promise<void> {
    await this.transport.start();
    await new Promise<void>((resolve, reject) => {
      this.clientServer.once('error', reject);
      this.clientServer.listen(this.entry.clientPort, this.entry.host, () => resolve());
    });
    this.ticker = setInterval(() => {
      this.absorb(this.node.tick());
      this.applyBackPressure();
    }, this.config.tickMs);
  }

  async stop(): Promise<void> {
    clearInterval(this.ticker);
    for (const socket of this.clients) socket.destroy();
    await Promise.all([this.transport.close(), new Promise<void>((resolve) => this.clientServer.close(() => resolve()))]);
    // Inputs have stopped; let a write in progress finish before its files close.
    for (let waited = 0; (this.flushing || this.flushScheduled) && waited < 5000; waited += 10) await new Promise((r) => setTimeout(r, 10));
    await Promise.all([this.commitLog.close(), this.stateFile.close()]);
  }

  stats(): ReplicaStats {
    return { id: this.entry.id, committedSeq: this.committedSeq, committedRequests: this.committedRequests, ...this.transport.stats };
  }

  /** A request from an embedding (no client socket waits for its commit). */
  submit(request: ClientRequest): void {
    this.absorb(this.node.submit(request));
  }

  /** Sends an out-of-protocol message to a peer over the authenticated transport. */
  sendToPeer(to: NodeId, message: unknown): void {
    this.transport.send(to, message);
  }

  private absorb(ready: Ready<unknown, unknown>): void {
    if (ready.state !== undefined) {
      this.pendingState = ready.state;
      this.hasPendingState = true;
    }
    for (const m of ready.messages) this.pendingMessages.push(m);
    for (const c of ready.commits) this.pendingCommits.push(c);
    this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushing || this.flushScheduled) return;
    if (!this.hasPendingState && this.pendingMessages.length === 0 && this.pendingCommits.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      // A replica that cannot write its state must not go on: crash loudly.
      this.flush().catch((error: unknown) => setImmediate(() => {
        throw error;
      }));
    });
  }

  /**
   * Handles what the Readies since the last flush produced. The disk writes are asynchronous:
   * the node keeps stepping meanwhile, and all it produces goes into the next flush, so one
   * state write covers many inputs under load. Messages still leave only after the state
   * that produced them is on disk.
   */
  private async flush(): Promise<void> {
    this.flushScheduled = false;
    this.flushing = true;
    const messages = this.pendingMessages;
    const commits = this.pendingCommits;
    const persist = this.hasPendingState ? this.stateFile.write(this.pendingState) : undefined;
    this.pendingMessages = [];
    this.pendingCommits = [];
    this.pendingState = undefined;
    this.hasPendingState = false;
    // The log goes first: a crash after the state write must not lose the commits that state covers
    // (a crash before it may log a commit twice, with the same digest, which readers accept).
    if (commits.length > 0) {
      await this.logCommits(commits);
      await this.hooks?.persistCommits(commits);
    }
    if (persist !== undefined) await persist();
    const toSelf: unknown[] = [];
    for (const { to, message } of messages) {
      if (to === this.entry.id) toSelf.push(message);
      else this.transport.send(to, message);
    }
    if (commits.length > 0) this.notifyClients(commits);
    this.hooks?.observeLeader(this.node.leaderView());
    this.flushing = false;
    for (const message of toSelf) this.absorb(this.node.step(this.entry.id, message));
    this.scheduleFlush();
  }

  private async logCommits(commits: Commit[]): Promise<void> {
    let lines = '';
    for (const commit of commits) {
      lines += `${commit.seq} ${commit.digest} ${commit.requests.length}\n`;
      this.committedSeq = Math.max(this.committedSeq, commit.seq);
      this.committedRequests += commit.requests.length;
    }
    await this.commitLog.append(lines);
  }

  private notifyClients(commits: Commit[]): void {
    for (const commit of commits) {
      for (const request of commit.requests) {
        const key = requestKey(request);
        const socket = this.waiting.get(key);
        if (socket === undefined) continue;
        this.waiting.delete(key);
        const reply: CommittedFrame = { client: request.client, timestamp: request.timestamp, seq: commit.seq };
        socket.write(encodeFrame(Buffer.from(JSON.stringify(reply))));
      }
    }
  }

  private serveClient(socket: Socket): void {
    socket.setNoDelay(true);
    this.clients.add(socket);
    if (this.pausedClients) socket.pause();
    onJsonFrames(socket, (value) => {
      const submitted = value as Partial<SubmitFrame> | null;
      if (!isClientRequest(submitted?.request)) return;
      const key = requestKey(submitted.request);
      this.waiting.set(key, socket);
      this.absorb(this.node.submit(submitted.request));
    });
    socket.on('error', () => socket.destroy());
    socket.once('close', () => {
      this.clients.delete(socket);
      for (const [key, waiter] of this.waiting) if (waiter === socket) this.waiting.delete(key);
    });
  }

  /** Stops reading client requests while a peer connection is backed up, so load cannot outrun the network. */
  private applyBackPressure(): void {
    const congested = this.transport.congested();
    if (congested === this.pausedClients) return;
    this.pausedClients = congested;
    for (const socket of this.clients) {
      if (congested) socket.pause();
      else socket.resume();
    }
  }
}

async function main(): Promise<void> {
  const [configPath, idText] = process.argv.slice(2);
  if (configPath === undefined || idText === undefined) throw new Error('usage: replica-process <cluster.json> <id>');
  const config = JSON.parse(readFileSync(configPath, 'utf8')) as ClusterConfig;
  const entry = config.replicas.find((r) => r.id === Number(idText));
  if (entry === undefined) throw new Error(`node ${idText} is not in ${configPath}`);
  const hostLink = entry.hostLinkPort === undefined ? undefined : new HostLink(entry, config.replicas.map((r) => r.id));
  const replica = new Replica(config, entry, hostLink);
  await replica.start();
  await hostLink?.start(replica);
  const report = (message: ReplicaMessage) => process.send?.(message);
  process.on('message', (message: DriverMessage) => {
    if (message.type === 'stats') report({ type: 'stats', stats: replica.stats() });
  });
  // Never outlive the driver: its IPC channel closes when it exits, however it exits.
  process.on('disconnect', () => void replica.stop().finally(() => process.exit(0)));
  for (const signal of ['SIGTERM', 'SIGINT'] as const) process.on(signal, () => void replica.stop().finally(() => process.exit(0)));
  report({ type: 'ready' });
}

if (require.main === module) {
  main().catch((error: unknown) => {
    console.error(error);
    process.exit(1);
  });
}
