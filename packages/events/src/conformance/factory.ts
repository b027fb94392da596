import type { EventBus } from "../event-bus.js";

/**
 * How the conformance suite gets buses of the implementation under test. `B` is the bus type
 * `create` returns, so `settled` and `cleanup` can call its own methods (`close()`, a flush).
 *
 * @example
 * ```ts
 * // in-process and synchronous: nothing to wait for, nothing to clean up
 * describeEventBusConformance("mitt", {
 *   create: () => createEventBus({ onError: () => {} }),
 *   synchronous: true,
 * });
 *
 * // a broker-backed bus: wait for the broker to deliver, close the connection afterwards
 * describeEventBusConformance("redis", {
 *   create: () => createRedisEventBus({ url, channelPrefix: randomPrefix() }),
 *   settled: (bus) => bus.roundTrip(),
 *   cleanup: (bus) => bus.close(),
 * });
 * ```
 */
export interface EventBusConformanceFactory<B extends EventBus = EventBus> {
  /**
   * A new bus that shares no subscriptions and no events with buses made before it. Handler errors
   * are expected in some cases: have the bus report them somewhere quiet.
   */
  create(): B | Promise<B>;
  /**
   * Resolves once every event emitted so far (on `bus` and on its peers) has been delivered to the
   * handlers of `bus`, including the events those handlers emitted in turn. Default: five
   * macrotasks (`setTimeout(0)`), enough for an in-process bus that defers delivery; a
   * broker-backed bus must give its own: for instance, a ping through the broker repeated until
   * no event arrived while it was in flight. A ping on this bus's connection orders only its own
   * emits: with `peer`, also wait for a ping through each peer's connection.
   */
  settled?(bus: B): Promise<void>;
  /**
   * Only for buses that connect contexts (a broker, a channel): a second bus on the same transport
   * as `bus` (another connection to the broker, another channel of the same name), sharing its
   * events. When given, the suite adds the cases for events crossing between buses. Cleaned up
   * with `cleanup` like any bus.
   */
  peer?(bus: B): B | Promise<B>;
  /**
   * True for a bus that delivers inside `emit` (as `createEventBus()` does). Adds the cases only
   * such a bus can keep: delivery before `emit` returns, handler order within one event, and
   * depth-first delivery of events emitted by handlers.
   */
  synchronous?: boolean;
  /** Called with each bus a case made, after the case, pass or fail: close connections, channels. */
  cleanup?(bus: B): Promise<void> | void;
}

/** One conformance case: a name that states the rule, and a function that checks it. */
export interface EventBusConformanceCase {
  /** The rule, e.g. `"one handler sees events in the order they were emitted, across types"`. */
  name: string;
  /** Resolves when the bus keeps the rule; rejects with what broke otherwise. */
  run(): Promise<void>;
}
