import { describe, expect, it } from "vitest";
import {
  EventBusConformanceFailure,
  type EventBusConformanceResult,
  eventBusConformanceCases,
  runEventBusConformance,
} from "../src/conformance/index.js";
import { describeEventBusConformance } from "../src/conformance/vitest.js";
import { createDeferredEventBus, createEventBus } from "../src/index.js";
import { createReferenceBus, type ReferenceBusFaults, type ReferenceHub } from "./reference-bus.js";

const quiet = { onError: () => {} };
/** The message of the named case's failure in `results` (failing the test when it passed). */
function failureMessage(results: EventBusConformanceResult[], name: string): string {
  const error = results.find((r) => r.name === name)?.error;
  expect(error, `"${name}" did not fail`).toBeInstanceOf(EventBusConformanceFailure);
  return (error as Error).message;
}

const ONE_SHOT_RULE =
  "a handler that unsubscribes itself, or an earlier handler, during a delivery makes no other handler miss that event";

describeEventBusConformance("createEventBus", { create: () => createEventBus(quiet), synchronous: true });
describeEventBusConformance("createDeferredEventBus", {
  create: () => createDeferredEventBus(quiet),
  settled: (bus) => bus.delivered(),
});
// with the suite's default wait (a few macrotasks) instead of the bus's own
describeEventBusConformance("createDeferredEventBus, default settled", {
  create: () => createDeferredEventBus(quiet),
});
describeEventBusConformance("reference bus", { create: () => createReferenceBus(), synchronous: true });
describeEventBusConformance("reference bus, deferred", {
  create: () => createReferenceBus({ deferred: true }),
});

// buses on one transport: each bus's peer shares its hub
const hubs = new WeakMap<object, ReferenceHub>();
function onHub(faults: ReferenceBusFaults = {}) {
  return {
    create: () => {
      const hub: ReferenceHub = new Set();
      const bus = createReferenceBus({ ...faults, hub });
      hubs.set(bus, hub);
      return bus;
    },
    peer: (bus: object) => createReferenceBus({ ...faults, hub: hubs.get(bus)! }),
  };
}
describeEventBusConformance("reference buses on a shared transport", onHub());

describe("the suite catches broken buses", () => {
  it.each([
    [{ noOwnDelivery: true }, "a bus delivers the events emitted on it to its own handlers"],
    [
      { localOnly: true },
      "peers: an event emitted on one bus reaches the handlers of every bus on the transport, in emit order",
    ],
    [
      { lateOwnDelivery: true },
      "peers: an event a peer emits in answer to an event reaches the bus that emitted it after that event",
    ],
  ] as const)("on a shared transport, %o fails: %s", async (faults, rule) => {
    const results = await runEventBusConformance(onHub(faults));
    const failure = results.find((r) => r.name === rule);
    expect(failure?.passed).toBe(false);
    expect(failure?.error).toBeInstanceOf(EventBusConformanceFailure);
  });

  const broken: Array<[ReferenceBusFaults, boolean, string]> = [
    [{ rethrows: true }, true, "a throwing handler does not stop the others, and emit does not throw"],
    [
      { setOfHandlers: true },
      true,
      "each on() is its own subscription: one function subscribed twice is called twice, removed once per unsubscribe",
    ],
    [
      { noLivenessCheck: true },
      true,
      "a handler unsubscribed by another handler during a delivery gets neither that event nor later ones",
    ],
    [
      { snapshotAtEmit: true },
      false,
      "unsubscribe stops delivery at once, even of events already emitted; calling it again is harmless",
    ],
    [
      { leakyCount: true },
      true,
      "listenerCount counts live subscriptions: per type, '*' for wildcards, all without a type",
    ],
    [
      { noValidation: true },
      true,
      "bad input throws SystemError INVALID_INPUT: a type that is not a non-empty string, emitting '*', a handler that is not a function",
    ],
    [
      { patternTypes: true },
      true,
      "types match exactly: '.', '*', '>', '+', '#', '?' and brackets in a type are not patterns",
    ],
    [
      { shardedByType: true },
      false,
      "events reach their handlers in the order they were emitted, across types and subscriptions",
    ],
    [
      { undefinedAsNull: true, deferred: true },
      false,
      "payloads arrive as sent: falsy values, strings, numbers, undefined; objects as plain objects, arrays as arrays",
    ],
    [
      { dropsNested: true },
      true,
      "an event emitted by a handler is delivered, and the event being delivered still reaches later handlers",
    ],
    [{ replays: true }, false, "a handler gets no event that was delivered before it subscribed (no replay)"],
    [
      { splicesInPlace: true },
      true,
      "a handler that unsubscribes itself, or an earlier handler, during a delivery makes no other handler miss that event",
    ],
    [
      { splicesInPlace: true, deferred: true },
      false,
      "a handler that unsubscribes itself, or an earlier handler, during a delivery makes no other handler miss that event",
    ],
    [{ recycles: true }, false, "a delivered payload is not changed afterwards by the bus"],
    [
      { classInstances: true },
      false,
      "payloads arrive as sent: falsy values, strings, numbers, undefined; objects as plain objects, arrays as arrays",
    ],
    [
      { offOnlyForThisDelivery: true },
      true,
      "a handler unsubscribed by another handler during a delivery gets neither that event nor later ones",
    ],
    [
      { flushesOnUnsubscribe: true },
      false,
      "unsubscribe stops delivery at once, even of events already emitted; calling it again is harmless",
    ],
    [
      { wildcardFirst: true },
      true,
      "synchronous: handlers of the type run in subscription order, then wildcard handlers",
    ],
    [{ deferred: true }, true, "synchronous: every handler has run when emit returns"],
  ];

  it.each(broken)("%o (synchronous %s) fails: %s", async (faults, synchronous, rule) => {
    const results = await runEventBusConformance({ create: () => createReferenceBus(faults), synchronous });
    const failing = results.filter((r) => !r.passed).map((r) => r.name);
    expect(failing).toContain(rule);
    const failure = results.find((r) => r.name === rule)?.error;
    expect(failure).toBeInstanceOf(EventBusConformanceFailure);
  });

  it("a bus that splices its live list of subscriptions fails saying which handler missed the event and why", async () => {
    const results = await runEventBusConformance({
      create: () => createReferenceBus({ splicesInPlace: true }),
      synchronous: true,
    });
    expect(failureMessage(results, ONE_SHOT_RULE)).toBe(
      'a handler subscribed right after a one-shot handler (one that unsubscribes itself when called): expected [["e",1],["e",2]], got [["e",2]]; a delivery that walks the live subscription list while unsubscribe splices it skips the handler after the one removed: walk a copy of the list, or replace the list on unsubscribe instead of splicing it',
    );
    // every other rule every bus keeps still passes: only the new case tells this bus apart
    const failing = results
      .filter((r) => !r.passed && !r.name.startsWith("synchronous: "))
      .map((r) => r.name);
    expect(failing).toEqual([ONE_SHOT_RULE]);
  });

  it("names every case once, and adds the synchronous cases only for a synchronous bus", () => {
    const asynchronous = eventBusConformanceCases({ create: () => createEventBus() }).map((c) => c.name);
    const synchronous = eventBusConformanceCases({ create: () => createEventBus(), synchronous: true }).map(
      (c) => c.name,
    );
    expect(new Set(synchronous).size).toBe(synchronous.length);
    expect(synchronous.slice(0, asynchronous.length)).toEqual(asynchronous);
    expect(synchronous.slice(asynchronous.length).every((name) => name.startsWith("synchronous: "))).toBe(
      true,
    );
    expect(synchronous.length).toBeGreaterThan(asynchronous.length);
  });

  it("calls cleanup with every bus a case made, when the case fails too", async () => {
    const cleaned: unknown[] = [];
    const made: unknown[] = [];
    const results = await runEventBusConformance({
      create: () => {
        const bus = createReferenceBus({ rethrows: true });
        made.push(bus);
        return bus;
      },
      synchronous: true,
      cleanup: (bus) => {
        cleaned.push(bus);
      },
    });
    expect(results.some((r) => !r.passed)).toBe(true);
    expect(cleaned).toEqual(made);
  });
});

describe("failure messages blame a late settled only where deliveries are missing", () => {
  const LOST = /^\[if factory\.settled resolves before everything emitted so far/;
  const fiveMs = () => new Promise<void>((resolve) => setTimeout(resolve, 5));

  it("fewer deliveries than expected: the message starts with the hint about settled", async () => {
    // a deferred bus, and a settled that does not wait for it: every event looks lost
    const results = await runEventBusConformance({
      create: () => createReferenceBus({ deferred: true }),
      settled: async () => {},
    });
    expect(failureMessage(results, "a bus delivers the events emitted on it to its own handlers")).toMatch(
      LOST,
    );
    const spliced = await runEventBusConformance({
      create: () => createReferenceBus({ splicesInPlace: true, deferred: true }),
      settled: fiveMs,
    });
    expect(failureMessage(spliced, ONE_SHOT_RULE)).toMatch(LOST);
  });

  it.each([
    [
      { noLivenessCheck: true, deferred: true },
      "a handler unsubscribed by another handler during a delivery gets neither that event nor later ones",
      'each handler unsubscribes the other when called, so one event reaches one of them; got ["first","second"]',
    ],
    [
      { replays: true },
      "a handler gets no event that was delivered before it subscribed (no replay)",
      'a typed handler subscribed after an event was delivered: expected [["e",{"n":2}]], got [["e",{"n":1}],["e",{"n":2}]]',
    ],
    [
      { flushesOnUnsubscribe: true },
      "unsubscribe stops delivery at once, even of events already emitted; calling it again is harmless",
      "deliveries to the handler during or after its unsubscribe: expected [], got [1]",
    ],
  ] as const)(
    "as many deliveries or more (%o): the message is the rule's alone",
    async (faults, rule, message) => {
      const results = await runEventBusConformance({
        create: () => createReferenceBus(faults),
        settled: fiveMs,
      });
      expect(failureMessage(results, rule)).toBe(message);
    },
  );
});
