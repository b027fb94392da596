import { createTaskScheduler } from "./next-task.js";
import { Queue } from "./queue.js";

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
 *
 * An own event can fail to come back: Chromium posts a payload holding a `WebAssembly.Module`, a
 * `VideoFrame`, an `AudioData` or an encoded chunk, then delivers it to no channel, without a
 * `messageerror`. Waiting for it would hold every later event from elsewhere, and `delivered()`,
 * for ever. So each own event carries its number (`seq`), and a later one coming back tells that
 * the ones numbered between never will; when nothing later may come (an event from elsewhere waits,
 * `delivered()` is called, or own events come back while it waits and their handlers posted more),
 * the bus posts a fence, a message without an event that comes back
 * through the same channels behind the own events before it. The events found lost go to `lost`.
 */
export class ArrivalOrder<E> {
  /** This bus's own events posted so far. */
  #posted = 0;
  /** The number of the last own event that came back (or was found lost); they come back in order. */
  #back = 0;
  /** The types of the own events posted and not yet back, in post order, to name those lost. */
  readonly #inFlight = new Queue<string>();
  /** The own events posted before the last fence: no fence is needed until more are posted. */
  #fenced = 0;
  /** Events waiting, in arrival order, each for the own events posted before it arrived. */
  readonly #waiting = new Queue<{ event: E; afterOwn: number }>();
  /** A task is scheduled for the first waiting event. */
  #scheduled = false;
  readonly #tasks = createTaskScheduler();
  #idle: Array<() => void> = [];
  #stopped = false;
  readonly #deliver: (event: E) => void;
  readonly #postFence: (upTo: number) => void;
  readonly #lost: (type: string) => void;

  /**
   * `deliver(event)` hands one event to the bus's handlers; `postFence(upTo)` posts a fence on the
   * channel the bus posts its events on, for {@link fenceBack} to get `upTo` back; `lost(type)` is
   * told of each own event that will not come back.
   */
  constructor(deliver: (event: E) => void, postFence: (upTo: number) => void, lost: (type: string) => void) {
    this.#deliver = deliver;
    this.#postFence = postFence;
    this.#lost = lost;
  }

  /** The number the next own event posted carries: its `seq` for {@link heard}. */
  get nextSeq(): number {
    return this.#posted + 1;
  }

  /** The bus posted one event of its own, of `type`, numbered {@link nextSeq}. */
  posted(type: string): void {
    this.#posted++;
    this.#inFlight.push(type);
  }

  /** The channel brought `event`, from `sender`; an own event with the `seq` it was posted with. */
  heard(event: E, sender: Sender, seq?: number): void {
    if (this.#stopped) return;
    if (sender === "self") {
      this.#cameBack(typeof seq === "number" ? seq : this.#back + 1, event);
    } else if (this.#waiting.length > 0 || (sender === "elsewhere" && this.#back < this.#posted)) {
      // (a sibling's event was posted before the own events still on their way: it waits only
      // behind the events already waiting)
      const afterOwn = sender === "elsewhere" ? this.#posted : 0;
      this.#waiting.push({ event, afterOwn });
      if (afterOwn > this.#back) this.#fence();
    } else {
      this.#deliver(event);
    }
    this.#scheduleNext();
  }

  /** A fence posted with `upTo` came back: own events up to that number that did not are lost. */
  fenceBack(upTo: number): void {
    if (this.#stopped) return;
    this.#cameBack(upTo);
    this.#scheduleNext();
  }

  /**
   * Resolves once every own event posted so far has been delivered (or found lost), and every own
   * event their handlers posted in turn.
   */
  delivered(): Promise<void> {
    if (this.#stopped || this.#back === this.#posted) return Promise.resolve();
    this.#fence();
    return new Promise((resolve) => this.#idle.push(resolve));
  }

  /**
   * Own events up to number `upTo` are back: `event`, when given, is the one numbered `upTo`, and
   * is delivered; those before it not back yet are lost (own events come back in post order).
   */
  #cameBack(upTo: number, event?: E): void {
    const last = Math.min(upTo, this.#posted);
    while (this.#back < last && !this.#stopped) {
      this.#back++;
      const type = this.#inFlight.shift() as string;
      if (event !== undefined && this.#back === upTo) this.#deliver(event);
      else this.#lost(type);
    }
    if (this.#back === this.#posted) this.#wakeIdle();
    // delivered()'s fence covers the own events posted before it was called; the handlers of those
    // may have posted more, and one of these may be lost too, with nothing posted after it to say so
    else if (this.#idle.length > 0) this.#fence();
  }

  /** Posts a fence behind the own events still on their way, unless one already follows them. */
  #fence(): void {
    if (this.#fenced === this.#posted) return;
    this.#fenced = this.#posted;
    this.#postFence(this.#posted);
  }

  /** The bus closed: nothing more is delivered, and `delivered()` resolves. */
  stop(): void {
    this.#stopped = true;
    this.#tasks.close();
    this.#scheduled = false;
    this.#waiting.clear();
    this.#inFlight.clear();
    this.#wakeIdle();
  }

  /** A task for the first waiting event, once the own events it waits for are back. */
  #scheduleNext(): void {
    const next = this.#waiting.peek();
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
