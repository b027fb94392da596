// The store checks events and encodes `data` itself on its fast path, falling back to the shared
// validator for anything unusual. These tests hold it to the validator: it accepts exactly what
// validateTimelineEvents accepts, rejects with the same error otherwise, and stores what copyJson
// would.
import { SystemError } from "@sluice/errors";
import {
  MAX_DATA_DEPTH,
  TimelineBatch,
  type TimelineEvent,
  validateTimelineBatch,
  validateTimelineEvents,
} from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { copyJson } from "../src/copy-json.js";
import type { EventLog } from "../src/event-log.js";
import { createMemoryTimelineStore, type MemoryTimelineStore } from "../src/index.js";

/** Ids in `store`'s id table: its live events, when no undone or skipped row was left in it. */
function idTableSize(store: MemoryTimelineStore): number {
  return (store as unknown as { log: EventLog }).log.idTable.size;
}

function ev(id: string, extra: Record<string, unknown> = {}): TimelineEvent {
  return { id, runId: "r", workflowId: "wf", seq: 0, at: 1, source: "runtime", type: "log", ...extra };
}

function nested(depth: number): unknown {
  let value: unknown = 1;
  for (let i = 0; i < depth; i++) value = [value];
  return value;
}

const cyclic: Record<string, unknown> = { a: 1 };
cyclic.self = cyclic;

const nullPrototype = Object.assign(Object.create(null) as Record<string, unknown>, { a: 1, b: [2] });

const DATA: Array<[string, unknown]> = [
  ["a flat object", { ms: 3, ok: true, name: "x" }],
  ["nested objects and arrays", { a: [1, { b: [null, "s", false] }], c: {} }],
  ["empty object and array", { o: {}, a: [] }],
  [
    "numbers at int32 edges, doubles and -0",
    [0, -0, 1.5, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, -(2 ** 31) - 1, 1e308, 5e-324, Number.MAX_SAFE_INTEGER],
  ],
  ["strings with emoji, a lone surrogate, NUL and RTL", { s: "😀 \uD800 \u0000 שלום", "k😀": "é" }],
  ["an undefined property (dropped)", { a: undefined, b: 1 }],
  ["a null-prototype object", nullPrototype],
  ["an own __proto__ key", JSON.parse('{"__proto__": {"x": 1}, "y": 2}')],
  ["a large string", { s: "x".repeat(10_000) }],
  ["a long array", { list: Array.from({ length: 3000 }, (_, i) => i * 1.5) }],
  [`${MAX_DATA_DEPTH} levels`, nested(MAX_DATA_DEPTH - 1)],
  ["a string", "text"],
  ["zero", 0],
  ["false", false],
  ["null", null],
  ["an undefined array item", [1, undefined]],
  ["a sparse array", Object.assign(new Array(2), { 1: 1 })],
  ["NaN", { n: Number.NaN }],
  ["-Infinity", [Number.NEGATIVE_INFINITY]],
  ["a Date", { d: new Date(0) }],
  ["a Map", new Map()],
  ["a BigInt", { n: 10n }],
  ["a symbol", [Symbol("s")]],
  ["a function", { f: () => 1 }],
  ["a cycle", cyclic],
  [`${MAX_DATA_DEPTH + 1} levels`, nested(MAX_DATA_DEPTH)],
  ["NaN at the top", Number.NaN],
];

const inherited = Object.assign(Object.create({ extra: 1 }) as TimelineEvent, ev("inherited"));

const EVENTS: Array<[string, unknown]> = [
  ["an explicit undefined stage", ev("a", { stage: undefined, step: "s", message: "m", level: "warn" })],
  ["an inherited extra key", inherited],
  ["an extra field", ev("a", { extra: 1 })],
  ["an array", Object.assign([], ev("a"))],
  ["null", null],
  ["a string", "event"],
  ["an unknown level", ev("a", { level: "verbose" })],
  ["a negative seq", ev("a", { seq: -1 })],
  ["a fractional seq", ev("a", { seq: 1.5 })],
  ["an unsafe seq", ev("a", { seq: 2 ** 53 })],
  ["a NaN at", ev("a", { at: Number.NaN })],
  ["an empty id", ev("")],
  ["a numeric id", ev("a", { id: 5 })],
  ["a numeric stage", ev("a", { stage: 5 })],
  ["an empty type", ev("a", { type: "" })],
];

/** What `validateTimelineEvents` throws for `batch`, or undefined. */
function validatorError(batch: unknown): SystemError | undefined {
  try {
    validateTimelineEvents(batch);
    return undefined;
  } catch (error) {
    if (!SystemError.is(error)) throw error;
    return error;
  }
}

async function expectLikeValidator(batch: unknown[]): Promise<void> {
  const store = await createMemoryTimelineStore();
  const expected = validatorError(batch);
  if (expected !== undefined) {
    await expect(store.append(batch as TimelineEvent[])).rejects.toSatisfy(
      (error: unknown) => SystemError.is(error, "INVALID_INPUT") && error.message === expected.message,
    );
    expect(store.size).toBe(0);
    return;
  }
  await store.append(batch as TimelineEvent[]);
  const stored = (await store.query({ limit: 10_000 })).events;
  expect(stored).toHaveLength(batch.length);
  for (const event of stored) {
    const original = batch.find((e) => (e as TimelineEvent).id === event.id) as TimelineEvent;
    const want: Record<string, unknown> = {};
    for (const key of ["id", "runId", "workflowId", "seq", "at", "source", "type"] as const) {
      want[key] = original[key];
    }
    for (const key of ["stage", "step", "level", "message", "data"] as const) {
      if (original[key] !== undefined) want[key] = copyJson(original[key]);
    }
    expect(event).toStrictEqual(want);
    if (original.data !== undefined) expectSameJson(event.data, original.data);
  }
}

/** Deep equality that also tells -0 from 0 and sees own `__proto__` keys. */
function expectSameJson(actual: unknown, expected: unknown): void {
  if (typeof expected !== "object" || expected === null) {
    expect(Object.is(actual, expected)).toBe(true);
    return;
  }
  expect(typeof actual).toBe("object");
  const a = actual as Record<string, unknown>;
  const e = expected as Record<string, unknown>;
  const keys = Object.keys(e).filter((key) => e[key] !== undefined);
  expect(Object.keys(a)).toEqual(keys);
  for (const key of keys) expectSameJson(a[key], e[key]);
}

describe("fast path agrees with validateTimelineEvents", () => {
  for (const [name, data] of DATA) {
    it(`data: ${name}`, async () => {
      await expectLikeValidator([ev("first"), ev("with-data", { data })]);
    });
  }

  for (const [name, event] of EVENTS) {
    it(`event: ${name}`, async () => {
      await expectLikeValidator([ev("first"), event]);
    });
  }

  it("ignores enumerable keys inherited from a polluted Object.prototype", async () => {
    const store = await createMemoryTimelineStore();
    const proto = Object.prototype as Record<string, unknown>;
    proto.polluted = 1;
    try {
      await store.append([ev("a", { data: { x: 1 } })]);
      const [stored] = (await store.query()).events;
      expect(Object.keys(stored!)).not.toContain("polluted");
      expect(Object.keys(stored!.data as object)).toEqual(["x"]);
    } finally {
      delete proto.polluted;
    }
  });

  it("keeps data with more distinct keys than the key table holds", async () => {
    const store = await createMemoryTimelineStore();
    const batch = Array.from({ length: 6000 }, (_, i) => ev(`k${i}`, { seq: i, data: { [`key-${i}`]: i } }));
    await store.append(batch);
    const stored = (await store.query({ limit: 10_000 })).events;
    expect(stored.map((e) => e.data)).toEqual(batch.map((e) => e.data));
  });

  it("a rejected batch undoes what it wrote: its ids can be appended again", async () => {
    const store = await createMemoryTimelineStore();
    const good = [ev("a"), ev("b", { data: { x: [1, 2] } }), ev("a")];
    await expect(store.append([...good, ev("c", { seq: -1 })])).rejects.toSatisfy((error: unknown) =>
      SystemError.is(error, "INVALID_INPUT"),
    );
    expect(store.size).toBe(0);
    expect((await store.query()).events).toEqual([]);
    await store.append(good);
    expect(store.size).toBe(2);
    expect((await store.query()).events.map((e) => e.id)).toEqual(["a", "b"]);
  });

  it("orders ties on (at, seq) by id in UTF-16 code units", async () => {
    const store = await createMemoryTimelineStore();
    const ids = ["b", "a", "ab", "\uFFFF", "\uD83D\uDE00", "é", "A", ""].filter((id) => id !== "");
    await store.append(ids.map((id) => ev(id)));
    const want = [...ids].sort();
    expect((await store.query()).events.map((e) => e.id)).toEqual(want);
    // and a cursor lands between ties
    const first = await store.query({ limit: 3 });
    const rest = await store.query({ limit: 10, next: first.next! });
    expect([...first.events, ...rest.events].map((e) => e.id)).toEqual(want);
  });
});

/** An event of run "r" whose id is derived (`r:<seq>`): what the runtime's batches hold. */
function derived(seq: number, extra: Record<string, unknown> = {}): TimelineEvent {
  return {
    id: `r:${seq}`,
    runId: "r",
    workflowId: "wf",
    seq,
    at: 1,
    source: "runtime",
    type: "log",
    ...extra,
  };
}

/** `events` as a batch whose ids are all left out (derived), as the runtime writes them. */
function derivedBatch(events: readonly TimelineEvent[]): TimelineBatch {
  const batch = TimelineBatch.of(events);
  batch.ids.fill(undefined);
  return batch;
}

/**
 * Appends `events` as a batch of derived ids: rejected with `validateTimelineBatch`'s error and
 * nothing stored, or stored as the same events appended as objects (ids `runId:seq`) are.
 */
async function expectDerivedLikeValidator(events: TimelineEvent[]): Promise<void> {
  const batch = derivedBatch(events);
  let expected: SystemError | undefined;
  try {
    validateTimelineBatch(batch);
  } catch (error) {
    if (!SystemError.is(error)) throw error;
    expected = error;
  }
  const store = await createMemoryTimelineStore();
  await store.append([ev("first")]);
  if (expected !== undefined) {
    await expect(store.appendBatch!(batch)).rejects.toSatisfy(
      (error: unknown) => SystemError.is(error, "INVALID_INPUT") && error.message === expected.message,
    );
    expect((await store.query()).events.map((e) => e.id)).toEqual(["first"]);
    return;
  }
  await store.appendBatch!(batch);
  const objects = await createMemoryTimelineStore();
  await objects.append([ev("first")]);
  await objects.append(events.map((e) => ({ ...e, id: `${e.runId}:${e.seq}` })));
  const stored = (await store.query({ limit: 10_000 })).events;
  expect(stored).toStrictEqual((await objects.query({ limit: 10_000 })).events);
  for (const e of events) {
    if (e.data === undefined) continue;
    const got = stored.find((s) => s.id === `${e.runId}:${e.seq}`)!;
    expectSameJson(got.data, e.data);
  }
}

describe("a batch of derived ids (the runtime's) agrees with validateTimelineBatch", () => {
  for (const [name, data] of DATA) {
    it(`data: ${name}`, async () => {
      await expectDerivedLikeValidator([derived(1), derived(2, { data }), derived(3)]);
    });
  }

  const FIELDS: Array<[string, Record<string, unknown>]> = [
    ["every optional field", { stage: "s", step: "t", message: "m", level: "warn" }],
    ["an unknown level", { level: "verbose" }],
    ["a fractional seq", { seq: 1.5 }],
    ["an unsafe seq", { seq: 2 ** 53 }],
    ["a seq of 16 digits (written out)", { seq: 1e15 }],
    ["the largest safe seq", { seq: Number.MAX_SAFE_INTEGER }],
    ["a NaN at", { at: Number.NaN }],
    ["an infinite at", { at: Number.POSITIVE_INFINITY }],
    ["a string at", { at: "1" }],
    ["an empty run id", { runId: "" }],
    ["a numeric run id", { runId: 5 }],
    ["an empty workflow id", { workflowId: "" }],
    ["a numeric stage", { stage: 5 }],
    ["a numeric message", { message: 5 }],
    ["an empty type", { type: "" }],
  ];
  for (const [name, extra] of FIELDS) {
    it(`event: ${name}`, async () => {
      await expectDerivedLikeValidator([
        derived(1),
        { ...derived(2), ...extra } as TimelineEvent,
        derived(3),
      ]);
    });
  }

  it("skips ids stored already, in either form, and repeated within the batch", async () => {
    const store = await createMemoryTimelineStore();
    await store.append([derived(1, { message: "object" }), derived(1e15, { message: "object" })]);
    // Checked right after a batch that gives up on nothing: a repeat written anyway (a row the id
    // table does not hold) shows here as a wrong size. A later undo or eviction of such a row would
    // search the id table for it forever (`IdTable.remove`), a hang instead of a failure.
    await store.appendBatch!(
      derivedBatch([
        derived(1, { message: "batch" }),
        derived(2, { message: "batch" }),
        derived(2, { message: "repeated" }),
        derived(3, { data: { x: 1 } }),
        derived(3, { data: { x: 2 } }),
        derived(2, { data: { x: 3 } }),
        derived(3, { message: "repeated" }),
      ]),
    );
    expect(store.size).toBe(4);
    expect(idTableSize(store)).toBe(4);
    expect((await store.query()).events.map((e) => [e.id, e.message ?? e.data])).toEqual([
      ["r:1", "object"],
      ["r:2", "batch"],
      ["r:3", { x: 1 }],
      ["r:1000000000000000", "object"],
    ]);
    // a seq of 16 digits sends the batch to the general path (the one pass undoes its first rows)
    await store.appendBatch!(
      derivedBatch([derived(4, { message: "batch" }), derived(1e15, { message: "batch" }), derived(1)]),
    );
    expect(store.size).toBe(5);
    expect(idTableSize(store)).toBe(5);
    const stored = (await store.query()).events;
    expect(stored.map((e) => [e.id, e.message ?? e.data])).toEqual([
      ["r:1", "object"],
      ["r:2", "batch"],
      ["r:3", { x: 1 }],
      ["r:4", "batch"],
      ["r:1000000000000000", "object"],
    ]);
    // and a derived id stored first is found by its string form
    await store.append([derived(2, { message: "object" })]);
    expect(store.size).toBe(5);
  });

  it("a column whose read throws rejects the batch with INVALID_INPUT and stores none of it", async () => {
    const store = await createMemoryTimelineStore();
    const batch = derivedBatch([derived(1), derived(2), derived(3)]);
    Object.defineProperty(batch.sources, 2, {
      get() {
        throw new Error("boom");
      },
    });
    await expect(store.appendBatch!(batch)).rejects.toSatisfy((error: unknown) =>
      SystemError.is(error, "INVALID_INPUT"),
    );
    expect(store.size).toBe(0);
  });

  it("keeps the runs of a batch apart when they share seqs", async () => {
    const store = await createMemoryTimelineStore();
    const runs = ["a", "b", "a", "c", "b"];
    await store.appendBatch!(derivedBatch(runs.map((runId, i) => ({ ...derived(i % 2), runId }))));
    // a:0 repeated; the page is in (at, seq, id) order
    expect((await store.query()).events.map((e) => e.id)).toEqual(["a:0", "b:0", "b:1", "c:1"]);
  });
});
