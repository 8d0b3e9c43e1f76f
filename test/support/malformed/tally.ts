/**
 * What came of the calls: per target (a transaction, a service route) the calls by input
 * class and by refusal code, and every call that was not refused as it must be.
 */

/** A call's outcome: refused with a named code, refused without one, or accepted. */
export type Outcome = { kind: 'refused'; code: string; field?: string; status?: number; message: string } | { kind: 'unnamed'; message: string } | { kind: 'accepted'; detail: string };

export interface Failure {
  target: string;
  inputClass: string;
  what: string;
  caller: string;
  expected: string;
  got: string;
}

export class Tally {
  readonly byTarget = new Map<string, { calls: number; classes: Map<string, number>; codes: Map<string, number> }>();
  readonly failures: Failure[] = [];
  calls = 0;

  add(target: string, inputClass: string, outcome: Outcome, failure?: Omit<Failure, 'target' | 'inputClass' | 'got'>): void {
    this.calls++;
    let t = this.byTarget.get(target);
    if (!t) this.byTarget.set(target, (t = { calls: 0, classes: new Map(), codes: new Map() }));
    t.calls++;
    t.classes.set(inputClass, (t.classes.get(inputClass) ?? 0) + 1);
    const code = outcome.kind === 'refused' ? `${outcome.status ? `${outcome.status} ` : ''}${outcome.code}` : outcome.kind === 'accepted' ? 'ACCEPTED' : 'UNNAMED';
    t.codes.set(code, (t.codes.get(code) ?? 0) + 1);
    if (failure) this.failures.push({ target, inputClass, ...failure, got: describeOutcome(outcome) });
  }

  /** One line per target: calls, the classes sent and the codes received. */
  table(): string {
    const rows = [...this.byTarget].sort(([a], [b]) => (a < b ? -1 : 1));
    const width = Math.max(...rows.map(([t]) => t.length), 6);
    const counts = (m: Map<string, number>) => [...m].sort(([a], [b]) => (a < b ? -1 : 1)).map(([k, n]) => `${k} ${n}`).join(', ');
    return rows.map(([target, t]) => `${target.padEnd(width)} ${String(t.calls).padStart(6)}  codes: ${counts(t.codes)}  |  classes: ${counts(t.classes)}`).join('\n');
  }

  /** Calls per input class over all targets. */
  classes(): Map<string, number> {
    const all = new Map<string, number>();
    for (const t of this.byTarget.values()) for (const [k, n] of t.classes) all.set(k, (all.get(k) ?? 0) + n);
    return all;
  }
}

export const describeOutcome = (o: Outcome): string =>
  o.kind === 'refused' ? `${o.status ? `${o.status} ` : ''}${o.code}${o.field !== undefined ? `[${o.field}]` : ''}: ${o.message.slice(0, 300)}` : o.kind === 'accepted' ? `accepted (${o.detail})` : `refused without a named code: ${o.message.slice(0, 300)}`;
