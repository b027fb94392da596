import { createTaskScheduler } from "./next-task.js";

/**
 * Where a message the bus hears on its channel comes from: itself (its own events come back through
 * the channel, behind everything posted to it before them), a bus of the same thread or page
 * (whose messages the channel keeps in post order with this bus's own), or elsewhere (another
 * thread, tab or worker; or a sender that does not say).
 */
export type Sender = "self" | "sibling" | "elsewhere";

/**
 * Hands the events a broadcast bus hears to its handlers in an order they can rely on: in the order
 * the channel brings them, except that an event from elsewhere never overtakes one of the bus's
 * own events posted before it arrived.
 *
 * Why: an event from elsewhere that arrives while some of this bus's own events are still on their
 * way back may answer one of them (a worker's approval of the order this thread placed). Node's
 * `BroadcastChannel` hands a posted message to each listening channel in turn, so an answer from a
 * thread that got the message first can reach this bus before its own copy. Such an event waits
 * until the own events posted before it arrived are back (they are already in the channel's queue:
 * posting finished before anything was heard), then gets a task of its own, as a message from the
 * channel does, so that what the handlers of the events before it started (a run registering the
 * wait the answer meets) goes on first. Events after a waiting one wait behind it, except the bus's
 * own, which an event not yet delivered cannot have caused.
 */
export class ArrivalOrder<E> {
  /** This bus's own events posted so far. */
  #posted = 0;
  /** How many of them came back. */
  #back = 0;
  /** Events waiting, in arrival order, each for the own events posted before it arrived. */
  #waiting: Array<{ event: E; afterOwn: number }> = [];
  /** A task is scheduled for the first waiting event. */
  #scheduled = false;
  readonly #tasks = createTaskScheduler();
  #idle: Array<() => void> = [];
  #stopped = false;
  readonly #deliver: (event: E) => void;

  /** `deliver(event)` hands one event to the bus's handlers. */
  constructor(deliver: (event: E) => void) {
    this.#deliver = deliver;
  }

  /** The bus posted one event of its own. */
  posted(): void {
    this.#posted++;
  }

  /** The channel brought `event`, from `sender`. */
  heard(event: E, sender: Sender): void {
    if (this.#stopped) return;
    if (sender === "self") {
      this.#back++;
      this.#deliver(event);
      if (this.#back === this.#posted) this.#wakeIdle();
    } else if (this.#waiting.length > 0 || (sender === "elsewhere" && this.#back < this.#posted)) {
      // (a sibling's event was posted before the own events still on their way: it waits only
      // behind the events already waiting)
      this.#waiting.push({ event, afterOwn: sender === "elsewhere" ? this.#posted : 0 });
    } else {
      this.#deliver(event);
    }
    this.#scheduleNext();
  }

  /**
   * Resolves once every own event posted so far has been delivered, and every own event their
   * handlers posted in turn.
   */
  delivered(): Promise<void> {
    if (this.#stopped || this.#back === this.#posted) return Promise.resolve();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /** The bus closed: nothing more is delivered, and `delivered()` resolves. */
  stop(): void {
    this.#stopped = true;
    this.#tasks.close();
    this.#scheduled = false;
    this.#waiting = [];
    this.#wakeIdle();
  }

  /** A task for the first waiting event, once the own events it waits for are back. */
  #scheduleNext(): void {
    const next = this.#waiting[0];
    if (this.#stopped || this.#scheduled || next === undefined || next.afterOwn > this.#back) return;
    this.#scheduled = true;
    this.#tasks.next(this.#deliverNext);
  }

  readonly #deliverNext = (): void => {
    if (this.#stopped) return;
    this.#scheduled = false;
    const next = this.#waiting.shift();
    if (next !== undefined) this.#deliver(next.event);
    this.#scheduleNext();
  };

  #wakeIdle(): void {
    const idle = this.#idle;
    this.#idle = [];
    for (const resolve of idle) resolve();
  }
}
