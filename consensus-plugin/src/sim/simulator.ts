import { canonical, requestKey } from '../core/digest';
import type { Authenticator, ClientRequest, Commit, ConsensusNode, NodeId, Outbound, Protocol, Ready, Vote } from '../core/types';
import { ByzantineMangler } from './byzantine';
import { DEFAULT_LOAD, nextRequest, placeClients, type LoadOptions, type SimClient } from './clients';
import { EventQueue } from './event-queue';
import { byzantineNodes, permanentlyFaulty, stableAtMs, type ByzantineBehaviour, type Fault, type NetworkFault, type Partition } from './faults';
import { InvariantChecker, type Violation, type ViolationKind } from './invariants';
import { overlap, summariseLatency, type Busiest, type SimMetrics } from './metrics';
import { MEMBERSHIP_CLIENT, membershipRequest, type MembershipEvent } from './membership';
import type { Network } from './network';
import { Rng } from './random';

/** Everything one simulated run needs. Times are simulated milliseconds. */
export interface SimulationOptions<M, S> {
  protocol: Protocol<M, S>;
  /** Placement, latency, bandwidth and CPU model; it must place every member and joiner (`nodeCount`). */
  network: Network;
  /** Each node's signer, indexed by node id, joiners included (twins share their node's). */
  authenticators: readonly Authenticator[];
  /** Seeds every random choice of the run (jitter, faults, clients, tick phases). */
  seed: string;
  durationMs: number;
  /** Every node ticks this often (each with its own seeded phase). Default 10. */
  tickMs?: number;
  faults?: readonly Fault[];
  /** Nodes joining and leaving; joiners are honest, and neither kind may also be Byzantine. */
  membership?: readonly MembershipEvent[];
  /** Client load; defaults in `DEFAULT_LOAD`. */
  load?: Partial<LoadOptions>;
  /** Metrics cover [warmupMs, durationMs]. Default 20 % of the run. */
  warmupMs?: number;
  /** Liveness: after stabilising, every request must be committed by every honest node within this. Default 2000. */
  livenessBoundMs?: number;
  /** Record votes and check quorums (costly at n = 1000). Default true. */
  checkQuorums?: boolean;
  /** Called for every send, drop, delivery, commit, crash, restart and submission (tests, debugging). */
  trace?: (event: TraceEvent<M>) => void;
  /** Stop after this many events (the result says so). Default unbounded. */
  maxEvents?: number;
}

export type DropReason = 'loss' | 'partition' | 'down' | 'twin-cut';

/** What the simulator observed; `twin` marks the second instance of a twinned node. */
export type TraceEvent<M> =
  | { kind: 'send'; atMs: number; from: NodeId; to: NodeId; message: M; bytes: number; arriveAtMs: number; duplicate: boolean; twin: boolean }
  | { kind: 'drop'; atMs: number; from: NodeId; to: NodeId; message: M; reason: DropReason }
  | { kind: 'deliver'; atMs: number; from: NodeId; to: NodeId; message: M; twin: boolean }
  | { kind: 'commit'; atMs: number; node: NodeId; commit: Commit; byzantine: boolean }
  | { kind: 'crash' | 'restart'; atMs: number; node: NodeId }
  /** A joiner started, or a leaver stopped after committing its removal. */
  | { kind: 'join' | 'leave'; atMs: number; node: NodeId }
  | { kind: 'submit'; atMs: number; node: NodeId; request: ClientRequest };

export interface SimulationResult {
  /** Kept violations (up to 20 per kind), safety first. */
  violations: Violation[];
  /** All violations found, per kind. */
  violationCounts: Partial<Record<ViolationKind, number>>;
  metrics: SimMetrics;
  eventsProcessed: number;
  /** Hash of every processed event (time, kind, nodes, sizes): equal seeds give equal hashes. */
  traceHash: string;
  /** When the network stabilised (Infinity if a partition never heals); liveness is judged from here. */
  stableAtMs: number;
  /** `maxEvents` cut the run short (liveness then judged up to where it stopped). */
  truncated: boolean;
}

/** Run one simulation to the end. */
export function simulate<M, S>(options: SimulationOptions<M, S>): SimulationResult {
  return new Simulation(options).run();
}

type InboxItem<M> = { kind: 'message'; from: NodeId; message: M; bytes: number } | { kind: 'request'; request: ClientRequest; bytes: number };

/** One running copy of a node (a twinned node has two). */
interface Instance<M, S> {
  readonly id: NodeId;
  readonly twin: boolean;
  node: ConsensusNode<M, S> | undefined;
  persisted: S | undefined;
  /** Bumped on crash and restart, so events meant for an earlier life are ignored. */
  incarnation: number;
  cpuFreeAt: number;
  uplinkFreeAt: number;
  inbox: InboxItem<M>[];
  inboxHead: number;
  wakePending: boolean;
  cpuBusy: number;
  uplinkBusy: number;
  mangler: ByzantineMangler<M> | undefined;
  /** Twins: the only nodes this instance talks to. */
  reach: ReadonlySet<NodeId> | undefined;
}

type SimEvent<M, S> =
  | { kind: 'arrive'; to: Instance<M, S>; item: InboxItem<M>; incarnation: number }
  | { kind: 'cpu'; instance: Instance<M, S>; incarnation: number }
  | { kind: 'tick'; instance: Instance<M, S>; incarnation: number }
  | { kind: 'client'; client: SimClient }
  | { kind: 'retry'; key: string }
  | { kind: 'crash' | 'restart'; node: NodeId }
  | { kind: 'join' | 'leave'; node: NodeId; request: ClientRequest };

interface Pending {
  client: SimClient;
  request: ClientRequest;
  submittedAtMs: number;
  /** Re-sent to every node: from then on any honest node's commit completes it, not only the target's. */
  retried: boolean;
}

const KIND_CODE = { arrive: 1, cpu: 2, tick: 3, client: 4, retry: 5, crash: 6, restart: 7, join: 8, leave: 9 } as const;

/**
 * The discrete-event simulator. Each node has one CPU (inbound messages and requests queue
 * for it, `cpuMs(bytes)` each; a step's messages leave when its CPU work ends) and one
 * uplink (its messages queue FIFO for `transmitMs(bytes)` each, then travel with sampled
 * latency). Faults and Byzantine behaviours come from the schedule; invariants are checked
 * on every honest commit. A partition cuts a message when it is sent (it never uses the
 * uplink); a lost message is transmitted, then vanishes; a message to a crashed node is
 * dropped on arrival. Client requests use the clients' own links, not the nodes' uplinks.
 */
export class Simulation<M, S> {
  private readonly protocol: Protocol<M, S>;
  private readonly network: Network;
  private readonly queue = new EventQueue<SimEvent<M, S>>();
  private readonly primary: Instance<M, S>[] = [];
  private readonly twins = new Map<NodeId, Instance<M, S>>();
  private readonly behaviours: Map<NodeId, ByzantineBehaviour>;
  private readonly partitions: { side: ReadonlySet<NodeId>; atMs: number; healAtMs: number }[];
  private readonly networkFaults: NetworkFault[];
  private readonly checker: InvariantChecker;
  private readonly load: LoadOptions;
  private readonly clients: SimClient[];
  private readonly pending = new Map<string, Pending>();
  /** The nodes that are members or on their way in or out, genesis first, then joiners as they start. */
  private readonly present: Set<NodeId>;
  /** The requests of `membership` events by operation, and the leaving nodes. */
  private readonly changeRequests = new Map<string, MembershipEvent>();
  private readonly leaving = new Set<NodeId>();
  private readonly joinTickRng: Rng;
  private readonly sizes = new WeakMap<object, number>();
  private readonly netRng: Rng;
  private readonly clientRng: Rng;
  private readonly tickMs: number;
  private readonly windowStart: number;
  private readonly windowEnd: number;
  private readonly stableAt: number;
  private readonly trace: ((event: TraceEvent<M>) => void) | undefined;
  private now = 0;
  private events = 0;
  private hashA = 0x811c9dc5;
  private hashB = 0x01000193;
  private lastVoteMessage: M | undefined;
  private lastVoteSender = -1;
  private readonly honestSeq = new Map<NodeId, number>();
  private readonly latencies: number[] = [];
  private readonly counters = {
    batches: 0,
    requestsCommitted: 0,
    messages: 0,
    bytes: 0,
    delivered: 0,
    dropped: { loss: 0, partition: 0, down: 0, twinCut: 0 },
    duplicated: 0,
    reordered: 0,
    crashes: 0,
    restarts: 0,
  };

  constructor(private readonly options: SimulationOptions<M, S>) {
    this.protocol = options.protocol;
    this.network = options.network;
    const membership = options.membership ?? [];
    for (const id of [...this.protocol.members, ...membership.map((e) => e.node)]) {
      if (!Number.isInteger(id) || id < 0 || id >= this.network.nodeCount) throw new Error(`node ${id} is outside the network (${this.network.nodeCount} nodes)`);
      if (!options.authenticators[id]) throw new Error(`node ${id} has no authenticator`);
    }
    const faults = options.faults ?? [];
    const rng = new Rng(options.seed).fork('simulation');
    this.joinTickRng = rng.fork('join-ticks');
    this.present = new Set(this.protocol.members);
    this.netRng = rng.fork('network');
    this.clientRng = rng.fork('clients');
    this.tickMs = options.tickMs ?? 10;
    this.windowStart = options.warmupMs ?? 0.2 * options.durationMs;
    this.windowEnd = options.durationMs;
    this.stableAt = stableAtMs(faults);
    this.trace = options.trace;
    this.behaviours = byzantineNodes(faults);
    this.partitions = faults
      .filter((f): f is Partition => f.kind === 'partition')
      .map((f) => ({ side: new Set(f.side), atMs: f.atMs, healAtMs: f.healAtMs ?? Infinity }));
    this.networkFaults = faults.filter((f): f is NetworkFault => f.kind === 'loss' || f.kind === 'duplicate' || f.kind === 'reorder');
    const faulty = permanentlyFaulty(faults);
    const changing = changingMembers(membership, this.protocol.members, faulty, this.behaviours);
    this.checker = new InvariantChecker({
      quorumFor: (commit) => this.protocol.quorumFor(commit),
      livenessNodes: new Set(this.protocol.members.filter((id) => !faulty.has(id) && !changing.has(id))),
      byzantine: new Set(this.behaviours.keys()),
      checkQuorums: options.checkQuorums ?? true,
      changingMembers: changing,
    });
    this.load = { ...DEFAULT_LOAD, ...options.load };
    this.clients = placeClients(this.load, this.network, this.protocol.members, this.clientRng.fork('placement'));
    this.createInstances(rng.fork('byzantine'), rng.fork('ticks'));
    for (const fault of faults) {
      if (fault.kind !== 'crash') continue;
      this.queue.push(fault.atMs, { kind: 'crash', node: fault.node });
      if (fault.restartAtMs !== undefined) this.queue.push(fault.restartAtMs, { kind: 'restart', node: fault.node });
    }
    membership.forEach((event, i) => {
      const request = membershipRequest(event, i);
      this.changeRequests.set(request.operation, event);
      this.queue.push(event.atMs, { kind: event.kind, node: event.node, request });
    });
    this.startClients();
  }

  /** Process events up to `durationMs` (or `maxEvents`), then judge liveness and compile metrics. */
  run(): SimulationResult {
    const maxEvents = this.options.maxEvents ?? Infinity;
    while (this.queue.peekTime() <= this.options.durationMs && this.events < maxEvents) {
      const time = this.queue.peekTime();
      const event = this.queue.pop() as SimEvent<M, S>;
      this.now = time;
      this.events++;
      this.hashEvent(event);
      this.dispatch(event);
    }
    const truncated = this.queue.peekTime() <= this.options.durationMs;
    const endMs = truncated ? this.now : this.options.durationMs;
    if (Number.isFinite(this.stableAt)) this.checker.checkLiveness(this.stableAt, this.options.livenessBoundMs ?? 2000, endMs);
    return {
      violations: this.checker.violations(),
      violationCounts: this.checker.violationCounts(),
      metrics: this.metrics(endMs),
      eventsProcessed: this.events,
      traceHash: (this.hashA >>> 0).toString(16).padStart(8, '0') + (this.hashB >>> 0).toString(16).padStart(8, '0'),
      stableAtMs: this.stableAt,
      truncated,
    };
  }

  private createInstances(byzantineRng: Rng, tickRng: Rng): void {
    const members = this.protocol.members;
    for (const id of members) {
      const behaviour = this.behaviours.get(id);
      const others = members.filter((other) => other !== id);
      const otherHalf = new Set(byzantineRng.sample(others, Math.floor(others.length / 2)));
      const auth = this.options.authenticators[id];
      const instance = this.newInstance(id, false, auth, tickRng);
      this.primary[id] = instance;
      if (!behaviour) continue;
      if (behaviour !== 'twins') {
        instance.mangler = new ByzantineMangler(behaviour, auth, this.protocol.mutations, otherHalf);
        continue;
      }
      instance.reach = new Set(others.filter((other) => !otherHalf.has(other)));
      const twin = this.newInstance(id, true, auth, tickRng);
      twin.reach = otherHalf;
      this.twins.set(id, twin);
    }
  }

  private newInstance(id: NodeId, twin: boolean, auth: Authenticator, tickRng: Rng): Instance<M, S> {
    const instance: Instance<M, S> = {
      id,
      twin,
      node: this.protocol.createNode(id, auth),
      persisted: undefined,
      incarnation: 0,
      cpuFreeAt: 0,
      uplinkFreeAt: 0,
      inbox: [],
      inboxHead: 0,
      wakePending: false,
      cpuBusy: 0,
      uplinkBusy: 0,
      mangler: undefined,
      reach: undefined,
    };
    this.queue.push(tickRng.uniform(0, this.tickMs), { kind: 'tick', instance, incarnation: 0 });
    return instance;
  }

  private startClients(): void {
    const { mode, startMs, ratePerSec } = this.load;
    if (this.clients.length === 0) return;
    if (mode === 'closed') {
      for (const client of this.clients) this.queue.push(startMs + this.clientRng.uniform(0, this.tickMs), { kind: 'client', client });
    } else if (ratePerSec > 0) {
      this.queue.push(startMs + this.clientRng.exponential(1000 / ratePerSec), { kind: 'client', client: this.clients[0] });
    }
  }

  private dispatch(event: SimEvent<M, S>): void {
    switch (event.kind) {
      case 'arrive':
        return this.arrive(event.to, event.item, event.incarnation);
      case 'cpu':
        if (event.incarnation === event.instance.incarnation) this.wake(event.instance);
        return;
      case 'tick':
        return this.tick(event.instance, event.incarnation);
      case 'client':
        return this.clientTurn(event.client);
      case 'retry':
        return this.retry(event.key);
      case 'crash':
        return this.crash(event.node);
      case 'restart':
        return this.restart(event.node);
      case 'join':
        return this.join(event.node, event.request);
      case 'leave':
        this.leaving.add(event.node);
        return this.submitChange(event.request, event.node);
    }
  }

  // ---- nodes: CPU queue, ticks, crash and restart ----

  private arrive(instance: Instance<M, S>, item: InboxItem<M>, incarnation: number): void {
    if (!instance.node || incarnation !== instance.incarnation) {
      this.counters.dropped.down++;
      if (this.trace && item.kind === 'message') this.trace({ kind: 'drop', atMs: this.now, from: item.from, to: instance.id, message: item.message, reason: 'down' });
      return;
    }
    if (instance.cpuFreeAt <= this.now && instance.inboxHead === instance.inbox.length) {
      this.handle(instance, item);
      return;
    }
    instance.inbox.push(item);
    if (!instance.wakePending) {
      instance.wakePending = true;
      this.queue.push(instance.cpuFreeAt, { kind: 'cpu', instance, incarnation: instance.incarnation });
    }
  }

  private wake(instance: Instance<M, S>): void {
    instance.wakePending = false;
    if (instance.inboxHead === instance.inbox.length) return;
    const item = instance.inbox[instance.inboxHead++];
    if (instance.inboxHead === instance.inbox.length) {
      instance.inbox = [];
      instance.inboxHead = 0;
    }
    this.handle(instance, item);
    if (instance.inboxHead < instance.inbox.length) {
      instance.wakePending = true;
      this.queue.push(instance.cpuFreeAt, { kind: 'cpu', instance, incarnation: instance.incarnation });
    }
  }

  /** The CPU takes one input now; its output leaves when the CPU is done with it. */
  private handle(instance: Instance<M, S>, item: InboxItem<M>): void {
    const node = instance.node as ConsensusNode<M, S>;
    const done = this.now + this.network.cpuMs(item.bytes);
    instance.cpuBusy += overlap(this.now, done, this.windowStart, this.windowEnd);
    instance.cpuFreeAt = done;
    let ready: Ready<M, S>;
    if (item.kind === 'message') {
      this.counters.delivered++;
      if (this.trace) this.trace({ kind: 'deliver', atMs: this.now, from: item.from, to: instance.id, message: item.message, twin: instance.twin });
      ready = node.step(item.from, item.message);
    } else {
      ready = node.submit(item.request);
    }
    this.apply(instance, ready, done);
  }

  private tick(instance: Instance<M, S>, incarnation: number): void {
    if (!instance.node || incarnation !== instance.incarnation) return;
    this.queue.push(this.now + this.tickMs, { kind: 'tick', instance, incarnation });
    this.apply(instance, instance.node.tick(), Math.max(this.now, instance.cpuFreeAt));
  }

  private crash(id: NodeId): void {
    const instance = this.primary[id];
    if (!instance?.node) return;
    instance.node = undefined;
    instance.incarnation++;
    instance.inbox = [];
    instance.inboxHead = 0;
    instance.wakePending = false;
    this.counters.crashes++;
    if (this.trace) this.trace({ kind: 'crash', atMs: this.now, node: id });
  }

  private restart(id: NodeId): void {
    const instance = this.primary[id];
    if (!instance || instance.node || !this.present.has(id)) return;
    instance.node = this.protocol.createNode(id, this.options.authenticators[id], instance.persisted);
    instance.incarnation++;
    instance.cpuFreeAt = Math.max(instance.cpuFreeAt, this.now);
    this.checker.recordRestart(id);
    this.counters.restarts++;
    this.queue.push(this.now, { kind: 'tick', instance, incarnation: instance.incarnation });
    if (this.trace) this.trace({ kind: 'restart', atMs: this.now, node: id });
  }

  // ---- joins and leaves ----

  /** A brand-new node starts (and waits to be added); a member is asked to add it. */
  private join(id: NodeId, request: ClientRequest): void {
    if (this.primary[id]) throw new Error(`node ${id} joins but already exists`);
    this.primary[id] = this.newInstance(id, false, this.options.authenticators[id], this.joinTickRng);
    this.present.add(id);
    if (this.trace) this.trace({ kind: 'join', atMs: this.now, node: id });
    this.submitChange(request, id);
  }

  /** A join or leave request from the membership client, to a member that is up, honest and not the subject; retried like a client's. */
  private submitChange(request: ClientRequest, subject: NodeId): void {
    const target = [...this.present].find((id) => id !== subject && !this.leaving.has(id) && !this.behaviours.has(id) && this.primary[id]?.node) ?? subject;
    // Not one of the load's clients: it sends nothing but this request, from the target's zone.
    const client: SimClient = { name: MEMBERSHIP_CLIENT, zone: this.network.zoneOf[target], target, lastTimestamp: request.timestamp, outstanding: 1 };
    this.pending.set(requestKey(request), { client, request, submittedAtMs: this.now, retried: false });
    this.checker.recordSubmitted(request, this.now);
    this.sendRequest(client, target, request);
    this.queue.push(this.now + this.load.retryMs, { kind: 'retry', key: requestKey(request) });
  }

  /** The first honest commit of a join or leave tells the checker from or up to which position the node must commit. */
  private noteMembership(commit: Commit): void {
    for (const request of commit.requests) {
      const event = request.client === MEMBERSHIP_CLIENT ? this.changeRequests.get(request.operation) : undefined;
      if (event) this.checker.recordMembership(event.node, event.kind, commit.seq);
    }
  }

  /** A leaving node stops for good once it has committed its own removal. */
  private leaveIfRemoved(instance: Instance<M, S>, commits: readonly Commit[]): void {
    if (!this.leaving.has(instance.id) || instance.twin) return;
    const removal = `leave:${instance.id}`;
    if (!commits.some((c) => c.requests.some((r) => r.client === MEMBERSHIP_CLIENT && r.operation === removal))) return;
    instance.node = undefined;
    instance.incarnation++;
    instance.inbox = [];
    instance.inboxHead = 0;
    instance.wakePending = false;
    this.present.delete(instance.id);
    if (this.trace) this.trace({ kind: 'leave', atMs: this.now, node: instance.id });
  }

  // ---- a Ready: persist, send, commit ----

  private apply(instance: Instance<M, S>, ready: Ready<M, S>, departAt: number): void {
    if (ready.state !== undefined) instance.persisted = ready.state;
    const outbound = instance.mangler ? instance.mangler.rewrite(ready.messages) : ready.messages;
    for (const out of outbound) this.send(instance, out, departAt);
    for (const commit of ready.commits) this.commit(instance, commit);
    if (ready.commits.length > 0) this.leaveIfRemoved(instance, ready.commits);
  }

  private send(instance: Instance<M, S>, { to, message }: Outbound<M>, departAt: number): void {
    const from = instance.id;
    this.recordVotes(from, message);
    if (to === from) {
      // Loopback: no wire, no latency, but the CPU still handles it.
      this.queue.push(departAt, { kind: 'arrive', to: instance, item: { kind: 'message', from, message, bytes: this.sizeOf(message) }, incarnation: instance.incarnation });
      return;
    }
    const target = this.route(to, from);
    if (!target) return;
    if (instance.reach && !instance.reach.has(to)) {
      this.counters.dropped.twinCut++;
      if (this.trace) this.trace({ kind: 'drop', atMs: this.now, from, to, message, reason: 'twin-cut' });
      return;
    }
    const bytes = this.sizeOf(message);
    if (this.now >= this.windowStart) {
      this.counters.messages++;
      this.counters.bytes += bytes;
    }
    if (this.partitioned(from, to)) {
      this.counters.dropped.partition++;
      if (this.trace) this.trace({ kind: 'drop', atMs: this.now, from, to, message, reason: 'partition' });
      return;
    }
    const start = Math.max(departAt, instance.uplinkFreeAt);
    const sent = start + this.network.transmitMs(bytes);
    instance.uplinkFreeAt = sent;
    instance.uplinkBusy += overlap(start, sent, this.windowStart, this.windowEnd);
    const faults = this.activeNetworkFaults();
    if (faults && this.netRng.chance(faults.loss)) {
      this.counters.dropped.loss++;
      if (this.trace) this.trace({ kind: 'drop', atMs: this.now, from, to, message, reason: 'loss' });
      return;
    }
    const copies = faults && this.netRng.chance(faults.duplicate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      let arriveAt = sent + this.network.sampleLatencyMs(from, to, this.netRng);
      if (faults && this.netRng.chance(faults.reorder)) {
        arriveAt += this.netRng.uniform(0, faults.reorderDelayMs);
        this.counters.reordered++;
      }
      if (copy > 0) this.counters.duplicated++;
      this.queue.push(arriveAt, { kind: 'arrive', to: target, item: { kind: 'message', from, message, bytes }, incarnation: target.incarnation });
      if (this.trace) this.trace({ kind: 'send', atMs: this.now, from, to, message, bytes, arriveAtMs: arriveAt, duplicate: copy > 0, twin: instance.twin });
    }
  }

  /** The instance a message for `to` from `from` reaches (a twinned node: the twin on the sender's side). */
  private route(to: NodeId, from: NodeId): Instance<M, S> | undefined {
    const twin = this.twins.get(to);
    if (twin?.reach?.has(from)) return twin;
    return this.primary[to];
  }

  private partitioned(a: NodeId, b: NodeId): boolean {
    for (const p of this.partitions) {
      if (p.atMs <= this.now && this.now < p.healAtMs && p.side.has(a) !== p.side.has(b)) return true;
    }
    return false;
  }

  /** Combined loss, duplication and reordering in force now, or undefined when none is. */
  private activeNetworkFaults(): { loss: number; duplicate: number; reorder: number; reorderDelayMs: number } | undefined {
    if (this.networkFaults.length === 0) return undefined;
    let active: { loss: number; duplicate: number; reorder: number; reorderDelayMs: number } | undefined;
    for (const f of this.networkFaults) {
      if (this.now < f.fromMs || this.now >= f.untilMs) continue;
      active ??= { loss: 0, duplicate: 0, reorder: 0, reorderDelayMs: 0 };
      if (f.kind === 'loss') active.loss = Math.max(active.loss, f.probability);
      else if (f.kind === 'duplicate') active.duplicate = Math.max(active.duplicate, f.probability);
      else {
        active.reorder = Math.max(active.reorder, f.probability);
        active.reorderDelayMs = Math.max(active.reorderDelayMs, f.maxDelayMs);
      }
    }
    return active;
  }

  private sizeOf(message: M): number {
    if (typeof message !== 'object' || message === null) return this.protocol.wireSize(message);
    let size = this.sizes.get(message);
    if (size === undefined) this.sizes.set(message, (size = this.protocol.wireSize(message)));
    return size;
  }

  /** A broadcast's copies share one message object: record its votes once. */
  private recordVotes(sender: NodeId, message: M): void {
    if (message === this.lastVoteMessage && sender === this.lastVoteSender) return;
    this.lastVoteMessage = message;
    this.lastVoteSender = sender;
    const votes: Vote[] = this.protocol.votes(message);
    if (votes.length > 0) this.checker.recordVotes(sender, votes);
  }

  private commit(instance: Instance<M, S>, commit: Commit): void {
    const byzantine = this.behaviours.has(instance.id);
    if (this.trace) this.trace({ kind: 'commit', atMs: this.now, node: instance.id, commit, byzantine });
    if (byzantine) return;
    const outcome = this.checker.checkCommit(instance.id, commit, this.now);
    if (!outcome.fresh) return;
    this.honestSeq.set(instance.id, commit.seq);
    if (outcome.firstOfSeq) this.noteMembership(commit);
    if (outcome.firstOfSeq && this.now >= this.windowStart) {
      this.counters.batches++;
      this.counters.requestsCommitted += commit.requests.length;
    }
    for (const request of commit.requests) this.complete(instance.id, request);
  }

  // ---- clients ----

  private clientTurn(client: SimClient): void {
    const { mode, stopMs, window, ratePerSec } = this.load;
    if (this.now >= stopMs) return;
    if (mode === 'closed') {
      while (client.outstanding < window) this.submit(client);
      return;
    }
    this.submit(client);
    const next = this.clients[(this.clients.indexOf(client) + 1) % this.clients.length];
    this.queue.push(this.now + this.clientRng.exponential(1000 / ratePerSec), { kind: 'client', client: next });
  }

  private submit(client: SimClient): void {
    const request = nextRequest(client, this.load.operationBytes, this.load.oneShot);
    const key = requestKey(request);
    client.outstanding++;
    this.pending.set(key, { client, request, submittedAtMs: this.now, retried: false });
    this.checker.recordSubmitted(request, this.now);
    this.sendRequest(client, client.target, request);
    this.queue.push(this.now + this.load.retryMs, { kind: 'retry', key });
  }

  private sendRequest(client: SimClient, node: NodeId, request: ClientRequest): void {
    const target = this.primary[node];
    const bytes = canonical(request).length;
    const arriveAt = this.now + this.network.clientLatencyMs(client.zone, node, this.clientRng);
    this.queue.push(arriveAt, { kind: 'arrive', to: target, item: { kind: 'request', request, bytes }, incarnation: target.incarnation });
    if (this.trace) this.trace({ kind: 'submit', atMs: this.now, node, request });
  }

  private retry(key: string): void {
    const pending = this.pending.get(key);
    if (!pending) return;
    pending.retried = true;
    for (const node of this.present) this.sendRequest(pending.client, node, pending.request);
    this.queue.push(this.now + this.load.retryMs, { kind: 'retry', key });
  }

  /** An honest node committed `request`: done if the client was waiting on that node. */
  private complete(node: NodeId, request: ClientRequest): void {
    const key = requestKey(request);
    const pending = this.pending.get(key);
    if (!pending || (node !== pending.client.target && !pending.retried)) return;
    this.pending.delete(key);
    const client = pending.client;
    client.outstanding--;
    if (client.name === MEMBERSHIP_CLIENT) return;
    if (this.now >= this.windowStart && !this.behaviours.has(client.target)) this.latencies.push(this.now - pending.submittedAtMs);
    if (this.load.mode === 'closed') {
      // The reply travels back before the client sends its next request.
      this.queue.push(this.now + this.network.clientLatencyMs(client.zone, node, this.clientRng), { kind: 'client', client });
    }
  }

  // ---- results ----

  private hashEvent(event: SimEvent<M, S>): void {
    let node = -1;
    let size = 0;
    if (event.kind === 'arrive') {
      node = event.to.id;
      size = event.item.bytes;
    } else if (event.kind === 'cpu' || event.kind === 'tick') node = event.instance.id;
    else if (event.kind === 'crash' || event.kind === 'restart' || event.kind === 'join' || event.kind === 'leave') node = event.node;
    this.mix(KIND_CODE[event.kind]);
    this.mix(Math.round(this.now * 1000));
    this.mix(node);
    this.mix(size);
  }

  /** Two multiplicative 32-bit lanes: cheap, and order-sensitive. */
  private mix(word: number): void {
    this.hashA = Math.imul(this.hashA ^ word, 0x01000193);
    this.hashB = Math.imul(this.hashB ^ (word + 0x9e3779b9), 0x85ebca6b) ^ (this.hashA >>> 15);
  }

  private metrics(endMs: number): SimMetrics {
    const windowEnd = Math.min(this.windowEnd, endMs);
    const windowMs = Math.max(0, windowEnd - this.windowStart);
    const instances = [...this.primary.filter(Boolean), ...this.twins.values()];
    const busiest = (busy: (i: Instance<M, S>) => number): Busiest => {
      let best: Busiest = { node: -1, utilisation: 0 };
      for (const instance of instances) {
        const utilisation = windowMs > 0 ? busy(instance) / windowMs : 0;
        if (best.node < 0 || utilisation > best.utilisation) best = { node: instance.id, utilisation };
      }
      return best;
    };
    const liveHonest = [...this.present].filter((id) => !this.behaviours.has(id) && this.primary[id].node);
    const seqs = liveHonest.map((id) => this.honestSeq.get(id) ?? 0);
    const byzantine = { equivocate: 0, 'conflicting-votes': 0, silent: 0, 'bad-signatures': 0, twins: 0 };
    for (const instance of this.primary) if (instance?.mangler) byzantine[instance.mangler.behaviour] += instance.mangler.changed;
    byzantine.twins = this.counters.dropped.twinCut;
    const { batches, messages, bytes } = this.counters;
    return {
      simulatedMs: endMs,
      windowStartMs: this.windowStart,
      windowEndMs: windowEnd,
      requestsSubmitted: this.checker.submittedCount,
      batchesCommitted: batches,
      requestsCommitted: this.counters.requestsCommitted,
      throughputPerSec: windowMs > 0 ? (this.counters.requestsCommitted * 1000) / windowMs : 0,
      messagesSent: messages,
      bytesSent: bytes,
      messagesPerBatch: batches > 0 ? messages / batches : Infinity,
      bytesPerBatch: batches > 0 ? bytes / batches : Infinity,
      latencyMs: summariseLatency(this.latencies),
      busiestCpu: busiest((i) => i.cpuBusy),
      busiestUplink: busiest((i) => i.uplinkBusy),
      maxCommittedSeq: Math.max(0, ...this.honestSeq.values()),
      minCommittedSeq: seqs.length > 0 ? Math.min(...seqs) : 0,
      delivered: this.counters.delivered,
      dropped: { ...this.counters.dropped },
      duplicated: this.counters.duplicated,
      reordered: this.counters.reordered,
      crashes: this.counters.crashes,
      restarts: this.counters.restarts,
      byzantine,
    };
  }
}

/**
 * The honest nodes whose duty to commit changes during the run: each joiner, and each
 * genesis member that leaves (their first change decides which). Byzantine or permanently
 * crashed nodes are not judged.
 */
function changingMembers(
  events: readonly MembershipEvent[],
  genesis: readonly NodeId[],
  faulty: ReadonlySet<NodeId>,
  byzantine: ReadonlyMap<NodeId, ByzantineBehaviour>,
): Map<NodeId, 'join' | 'leave'> {
  const members = new Set(genesis);
  const changing = new Map<NodeId, 'join' | 'leave'>();
  for (const event of events) {
    if (byzantine.has(event.node)) throw new Error(`node ${event.node} cannot both be Byzantine and ${event.kind}`);
    if (event.kind === 'join' && members.has(event.node)) throw new Error(`node ${event.node} joins but is a genesis member`);
    if (!faulty.has(event.node) && !changing.has(event.node)) changing.set(event.node, event.kind);
  }
  return changing;
}
