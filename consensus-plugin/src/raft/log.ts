import type { LogEntry } from './messages';

/**
 * A node's Raft log, indexed from 1 (index 0 is the empty prefix, term 0, seq 0). The
 * backing array is only appended to or replaced by a truncated copy, so a persisted
 * `{ log, logLength }` stays valid without copying (see `RaftState`).
 */
export class RaftLog {
  private entries: LogEntry[];

  /** A log holding the first `length` of `entries` (a copy: the array may be a persisted one). */
  constructor(entries: readonly LogEntry[] = [], length = entries.length) {
    this.entries = entries.slice(0, length);
  }

  get lastIndex(): number {
    return this.entries.length;
  }

  get lastTerm(): number {
    return this.term(this.lastIndex);
  }

  /** The term at `index` (0 for index 0); `index` must be in the log. */
  term(index: number): number {
    return index === 0 ? 0 : this.entries[index - 1].term;
  }

  entry(index: number): LogEntry {
    return this.entries[index - 1];
  }

  /** The batch seq reached at `index` (0 before the first batch). */
  seqAt(index: number): number {
    return index === 0 ? 0 : this.entries[index - 1].seq;
  }

  /** Whether the log holds an entry of `term` at `index` (Raft's consistency check). */
  matches(index: number, term: number): boolean {
    return index <= this.lastIndex && this.term(index) === term;
  }

  /** Whether a candidate's log ending at (lastIndex, lastTerm) is at least as up to date as this one (§5.4.1). */
  isUpToDate(lastIndex: number, lastTerm: number): boolean {
    return lastTerm > this.lastTerm || (lastTerm === this.lastTerm && lastIndex >= this.lastIndex);
  }

  /** Entries from index `from` to `to`, both inclusive. */
  slice(from: number, to: number): LogEntry[] {
    return this.entries.slice(from - 1, to);
  }

  append(entry: LogEntry): number {
    this.entries.push(entry);
    return this.lastIndex;
  }

  /**
   * Places a leader's `entries` after `prevIndex` (which must match): entries already
   * present are kept, the log is cut at the first conflicting one (§5.3). A conflict at or
   * below `committed` cannot come from a correct leader; it is refused, keeping the log.
   * Returns the index the log now matches the leader's up to, and whether it changed.
   */
  merge(prevIndex: number, entries: readonly LogEntry[], committed: number): { matched: number; changed: boolean } {
    let changed = false;
    for (let k = 0; k < entries.length; k++) {
      const index = prevIndex + 1 + k;
      if (index <= this.lastIndex) {
        if (this.term(index) === entries[k].term) continue;
        if (index <= committed) return { matched: index - 1, changed };
        this.entries = this.entries.slice(0, index - 1);
      }
      this.entries.push(entries[k]);
      changed = true;
    }
    return { matched: prevIndex + entries.length, changed };
  }

  /**
   * Where a leader should retry after this log refused `prevIndex` (fast backtracking, Raft
   * thesis §5.3): past the end of a short log, or the first index of the conflicting term
   * (not below `committed` + 1, which matches any leader's log).
   */
  conflictHint(prevIndex: number, committed: number): { hintIndex: number; hintTerm?: number } {
    if (prevIndex > this.lastIndex) return { hintIndex: this.lastIndex + 1 };
    const hintTerm = this.term(prevIndex);
    let first = prevIndex;
    while (first - 1 > committed && this.term(first - 1) === hintTerm) first--;
    return { hintIndex: first, hintTerm };
  }

  /** The last index at or below `atMost` whose term is `term`, if this log has one. */
  lastIndexOfTerm(term: number, atMost: number): number | undefined {
    let index = Math.min(atMost, this.lastIndex);
    while (index > 0 && this.term(index) > term) index--;
    return index > 0 && this.term(index) === term ? index : undefined;
  }

  /** The backing array and its length, for `RaftState`. */
  persisted(): { log: readonly LogEntry[]; logLength: number } {
    return { log: this.entries, logLength: this.entries.length };
  }
}
