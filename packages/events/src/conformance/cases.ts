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
export function eventBusConformanceCases(factory: EventBusConformanceFactory): EventBusConformanceCase[] {
  const cases: Array<[string, CaseBody]> = [
    ["an event reaches every handler of its type once, its payload deep-equal", everyHandlerCase],
    [
      "payloads arrive as sent: falsy values, strings, numbers, arrays, nested objects, undefined",
      payloadsCase,
    ],
    ["types match exactly: a dot, '*' or '>' in a type is not a pattern", exactTypesCase],
    ["one handler sees events in the order they were emitted, across types", orderCase],
    [
      "unsubscribe stops delivery at once, even of events already emitted; calling it again is harmless",
      unsubscribeCase,
    ],
    [
      "each on() is its own subscription: one function subscribed twice is called twice, removed once per unsubscribe",
      twiceCase,
    ],
    [
      "a handler unsubscribed by another handler during a delivery does not get that event",
      unsubscribeDuringCase,
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

async function runCase(factory: EventBusConformanceFactory, body: CaseBody): Promise<void> {
  const made: EventBus[] = [];
  const ctx: CaseContext = {
    async bus() {
      const bus = await factory.create();
      made.push(bus);
      return bus;
    },
    settled: (bus) => (factory.settled !== undefined ? factory.settled(bus) : macrotasks(5)),
  };
  try {
    await body(ctx);
  } finally {
    if (factory.cleanup !== undefined) for (const bus of made) await factory.cleanup(bus);
  }
}

async function macrotasks(count: number): Promise<void> {
  for (let i = 0; i < count; i++) await new Promise<void>((resolve) => setTimeout(resolve, 0));
}

// --- the rules every bus keeps ------------------------------------------------------------------

async function everyHandlerCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const first = recorder(bus, "order.placed");
  const second = recorder(bus, "order.placed");
  const payload = { orderId: "A1", lines: [{ sku: "x", qty: 2 }], note: null, rush: true };
  bus.emit("order.placed", payload);
  await ctx.settled(bus);
  same(first.seen, [["order.placed", payload]], "the first handler's deliveries");
  same(second.seen, [["order.placed", payload]], "the second handler's deliveries");
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
  for (const payload of payloads) bus.emit("value", payload);
  await ctx.settled(bus);
  same(
    handler.seen,
    payloads.map((payload): Delivery => ["value", payload]),
    "the deliveries of 0, '', false, null, 'text', -1.5, [], [1, 'two', null], { a: { b: [{}] } }, undefined",
  );
}

async function exactTypesCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const exact = recorder(bus, "a.b");
  const others = ["a", "a.*", "a.>", "a.b.c", "A.B", "a.b ", "*.b"].map((type) => recorder(bus, type));
  bus.emit("a.b", 1);
  await ctx.settled(bus);
  same(exact.seen, [["a.b", 1]], 'the "a.b" handler\'s deliveries');
  for (const other of others)
    same(other.seen, [], `the "${other.type}" handler's deliveries of an "a.b" event`);
}

async function orderCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const seen: Delivery[] = [];
  bus.on("x", (payload) => seen.push(["x", payload]));
  bus.on("y", (payload) => seen.push(["y", payload]));
  const sent: Delivery[] = [];
  for (let i = 0; i < 50; i++) {
    const type = i % 3 === 0 ? "y" : "x";
    sent.push([type, i]);
    bus.emit(type, i);
  }
  await ctx.settled(bus);
  same(seen, sent, "the deliveries, in order");
}

async function unsubscribeCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  let unsubscribed = false;
  const late: unknown[] = [];
  const off = bus.on("e", (payload) => {
    if (unsubscribed) late.push(payload);
  });
  const other = recorder(bus, "e");
  bus.emit("e", 1);
  off();
  unsubscribed = true;
  bus.emit("e", 2);
  await ctx.settled(bus);
  same(late, [], "deliveries to the handler after its unsubscribe returned");
  same(
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
  same(late, [], "deliveries after the second unsubscribe");
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
  same(seen, [1, 1], "deliveries to a function subscribed twice");
  offFirst();
  bus.emit("e", 2);
  await ctx.settled(bus);
  same(seen, [1, 1, 2], "deliveries after one of its two subscriptions was removed");
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
  bus.emit("e", 1);
  await ctx.settled(bus);
  ok(
    seen.length === 1,
    `each handler unsubscribes the other when called, so one event reaches one of them; got ${show(seen)}`,
  );
  const wildcardSeen: string[] = [];
  let offWildcard: () => void = () => {};
  bus.on("w", () => offWildcard());
  offWildcard = bus.on("*", (type) => wildcardSeen.push(String(type)));
  bus.emit("w", 1);
  await ctx.settled(bus);
  // a wildcard handler may or may not run before the typed one on this bus: it must not run after
  ok(
    wildcardSeen.filter((type) => type === "w").length <= 1 && bus.listenerCount("*") === 0,
    `a wildcard handler unsubscribed by a typed handler: got ${show(wildcardSeen)}, listenerCount("*") ${bus.listenerCount("*")}`,
  );
  bus.emit("w", 2);
  await ctx.settled(bus);
  ok(!wildcardSeen.slice(1).includes("w"), "the unsubscribed wildcard handler got a later event");
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
  same(
    after.seen,
    [
      ["e", 1],
      ["e", 2],
    ],
    "a handler subscribed after a throwing one",
  );
  same(
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
  same(laterOuter.seen, [["outer", 1]], "a later handler of the event being delivered");
  same(inner.seen, [["inner", { from: 1 }]], "the handler of the event a handler emitted");
}

async function wildcardCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const seen: Delivery[] = [];
  const off = bus.on("*", (type, payload) => seen.push([String(type), payload]));
  bus.emit("a", 1);
  bus.emit("b.c", { d: 2 });
  bus.emit("a", undefined);
  await ctx.settled(bus);
  same(
    seen,
    [
      ["a", 1],
      ["b.c", { d: 2 }],
      ["a", undefined],
    ],
    "the wildcard handler's deliveries",
  );
  off();
  bus.emit("a", 3);
  await ctx.settled(bus);
  same(seen.length, 3, "deliveries to the wildcard handler after its unsubscribe");
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

// --- the rules a synchronous bus keeps as well ---------------------------------------------------

async function deliveredInsideEmitCase(ctx: CaseContext): Promise<void> {
  const bus = await ctx.bus();
  const typed = recorder(bus, "e");
  const seen: Delivery[] = [];
  bus.on("*", (type, payload) => seen.push([String(type), payload]));
  bus.emit("e", 1);
  same(typed.seen, [["e", 1]], "a typed handler's deliveries when emit returned");
  same(seen, [["e", 1]], "a wildcard handler's deliveries when emit returned");
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
  same(late, [], "deliveries of the current event to a handler subscribed during it");
  bus.emit("e", 2);
  same(late, [2], "deliveries of the next event to that handler");
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

function fail(message: string): never {
  throw new EventBusConformanceFailure(message);
}

function ok(condition: boolean, message: string): void {
  if (!condition) fail(message);
}

/** Deep equality of JSON values, `undefined` included (a payload may be absent). */
function same(actual: unknown, expected: unknown, what: string): void {
  if (!isSame(actual, expected)) fail(`${what}: expected ${show(expected)}, got ${show(actual)}`);
}

function isSame(a: unknown, e: unknown): boolean {
  if (a === e) return true;
  if (typeof a !== "object" || typeof e !== "object" || a === null || e === null) return false;
  if (Array.isArray(a) !== Array.isArray(e)) return false;
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
