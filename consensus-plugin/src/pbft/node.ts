/**
 * A flat PBFT replica: one `PbftInstance` over batches of client requests, plus what sits
 * around it. Requests are forwarded to the primary, which batches them; a request waiting
 * too long is sent to every member, who then all expect it (their view-change timers run);
 * after a view change each replica forwards what it still waits for to the new primary.
 * Forwards are buffered and sent as one signed message per tick (or per `batchSize`
 * requests), so the primary verifies one signature per backup per tick, not per request.
 * Duplicates are suppressed by request key when batching and skipped when executing.
 */
import { batchDigest, requestKey } from '../core/digest';
import type { Authenticator, ClientRequest, ClusterOptions, Commit, ConsensusNode, LeaderView, NodeId, Outbound, Ready } from '../core/types';
import { ExecutedRequests, type ExecutedRecord } from '../core/executed';
import { RequestIntake } from '../core/intake';
import { validBatch } from '../core/requests';
import { PbftInstance, type Decision, type PbftInstanceState, type PbftOutput } from './instance';
import type { PbftInstanceMessage } from './messages';

/** The group name flat PBFT signs under. */
export const FLAT_GROUP = 'flat';

/** Client requests on their way to the primary; `broadcast` when the sender waited too long and tells every member. */
export interface RequestMessage {
  type: 'request';
  group: string;
  requests: ClientRequest[];
  broadcast: boolean;
  sender: NodeId;
  sig: string;
}

export type PbftMessage = PbftInstanceMessage<ClientRequest[]> | RequestMessage;

/** What a flat PBFT replica persists: its PBFT log, the requests it executed and those it still waits for. */
export interface PbftState {
  instance: PbftInstanceState<ClientRequest[]>;
  /** The executed requests, per client (a contiguous prefix of timestamps and the few above it). */
  executed: ExecutedRecord;
  /** Requests it learned and had not executed (it may also list executed ones, skipped on restart). */
  pending: ClientRequest[];
}

/** The bytes a request message's signature covers. */
const requestSigningPayload = (m: Omit<RequestMessage, 'sig'>): string =>
  JSON.stringify(['pbft/v1', m.type, m.group, batchDigest(m.requests), m.broadcast, m.sender]);

/** Engine settings beyond `ClusterOptions` (see `PbftInstanceConfig`). */
export interface PbftTuning {
  retainDecided?: number;
}

/** A flat PBFT replica behind the `ConsensusNode` contract. */
export class PbftNode implements ConsensusNode<PbftMessage, PbftState> {
  private readonly instance: PbftInstance<ClientRequest[]>;
  private readonly others: readonly NodeId[];
  private readonly memberSet: ReadonlySet<NodeId>;
  private readonly executed: ExecutedRequests;
  /** Known and not executed; the timed ones are not yet announced to every member. */
  private readonly intake: RequestIntake;
  /** Known to every member: the instance's view-change timer runs for these (in the order announced). */
  private readonly announced = new Set<string>();
  /** As primary: requests to batch (oldest first). */
  private readonly queue = new Map<string, { request: ClientRequest; since: number }>();
  /** As primary: requests in a proposal of this view not executed yet. */
  private readonly batched = new Set<string>();
  /** What `pending` persists: appended to as requests are learned, compacted now and then. */
  private pendingLog: ClientRequest[] = [];
  private pendingChanged = false;
  private now = 0;

  constructor(
    readonly id: NodeId,
    members: readonly NodeId[],
    private readonly options: ClusterOptions,
    private readonly auth: Authenticator,
    persisted?: PbftState,
    tuning: PbftTuning = {},
  ) {
    this.others = members.filter((m) => m !== id);
    this.memberSet = new Set(members);
    this.executed = new ExecutedRequests(persisted?.executed, options.dedupWindow);
    this.intake = new RequestIntake(options.batchSize);
    this.instance = new PbftInstance<ClientRequest[]>({
      self: id,
      group: FLAT_GROUP,
      members,
      options,
      auth,
      digest: batchDigest,
      validate: (batch) => validBatch(batch, options.batchSize),
      // A null request is an empty batch, so every sequence number commits a batch and its digest is batchDigest(requests).
      nullDigest: batchDigest([]),
      persisted: persisted?.instance,
      retainDecided: tuning.retainDecided,
    });
    for (const r of persisted?.pending ?? []) this.learn(r, false);
  }

  /** The PBFT engine underneath (read-only use: view, primary, watermarks, log). */
  get engine(): PbftInstance<ClientRequest[]> {
    return this.instance;
  }

  leaderView(): LeaderView {
    return { leader: this.instance.installed ? this.instance.primary : undefined, view: this.instance.view };
  }

  submit(request: ClientRequest): Ready<PbftMessage, PbftState> {
    const messages: Outbound<PbftMessage>[] = [];
    if (this.learn(request, false)) this.route([request], messages);
    return this.finish([], messages);
  }

  step(from: NodeId, message: PbftMessage): Ready<PbftMessage, PbftState> {
    if (message.type !== 'request') return this.finish([this.instance.step(message, from)]);
    const messages: Outbound<PbftMessage>[] = [];
    if (this.authentic(message)) {
      const fresh = message.requests.filter((r) => this.learn(r, message.broadcast));
      if (!message.broadcast && fresh.length > 0) this.route(fresh, messages);
    }
    return this.finish([], messages);
  }

  tick(): Ready<PbftMessage, PbftState> {
    this.now++;
    const messages: Outbound<PbftMessage>[] = [];
    const overdue: ClientRequest[] = [];
    for (const key of this.intake.overdue(this.now, this.options.requestTimeoutTicks)) {
      this.announce(key);
      overdue.push(this.intake.get(key) as ClientRequest);
    }
    this.flushForwards(messages);
    if (overdue.length > 0) {
      const announcement = this.requestMessage(overdue, true);
      for (const to of this.others) messages.push({ to, message: announcement });
    }
    return this.finish([this.instance.tick()], messages);
  }

  /** Records a request (`announced`: every member was told of it); true when it was new to this replica. */
  private learn(request: ClientRequest, announced: boolean): boolean {
    const key = requestKey(request);
    if (this.executed.has(request) || this.announced.has(key)) return false;
    // Known and not announced: its timer runs.
    const known = !this.intake.remember(key, request);
    if (announced) {
      this.intake.stopTimer(key);
      this.announce(key);
    } else if (!known) {
      this.intake.startTimer(key, this.now);
    }
    if (!known) {
      this.pendingLog.push(request);
      this.pendingChanged = true;
    }
    if (this.instance.isPrimary) this.enqueue(key, request);
    return !known;
  }

  private announce(key: string): void {
    this.announced.add(key);
    this.instance.expect(key);
  }

  /**
   * Buffers requests for the primary (the primary queues them itself in `learn`); dropped
   * during a view change, since the new view re-forwards all that is still waiting.
   */
  private route(requests: ClientRequest[], messages: Outbound<PbftMessage>[]): void {
    if (!this.instance.installed || this.instance.isPrimary) return;
    if (this.intake.buffer(requests)) this.flushForwards(messages);
  }

  /** The buffered forwards as one signed message to the primary of the installed view. */
  private flushForwards(messages: Outbound<PbftMessage>[]): void {
    const requests = this.intake.takeForwards();
    if (requests.length > 0 && this.instance.installed && !this.instance.isPrimary) messages.push({ to: this.instance.primary, message: this.requestMessage(requests, false) });
  }

  private enqueue(key: string, request: ClientRequest): void {
    if (!this.executed.has(request) && !this.batched.has(key) && !this.queue.has(key)) this.queue.set(key, { request, since: this.now });
  }

  /** As primary: full batches at once, a partial one when its oldest request has waited batchTimeoutTicks. */
  private proposeBatches(): PbftOutput<ClientRequest[]> {
    const outputs: PbftOutput<ClientRequest[]>[] = [];
    const { batchSize, batchTimeoutTicks } = this.options;
    while (this.instance.isPrimary && this.queue.size > 0) {
      const oldest = this.queue.values().next().value as { since: number };
      if (this.queue.size < batchSize && this.now - oldest.since < batchTimeoutTicks) break;
      const batch: ClientRequest[] = [];
      for (const [key, { request }] of this.queue) {
        if (batch.length === batchSize) break;
        this.queue.delete(key);
        this.batched.add(key);
        batch.push(request);
      }
      outputs.push(this.instance.propose(batch));
    }
    return mergeOutputs(outputs);
  }

  private execute(d: Decision<ClientRequest[]>): Commit {
    const requests: ClientRequest[] = [];
    for (const request of d.payload ?? []) {
      const key = requestKey(request);
      this.batched.delete(key);
      this.queue.delete(key);
      this.intake.unbuffer(key);
      this.intake.forget(key);
      this.announced.delete(key);
      this.instance.satisfied(key);
      if (this.executed.has(request)) continue;
      this.executed.add(request, d.seq);
      requests.push(request);
    }
    // A forgotten request left in the persisted list would be learnt again on restart as new.
    if (this.executed.expire(d.seq) > 0) this.pendingLog = this.pending();
    // The digest stays the one the quorum signed; duplicates are left out of `requests`.
    return { seq: d.seq, digest: d.digest, requests, quorum: d.certificate.map((c) => c.sender), epoch: 0 };
  }

  /** A new view: its primary queues what it knows and is not in the log yet; the others forward it. */
  private onViewInstalled(messages: Outbound<PbftMessage>[]): void {
    this.queue.clear();
    this.batched.clear();
    this.intake.takeForwards(); // dropped: what is still pending is routed again below
    const known = this.pending();
    if (this.instance.isPrimary) {
      for (const payload of this.instance.undecidedProposals()) for (const r of payload) this.batched.add(requestKey(r));
      for (const r of known) this.enqueue(requestKey(r), r);
    } else if (known.length > 0) {
      this.route(known, messages);
    }
  }

  /** Applies the engine's outputs, then proposes what the queue holds (after a view change too), and builds the Ready. */
  private finish(outputs: PbftOutput<ClientRequest[]>[], messages: Outbound<PbftMessage>[] = []): Ready<PbftMessage, PbftState> {
    const commits: Commit[] = [];
    let instanceState: PbftInstanceState<ClientRequest[]> | undefined;
    const apply = (out: PbftOutput<ClientRequest[]>): void => {
      for (const d of out.decisions) commits.push(this.execute(d));
      messages.push(...out.messages);
      if (out.installedView !== undefined) this.onViewInstalled(messages);
      instanceState = out.state ?? instanceState;
    };
    outputs.forEach(apply);
    apply(this.proposeBatches());
    const ready: Ready<PbftMessage, PbftState> = { messages, commits };
    if (instanceState || this.pendingChanged) {
      this.compactPending();
      ready.state = { instance: instanceState ?? this.instance.snapshot(), executed: this.executed.record(), pending: this.pendingLog };
      this.pendingChanged = false;
    }
    return ready;
  }

  /** Drops executed requests from the persisted list once they make up most of it (a new array: earlier states stay as written). */
  private compactPending(): void {
    if (this.pendingLog.length <= 64 + 2 * this.intake.size) return;
    this.pendingLog = this.pending();
  }

  /** The requests not executed: announced first, then those still timed (each oldest first). */
  private pending(): ClientRequest[] {
    return [...[...this.announced].map((key) => this.intake.get(key) as ClientRequest), ...this.intake.timed()];
  }

  private requestMessage(requests: ClientRequest[], broadcast: boolean): RequestMessage {
    const unsigned = { type: 'request' as const, group: FLAT_GROUP, requests, broadcast, sender: this.id };
    return { ...unsigned, sig: this.auth.sign(requestSigningPayload(unsigned)) };
  }

  private authentic(m: RequestMessage): boolean {
    return (
      m.group === FLAT_GROUP &&
      this.memberSet.has(m.sender) &&
      m.sender !== this.id &&
      validBatch(m.requests, Number.MAX_SAFE_INTEGER) &&
      this.auth.verify(m.sender, requestSigningPayload(m), m.sig)
    );
  }
}

function mergeOutputs<P>(outputs: PbftOutput<P>[]): PbftOutput<P> {
  const merged: PbftOutput<P> = { messages: [], decisions: [], misbehaviours: [] };
  for (const out of outputs) {
    merged.messages.push(...out.messages);
    merged.decisions.push(...out.decisions);
    merged.misbehaviours.push(...out.misbehaviours);
    if (out.installedView !== undefined) merged.installedView = out.installedView;
    if (out.state) merged.state = out.state;
  }
  return merged;
}
