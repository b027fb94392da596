import { describeKind, describeThrown, refuseUnknownKeys, SystemError } from "@sluice/errors";
import {
  assertEmittableType,
  createEventBus,
  type EventBus,
  type EventBusOptions,
  type EventMap,
  reportToOnError,
} from "@sluice/events";
import { ArrivalOrder, type Sender } from "./arrival-order.js";
import { isOfThisThread, newBusId } from "./bus-id.js";

/**
 * What the bus needs of a `BroadcastChannel`: the Web API's own (browsers, Node's global one, Deno,
 * Bun) has all of it. A stand-in (a polyfill, a test double) must deliver each message posted on one
 * instance to every other open instance of the same name, those of the same context included (a
 * bus posts on one and listens on another), as a structured clone, in post order, and never to the
 * instance that posted it.
 */
export interface BroadcastChannelLike {
  /** Sends `message` (structured-cloned at once) to every other open channel of the same name. */
  postMessage(message: unknown): void;
  /** Subscribes to messages from other channels of the same name; the bus passes `"message"` only. */
  addEventListener(type: "message", listener: (event: { readonly data: unknown }) => void): void;
  /** Closes the channel: nothing is sent or received afterwards. */
  close(): void;
}

/** A constructor of {@link BroadcastChannelLike} channels, such as the global `BroadcastChannel`. */
export type BroadcastChannelConstructor = new (name: string) => BroadcastChannelLike;

/** Options for {@link createBroadcastEventBus}. */
export interface BroadcastEventBusOptions {
  /**
   * The channel's name: every bus (in any tab, window, worker or `worker_threads` thread of the
   * origin) created with the same name gets the events emitted on the others. A non-empty string.
   */
  channel: string;
  /**
   * Called when a handler throws, with what it threw, the event type and the payload, as by
   * `createEventBus` (default: `console.error` naming the event type). Also called with a
   * `SystemError` `INVALID_INPUT`, the type and `undefined` for an event emitted on this bus that
   * the platform took but delivered nowhere (Chromium drops a `WebAssembly.Module` payload so).
   */
  onError?: EventBusOptions["onError"];
  /**
   * The constructor to open the channels with (two per bus: one posts, one listens). Default:
   * `globalThis.BroadcastChannel` (browsers, Node 18+). Pass one where there is no global, or to
   * use a polyfill.
   */
  BroadcastChannel?: BroadcastChannelConstructor;
}

/** An {@link EventBus} over a `BroadcastChannel`; see {@link createBroadcastEventBus}. */
export interface BroadcastEventBus<M extends EventMap = Record<string, unknown>> extends EventBus<M> {
  /**
   * Closes the bus's channels: events from other contexts stop arriving, and events not yet
   * delivered to this bus's handlers (its own emits among them) are dropped. Calling it again does
   * nothing. Afterwards `emit` and `on` throw `SystemError` `INVALID_STATE`; unsubscribe functions
   * and `listenerCount` still work. In Node an open channel keeps the process alive: close the bus
   * to let it exit.
   */
  close(): void;
  /**
   * Resolves once every event emitted on this bus so far has been delivered to its own handlers,
   * and every event those handlers emitted in turn. For tests: `bus.emit(…); await bus.delivered();`.
   * It does not wait for other contexts: their handlers get the event on their own event loop.
   */
  delivered(): Promise<void>;
}

/** The marker every message this package posts carries: the wire format's version. */
const MARKER = 1;

/** What goes over the channel for one event. */
interface WireMessage {
  sluice: typeof MARKER;
  type: string;
  payload: unknown;
  /** The id of the bus that sent it: {@link newBusId}, which tells a bus of this thread. */
  from: string;
  /** The event's number among those the sending bus emitted (1, 2, …): see {@link ArrivalOrder}. */
  seq: number;
}

/**
 * What a bus posts, behind its own events still on their way back, to learn which of them will not
 * come back: when it does, none posted before it is still coming. It has no `type`, so every bus
 * but the one that sent it ignores it, as it ignores any message that is not an event.
 */
interface FenceMessage {
  sluice: typeof MARKER;
  from: string;
  /** How many events the bus had posted before the fence. */
  fence: number;
}

const OPTIONS: ReadonlySet<string> = new Set(["channel", "onError", "BroadcastChannel"]);
const CALLER = "createBroadcastEventBus";

/**
 * Creates an {@link EventBus} over the Web `BroadcastChannel` API. An event emitted on it reaches
 * the handlers of every bus on the same `channel` in every context of the origin (browser tabs,
 * windows, iframes, workers; Node `worker_threads` threads and other buses of the same thread), and
 * this bus's own handlers as well (a `BroadcastChannel` does not hear its own messages: the bus
 * posts on one channel and listens on another).
 *
 * - Payloads are **structured clones**, not JSON: a `Date`, `Map`, `Set`, typed array or `undefined`
 *   property survives; a class instance arrives as a plain object. A payload that cannot be cloned
 *   (a function, a symbol, a DOM node) makes `emit` throw `INVALID_INPUT` naming the event, and
 *   nothing is sent or delivered.
 * - This bus's own handlers get their clone a macrotask after `emit`, as the other contexts'
 *   handlers do. Events emitted on one bus reach every bus in emit order (in Node, so do those of
 *   several buses of one thread); events from other contexts in the order they arrive, but never
 *   before an event this bus emitted before they arrived: a worker's answer to it comes after it.
 * - Messages on the channel that this package did not post (no `sluice: 1` marker, or a type that
 *   cannot be emitted) are ignored, silently: a channel name may be shared with other code.
 * - Handlers run as on `createEventBus`: typed handlers, then wildcard ones; a throwing handler is
 *   reported through `onError` and stops no other.
 * - In Node the open channel keeps the process alive until {@link BroadcastEventBus.close} (it is
 *   not unref'd: a runtime waiting for events from workers has to stay up).
 *
 * @throws SystemError `INVALID_INPUT` when `options` is not an object, has a key
 * {@link BroadcastEventBusOptions} does not, a `channel` that is not a non-empty string, an
 * `onError` or `BroadcastChannel` that is not a function, or when there is no `BroadcastChannel` to
 * use. `emit` throws it for a bad event type or a payload that cannot be structured-cloned.
 * @example
 * ```ts
 * const bus = createBroadcastEventBus<{ "cart.updated": { items: number } }>({ channel: "my-app" });
 * bus.on("cart.updated", (p) => console.log("items:", p.items)); // in every tab
 * bus.emit("cart.updated", { items: 3 });
 * // later, when the page or thread is done with it:
 * bus.close();
 * ```
 */
export function createBroadcastEventBus<M extends EventMap = Record<string, unknown>>(
  options: BroadcastEventBusOptions,
): BroadcastEventBus<M> {
  if (typeof options !== "object" || options === null) {
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: options must be an object { channel, onError?, BroadcastChannel? } (got ${describeKind(options)})`,
    );
  }
  refuseUnknownKeys(options, OPTIONS, "options", { caller: CALLER });
  const { channel: name, onError, BroadcastChannel: given } = options;
  if (typeof name !== "string" || name.length === 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: options.channel must be a non-empty string, the name every context of the bus opens the channel with (got ${describeKind(name)})`,
    );
  }
  if (onError !== undefined && typeof onError !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: options.onError must be a function (got ${describeKind(onError)})`,
    );
  }
  if (given !== undefined && typeof given !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: options.BroadcastChannel must be a constructor, new (name) => channel (got ${describeKind(given)})`,
    );
  }
  const Channel =
    given ?? (globalThis as { BroadcastChannel?: BroadcastChannelConstructor }).BroadcastChannel;
  if (typeof Channel !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: there is no BroadcastChannel in this environment (globalThis.BroadcastChannel is ${describeKind(Channel)}): pass options.BroadcastChannel, a constructor new (name) => channel`,
    );
  }

  // Subscriptions and delivery are createEventBus's: the order of handlers, isolation of a throwing
  // one, and unsubscribes that hold mid-delivery come with it.
  const local = createEventBus<Record<string, unknown>>(onError === undefined ? {} : { onError });
  const canEmit = (type: unknown): type is string => {
    try {
      assertEmittableType(type);
      return true;
    } catch {
      return false;
    }
  };

  let closed = false;
  const busId = newBusId();
  const order = new ArrivalOrder<readonly [type: string, payload: unknown]>(
    ([type, payload]) => local.emit(type, payload),
    (upTo) => sending.postMessage({ sluice: MARKER, from: busId, fence: upTo } satisfies FenceMessage),
    (type) => reportLost(type),
  );
  // An own event the platform took but never delivered: no handler anywhere says so, so the bus
  // does, through onError as for a throwing handler.
  const reportLost = (type: string): void => {
    const error = new SystemError(
      "INVALID_INPUT",
      `eventBus.emit("${type}"): the event was posted but never came back to this bus over BroadcastChannel "${name}": the platform dropped it, most likely for a payload it cannot deliver (Chromium drops a WebAssembly.Module, VideoFrame, AudioData or encoded chunk without an error); other contexts did not get it either`,
      { details: { event: type } },
    );
    reportToOnError(
      onError ?? printLost,
      error,
      type,
      undefined,
      "sluice/events-broadcast",
      `a lost "${type}"`,
    );
  };

  const receive = (event: { readonly data: unknown }): void => {
    if (closed) return;
    const message = event.data;
    if (typeof message !== "object" || message === null) return;
    const { sluice, type, payload, from, seq } = message as Partial<WireMessage>;
    if (sluice === MARKER && from === busId) {
      const { fence } = message as Partial<FenceMessage>;
      if (typeof fence === "number") {
        order.fenceBack(fence);
        return;
      }
    }
    // Not ours, or not a type emit accepts: ignored without a report (the channel name may be shared
    // with other code). A bad type must not reach local.emit: it would throw out of this listener,
    // into the event loop (in Node, an uncaught exception).
    if (sluice !== MARKER || !canEmit(type)) return;
    const sender: Sender =
      from === busId ? "self" : typeof from === "string" && isOfThisThread(from) ? "sibling" : "elsewhere";
    order.heard([type, payload], sender, seq);
  };

  // Two channels: one posts, the other listens. A channel does not hear itself, so the listening
  // one gets this bus's own events back through the channel, in one queue with everybody else's.
  // Own events delivered another way (a timer) came after what another context answered to them
  // (a worker's approval of the order this thread placed reached this thread's runtime before the
  // order: no run waited for it yet, and the run started by the order then waited for ever), and
  // after what a second bus of this thread emitted after them.
  let listening: BroadcastChannelLike | undefined;
  let sending: BroadcastChannelLike;
  try {
    listening = new Channel(name);
    listening.addEventListener("message", receive);
    sending = new Channel(name);
  } catch (cause) {
    listening?.close();
    throw new SystemError(
      "INVALID_INPUT",
      `${CALLER}: opening BroadcastChannel "${name}" failed: ${describeThrown(cause)}`,
      { cause },
    );
  }
  const heard = listening;

  const refuseClosed = (call: "emit" | "on"): void => {
    if (closed) {
      throw new SystemError(
        "INVALID_STATE",
        `eventBus.${call}: the broadcast bus on channel "${name}" is closed; create a new bus to ${call === "on" ? "subscribe" : "emit"} again`,
      );
    }
  };

  const bus: BroadcastEventBus<Record<string, unknown>> = {
    emit(type: string, payload: unknown): void {
      refuseClosed("emit");
      assertEmittableType(type);
      try {
        // cloned now, for this bus's handlers as for every other bus: nothing the emitter changes
        // afterwards reaches a handler
        const message: WireMessage = { sluice: MARKER, type, payload, from: busId, seq: order.nextSeq };
        sending.postMessage(message);
      } catch (cause) {
        throw new SystemError(
          "INVALID_INPUT",
          `eventBus.emit("${type}"): the payload cannot be sent over a BroadcastChannel (it must survive structuredClone: no functions, symbols or DOM nodes): ${describeThrown(cause)}`,
          { cause },
        );
      }
      order.posted(type);
    },
    on(type: string, handler: (...args: any[]) => void): () => void {
      refuseClosed("on");
      return local.on(type, handler);
    },
    listenerCount: local.listenerCount,
    close(): void {
      if (closed) return;
      closed = true;
      order.stop();
      heard.close();
      sending.close();
    },
    delivered: () => order.delivered(),
  };
  return bus as unknown as BroadcastEventBus<M>;
}

/** Where a lost event is told without an `onError`. */
function printLost(error: unknown): void {
  console.error(`[sluice/events-broadcast] ${(error as SystemError).message}`);
}
