/**
 * The global log as one DRKPBFT node holds it: entries offered by its own groups (trusted)
 * or by peers (DECIDE and log pages, which must prove themselves) execute in position
 * order, entries ahead of a gap wait, and the executed log is served to lagging nodes and
 * passed on to the region. What executing an entry means for the other roles is the
 * owner's `run` hook (`DrkpbftNode.execute`), which records the position here.
 */
import type { ClientRequest, NodeId } from '../core/types';
import { ExecutedRequests, type ExecutedRecord } from '../core/executed';
import type { CommitMessage } from '../pbft/messages';
import { committedDigest, isTopGroup, logOffset, withoutCertificate, type TopEntry } from './batches';
import type { NodeEnv } from './env';
import type { Epochs } from './epochs';
import { logEntryOf } from './log';
import { signOwn, type DecideMessage, type LogEntry, type LogFetchMessage, type LogMessage } from './messages';

/** Entries per log answer, and bounds on what a node buffers ahead of its execution. */
export const LOG_PAGE = 64;
const MAX_BUFFERED_ENTRIES = 4096;

/** What executing one position recorded. */
export interface Executed {
  seq: number;
  /** The requests that ran (those not executed before). */
  fresh: ClientRequest[];
  /** The entry as the log keeps and serves it (a top entry without its region certificate). */
  stored: LogEntry;
}

export class GlobalLog {
  executedSeq: number;
  readonly executed: ExecutedRequests;
  /** The last log answer was a full page: there is probably more, fetch again at the next tick. */
  fullPage = false;
  /** The executed log (served to lagging nodes) and entries received ahead of execution. */
  private readonly entries: LogEntry[] = [];
  private readonly ahead = new Map<number, LogEntry[]>();
  private aheadCount = 0;
  private lastProgress = 0;
  private lastFetch = -Infinity;
  private fetchTurn = 0;
  private readonly servedAt = new Map<NodeId, number>();

  /** `run`: executes an entry that proved itself at the next position (it calls `record`). */
  constructor(
    private readonly env: NodeEnv,
    private readonly epochs: Epochs,
    persisted: { executedSeq: number; executed: ExecutedRecord } | undefined,
    private readonly run: (log: LogEntry) => void,
  ) {
    this.executedSeq = persisted?.executedSeq ?? 0;
    this.executed = new ExecutedRequests(persisted?.executed, env.ctx.options.dedupWindow);
  }

  /** An entry for some position: executed when it is the next one (and proves itself), kept for later when ahead. */
  offer(offered: LogEntry, trusted: boolean): void {
    const log = logEntryOf(offered);
    if (log === undefined) return;
    const seq = (logOffset(log.group) ?? NaN) + log.entry.seq;
    if (!Number.isInteger(seq) || seq <= this.executedSeq) return;
    if (seq > this.executedSeq + 1) {
      if (this.aheadCount >= MAX_BUFFERED_ENTRIES) return;
      const list = this.ahead.get(seq) ?? [];
      if (list.length >= 4) return;
      list.push(log);
      this.ahead.set(seq, list);
      this.aheadCount++;
      return;
    }
    if (!this.tryExecute(log, trusted)) return;
    for (;;) {
      const candidates = this.ahead.get(this.executedSeq + 1);
      if (candidates === undefined) break;
      this.ahead.delete(this.executedSeq + 1);
      this.aheadCount -= candidates.length;
      if (!candidates.some((c) => this.tryExecute(c, false))) break;
    }
  }

  /** A page of the log from a peer. */
  onPage(m: LogMessage): void {
    const before = this.executedSeq;
    for (const entry of m.entries) this.offer(entry, false);
    this.fullPage = m.entries.length >= LOG_PAGE && this.executedSeq > before;
  }

  /** Records the next position as executed with `requests` and commits it (in configuration epoch `epoch`). */
  record(log: LogEntry, requests: readonly ClientRequest[], epoch: number): Executed {
    const seq = this.executedSeq + 1;
    const fresh: ClientRequest[] = [];
    for (const r of requests) {
      if (this.executed.has(r)) continue;
      this.executed.add(r, seq);
      fresh.push(r);
    }
    this.executed.expire(seq);
    this.executedSeq = seq;
    const payload = log.entry.payload;
    const stored = payload !== null && isTopGroup(log.group) ? { group: log.group, entry: { ...log.entry, payload: withoutCertificate(payload as TopEntry) } } : log;
    this.entries[seq] = stored;
    this.lastProgress = this.env.now();
    this.env.out.changed();
    const quorum = log.entry.certificate.map((c: CommitMessage) => c.sender);
    this.env.out.commit({ seq, digest: committedDigest(log.entry.digest), requests: fresh, quorum, epoch });
    return { seq, fresh, stored };
  }

  /** Passes an executed entry on (DECIDE) to `to`, this node left out. */
  pass(stored: LogEntry, to: readonly NodeId[]): void {
    if (to.length === 0) return;
    const message = signOwn<DecideMessage>({ type: 'decide', log: stored }, this.env.auth);
    for (const node of to) if (node !== this.env.id) this.env.out.send(node, message);
  }

  /** A lagging node's fetch: up to a page from the position it asks for (once a tick per asker). */
  serve(m: LogFetchMessage): void {
    const now = this.env.now();
    if (this.servedAt.get(m.sender) === now || !(m.from >= 1)) return;
    this.servedAt.set(m.sender, now);
    const entries: LogEntry[] = [];
    for (let seq = m.from; seq <= this.executedSeq && entries.length < LOG_PAGE; seq++) {
      const entry = this.entries[seq];
      if (entry === undefined) break;
      entries.push(entry);
    }
    if (entries.length > 0) this.env.out.send(m.sender, signOwn<LogMessage>({ type: 'log', from: m.from, entries }, this.env.auth));
  }

  /**
   * A node that holds entries beyond a gap, waits on requests without progress (`waiting`),
   * or is not a member (a joiner catching up) asks a log server — a different one each
   * time — for the log; so does, less often, a node that heard of nothing for a while (its
   * seat holder may have stopped telling it), and at once a node whose region changed view
   * (`now`).
   */
  fetchIfBehind(now: boolean, waiting: boolean): void {
    const clock = this.env.now();
    const patience = Math.max(1, Math.ceil(this.env.ctx.options.requestTimeoutTicks / 2));
    if (clock - this.lastFetch < (now ? 1 : patience)) return;
    const quiet = clock - Math.max(this.lastProgress, this.lastFetch);
    const behind = now || this.aheadCount > 0 || !this.epochs.layout.members.has(this.env.id) || quiet >= (waiting ? patience : 2 * patience);
    if (!behind) return;
    const peers = this.epochs.shape.logServers(this.epochs.seats).filter((p) => p !== this.env.id);
    if (peers.length === 0) return;
    this.lastFetch = clock;
    this.fullPage = false;
    const to = peers[this.fetchTurn++ % peers.length];
    this.env.out.send(to, signOwn<LogFetchMessage>({ type: 'log-fetch', from: this.executedSeq + 1 }, this.env.auth));
  }

  private tryExecute(log: LogEntry, trusted: boolean): boolean {
    if (log.group !== this.epochs.logGroup()) return false;
    if (!trusted && !this.epochs.logVerifier().decidedEntry(log.entry)) return false;
    this.run(log);
    return true;
  }
}
