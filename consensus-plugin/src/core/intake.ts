/**
 * Request intake, shared by flat PBFT and DRKPBFT: the requests a node knows of and has not
 * seen executed, the announce timer of each one not yet known to every member that must
 * wait on it, and the forwards buffered for the next hop. The protocols decide what a
 * request's next hop is and whom an overdue one is announced to; this only keeps the books.
 */
import { requestKey } from './digest';
import type { ClientRequest } from './types';

export class RequestIntake {
  /** Known and not executed, in the order learnt. */
  private readonly known = new Map<string, ClientRequest>();
  /** When each request still to be announced was learnt (oldest first: timers start in time order). */
  private readonly timers = new Map<string, number>();
  /** Requests to pass on at the next tick, or as soon as `batchSize` are here. */
  private readonly forwards = new Map<string, ClientRequest>();

  constructor(private readonly batchSize: number) {}

  /** Remembers a request; true when it was not known. */
  remember(key: string, request: ClientRequest): boolean {
    if (this.known.has(key)) return false;
    this.known.set(key, request);
    return true;
  }

  knows(key: string): boolean {
    return this.known.has(key);
  }

  get(key: string): ClientRequest | undefined {
    return this.known.get(key);
  }

  /** How many requests are known. */
  get size(): number {
    return this.known.size;
  }

  /** The known requests, oldest first. */
  requests(): ClientRequest[] {
    return [...this.known.values()];
  }

  /** Forgets an executed request (its buffered forward stays: a flush skips what is executed). */
  forget(key: string): void {
    this.known.delete(key);
    this.timers.delete(key);
  }

  /** Forgets everything known (after a reconfiguration the owner learns it all again). */
  clear(): void {
    this.known.clear();
    this.timers.clear();
  }

  /** Starts the announce timer of a request learnt at `now`. */
  startTimer(key: string, now: number): void {
    this.timers.set(key, now);
  }

  /** Stops a request's announce timer (announced, or now waited on another way). */
  stopTimer(key: string): void {
    this.timers.delete(key);
  }

  isTimed(key: string): boolean {
    return this.timers.has(key);
  }

  /** The requests still to be announced, oldest first. */
  timed(): ClientRequest[] {
    return [...this.timers.keys()].map((key) => this.known.get(key)).filter((r) => r !== undefined);
  }

  /** Keys whose timer has run `timeout` ticks at `now`, oldest first; their timers stop. */
  overdue(now: number, timeout: number): string[] {
    const late: string[] = [];
    for (const [key, since] of this.timers) {
      if (now - since < timeout) break;
      this.timers.delete(key);
      late.push(key);
    }
    return late;
  }

  /** Buffers requests for the next hop; true once `batchSize` are buffered (time to flush). */
  buffer(requests: readonly ClientRequest[]): boolean {
    for (const r of requests) this.forwards.set(requestKey(r), r);
    return this.forwards.size >= this.batchSize;
  }

  /** Drops a buffered forward. */
  unbuffer(key: string): void {
    this.forwards.delete(key);
  }

  /** The buffered forwards, oldest first; the buffer empties. */
  takeForwards(): ClientRequest[] {
    const requests = [...this.forwards.values()];
    this.forwards.clear();
    return requests;
  }
}
