import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import {
  compareTimelineEvents,
  DEFAULT_QUERY_LIMIT,
  decodeCursor,
  encodeCursor,
  MAX_DATA_DEPTH,
  MAX_QUERY_LIMIT,
  makeTimelinePage,
  matchesDeleteFilter,
  matchesQuery,
  resolveDeleteFilter,
  resolveQuery,
  type TimelineEvent,
  validateDeleteFilter,
  validateQuery,
  validateTimelineEvent,
  validateTimelineEvents,
} from "../src/index.js";

const base: TimelineEvent = {
  id: "e1",
  runId: "r1",
  workflowId: "wf",
  seq: 0,
  at: 1,
  source: "runtime",
  type: "log",
};

function invalidMessage(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    return (error as SystemError).message;
  }
  throw new Error("expected INVALID_INPUT");
}

describe("validateTimelineEvents", () => {
  it("names the index and the field", () => {
    const events = [base, base, base, { ...base, seq: -1 }];
    expect(invalidMessage(() => validateTimelineEvents(events))).toBe(
      "events[3].seq must be a non-negative integer, got -1",
    );
    expect(invalidMessage(() => validateTimelineEvent({ ...base, at: Number.NaN }))).toBe(
      "event.at must be a finite number (epoch milliseconds), got NaN",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, runID: "x" }]))).toContain(
      "events[0].runID is not a TimelineEvent field",
    );
    expect(invalidMessage(() => validateTimelineEvents("nope"))).toContain("events must be an array");
  });

  it("says what an object given for a field or the batch is, and how to pass it", () => {
    expect(invalidMessage(() => validateTimelineEvents(base))).toBe(
      "events must be an array of TimelineEvent, got an object (to append one event, pass [event])",
    );
    expect(invalidMessage(() => validateTimelineEvents(new Map()))).toBe(
      "events must be an array of TimelineEvent, got an instance of Map",
    );
    expect(invalidMessage(() => validateTimelineEvents(new Int32Array(2)))).toBe(
      "events must be an array of TimelineEvent, got an instance of Int32Array",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, runId: new Error("r1") }]))).toBe(
      "events[0].runId must be a non-empty string, got an instance of Error",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, at: new Date(0) }]))).toBe(
      "events[0].at must be a finite number (epoch milliseconds), got an instance of Date (pass date.getTime())",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, runId: { id: "r1" } }]))).toBe(
      "events[0].runId must be a non-empty string, got an object",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, seq: Object.create(null) }]))).toBe(
      "events[0].seq must be a non-negative integer, got an object",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, seq: [1] }]))).toBe(
      "events[0].seq must be a non-negative integer, got an array of 1 item",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, seq: 5n }]))).toBe(
      "events[0].seq must be a non-negative integer, got 5n",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, level: "w".repeat(100) }]))).toBe(
      `events[0].level must be "debug", "info", "warn" or "error", got "${"w".repeat(80)}…"`,
    );
  });

  it("names the path inside data and why it is not JSON", () => {
    const fn = () => 1;
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, data: { a: [1, { fn }] } }]))).toBe(
      "events[0].data.a[1].fn is a function; data must be plain JSON",
    );
    expect(invalidMessage(() => validateTimelineEvents([{ ...base, data: { "a b": 10n } }]))).toBe(
      'events[0].data["a b"] is a BigInt (store it as a string); data must be plain JSON',
    );
    expect(invalidMessage(() => validateTimelineEvent({ ...base, data: { when: new Date(0) } }))).toContain(
      "event.data.when is a Date, not a plain object",
    );
    expect(invalidMessage(() => validateTimelineEvent({ ...base, data: [1, undefined] }))).toContain(
      "event.data[1] is undefined",
    );
  });

  it("tells a cycle from data that is merely too deep", () => {
    const cycle: Record<string, unknown> = { list: [] };
    (cycle.list as unknown[]).push({ back: cycle });
    expect(invalidMessage(() => validateTimelineEvent({ ...base, data: cycle }))).toBe(
      "event.data.list[0].back refers back to an enclosing object (a cycle); data must be plain JSON",
    );
    let deep: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH + 1; i++) deep = [deep];
    expect(invalidMessage(() => validateTimelineEvent({ ...base, data: deep }))).toBe(
      `event.data nests deeper than ${MAX_DATA_DEPTH} levels`,
    );
    let ok: unknown = 1;
    for (let i = 0; i < MAX_DATA_DEPTH - 1; i++) ok = [ok];
    expect(() => validateTimelineEvent({ ...base, data: ok })).not.toThrow();
  });

  it("reports whatever reading an event or its data throws as INVALID_INPUT, with it as the cause", () => {
    const boom = new Error("getter boom");
    const throwing = () => {
      throw boom;
    };
    const getter = (target: object, key: string) =>
      Object.defineProperty(target, key, { get: throwing, enumerable: true });
    const hostile = new Proxy({}, { ownKeys: throwing, getPrototypeOf: throwing });
    const cases: Array<[unknown, string]> = [
      [{ ...base, data: getter({ a: 1 }, "boom") }, "events[1].data.boom could not be read"],
      [{ ...base, data: { list: [1, getter({}, "deep")] } }, "events[1].data.list[1].deep could not be read"],
      [{ ...base, data: getter([], "0") }, "events[1].data[0] could not be read"],
      [{ ...base, data: { inner: hostile } }, "events[1].data.inner could not be read"],
      [{ ...base, data: hostile }, "events[1].data could not be read"],
      [getter({ ...base }, "message"), "events[1] could not be read"],
      [new Proxy({ ...base }, { get: throwing }), "events[1] could not be read"],
    ];
    for (const [event, expected] of cases) {
      let error: unknown;
      try {
        validateTimelineEvents([base, event]);
      } catch (thrown) {
        error = thrown;
      }
      expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
      const { message, cause } = error as SystemError;
      expect(message).toContain(expected);
      expect(message).toContain("(reading it threw Error: getter boom)");
      expect(message).toContain("can be read");
      expect(cause).toBe(boom);
    }
  });

  it("accepts shared (non-cyclic) references, undefined properties and null-prototype objects", () => {
    const shared = { x: 1 };
    const bare = Object.assign(Object.create(null), { y: 2 });
    expect(() =>
      validateTimelineEvent({
        ...base,
        stage: undefined,
        data: { a: shared, b: shared, c: undefined, bare },
      }),
    ).not.toThrow();
  });
});

describe("order and matching", () => {
  it("orders by at, then seq, then id", () => {
    const a = { at: 1, seq: 5, id: "z" };
    expect(compareTimelineEvents(a, { at: 2, seq: 0, id: "a" })).toBeLessThan(0);
    expect(compareTimelineEvents(a, { at: 1, seq: 6, id: "a" })).toBeLessThan(0);
    expect(compareTimelineEvents(a, { at: 1, seq: 5, id: "zz" })).toBeLessThan(0);
    expect(compareTimelineEvents(a, { ...a })).toBe(0);
  });

  it("matches from inclusive, to exclusive, before exclusive", () => {
    expect(matchesQuery({ ...base, at: 10 }, { from: 10, to: 11 })).toBe(true);
    expect(matchesQuery({ ...base, at: 11 }, { from: 10, to: 11 })).toBe(false);
    expect(matchesQuery(base, { runId: "r2" })).toBe(false);
    expect(matchesDeleteFilter({ ...base, at: 10 }, { before: 10 })).toBe(false);
    expect(matchesDeleteFilter({ ...base, at: 9 }, { before: 10, workflowId: "wf" })).toBe(true);
  });
});

describe("queries and cursors", () => {
  it("applies the default limit and rejects bad ones", () => {
    expect(resolveQuery(undefined)).toEqual({ limit: DEFAULT_QUERY_LIMIT });
    expect(resolveQuery({ runId: "r", limit: MAX_QUERY_LIMIT })).toEqual({
      runId: "r",
      limit: MAX_QUERY_LIMIT,
    });
    expect(invalidMessage(() => validateQuery({ limit: MAX_QUERY_LIMIT + 1 }))).toBe(
      `filter.limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${MAX_QUERY_LIMIT + 1}`,
    );
    expect(invalidMessage(() => validateQuery({ from: 5, to: 1 }))).toContain(
      "filter.from (5) must not be after",
    );
  });

  it("says what a bad field was given: a string from a URL is not shown as the number it reads as", () => {
    expect(invalidMessage(() => validateQuery({ limit: "5" }))).toBe(
      `filter.limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got "5"`,
    );
    expect(invalidMessage(() => validateQuery({ runId: 42 }))).toBe(
      "filter.runId must be a non-empty string when present, got 42",
    );
    // (not the words for a whole filter that is no plain object: "whose inherited keys a filter does not read")
    expect(invalidMessage(() => validateQuery({ workflowId: Object.create({}) }))).toBe(
      "filter.workflowId must be a non-empty string when present, got an object whose prototype is not Object.prototype (such as Object.create(proto))",
    );
    expect(invalidMessage(() => validateQuery({ from: new Date(0) }))).toBe(
      "filter.from must be a number (epoch milliseconds) when present, got an instance of Date (pass date.getTime())",
    );
    expect(invalidMessage(() => validateDeleteFilter({ before: "1700000000000" }))).toBe(
      'filter.before must be a number (epoch milliseconds) when present, got "1700000000000"',
    );
  });

  it("refuses a field whose value is a Proxy that throws when inspected as INVALID_INPUT, never with the trap's error", () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("trap");
        },
      },
    );
    for (const key of ["runId", "from", "to", "limit"]) {
      expect(invalidMessage(() => validateQuery({ [key]: hostile }))).toContain(`filter.${key} must be`);
    }
    expect(invalidMessage(() => validateDeleteFilter({ before: hostile }))).toContain(
      "filter.before must be",
    );
  });

  it("round-trips a cursor for the same filter and refuses it for another or garbage", () => {
    const filter = { runId: "r1", from: 0 };
    const last = { at: 1.5, seq: 7, id: "é'; --" };
    const cursor = encodeCursor(last, filter);
    expect(decodeCursor(cursor, { ...filter })).toEqual(last);
    expect(resolveQuery({ ...filter, limit: 3, next: cursor }).after).toEqual(last);
    expect(invalidMessage(() => decodeCursor(cursor, { runId: "r1" }))).toContain("different filter");
    expect(invalidMessage(() => decodeCursor("not a cursor", filter))).toContain("not a cursor");
    expect(invalidMessage(() => decodeCursor(btoa(JSON.stringify([1, 1, -1, "x", "y"])), filter))).toContain(
      "not a cursor",
    );
  });

  it("tells an infinite bound from no bound: a cursor for {} is refused for { from: Infinity } and the like", () => {
    const cursor = encodeCursor({ at: 1, seq: 1, id: "e1" }, {});
    expect(decodeCursor(cursor, {})).toEqual({ at: 1, seq: 1, id: "e1" });
    for (const filter of [{ from: Infinity }, { from: -Infinity }, { to: Infinity }, { to: -Infinity }]) {
      expect(invalidMessage(() => decodeCursor(cursor, filter))).toContain("different filter");
    }
    const bounded = encodeCursor({ at: 1, seq: 1, id: "e1" }, { to: Infinity });
    expect(decodeCursor(bounded, { to: Infinity })).toEqual({ at: 1, seq: 1, id: "e1" });
  });

  it("makes a page with next only when there was one more row", () => {
    const q = resolveQuery({ limit: 2 });
    const rows = [base, { ...base, id: "e2", seq: 1 }, { ...base, id: "e3", seq: 2 }];
    const page = makeTimelinePage(rows.slice(), q);
    expect(page.events.map((e) => e.id)).toEqual(["e1", "e2"]);
    expect(decodeCursor(page.next, {})).toEqual({ at: 1, seq: 1, id: "e2" });
    expect(makeTimelinePage(rows.slice(0, 2), q)).toEqual({ events: rows.slice(0, 2) });
  });

  it("requires a non-empty delete filter; Infinity deletes all", () => {
    expect(invalidMessage(() => validateDeleteFilter({}))).toContain("{ before: Infinity }");
    expect(() => validateDeleteFilter({ before: Number.POSITIVE_INFINITY })).not.toThrow();
    expect(invalidMessage(() => validateDeleteFilter({ runId: "" }))).toContain("filter.runId");
  });
});

describe("filters are plain objects whose own fields count", () => {
  const notPlain: Array<[string, unknown]> = [
    ["a Map", new Map([["runId", "r1"]])],
    [
      "a class instance",
      new (class Filter {
        runId = "r1";
      })(),
    ],
    ["Object.create(proto)", Object.create({ runId: "r1" })],
    ["a Date", new Date(0)],
  ];
  it.each(notPlain)(
    "refuses %s as a query, a delete filter and in matching, saying what to pass",
    (_, filter) => {
      expect(invalidMessage(() => resolveQuery(filter))).toMatch(
        /^filter must be a plain object such as \{ runId: "r1", limit: 100 \} \(a TimelineQuery\) or undefined, got /,
      );
      expect(invalidMessage(() => resolveDeleteFilter(filter))).toMatch(
        /^delete filter must be a plain object such as \{ runId: "r1" \}.*to delete everything pass \{ before: Infinity \}, got /,
      );
      expect(invalidMessage(() => matchesQuery(base, filter as never))).toContain("plain object");
      expect(invalidMessage(() => matchesDeleteFilter(base, filter as never))).toContain("plain object");
    },
  );

  it("names what it got", () => {
    expect(invalidMessage(() => resolveQuery(new Map()))).toMatch(/got an instance of Map$/);
    expect(invalidMessage(() => resolveQuery(Object.create({ runId: "r1" })))).toMatch(
      /got an object whose prototype is not Object\.prototype \(such as Object\.create\(proto\)\), whose inherited keys a filter does not read$/,
    );
    expect(invalidMessage(() => resolveQuery("r1"))).toMatch(/got "r1"$/);
    expect(invalidMessage(() => resolveQuery([{ runId: "r1" }]))).toMatch(/got an array of 1 item$/);
    // (by the class, as append's messages say it)
    expect(invalidMessage(() => resolveQuery(new Int32Array(1)))).toMatch(/got an instance of Int32Array$/);
    expect(invalidMessage(() => resolveDeleteFilter(new Error("x")))).toMatch(/got an instance of Error$/);
    expect(invalidMessage(() => resolveQuery(new (class Undo {})()))).toMatch(/got an instance of Undo$/);
    expect(invalidMessage(() => validateQuery({ runId: new Int32Array(1) }))).toBe(
      "filter.runId must be a non-empty string when present, got an instance of Int32Array",
    );
    expect(invalidMessage(() => validateDeleteFilter(undefined))).toContain("got undefined");
  });

  it("takes a null-prototype object, and returns null-prototype results holding only given fields", () => {
    const bare = Object.assign(Object.create(null), { runId: "r1" });
    const q = resolveQuery(bare);
    expect(Object.getPrototypeOf(q)).toBe(null);
    expect({ ...q }).toEqual({ runId: "r1", limit: DEFAULT_QUERY_LIMIT });
    const d = resolveDeleteFilter(Object.assign(Object.create(null), { before: 5, runId: undefined }));
    expect(Object.getPrototypeOf(d)).toBe(null);
    expect(Object.keys(d)).toEqual(["before"]);
  });

  it("ignores keys inherited from a polluted Object.prototype, and so do resolved queries", () => {
    Object.defineProperty(Object.prototype, "runId", { value: "r2", configurable: true, writable: true });
    try {
      const q = resolveQuery({ workflowId: "wf" });
      expect(q.runId).toBeUndefined();
      expect(resolveQuery(undefined).runId).toBeUndefined();
      expect(resolveDeleteFilter({ before: 1 }).runId).toBeUndefined();
      expect(matchesQuery(base, { workflowId: "wf" })).toBe(true);
      expect(matchesDeleteFilter(base, { before: 10 })).toBe(true);
      expect(invalidMessage(() => validateDeleteFilter({}))).toContain("must give runId");
    } finally {
      delete (Object.prototype as Record<string, unknown>).runId;
    }
  });

  it("reads each field once: the delete filter returned is what was checked", () => {
    let reads = 0;
    const filter = Object.defineProperty({ before: 10 }, "runId", {
      enumerable: true,
      get: () => (++reads === 1 ? "r1" : undefined),
    });
    expect({ ...resolveDeleteFilter(filter) }).toEqual({ runId: "r1", before: 10 });
    expect(reads).toBe(1);
  });

  it("a filter that throws when read is INVALID_INPUT naming the field, with the thrown value as cause", () => {
    const boom = new Error("getter boom");
    const getter = Object.defineProperty({}, "workflowId", {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const proxy = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw boom;
        },
      },
    );
    for (const [filter, path] of [
      [getter, "filter.workflowId"],
      [proxy, "filter"],
    ] as const) {
      for (const check of [() => resolveQuery(filter), () => resolveDeleteFilter(filter)]) {
        expect(check).toThrow(
          expect.objectContaining({
            code: "INVALID_INPUT",
            cause: boom,
            details: { path },
            message: expect.stringContaining("could not be read"),
          }),
        );
      }
    }
  });
});

describe("validateTimelineEvents on an events array that throws when read", () => {
  const good = {
    id: "r:1",
    runId: "r",
    workflowId: "w",
    seq: 1,
    at: 1,
    source: "runtime",
    type: "run.started",
  };
  it("a Proxy whose length throws is INVALID_INPUT, with the thrown value as cause", () => {
    const boom = new Error("length boom");
    const events = new Proxy([good], {
      get(target, key) {
        if (key === "length") throw boom;
        return Reflect.get(target, key);
      },
    });
    expect(() => validateTimelineEvents(events)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        cause: boom,
        message: expect.stringContaining("events could not be read"),
      }),
    );
  });
  it("a Proxy whose element read throws is INVALID_INPUT naming the event", () => {
    const boom = new Error("element boom");
    const events = new Proxy([good, good], {
      get(target, key) {
        if (key === "1") throw boom;
        return Reflect.get(target, key);
      },
    });
    expect(() => validateTimelineEvents(events)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        cause: boom,
        message: expect.stringContaining("events[1]"),
      }),
    );
  });
});
