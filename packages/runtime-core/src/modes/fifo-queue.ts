/**
 * An array-backed FIFO of distinct items with O(1) amortised shift (no `Array#shift` re-indexing
 * per dequeue) and O(1) removal of a waiting item: a queued run leaving before its turn (aborted,
 * or failed at its deadline) is only noted, and skipped when the head reaches it. Cut out where it
 * was (`indexOf` and `splice`), a backlog of 50 000 runs all timing out took seconds; a queue with
 * no removals pays one size check per shift.
 */
export class FifoQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;
  /** Items removed while still in `items`, skipped when the head reaches them. */
  private readonly removed = new Set<T>();

  /** How many items wait (removed ones not counted). */
  get length(): number {
    return this.items.length - this.head - this.removed.size;
  }

  /** Adds `item` at the end; it must not be in the queue already. */
  push(item: T): void {
    this.items.push(item);
  }

  /** The item `shift()` would take, left in place. */
  peek(): T | undefined {
    if (this.removed.size !== 0) this.skipRemoved();
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.removed.size !== 0) this.skipRemoved();
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /**
   * Removes `item`, which must be waiting in the queue (the caller knows: a policy removes only a
   * run it queued and has not started).
   */
  remove(item: T): void {
    this.removed.add(item);
    // removed items a head that does not move would keep: rewritten once they are most of the queue
    if (this.removed.size > 1024 && this.removed.size * 2 > this.items.length - this.head) this.rewrite();
  }

  /** Empties the queue and returns what it held, in order. */
  takeAll(): T[] {
    const rest: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i] as T;
      if (!this.removed.has(item)) rest.push(item);
    }
    this.items = [];
    this.head = 0;
    this.removed.clear();
    return rest;
  }

  private skipRemoved(): void {
    const items = this.items;
    while (this.head < items.length && this.removed.delete(items[this.head] as T))
      items[this.head++] = undefined;
  }

  private rewrite(): void {
    this.items = this.takeAll();
  }
}
