import { catchRejection, describeKind, refuseUnknownKeys, SystemError } from "@sluice/errors";
import mitt, { type Emitter } from "mitt";
import { assertEmittableType, assertSubscription } from "./event-type.js";
import { reportToOnError } from "./report-to-on-error.js";

/**
 * A map from event name to payload type, e.g. `{ "order.placed": { orderId: string } }`: any object
 * type, an interface's too (`Record<string, unknown>` would refuse an interface, which has no index
 * signature).
 */
export type EventMap = object;

/** A handler for one event type; it receives the payload. */
export type EventHandler<T> = (payload: T) => void;

/** A handler for every event (subscribed with `"*"`); it receives the event type and the payload. */
export type WildcardHandler<M extends EventMap> = <K extends keyof M>(type: K, payload: M[K]) => void;

/**
 * The event bus Sluice depends on. It is deliberately narrow (emit, subscribe, count) so that a
 * distributed bus (Redis, NATS, …) can implement it without the runtime changing.
 *
 * What every bus keeps, checked by the conformance suite at `@sluice/events/conformance`: each
 * event reaches every handler of its exact type (no patterns) once, with a deep-equal, plain
 * payload (a copy is fine) that the bus does not change afterwards; events reach their handlers in
 * the order they were emitted, across types; a new subscription gets no earlier events; nothing
 * reaches a handler after its unsubscribe returns; a throwing handler stops neither the others nor
 * `emit`. Delivery may happen inside `emit` or later: {@link createEventBus} delivers inside `emit` (typed handlers in
 * subscription order, then wildcard ones), {@link createDeferredEventBus} a macrotask later, as a
 * broker-backed bus does.
 */
export interface EventBus<M extends EventMap = Record<string, unknown>> {
  /**
   * Delivers `payload` to every handler of `type`, then to every wildcard handler. Never throws
   * because of a handler. Throws `SystemError` `INVALID_INPUT` when `type` is not a non-empty string
   * or is the reserved `"*"`.
   */
  emit<K extends keyof M & string>(type: K, payload: M[K]): void;
  /**
   * Subscribes `handler` to `type`. Returns an unsubscribe function; calling it more than once is
   * harmless. A handler unsubscribed while an event is being delivered is not called after that.
   */
  on<K extends keyof M & string>(type: K, handler: EventHandler<M[K]>): () => void;
  /** Subscribes `handler` to every event (wildcard). Returns an unsubscribe function. */
  on(type: "*", handler: WildcardHandler<M>): () => void;
  /**
   * The number of live handlers for `type` (`"*"` counts wildcard handlers); with no argument, all
   * handlers including wildcard ones. Useful for leak checks.
   */
  listenerCount(type?: string): number;
}

/** Options for {@link createEventBus}. */
export interface EventBusOptions {
  /**
   * Called when a handler throws, or returns a promise that rejects (an `async` handler that
   * fails), with what it threw, the event type and the payload.
   * Default: `console.error` naming the event type. If `onError` itself throws (or rejects), that
   * error goes to `console.error` too; `emit` still never throws.
   */
  onError?: (error: unknown, type: string, payload: unknown) => void;
}

type AnyHandler = (...args: any[]) => void;

function defaultOnError(error: unknown, type: string): void {
  console.error(`[sluice/events] a handler for "${type}" threw:`, error);
}

const OPTIONS: ReadonlySet<string> = new Set(["onError"]);

/**
 * Creates an in-process {@link EventBus} on mitt.
 *
 * @throws SystemError `INVALID_INPUT` when `options` is not an object, has a key
 * {@link EventBusOptions} does not (`createEventBus: options.onErr is not an option (options:
 * onError)`), or an `onError` that is not a function.
 * @example
 * ```ts
 * const bus = createEventBus<{ "order.placed": { orderId: string } }>();
 * const off = bus.on("order.placed", (p) => console.log(p.orderId));
 * bus.emit("order.placed", { orderId: "A1" });
 * off();
 * ```
 */
export function createEventBus<M extends EventMap = Record<string, unknown>>(
  options: EventBusOptions = {},
): EventBus<M> {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `createEventBus: options must be an object { onError? } (got ${describeKind(options)})`,
    );
  }
  refuseUnknownKeys(options, OPTIONS, "options", { caller: "createEventBus" });
  if (options.onError !== undefined && typeof options.onError !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `createEventBus: options.onError must be a function (got ${describeKind(options.onError)})`,
    );
  }
  const emitter: Emitter<Record<string, unknown>> = mitt();
  const onError = options.onError ?? defaultOnError;

  const report = (error: unknown, type: string, payload: unknown): void =>
    reportToOnError(onError, error, type, payload, "sluice/events", `a "${type}" handler error`);

  // An async handler that fails rejects instead of throwing: its rejection is reported as a throw
  // is, not left unhandled (which ends a Node process by default, every other subscriber with it).
  // Most handlers return nothing: only a result is looked at, so they cost no closure.
  const reportRejection = (out: unknown, type: string, payload: unknown): void => {
    if (out !== undefined) catchRejection(out, (error) => report(error, type, payload));
  };

  // One wrapper per subscription (not per emit): it isolates a throwing handler and lets an
  // unsubscribe take effect even inside the emit that is running (mitt iterates a copy).
  const subscribe = (type: string, handler: AnyHandler): (() => void) => {
    let active = true;
    const wildcard = type === "*";
    const wrapped: AnyHandler = wildcard
      ? (eventType: string, payload: unknown) => {
          if (!active) return;
          try {
            reportRejection(handler(eventType, payload), eventType, payload);
          } catch (error) {
            report(error, eventType, payload);
          }
        }
      : (payload: unknown) => {
          if (!active) return;
          try {
            reportRejection(handler(payload), type, payload);
          } catch (error) {
            report(error, type, payload);
          }
        };
    emitter.on(type, wrapped);
    return () => {
      if (!active) return;
      active = false;
      emitter.off(type, wrapped);
      // mitt keeps an empty handler list under a type whose last handler left: a bus subscribed to
      // ever new names (`order.<id>.approved`) would keep one per name it ever had
      if (emitter.all.get(type)?.length === 0) emitter.all.delete(type);
    };
  };

  const bus: EventBus<Record<string, unknown>> = {
    emit(type: string, payload: unknown): void {
      assertEmittableType(type);
      emitter.emit(type, payload);
    },
    on(type: string, handler: AnyHandler): () => void {
      assertSubscription(type, handler);
      return subscribe(type, handler);
    },
    listenerCount(type?: string): number {
      if (type !== undefined) return emitter.all.get(type)?.length ?? 0;
      let count = 0;
      for (const handlers of emitter.all.values()) count += handlers.length;
      return count;
    },
  };
  return bus as unknown as EventBus<M>;
}
