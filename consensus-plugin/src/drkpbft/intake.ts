/**
 * Request intake of a DRKPBFT node: the shared books (`core/intake.ts`: known requests,
 * announce timers, buffered forwards) plus DRKPBFT's routing. Every request has one home
 * region (`Shape.homeOf`); a voter forwards what it learns to its own region primary, which
 * batches its region's requests (`RegionRole`) and relays the others to their home regions'
 * seat holders; a node without a vote sends to the seat holder directly.
 *
 * With `forwardDelayTicks`, a request a client handed to this node waits that long before it
 * is forwarded, and is not forwarded at all once batched or executed: where clients send
 * every request to every replica (Fabric's gateway does), the primary already has it, and
 * forwarding at once would send each request to it n − 1 more times.
 */
import { requestKey } from '../core/digest';
import type { ExecutedRequests } from '../core/executed';
import { RequestIntake } from '../core/intake';
import type { ClientRequest, NodeId } from '../core/types';
import type { NodeEnv } from './env';
import type { Epochs } from './epochs';
import { signOwn, type ForwardMessage } from './messages';
import type { RegionRole } from './region';

export class Intake {
  private readonly books: RequestIntake;
  /** Client requests waiting out `forwardDelayTicks`, with when they arrived (oldest first). */
  private readonly held = new Map<string, { request: ClientRequest; since: number }>();

  constructor(
    private readonly env: NodeEnv,
    private readonly epochs: Epochs,
    private readonly region: RegionRole,
    private readonly executed: ExecutedRequests,
  ) {
    this.books = new RequestIntake(env.ctx.options.batchSize);
  }

  /** How many requests this node knows of and has not seen executed. */
  get size(): number {
    return this.books.size;
  }

  /** The known requests, oldest first. */
  requests(): ClientRequest[] {
    return this.books.requests();
  }

  /**
   * Requests that reached this node: remember them and get them to their home region's
   * primary. The home region waits on a request (its view-change clock runs) once it is
   * `announced`: sent to every voter of the home region because it waited a request timeout,
   * as a PBFT client re-sends to all.
   */
  learn(requests: readonly ClientRequest[], announced: boolean, fromClient = false): void {
    const fresh: ClientRequest[] = [];
    for (const r of requests) {
      const key = requestKey(r);
      if (this.executed.has(r)) continue;
      const isNew = this.books.remember(key, r);
      if (isNew) fresh.push(r);
      const home = this.epochs.shape.isHome(r);
      // A request already in a decided batch: the region waits on the batch instead (`RegionRole.watchCertified`).
      if (announced && home && !this.region.isBatched(key)) {
        this.books.stopTimer(key);
        this.region.instance?.expect(key);
      } else if (isNew && !(home && this.region.isPrimary)) this.books.startTimer(key, this.env.now());
    }
    if (fresh.length === 0) return;
    if (this.region.isPrimary) {
      for (const r of fresh) this.region.enqueue(r);
      this.region.batchQueued(false);
      // Read the shape again: a batch may have decided and ended the structure.
      this.forward(fresh.filter((r) => !this.epochs.shape.isHome(r)));
    } else if (fromClient && (this.env.ctx.options.forwardDelayTicks ?? 0) > 0) {
      for (const r of fresh) this.held.set(requestKey(r), { request: r, since: this.env.now() });
    } else this.forward(fresh);
  }

  /** Forwards the held client requests whose delay ran out and that are still not batched here or executed. */
  private releaseHeld(): void {
    const delay = this.env.ctx.options.forwardDelayTicks ?? 0;
    const due: ClientRequest[] = [];
    for (const [key, { request, since }] of this.held) {
      if (this.env.now() - since < delay) break;
      this.held.delete(key);
      if (this.books.knows(key) && !this.region.isBatched(key)) due.push(request);
    }
    if (due.length > 0) this.forward(due);
  }

  /** After a reconfiguration: everything known and not executed goes to the new region primary. */
  relearn(): void {
    const pending = this.books.requests();
    this.books.clear();
    this.learn(pending, false);
  }

  /**
   * Buffers requests for their next hop, sent as one signed message per destination and tick
   * (or at once when `batchSize` are buffered), as flat PBFT does: one signature and one
   * message per request would cost the primary more than the batch it ends up in.
   */
  forward(requests: readonly ClientRequest[]): void {
    if (this.books.buffer(requests)) this.flushForwards();
  }

  /**
   * The buffered forwards. A voter's next hop is its region primary, except that a primary
   * relays what is not its region's to the home region's seat holder; a node without a vote
   * sends to the home region's seat holder directly.
   */
  flushForwards(): void {
    this.releaseHeld();
    const byHop = new Map<NodeId, ClientRequest[]>();
    for (const r of this.books.takeForwards()) {
      const to = this.nextHop(r);
      if (to === undefined || to === this.env.id || this.executed.has(r)) continue;
      const list = byHop.get(to);
      if (list) list.push(r);
      else byHop.set(to, [r]);
    }
    for (const [to, list] of byHop) this.env.out.send(to, signOwn<ForwardMessage>({ type: 'forward', requests: list, announce: false }, this.env.auth));
  }

  /**
   * Requests not executed a request timeout after they arrived go to every voter of their
   * home region, which then waits on them (a region primary waits only on the requests it
   * relayed: it batches its own).
   */
  announceWaiting(): void {
    const region = this.region.instance;
    if (!region) return;
    const { shape, structure } = this.epochs;
    const late = new Map<number, ClientRequest[]>();
    for (const key of this.books.overdue(this.env.now(), this.env.ctx.options.requestTimeoutTicks)) {
      const r = this.books.get(key);
      if (r === undefined) continue;
      const home = shape.homeOf(key);
      if (home === shape.myRegion) region.expect(key);
      const list = late.get(home);
      if (list) list.push(r);
      else late.set(home, [r]);
    }
    for (const [home, requests] of late) {
      const message = signOwn<ForwardMessage>({ type: 'forward', requests, announce: true }, this.env.auth);
      for (const voter of structure.regions[home]) if (voter !== this.env.id) this.env.out.send(voter, message);
    }
  }

  /** Stops announcing a request (its region batched it, or it is being batched here). */
  stopTimer(key: string): void {
    this.books.stopTimer(key);
  }

  /** The log executed a request. */
  forget(key: string): void {
    this.books.forget(key);
    this.held.delete(key);
  }

  private nextHop(r: ClientRequest): NodeId | undefined {
    const region = this.region.instance;
    if (region && !region.installed) return undefined;
    if (region && !region.isPrimary) return region.primary;
    const home = this.epochs.shape.homeOf(requestKey(r));
    return region && home === this.epochs.shape.myRegion ? region.primary : this.epochs.seats[home]?.holder;
  }
}
