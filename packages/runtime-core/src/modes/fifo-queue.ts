/** An array-backed FIFO with O(1) amortised shift (no `Array#shift` re-indexing per dequeue). */
export class FifoQueue<T> {
  private items: (T | undefined)[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(item: T): void {
    this.items.push(item);
  }

  /** The item `shift()` would take, left in place. */
  peek(): T | undefined {
    return this.head < this.items.length ? this.items[this.head] : undefined;
  }

  shift(): T | undefined {
    if (this.head >= this.items.length) return undefined;
    const item = this.items[this.head];
    this.items[this.head++] = undefined;
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return item;
  }

  /** Removes one item; O(n), for a queued run leaving before its turn (aborted, or failed at its deadline). */
  remove(item: T): boolean {
    const at = this.items.indexOf(item, this.head);
    if (at < 0) return false;
    this.items.splice(at, 1);
    return true;
  }

  /** Removes the first item `matches`; O(n), for a queued run leaving before its turn (aborted, or failed at its deadline). */
  removeWhere(matches: (item: T) => boolean): boolean {
    for (let at = this.head; at < this.items.length; at++) {
      if (matches(this.items[at] as T)) {
        this.items.splice(at, 1);
        return true;
      }
    }
    return false;
  }

  /** Empties the queue and returns what it held, in order. */
  takeAll(): T[] {
    const rest = this.items.slice(this.head) as T[];
    this.items = [];
    this.head = 0;
    return rest;
  }
}
