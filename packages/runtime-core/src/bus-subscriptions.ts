import { describeThrown, describeValue, SystemError } from "@sluice/errors";
import type { EventBus } from "@sluice/events";
import { sweepIsDue } from "./idle-sweep.js";

/** One bus subscription shared by every trigger and wait on the same event name. */
interface Subscription {
  readonly off: () => void;
  refs: number;
}

/**
 * The runtime's subscriptions on the bus, one per event name, counted by their users (triggers and
 * runs that wait on the event). Every delivery goes to `onEvent(event, payload)`.
 *
 * A subscription nobody needs any more stays on the bus, idle, for the next run that waits on the
 * same event (a workflow pausing on one event would otherwise subscribe and unsubscribe on every
 * cycle). An idle subscription only costs a few lookups per event; idle ones are dropped once they
 * outnumber the rest, so dynamic event names cannot pile up, and all go with `dropIdle()`.
 */
export class BusSubscriptions {
  private readonly byEvent = new Map<string, Subscription>();
  /** Subscriptions with no user left. */
  private idle = 0;

  constructor(
    private readonly bus: EventBus<any>,
    private readonly onEvent: (event: string, payload: unknown) => void,
    private readonly report: (error: SystemError) => void,
  ) {}

  /** One more user of `event`: subscribes on first use (or wakes an idle subscription). */
  acquire(event: string): void {
    const existing = this.byEvent.get(event);
    if (existing !== undefined) {
      if (existing.refs++ === 0) this.idle--;
      return;
    }
    const off = subscribe(
      this.bus,
      event,
      (payload: unknown) => this.onEvent(event, payload),
      (problem, cause) =>
        new SystemError("INVALID_STATE", `the bus refused a subscription to "${event}": on() ${problem}`, {
          cause,
          details: { event },
        }),
    );
    this.byEvent.set(event, { off, refs: 1 });
  }

  /** One user fewer of `event`: its subscription goes idle when it was the last. */
  release(event: string): void {
    const sub = this.byEvent.get(event);
    if (sub === undefined || sub.refs === 0) return;
    if (--sub.refs > 0) return;
    if (sweepIsDue(++this.idle, this.byEvent.size)) this.dropIdle();
  }

  /** Unsubscribes every idle subscription. */
  dropIdle(): void {
    for (const [event, sub] of this.byEvent) {
      if (sub.refs > 0) continue;
      this.byEvent.delete(event);
      unsubscribe(event, sub.off, this.report);
    }
    this.idle = 0;
  }
}

/**
 * Calls an unsubscribe function the bus returned. The bus is the host's (any object with the
 * EventBus methods): an unsubscribe that throws is reported, and must not stop the deregistration
 * or the `stop()` that called it half-way (services undisposed, the timeline never closed).
 */
export function unsubscribe(event: string, off: () => void, report: (error: SystemError) => void): void {
  try {
    off();
  } catch (cause) {
    report(
      new SystemError(
        "INVALID_STATE",
        `the bus's unsubscribe from "${event}" threw (its handler may still be subscribed): ${describeThrown(cause)}`,
        { cause, details: { event } },
      ),
    );
  }
}

/**
 * `bus.on(event, handler)` on a host-supplied bus, checked: when `on` throws, or returns something
 * that is not an unsubscribe function, throws what `refused(problem, cause)` makes of it.
 */
export function subscribe(
  bus: EventBus<any>,
  event: string,
  handler: (payload: unknown) => void,
  refused: (problem: string, cause?: unknown) => SystemError,
): () => void {
  let off: unknown;
  try {
    off = bus.on(event, handler);
  } catch (cause) {
    throw refused(`threw: ${describeThrown(cause)}`, cause);
  }
  if (typeof off !== "function") {
    throw refused(`must return an unsubscribe function (got ${describeValue(off)})`);
  }
  return off as () => void;
}
