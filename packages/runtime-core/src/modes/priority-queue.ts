/**
 * A queue of distinct items taken highest priority first, items of equal priority in the order
 * they were pushed (or by the `order` given with each): a binary heap on (priority, order). A waiting item that leaves (a queued
 * run aborted, or failed at its deadline) is only noted and skipped when it reaches the top, as
 * in {@link FifoQueue}, so removal costs a `Set` entry, not a search of the heap.
 */
export class PriorityQueue<T> {
  private items: T[] = [];
  private priorities: number[] = [];
  /** What breaks ties between equal priorities: push order, unless given. */
  private orders: number[] = [];
  private pushed = 0;
  /** Items removed while still in the heap, skipped when they reach its top. */
  private readonly removed = new Set<T>();

  /** How many items wait (removed ones not counted). */
  get length(): number {
    return this.items.length - this.removed.size;
  }

  /**
   * Adds `item` with `priority` (a finite number; higher goes first); it must not be in the queue
   * already. Among equal priorities the lower `order` goes first: by default the push order; a
   * caller that gives it gives it for every item (an arrival number, say).
   */
  push(item: T, priority: number, order: number = this.pushed++): void {
    this.pushAt(item, priority, order);
  }

  /** The item `shift()` would take, left in place. */
  peek(): T | undefined {
    if (this.removed.size !== 0) this.skipRemoved();
    return this.items[0];
  }

  shift(): T | undefined {
    if (this.removed.size !== 0) this.skipRemoved();
    return this.items.length === 0 ? undefined : this.pop();
  }

  /** Removes `item`, which must be waiting in the queue (the caller knows: a policy removes only a run it queued). */
  remove(item: T): void {
    this.removed.add(item);
    // removed items that never reach the top would stay: rebuilt once they are most of the heap
    if (this.removed.size > 1024 && this.removed.size * 2 > this.items.length) this.rebuild();
  }

  /** Empties the queue and returns what it held, by `order` (the order pushed, by default), not by priority. */
  takeAll(): T[] {
    const order = this.items.map((_, i) => i).sort((a, b) => this.orders[a]! - this.orders[b]!);
    const rest: T[] = [];
    for (const i of order) {
      const item = this.items[i]!;
      if (!this.removed.has(item)) rest.push(item);
    }
    this.items = [];
    this.priorities = [];
    this.orders = [];
    this.removed.clear();
    return rest;
  }

  /** Empties the queue. */
  clear(): void {
    this.items = [];
    this.priorities = [];
    this.orders = [];
    this.removed.clear();
  }

  private skipRemoved(): void {
    while (this.items.length > 0 && this.removed.delete(this.items[0]!)) this.pop();
  }

  private rebuild(): void {
    const { items, priorities, orders } = this;
    this.items = [];
    this.priorities = [];
    this.orders = [];
    for (let i = 0; i < items.length; i++) {
      const item = items[i]!;
      if (!this.removed.delete(item)) this.pushAt(item, priorities[i]!, orders[i]!);
    }
  }

  private pushAt(item: T, priority: number, order: number): void {
    const { items, priorities, orders } = this;
    let at = items.length;
    items.push(item);
    priorities.push(priority);
    orders.push(order);
    while (at > 0) {
      const parent = (at - 1) >> 1;
      if (!goesFirst(priority, order, priorities[parent]!, orders[parent]!)) break;
      items[at] = items[parent]!;
      priorities[at] = priorities[parent]!;
      orders[at] = orders[parent]!;
      at = parent;
    }
    items[at] = item;
    priorities[at] = priority;
    orders[at] = order;
  }

  private pop(): T {
    const { items, priorities, orders } = this;
    const top = items[0]!;
    const lastItem = items.pop()!;
    const lastPriority = priorities.pop()!;
    const lastOrder = orders.pop()!;
    const size = items.length;
    if (size === 0) return top;
    let at = 0;
    for (;;) {
      let child = 2 * at + 1;
      if (child >= size) break;
      if (
        child + 1 < size &&
        goesFirst(priorities[child + 1]!, orders[child + 1]!, priorities[child]!, orders[child]!)
      )
        child++;
      if (!goesFirst(priorities[child]!, orders[child]!, lastPriority, lastOrder)) break;
      items[at] = items[child]!;
      priorities[at] = priorities[child]!;
      orders[at] = orders[child]!;
      at = child;
    }
    items[at] = lastItem;
    priorities[at] = lastPriority;
    orders[at] = lastOrder;
    return top;
  }
}

/**
 * Whether an entry of `priority` taken `order`th goes before one of `otherPriority` taken
 * `otherOrder`th: the higher priority, or at equal priorities the one taken first.
 */
export function goesFirst(
  priority: number,
  order: number,
  otherPriority: number,
  otherOrder: number,
): boolean {
  return priority > otherPriority || (priority === otherPriority && order < otherOrder);
}
