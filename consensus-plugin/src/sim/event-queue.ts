/**
 * The simulator's agenda: a binary min-heap on (time, insertion number). Equal times pop in
 * the order they were pushed, so a run never depends on the heap's internal layout.
 */
export class EventQueue<T> {
  private readonly times: number[] = [];
  private readonly order: number[] = [];
  private readonly items: T[] = [];
  private pushed = 0;

  get size(): number {
    return this.items.length;
  }

  /** Time of the earliest event; Infinity when empty. */
  peekTime(): number {
    return this.items.length > 0 ? this.times[0] : Infinity;
  }

  push(time: number, item: T): void {
    let i = this.items.length;
    const order = this.pushed++;
    this.times.push(time);
    this.order.push(order);
    this.items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!earlier(time, order, this.times[parent], this.order[parent])) break;
      this.place(i, parent);
      i = parent;
    }
    this.set(i, time, order, item);
  }

  /** The earliest event, or undefined when empty. */
  pop(): T | undefined {
    const size = this.items.length;
    if (size === 0) return undefined;
    const top = this.items[0];
    const lastTime = this.times[size - 1];
    const lastOrder = this.order[size - 1];
    const lastItem = this.items[size - 1];
    this.times.pop();
    this.order.pop();
    this.items.pop();
    const n = size - 1;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const left = 2 * i + 1;
        if (left >= n) break;
        const right = left + 1;
        const child = right < n && earlier(this.times[right], this.order[right], this.times[left], this.order[left]) ? right : left;
        if (!earlier(this.times[child], this.order[child], lastTime, lastOrder)) break;
        this.place(i, child);
        i = child;
      }
      this.set(i, lastTime, lastOrder, lastItem);
    }
    return top;
  }

  /** Move slot `from` into slot `to`. */
  private place(to: number, from: number): void {
    this.times[to] = this.times[from];
    this.order[to] = this.order[from];
    this.items[to] = this.items[from];
  }

  private set(i: number, time: number, order: number, item: T): void {
    this.times[i] = time;
    this.order[i] = order;
    this.items[i] = item;
  }
}

function earlier(timeA: number, orderA: number, timeB: number, orderB: number): boolean {
  return timeA < timeB || (timeA === timeB && orderA < orderB);
}
