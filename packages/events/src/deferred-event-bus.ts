import { describeThrown, SystemError } from "@sluice/errors";
import { createEventBus, type EventBus, type EventBusOptions, type EventMap } from "./event-bus.js";
import { assertEmittableType } from "./event-type.js";
import { LaterDelivery } from "./later-delivery.js";

/** An {@link EventBus} that delivers later; see {@link createDeferredEventBus}. */
export interface DeferredEventBus<M extends EventMap = Record<string, unknown>> extends EventBus<M> {
  /**
   * Resolves once every event emitted so far has been delivered, and every event its handlers
   * emitted in turn. For tests: `bus.emit(…); await bus.delivered();`.
   */
  delivered(): Promise<void>;
}

/**
 * Creates an in-process {@link EventBus} that behaves as a broker-backed one (Redis, NATS) does:
 * `emit` sends the payload as JSON text and returns; on a later macrotask, in emit order, the
 * text is parsed once per event and that copy goes to the event's handlers. Run a workflow's tests on it to be sure nothing relies on delivery
 * inside `emit` or on payload identity, before swapping in a distributed bus.
 *
 * Payloads go through `JSON.stringify`, as they would on the wire: functions and `undefined`
 * properties are dropped, a `Date` arrives as its ISO string, and `undefined` as a whole payload
 * arrives as `undefined`. Handler errors are reported as by {@link createEventBus}.
 *
 * @throws SystemError `INVALID_INPUT` for bad options (as {@link createEventBus}); `emit` throws it
 * for a bad event type or a payload JSON cannot hold (a cycle, a BigInt), naming the event.
 * @example
 * ```ts
 * const bus = createDeferredEventBus<{ ping: { n: number } }>();
 * bus.on("ping", (p) => console.log("got", p.n));
 * bus.emit("ping", { n: 1 }); // nothing printed yet
 * await bus.delivered(); // "got 1"
 * ```
 */
export function createDeferredEventBus<M extends EventMap = Record<string, unknown>>(
  options: EventBusOptions = {},
): DeferredEventBus<M> {
  const local = createEventBus<Record<string, unknown>>(options);
  // Texts, not payloads: what a handler gets cannot share anything with what the emitter holds.
  const later = new LaterDelivery<string | undefined>((type, text) =>
    local.emit(type, text === undefined ? undefined : JSON.parse(text)),
  );

  const bus: DeferredEventBus<Record<string, unknown>> = {
    emit(type: string, payload: unknown): void {
      assertEmittableType(type);
      let text: string | undefined;
      try {
        text = JSON.stringify(payload);
      } catch (cause) {
        throw new SystemError(
          "INVALID_INPUT",
          `eventBus.emit("${type}"): the payload cannot be sent as JSON: ${describeThrown(cause)}`,
          { cause },
        );
      }
      later.push(type, text);
    },
    on: local.on,
    listenerCount: local.listenerCount,
    delivered: () => later.delivered(),
  };
  return bus as unknown as DeferredEventBus<M>;
}
