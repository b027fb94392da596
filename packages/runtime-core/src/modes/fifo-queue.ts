/**
 * An array-backed FIFO of distinct items with O(1) amortised shift (no `Array#shift` re-indexing
 * per dequeue) and O(1) removal of any item: a queued run leaving before its turn (aborted, or
 * failed at its deadline) leaves a hole, skipped when the head reaches it. A queue of 100 000
 * runs all timing out would otherwise take 5·10⁹ element moves (`indexOf` and `splice` each).
 */
export class FifoQueue<T> {
  /** The items from the head on; `undefined` marks one removed. */
  private items: (T | undefined)[] = [];
  private head = 0;
  /** The position of `items[0]` among every item ever pushed: positions outlive compaction. */
  private base = 0;
  private live = 0;
  /** Where each waiting item is (its position), so removing it is a lookup. */
  private readonly positions = new Map<T, number>();

  /** How many items wait (holes left by removals not counted). */
  get length(): number {
    return this.live;
  }

  /** Adds `item` at the end; it must not be in the queue already. */
  push(item: T): void {
    this.positions.set(item, this.base + this.items.length);
    this.items.push(item);
    this.live++;
  }

  /** The item `shift()` would take, left in place. */
  peek(): T | undefined {
    this.skipHoles();
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    this.skipHoles();
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head] as T;
    this.items[this.head++] = undefined;
    this.positions.delete(item);
    this.live--;
    this.compact();
    return item;
  }

  /** Removes `item` wherever it is; false when it is not in the queue. */
  remove(item: T): boolean {
    const position = this.positions.get(item);
    if (position === undefined) return false;
    this.positions.delete(item);
    this.items[position - this.base] = undefined;
    this.live--;
    // holes a head that never moves would keep: rewritten once they outnumber the items
    if (this.items.length - this.head > 2 * this.live + 1024) this.rewrite();
    return true;
  }

  /** Empties the queue and returns what it held, in order. */
  takeAll(): T[] {
    const rest: T[] = [];
    for (let i = this.head; i < this.items.length; i++) {
      const item = this.items[i];
      if (item !== undefined) rest.push(item);
    }
    this.items = [];
    this.head = 0;
    this.base = 0;
    this.live = 0;
    this.positions.clear();
    return rest;
  }

  private skipHoles(): void {
    const items = this.items;
    while (this.head < items.length && items[this.head] === undefined) this.head++;
  }

  /** Drops the slots before the head once they are most of the array. */
  private compact(): void {
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.base += this.head;
      this.head = 0;
    }
  }

  /** Rewrites the array without its holes, every item at a new position. */
  private rewrite(): void {
    const rest = this.takeAll();
    for (const item of rest) this.push(item);
  }
}
