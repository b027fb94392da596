// The EventBus contract, as executable cases. Each case states one rule a bus keeps; together they
// are the specification of `EventBus` (see docs/writing-a-bus-adapter.md). The first group is what
// every bus keeps, a broker-backed one included: the runtime relies on nothing more. The second is
// what a bus that delivers inside `emit` keeps as well.
import { SystemError } from "@sluice/errors";
import type { EventBus } from "../event-bus.js";
import type { EventBusConformanceCase, EventBusConformanceFactory } from "./factory.js";
import { EventBusConformanceFailure } from "./failure.js";

/** What a case body gets: buses from the factory (cleaned up when the case ends) and a way to wait. */
interface CaseContext {
  /** A new bus from the factory. */
  bus(): Promise<EventBus>;
  /** A second bus on the same transport as `bus` (only in the peer cases). */
  peer(bus: EventBus): Promise<EventBus>;
  /** Resolves once everything emitted on `bus` so far has been delivered. */
  settled(bus: EventBus): Promise<void>;
}

type CaseBody = (ctx: CaseContext) => Promise<void>;

/** An event as a handler saw it: its type (from the subscription or the wildcard call) and payload. */
type Delivery = [type: string, payload: unknown];

/**
 * The conformance cases for the buses `factory` makes, framework-free: each `run()` resolves when
 * the bus keeps the rule its `name` states and rejects with what broke otherwise. Run them with any
 * runner (see `describeEventBusConformance` at `@sluice/events/conformance/vitest` for vitest, or
 * {@link runEventBusConformance} in a browser page).
 *
 * @example
 * ```ts
 * for (const c of eventBusConformanceCases({ create: () => createMyBus() })) {
 *   await c.run(); // throws on the first broken rule
 * }
 * ```
 */
export function eventBusConformanceCases<B extends EventBus>(
  factory: EventBusConformanceFactory<B>,
): EventBusConformanceCase[] {
  const cases: Array<[string, CaseBody]> = [
    ["a bus delivers the events emitted on it to its own handlers", ownEventsCase],
    ["an event reaches every handler of its type once, its payload deep-equal", everyHandlerCase],
    [
      "payloads arrive as sent: falsy values, strings, numbers, undefined; objects as plain objects, arrays as arrays",
      payloadsCase,
    ],
    ["a delivered payload is not changed afterwards by the bus", keptPayloadsCase],
    [
      "types match exactly: '.', '*', '>', '+', '#', '?' and brackets in a type are not patterns",
      exactTypesCase,
    ],
    ["events reach their handlers in the order they were emitted, across types and subscriptions", orderCase],
    ["a handler gets no event that was delivered before it subscribed (no replay)", noReplayCase],
    [
      "unsubscribe stops delivery at once, even of events already emitted; calling it again is harmless",
      unsubscribeCase,
    ],
    [
      "each on() is its own subscription: one function subscribed twice is called twice, removed once per unsubscribe",
      twiceCase,
    ],
    [
      "a handler unsubscribed by another handler during a delivery gets neither that event nor later ones",
      unsubscribeDuringCase,
    ],
    [
      "a handler that unsubscribes itself, or an earlier handler, during a delivery makes no other handler miss that event",
      unsubscribeMidDeliveryCase,
    ],
    ["a throwing handler does not stop the others, and emit does not throw", throwingHandlerCase],
    [
      "an event emitted by a handler is delivered, and the event being delivered still reaches later handlers",
      nestedEmitCase,
    ],
    ["wildcard handlers get every event with its type, and stop when unsubscribed", wildcardCase],
    [
      "listenerCount counts live subscriptions: per type, '*' for wildcards, all without a type",
      listenerCountCase,
    ],
    [
      "bad input throws SystemError INVALID_INPUT: a type that is not a non-empty string, emitting '*', a handler that is not a function",
      badInputCase,
    ],
  ];
  if (factory.peer !== undefined) {
    cases.push(
      [
        "peers: an event emitted on one bus reaches the handlers of every bus on the transport, in emit order",
        peersReceiveCase,
      ],
      ["peers: unsubscribing on one bus leaves the other's subscriptions alone", peersUnsubscribeCase],
      [
        "peers: an event a peer emits in answer to an event reaches the bus that emitted it after that event",
        peersAnswerCase,
      ],
    );
  }
  if (factory.synchronous === true) {
    cases.push(
      ["synchronous: every handler has run when emit returns", deliveredInsideEmitCase],
      [
        "synchronous: handlers of the type run in subscription order, then wildcard handlers",
        handlerOrderCase,
      ],
      ["synchronous: a handler subscribed during a delivery first gets the next event", subscribeDuringCase],
      [
        "synchronous: an event emitted by a handler is delivered before later handlers get the outer one",
        depthFirstCase,
      ],
    );
  }
  return cases.map(([name, body]) => ({ name, run: () => runCase(factory, body) }));
}

async function runCase<B extends EventBus>(
  factory: EventBusConformanceFactory<B>,
  body: CaseBody,
): Promise<void> {
  const made: B[] = [];
  const ctx: CaseContext = {
    async bus() {
      const bus = await factory.create();
      made.push(bus);
      return bus;
    },
    async peer(bus) {
      const peer = await factory.peer!(bus as B);
      made.push(peer);
      return peer;
    },
    settled: (bus) => (factory.settled !== undefined ? factory.settled(bus as B) : macrotasks(5)),
  };
  try {
    await body(ctx);
  } catch (error) {
    // An event that has not arrived yet looks like one the bus lost: say which wait to suspect first.
    // Only where fewer deliveries came than expected: a wait that ends early cannot add deliveries.
    if (error instanceof EventBusConformanceFailure && lookLost.has(error) && factory.synchronous !== true) {
      const hint =
        factory.settled === undefined
          ? "[if the bus delivers later than five macrotasks, give factory.settled: the suite's default waits no longer]"
          : "[if factory.settled resolves before everything emitted so far, and what its handlers emitted in turn, has been delivered, events look lost]";
      throw new EventBusConformanceFailure(`${hint} ${error.message}`);
    }
    throw error;
  } finally {
    if (factory.cleanup !== undefined) for (const bus of made) await factory.cleanup(bus);
  }
}

async function macrotasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

// --- the rules every bus keeps ------------------------------------------------------------------

async function ownEventsCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const own = recorder(bus, "own");
  bus.emit("own", { n: 1 });
  await ctx.settled(bus);
  if (own.seen.length === 0) {
    fail(
      "an event emitted on this bus never reached its own handler: a bus must deliver its own emits (a BroadcastChannel does not hear itself; a broker client may need echo on, as NATS's noEcho off)",
      true,
    );
  }
  delivered(own.seen, [["own", { n: 1 }]], "the handler's deliveries");
}

async function everyHandlerCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const first = recorder(bus, "order.placed");
  const second = recorder(bus, "order.placed");
  const payload = { orderId: "A1", lines: [{ sku: "x", qty: 2 }], note: null, rush: true };
  bus.emit("order.placed", payload);
  await ctx.settled(bus);
  delivered(first.seen, [["order.placed", payload]], "the first handler's deliveries");
  delivered(second.seen, [["order.placed", payload]], "the second handler's deliveries");
}

async function payloadsCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const handler = recorder(bus, "value");
  const payloads: unknown[] = [
    0,
    "",
    false,
    null,
    "text",
    -1.5,
    [],
    [1, "two", null],
    { a: { b: [{}] } },
    undefined,
  ];
  // (same() also requires what arrives to be plain: the runtime refuses a control event, a trigger
  // payload or a wait's patch that is a class instance)
  for (const payload of payloads) bus.emit("value", payload);
  await ctx.settled(bus);
  delivered(
    handler.seen,
    payloads.map((payload): Delivery => ["value", payload]),
    "the deliveries of 0, '', false, null, 'text', -1.5, [], [1, 'two', null], { a: { b: [{}] } }, undefined",
  );
}

async function keptPayloadsCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  // The runtime holds payloads after delivery (an event buffered for a run about to pause, a queued
  // run's ctx.event): a bus that decodes into one recycled object would rewrite them.
  const sent = [{ id: "a", x: { y: [1, { z: 2 }] } }, { id: "b" }, [{ id: "c" }], { id: "d", x: {} }];
  const held = recorder(bus, "v");
  for (const payload of sent) bus.emit("v", payload);
  await ctx.settled(bus);
  bus.emit("v", { id: "later", x: { y: [3] } });
  bus.emit("other", { id: "other" });
  await ctx.settled(bus);
  delivered(
    held.seen.slice(0, sent.length).map(([, payload]) => payload),
    sent,
    "payloads delivered earlier, once later events were delivered",
  );
}

async function exactTypesCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const exact = recorder(bus, "a.b");
  // NATS (*, >), MQTT (+, #), Redis PSUBSCRIBE globs (*, ?, [..]) and a prefix or case match
  const patterns = [
    "a",
    "a.*",
    "a.>",
    "*.b",
    "a*",
    "a.+",
    "+.b",
    "a.#",
    "#",
    "a.?",
    "a.[b]",
    "a.b.c",
    "A.B",
    "a.b ",
  ];
  const others = patterns.map((type) => recorder(bus, type));
  bus.emit("a.b", 1);
  await ctx.settled(bus);
  delivered(exact.seen, [["a.b", 1]], 'the "a.b" handler\'s deliveries');
  for (const other of others)
    delivered(other.seen, [], `the "${other.type}" handler's deliveries of an "a.b" event`);
}

async function orderCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  // Many types, one subscription each, as the runtime subscribes (one per event name): a bus that
  // keeps order per type only (sharded by type) reorders a signal and the resume after it.
  const types = [
    "x",
    "y",
    "order.placed",
    "order.approved",
    "sluice.run.signal",
    "sluice.run.resume",
    "sluice.run.abort",
    "a.b.c",
    "job",
    "job.updated",
    "Z",
    "t-1",
    "t_2",
    "e",
    "w",
    "inner",
  ];
  const seen: Delivery[] = [];
  for (const type of types) bus.on(type, (payload) => seen.push([type, payload]));
  const sent: Delivery[] = [];
  let seed = 7;
  for (let i = 0; i < 200; i++) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const type = types[seed % types.length]!;
    sent.push([type, i]);
    bus.emit(type, i);
  }
  // a large payload between two small ones (a broker may carry it on a slower path)
  const large = { text: "x".repeat(1 << 20) };
  bus.emit("x", large);
  bus.emit("y", 200);
  await ctx.settled(bus);
  const brief = (entries: Delivery[]): Delivery[] =>
    entries.map(([type, payload]) => [
      type,
      payload === large || isSame(payload, large) ? "(1 MB payload)" : payload,
    ]);
  delivered(brief(seen), [...sent, ["x", "(1 MB payload)"], ["y", 200]], "the deliveries, in order");
}

async function noReplayCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  // A bus that replays history to a new subscription (a consumer starting at the earliest offset,
  // retained messages) would start runs from events that are long gone when a workflow registers.
  // Only events delivered before the subscription: one still in flight may reach it or not (the
  // deferred bus delivers it), as docs/writing-a-bus-adapter.md leaves to the bus.
  bus.emit("e", { n: 1 });
  await ctx.settled(bus);
  const typed = recorder(bus, "e");
  const seen: Delivery[] = [];
  bus.on("*", (type, payload) => seen.push([String(type), payload]));
  await ctx.settled(bus);
  bus.emit("e", { n: 2 });
  await ctx.settled(bus);
  delivered(typed.seen, [["e", { n: 2 }]], "a typed handler subscribed after an event was delivered");
  delivered(seen, [["e", { n: 2 }]], "a wildcard handler subscribed after an event was delivered");
}

async function unsubscribeCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  let unsubscribing = false;
  const late: unknown[] = [];
  const off = bus.on("e", (payload) => {
    if (unsubscribing) late.push(payload);
  });
  const other = recorder(bus, "e");
  bus.emit("e", 1);
  // set before the call: an unsubscribe that first delivers what is pending is late too
  unsubscribing = true;
  off();
  bus.emit("e", 2);
  await ctx.settled(bus);
  delivered(late, [], "deliveries to the handler during or after its unsubscribe");
  delivered(
    other.seen,
    [
      ["e", 1],
      ["e", 2],
    ],
    "another handler of the same type",
  );
  try {
    off();
  } catch (error) {
    fail(`calling the unsubscribe function a second time threw ${show(error)}`);
  }
  bus.emit("e", 3);
  await ctx.settled(bus);
  delivered(late, [], "deliveries after the second unsubscribe");
  delivered(other.seen.length, 3, "deliveries of the third event to the handler still subscribed");
}

async function twiceCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const seen: unknown[] = [];
  const handler = (payload: unknown): void => {
    seen.push(payload);
  };
  const offFirst = bus.on("e", handler);
  bus.on("e", handler);
  bus.emit("e", 1);
  await ctx.settled(bus);
  delivered(seen, [1, 1], "deliveries to a function subscribed twice");
  offFirst();
  bus.emit("e", 2);
  await ctx.settled(bus);
  delivered(seen, [1, 1, 2], "deliveries after one of its two subscriptions was removed");
}

async function unsubscribeDuringCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  let offSecond: () => void = () => {};
  const seen: string[] = [];
  // which of the two runs first is not part of this rule: whichever does removes the other
  let offFirst: () => void = () => {};
  offFirst = bus.on("e", () => {
    seen.push("first");
    offSecond();
  });
  offSecond = bus.on("e", () => {
    seen.push("second");
    offFirst();
  });
  const anchor = recorder(bus, "e");
  bus.emit("e", 1);
  await ctx.settled(bus);
  ok(
    seen.length === 1,
    `each handler unsubscribes the other when called, so one event reaches one of them; got ${show(seen)}`,
    seen.length === 0,
  );
  bus.emit("e", 2);
  bus.emit("e", 3);
  await ctx.settled(bus);
  delivered(anchor.seen.length, 3, "deliveries to a third handler of the type, which stays subscribed");
  // the one called first stays subscribed and gets every event; the one it removed gets none
  ok(
    seen.length === 3 && seen.every((name) => name === seen[0]),
    seen.length < 3
      ? `the handler that stayed subscribed missed a later event; got ${show(seen)}`
      : `the handler removed during the first event got a later one; got ${show(seen)}`,
    seen.length < 3,
  );
  same(bus.listenerCount("e"), 2, 'listenerCount("e") once one of the three removed another');

  const wildcardSeen: string[] = [];
  let offWildcard: () => void = () => {};
  bus.on("w", () => offWildcard());
  offWildcard = bus.on("*", (type) => {
    if (type === "w") wildcardSeen.push(String(type));
  });
  const wAnchor = recorder(bus, "w");
  bus.emit("w", 1);
  await ctx.settled(bus);
  // a wildcard handler may or may not run before the typed one on this bus: at most for that event
  const afterFirst = wildcardSeen.length;
  ok(
    afterFirst <= 1,
    `a wildcard handler unsubscribed by a typed handler got ${afterFirst} deliveries of one event`,
  );
  bus.emit("w", 2);
  bus.emit("w", 3);
  await ctx.settled(bus);
  delivered(wAnchor.seen.length, 3, 'deliveries to a typed "w" handler that stays subscribed');
  delivered(wildcardSeen.length, afterFirst, "deliveries to the wildcard handler after it was unsubscribed");
  same(bus.listenerCount("*"), 0, 'listenerCount("*") once the wildcard handler was unsubscribed');
}

async function unsubscribeMidDeliveryCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  // A bus whose delivery walks its live list of subscriptions while unsubscribe splices that list
  // skips the handler after the one removed. A host's one-shot handler, `const off = bus.on("hello",
  // () => off())`, subscribed before the runtime's, would cost the runtime its trigger event.
  const advice =
    "a delivery that walks the live subscription list while unsubscribe splices it skips the handler after the one removed: walk a copy of the list, or replace the list on unsubscribe instead of splicing it";
  const calls: string[] = [];
  const early: unknown[] = [];
  const offEarly = bus.on("e", (payload) => {
    calls.push("early");
    early.push(payload);
  });
  const once: unknown[] = [];
  const offOnce = bus.on("e", (payload) => {
    once.push(payload);
    offOnce();
  });
  const afterOnce = recorder(bus, "e");
  const remover: unknown[] = [];
  bus.on("e", (payload) => {
    calls.push("remover");
    remover.push(payload);
    offEarly();
  });
  const afterRemover = recorder(bus, "e");
  bus.emit("e", 1);
  bus.emit("e", 2);
  await ctx.settled(bus);
  const both: Delivery[] = [
    ["e", 1],
    ["e", 2],
  ];
  delivered(
    afterOnce.seen,
    both,
    "a handler subscribed right after a one-shot handler (one that unsubscribes itself when called)",
    advice,
  );
  delivered(
    afterRemover.seen,
    both,
    "a handler subscribed right after one that unsubscribes an earlier handler when called",
    advice,
  );
  delivered(
    once,
    [1],
    "deliveries to the one-shot handler, which unsubscribed itself during the first event",
  );
  delivered(remover, [1, 2], "deliveries to the handler that unsubscribed an earlier one");
  // Whether the earlier handler gets the first event depends on whether the bus calls it before its
  // remover (the order of two handlers of one event is the bus's): only not after, and not later.
  ok(
    early.length <= 1 && early[0] !== 2 && calls.indexOf("early") <= calls.indexOf("remover"),
    `a handler unsubscribed by another during the first event got ${show(early)} (calls: ${show(calls)}); it may get that event only before the unsubscribe, and no later one`,
  );
  same(bus.listenerCount("e"), 3, 'listenerCount("e") once two of five handlers were unsubscribed');

  // The same with wildcard handlers: a typed one-shot handler, then wildcard ones, one a one-shot.
  const typedOnce: unknown[] = [];
  const offTypedOnce = bus.on("w", (payload) => {
    typedOnce.push(payload);
    offTypedOnce();
  });
  const wildcardRecorder = (): Delivery[] => {
    const seen: Delivery[] = [];
    bus.on("*", (type, payload) => {
      if (type === "w") seen.push([String(type), payload]);
    });
    return seen;
  };
  const firstWildcard = wildcardRecorder();
  const wildcardOnce: unknown[] = [];
  const offWildcardOnce = bus.on("*", (type, payload) => {
    if (type !== "w") return;
    wildcardOnce.push(payload);
    offWildcardOnce();
  });
  const lastWildcard = wildcardRecorder();
  const typedAfter = recorder(bus, "w");
  bus.emit("w", 1);
  bus.emit("w", 2);
  await ctx.settled(bus);
  const bothW: Delivery[] = [
    ["w", 1],
    ["w", 2],
  ];
  delivered(
    typedAfter.seen,
    bothW,
    'a typed "w" handler subscribed after a one-shot "w" handler and wildcard handlers',
    advice,
  );
  delivered(
    firstWildcard,
    bothW,
    'a wildcard handler subscribed right after a typed one-shot "w" handler',
    advice,
  );
  delivered(
    lastWildcard,
    bothW,
    "a wildcard handler subscribed right after a one-shot wildcard handler",
    advice,
  );
  delivered(typedOnce, [1], 'deliveries to the typed one-shot "w" handler');
  delivered(wildcardOnce, [1], "deliveries to the one-shot wildcard handler");
  same(bus.listenerCount("*"), 2, 'listenerCount("*") once the one-shot wildcard handler was unsubscribed');
}

async function throwingHandlerCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  bus.on("e", () => {
    throw new Error("a broken handler (thrown on purpose by the conformance suite)");
  });
  const after = recorder(bus, "e");
  bus.on("*", () => {
    throw new Error("a broken wildcard handler (thrown on purpose by the conformance suite)");
  });
  const wildcard: Delivery[] = [];
  bus.on("*", (type, payload) => wildcard.push([String(type), payload]));
  try {
    bus.emit("e", 1);
    bus.emit("e", 2);
  } catch (error) {
    fail(`emit threw ${show(error)} because a handler threw`);
  }
  await ctx.settled(bus);
  delivered(
    after.seen,
    [
      ["e", 1],
      ["e", 2],
    ],
    "a handler subscribed after a throwing one",
  );
  delivered(
    wildcard,
    [
      ["e", 1],
      ["e", 2],
    ],
    "a wildcard handler subscribed after a throwing one",
  );
}

async function nestedEmitCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  bus.on("outer", (payload) => bus.emit("inner", { from: payload }));
  const laterOuter = recorder(bus, "outer");
  const inner = recorder(bus, "inner");
  bus.emit("outer", 1);
  await ctx.settled(bus);
  delivered(laterOuter.seen, [["outer", 1]], "a later handler of the event being delivered");
  delivered(inner.seen, [["inner", { from: 1 }]], "the handler of the event a handler emitted");
}

async function wildcardCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const seen: Delivery[] = [];
  const off = bus.on("*", (type, payload) => seen.push([String(type), payload]));
  bus.emit("a", 1);
  bus.emit("b.c", { d: 2 });
  bus.emit("a", undefined);
  await ctx.settled(bus);
  delivered(
    seen,
    [
      ["a", 1],
      ["b.c", { d: 2 }],
      ["a", undefined],
    ],
    "the wildcard handler's deliveries",
  );
  off();
  const anchor = recorder(bus, "a");
  bus.emit("a", 3);
  await ctx.settled(bus);
  delivered(anchor.seen, [["a", 3]], 'a typed "a" handler subscribed after the unsubscribe');
  delivered(seen.length, 3, "deliveries to the wildcard handler after its unsubscribe");
}

async function listenerCountCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  same(bus.listenerCount(), 0, "listenerCount() of a new bus");
  const offA1 = bus.on("a", () => {});
  const offA2 = bus.on("a", () => {});
  const offB = bus.on("b", () => {});
  const offStar = bus.on("*", () => {});
  same(bus.listenerCount("a"), 2, 'listenerCount("a") with two handlers');
  same(bus.listenerCount("b"), 1, 'listenerCount("b") with one handler');
  same(bus.listenerCount("*"), 1, 'listenerCount("*") with one wildcard handler');
  same(bus.listenerCount("c"), 0, 'listenerCount("c") with none');
  same(bus.listenerCount(), 4, "listenerCount() with four subscriptions, the wildcard one included");
  offA1();
  offA1();
  same(bus.listenerCount("a"), 1, 'listenerCount("a") after one of two unsubscribed (twice)');
  offA2();
  offB();
  offStar();
  same(bus.listenerCount(), 0, "listenerCount() once every subscription is gone");
}

async function badInputCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const loose = bus as unknown as {
    emit(type: unknown, payload: unknown): void;
    on(type: unknown, handler: unknown): unknown;
  };
  throwsInvalidInput(() => loose.emit("", 1), 'emit("")');
  throwsInvalidInput(() => loose.emit(42, 1), "emit(42)");
  throwsInvalidInput(() => loose.emit(undefined, 1), "emit(undefined)");
  throwsInvalidInput(() => loose.emit("*", 1), 'emit("*")');
  throwsInvalidInput(() => loose.on("", () => {}), 'on("", handler)');
  throwsInvalidInput(() => loose.on(null, () => {}), "on(null, handler)");
  throwsInvalidInput(() => loose.on("a", "not a function"), 'on("a", "not a function")');
  throwsInvalidInput(() => loose.on("a", undefined), 'on("a", undefined)');
  same(bus.listenerCount(), 0, "listenerCount() after refused subscriptions");
}

// --- the rules buses on one transport keep (factory.peer) -------------------------------------------

async function peersReceiveCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const peer = await ctx.peer(bus);
  const here: Delivery[] = [];
  const there: Delivery[] = [];
  for (const type of ["order.placed", "order.approved", "sluice.run.signal"]) {
    bus.on(type, (payload) => here.push([type, payload]));
    peer.on(type, (payload) => there.push([type, payload]));
  }
  const sent: Delivery[] = [];
  for (let i = 0; i < 30; i++) {
    const type = ["order.placed", "order.approved", "sluice.run.signal"][i % 3]!;
    sent.push([type, { i }]);
    bus.emit(type, { i });
  }
  await ctx.settled(bus);
  await ctx.settled(peer);
  if (there.length === 0)
    fail(
      "no event emitted on one bus reached a handler of its peer: the bus never crossed the transport",
      true,
    );
  delivered(there, sent, "the peer's deliveries, in emit order");
  delivered(here, sent, "the emitting bus's own deliveries, in emit order");
  const back: Delivery[] = [];
  bus.on("reply", (payload) => back.push(["reply", payload]));
  peer.emit("reply", { ok: true });
  await ctx.settled(peer);
  await ctx.settled(bus);
  delivered(back, [["reply", { ok: true }]], "deliveries on the first bus of an event emitted on the peer");
}

async function peersUnsubscribeCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const peer = await ctx.peer(bus);
  const here: unknown[] = [];
  const there: unknown[] = [];
  const off = bus.on("e", (payload) => here.push(payload));
  peer.on("e", (payload) => there.push(payload));
  off();
  bus.emit("e", 1);
  peer.emit("e", 2);
  await ctx.settled(bus);
  await ctx.settled(peer);
  delivered(here, [], "deliveries to the handler unsubscribed on the first bus");
  // two emitters: the order between their events is not part of the contract
  delivered(
    [...there].sort(),
    [1, 2],
    "deliveries to the peer's handler, which stays subscribed (in any order: they came from two buses)",
  );
  same(bus.listenerCount("e"), 0, 'listenerCount("e") on the first bus');
  same(peer.listenerCount("e"), 1, 'listenerCount("e") on the peer');
}

async function peersAnswerCase(ctx: CaseContext): Promise<void> {
  // A worker approves each order it sees placed: the runtime on the bus that emitted the order must
  // get the order first (an approval that comes before it meets no run, and the run the order then
  // starts waits for ever). A bus that hands its own events to its handlers some other way than
  // its peers get them (a timer, when its broker does not echo them) must not let answers overtake.
  const bus = await ctx.bus();
  const peer = await ctx.peer(bus);
  peer.on("order.placed", (payload) => peer.emit("order.approved", payload));
  const seen: Delivery[] = [];
  for (const type of ["order.placed", "order.approved"])
    bus.on(type, (payload) => seen.push([type, payload]));
  const expected: Delivery[] = [];
  for (let i = 0; i < 10; i++) {
    bus.emit("order.placed", { i });
    expected.push(["order.placed", { i }], ["order.approved", { i }]);
    await ctx.settled(bus);
    await ctx.settled(peer);
    await ctx.settled(bus);
  }
  delivered(seen, expected, "the deliveries on the bus of its events and of the peer's answers to them");
}

// --- the rules a synchronous bus keeps as well ---------------------------------------------------

async function deliveredInsideEmitCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const typed = recorder(bus, "e");
  const seen: Delivery[] = [];
  bus.on("*", (type, payload) => seen.push([String(type), payload]));
  bus.emit("e", 1);
  delivered(typed.seen, [["e", 1]], "a typed handler's deliveries when emit returned");
  delivered(seen, [["e", 1]], "a wildcard handler's deliveries when emit returned");
}

async function handlerOrderCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const calls: string[] = [];
  bus.on("*", () => calls.push("wildcard 1"));
  bus.on("e", () => calls.push("typed 1"));
  bus.on("e", () => calls.push("typed 2"));
  bus.on("*", () => calls.push("wildcard 2"));
  bus.on("e", () => calls.push("typed 3"));
  bus.emit("e", 1);
  same(calls, ["typed 1", "typed 2", "typed 3", "wildcard 1", "wildcard 2"], "the order handlers ran in");
}

async function subscribeDuringCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const late: unknown[] = [];
  let subscribed = false;
  bus.on("e", () => {
    if (subscribed) return;
    subscribed = true;
    bus.on("e", (payload) => late.push(payload));
  });
  bus.emit("e", 1);
  delivered(late, [], "deliveries of the current event to a handler subscribed during it");
  bus.emit("e", 2);
  delivered(late, [2], "deliveries of the next event to that handler");
}

async function depthFirstCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const calls: string[] = [];
  bus.on("outer", () => {
    calls.push("outer 1");
    bus.emit("inner", 1);
  });
  bus.on("outer", () => calls.push("outer 2"));
  bus.on("inner", () => calls.push("inner"));
  bus.emit("outer", 1);
  same(calls, ["outer 1", "inner", "outer 2"], "the order handlers ran in");
}

// --- helpers ---------------------------------------------------------------------------------------

/** Subscribes a handler to `type` that records what it gets. */
function recorder(bus: EventBus, type: string): { type: string; seen: Delivery[] } {
  const seen: Delivery[] = [];
  bus.on(type, (payload) => seen.push([type, payload]));
  return { type, seen };
}

/** Failures where fewer deliveries came than expected: the ones a `settled` that resolves early explains. */
const lookLost = new WeakSet<EventBusConformanceFailure>();

/** Rejects the case with `message`; `lost`: fewer deliveries came than expected. */
function fail(message: string, lost = false): never {
  const failure = new EventBusConformanceFailure(message);
  if (lost) lookLost.add(failure);
  throw failure;
}

function ok(condition: boolean, message: string, lost = false): void {
  if (!condition) fail(message, lost);
}

/**
 * Deep equality of JSON values, `undefined` included (a payload may be absent). What arrives must be
 * plain as JSON gives it: objects with the `Object` (or `null`) prototype, arrays as arrays. For
 * what is not a list or count of deliveries (a listener count, say): see {@link delivered}.
 */
function same(actual: unknown, expected: unknown, what: string, advice?: string): void {
  if (isSame(actual, expected)) return;
  const tail = advice === undefined ? "" : `; ${advice}`;
  if (Array.isArray(actual) && Array.isArray(expected) && expected.length > 5) {
    // a long list: where it first differs says more than both lists printed in full
    const at = expected.findIndex((item, i) => i >= actual.length || !isSame(actual[i], item));
    const where =
      at < 0
        ? `the first ${expected.length} match, then ${actual.length - expected.length} more arrived: ${show(actual.slice(expected.length, expected.length + 3))}`
        : `first difference at #${at}: expected ${show(expected[at])}, got ${at < actual.length ? show(actual[at]) : "nothing"}`;
    fail(`${what}: expected ${expected.length} items, got ${actual.length}; ${where}${tail}`);
  }
  fail(`${what}: expected ${show(expected)}, got ${show(actual)}${tail}`);
}

/**
 * {@link same} for what a handler got: a list of deliveries, or a count of them. A failure with fewer
 * deliveries than expected is marked as looking lost (see `runCase`); one with as many or more is
 * not, since no wait can explain an extra or a wrong delivery.
 */
function delivered(
  actual: unknown[] | number,
  expected: unknown[] | number,
  what: string,
  advice?: string,
): void {
  try {
    same(actual, expected, what, advice);
  } catch (error) {
    const count = (value: unknown[] | number): number => (typeof value === "number" ? value : value.length);
    if (error instanceof EventBusConformanceFailure && count(actual) < count(expected)) lookLost.add(error);
    throw error;
  }
}

function isSame(a: unknown, e: unknown): boolean {
  if (a === e) return true;
  if (typeof a !== "object" || typeof e !== "object" || a === null || e === null) return false;
  if (Array.isArray(a) !== Array.isArray(e)) return false;
  const proto: unknown = Object.getPrototypeOf(a);
  if (Array.isArray(a) ? proto !== Array.prototype : proto !== Object.prototype && proto !== null)
    return false;
  if (Array.isArray(a) && Array.isArray(e))
    return a.length === e.length && a.every((item, i) => isSame(item, e[i]));
  const ak = Object.keys(a);
  const ek = Object.keys(e);
  if (ak.length !== ek.length) return false;
  const ar = a as Record<string, unknown>;
  const er = e as Record<string, unknown>;
  return ek.every((key) => Object.hasOwn(ar, key) && isSame(ar[key], er[key]));
}

function throwsInvalidInput(run: () => unknown, call: string): void {
  try {
    run();
  } catch (error) {
    if (SystemError.is(error, "INVALID_INPUT")) return;
    fail(`${call} threw ${show(error)}; expected a SystemError coded INVALID_INPUT`);
  }
  fail(`${call} did not throw; expected a SystemError coded INVALID_INPUT`);
}

function show(value: unknown): string {
  if (value === undefined) return "undefined";
  if (SystemError.is(value)) return `SystemError ${value.code}: ${value.message}`;
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return (
      JSON.stringify(value, (_key, item: unknown) => (item === undefined ? "(undefined)" : item)) ??
      String(value)
    );
  } catch {
    return String(value);
  }
}
