import { requestKey } from '../../../consensus-plugin/src/core/digest';
import { RequestIntake } from '../../../consensus-plugin/src/core/intake';
import type { ClientRequest } from '../../../consensus-plugin/src/core/types';

let counter = 0;
const request = (client = 'c0'): ClientRequest => {
  counter++;
  return { client, timestamp: counter, operation: `op ${counter}` };
};

describe('request intake (shared by flat PBFT and DRKPBFT)', () => {
  it('remembers a request once and forgets it when executed', () => {
    const intake = new RequestIntake(4);
    const r = request();
    expect(intake.remember(requestKey(r), r)).toBe(true);
    expect(intake.remember(requestKey(r), r)).toBe(false);
    expect(intake.knows(requestKey(r))).toBe(true);
    expect(intake.size).toBe(1);
    intake.forget(requestKey(r));
    expect(intake.knows(requestKey(r))).toBe(false);
    expect(intake.size).toBe(0);
    expect(intake.remember(requestKey(r), r)).toBe(true);
  });

  it('lists what it knows oldest first, and the timed requests in the order their timers started', () => {
    const intake = new RequestIntake(4);
    const [a, b, c] = [request(), request(), request()];
    for (const r of [a, b, c]) intake.remember(requestKey(r), r);
    intake.startTimer(requestKey(c), 0);
    intake.startTimer(requestKey(a), 1);
    expect(intake.requests()).toEqual([a, b, c]);
    expect(intake.timed()).toEqual([c, a]);
    expect(intake.isTimed(requestKey(b))).toBe(false);
    intake.stopTimer(requestKey(c));
    expect(intake.timed()).toEqual([a]);
  });

  it('hands out overdue requests once, oldest first, and stops at the first that is not due', () => {
    const intake = new RequestIntake(4);
    const [a, b, c] = [request(), request(), request()];
    [a, b, c].forEach((r, i) => {
      intake.remember(requestKey(r), r);
      intake.startTimer(requestKey(r), i * 10);
    });
    expect(intake.overdue(19, 10)).toEqual([requestKey(a)]);
    expect(intake.overdue(20, 10)).toEqual([requestKey(b)]);
    expect(intake.overdue(20, 10)).toEqual([]);
    expect(intake.timed()).toEqual([c]);
    // Overdue requests stay known: only their timers stop.
    expect(intake.knows(requestKey(a))).toBe(true);
    // The scan trusts the timers' order (they start in time order): one not due hides those behind it.
    const [d, e] = [request(), request()];
    intake.startTimer(requestKey(d), 100);
    intake.startTimer(requestKey(e), 0);
    expect(intake.overdue(109, 10)).toEqual([requestKey(c)]);
  });

  it('buffers forwards until batchSize are here, and hands them out once', () => {
    const intake = new RequestIntake(3);
    const [a, b, c, d] = [request(), request(), request(), request()];
    expect(intake.buffer([a, b])).toBe(false);
    expect(intake.buffer([a])).toBe(false);
    expect(intake.buffer([c])).toBe(true);
    intake.unbuffer(requestKey(b));
    expect(intake.takeForwards()).toEqual([a, c]);
    expect(intake.takeForwards()).toEqual([]);
    // Forgetting an executed request leaves its forward buffered (the owner's flush skips it).
    intake.remember(requestKey(d), d);
    intake.buffer([d]);
    intake.forget(requestKey(d));
    expect(intake.takeForwards()).toEqual([d]);
  });

  it('clear forgets what is known and every timer', () => {
    const intake = new RequestIntake(4);
    const a = request();
    intake.remember(requestKey(a), a);
    intake.startTimer(requestKey(a), 0);
    intake.clear();
    expect(intake.size).toBe(0);
    expect(intake.overdue(100, 1)).toEqual([]);
  });
});
