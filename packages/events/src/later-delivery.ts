/**
 * Delivery a macrotask after `emit`, in emit order, under one timer per batch: what a bus does for
 * its own handlers when it must not call them inside `emit` (a deferred bus). `deliver` is called
 * for each item in turn; an item a handler pushes during a delivery goes to the next batch.
 *
 * @example
 * ```ts
 * import { createEventBus, LaterDelivery } from "@sluice/events";
 *
 * const local = createEventBus();
 * const later = new LaterDelivery<unknown>((type, payload) => local.emit(type, payload));
 * local.on("ping", (p) => console.log("got", p));
 * later.push("ping", 1); // nothing printed yet
 * await later.delivered(); // got 1
 * ```
 */
export class LaterDelivery<T> {
  #queue: Array<[type: string, item: T]> = [];
  /** The batch being delivered, until it ends or `clear()` drops its rest. */
  #batch: Array<[type: string, item: T]> | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;
  readonly #deliver: (type: string, item: T) => void;

  constructor(deliver: (type: string, item: T) => void) {
    this.#deliver = deliver;
  }

  /** Queues `item` of event `type` for the next batch. */
  push(type: string, item: T): void {
    this.#queue.push([type, item]);
    this.#timer ??= setTimeout(this.#flush, 0);
  }

  /**
   * Resolves once everything pushed so far has been delivered, and everything its deliveries
   * pushed in turn.
   */
  async delivered(): Promise<void> {
    // an item pushed during a delivery schedules the next batch from inside this one
    while (this.#timer !== undefined) await new Promise<void>((resolve) => setTimeout(resolve, 0));
  }

  /** Drops every item not delivered yet, the rest of a batch being delivered included. */
  clear(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#queue = [];
    this.#batch = undefined;
  }

  readonly #flush = (): void => {
    this.#timer = undefined;
    const batch = this.#queue;
    this.#queue = [];
    this.#batch = batch;
    for (let i = 0; i < batch.length && this.#batch === batch; i++) this.#deliver(batch[i]![0], batch[i]![1]);
    if (this.#batch === batch) this.#batch = undefined;
  };
}
