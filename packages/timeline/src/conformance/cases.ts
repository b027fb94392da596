// The timeline contract, as executable cases. Each case states one rule an adapter keeps; together
// they are the specification of `TimelineStore` (see docs/writing-a-timeline-adapter.md).
import { SystemError } from "@sluice/errors";
import { appendTimelineBatch, TimelineBatch } from "../batch.js";
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from "../limits.js";
import { matchesDeleteFilter, matchesQuery } from "../match.js";
import { compareTimelineEvents } from "../order.js";
import type { TimelineDeleteFilter, TimelineEvent, TimelineQuery, TimelineStore } from "../types.js";
import { ConformanceFailure, deepEqual, equal, ok, preview, rejectsWith } from "./assert.js";
import type { ConformanceCase, ConformanceFactory } from "./factory.js";

/** What a case body gets: stores from the factory, closed and cleaned up when the case ends. */
interface CaseContext {
  /** A new, empty store. */
  create(): Promise<TimelineStore>;
  /** Closes `store` and returns a new one over the same data (persistent backends only). */
  reopen(store: TimelineStore): Promise<TimelineStore>;
}

type CaseBody = (ctx: CaseContext) => Promise<void>;

/**
 * The conformance cases for the adapter `factory` makes, framework-free: each `run()` resolves when
 * the adapter keeps the rule its `name` states and rejects with what broke otherwise. Run them with
 * any runner (see `describeTimelineConformance` at `@sluice/timeline/conformance/vitest` for vitest,
 * or a plain loop in a browser page).
 *
 * @example
 * ```ts
 * for (const c of timelineConformanceCases({ create: () => createMyStore() })) {
 *   await c.run(); // throws on the first broken rule
 * }
 * ```
 */
export function timelineConformanceCases(factory: ConformanceFactory): ConformanceCase[] {
  const cases: Array<[string, CaseBody]> = [
    ["append then query returns every event in (at, seq, id) order", orderCase],
    ["events round-trip deep-equal; absent optional fields stay absent, null data stays null", roundTripCase],
    ["empty append is a no-op", emptyAppendCase],
    ["append is idempotent by id: the first stored copy is kept", idempotentCase],
    ["concurrent appends all land", concurrentAppendsCase],
    [
      "stored events are copies: append leaves the caller's events as given; mutating appended or returned objects changes nothing",
      copiesCase,
    ],
    ["filters: runId, workflowId, from (inclusive), to (exclusive) and their combinations", filtersCase],
    [`limit: default ${DEFAULT_QUERY_LIMIT}, at most ${MAX_QUERY_LIMIT}, bad limits rejected`, limitCase],
    ["paging walks every matching event once, in order, for every filter", pagingCase],
    [
      "extreme times and seqs (negative, fractional, past 2^53 and 64-bit integers) order, filter, page and delete exactly",
      extremeNumbersCase,
    ],
    [
      "paging under concurrent appends and deletes: no gaps, no repeats, order across pages",
      concurrentPagingCase,
    ],
    [
      "cursors: reusable, bound to their filter, garbage rejected, valid after their event is deleted",
      cursorCase,
    ],
    ["malformed queries are rejected with INVALID_INPUT", badQueryCase],
    [
      "filters are plain objects: a Map, a class instance or Object.create(proto) is rejected with INVALID_INPUT; only own fields count",
      filterShapeCase,
    ],
    [
      "a filter is read once: a getter cannot pass the check with one run and delete another",
      filterReadOnceCase,
    ],
    ["delete by runId, workflowId, before (exclusive) and combinations returns the count", deleteCase],
    ["delete with an empty filter is rejected; { before: Infinity } deletes everything", deleteAllCase],
    ["malformed events are rejected with INVALID_INPUT naming index and field", malformedEventsCase],
    ["a rejected batch stores nothing (batch atomicity)", batchAtomicityCase],
    [
      "an event whose data throws when read is rejected with INVALID_INPUT; nothing of its batch is stored",
      unreadableDataCase,
    ],
    [
      "an event is read once: a field whose getter gives a valid value, then an invalid one, is stored as first read, or its batch is rejected",
      eventReadOnceCase,
    ],
    ["large and deeply nested data round-trips (1 MB string, 50 levels)", largeDataCase],
    ["unicode round-trips: emoji, RTL, NUL, combining marks, in every string field", unicodeCase],
    ["hostile strings in ids: quotes, %, _, SQL, backslashes, 10k chars, __proto__", hostileIdsCase],
    ["many runs: 500 runs x 20 events", manyRunsCase],
    ["use after close() rejects with DISPOSED; close() twice is safe", closeCase],
    [
      "a batch in columns is stored as its events: derived ids are runId:seq, every field round-trips",
      batchRoundTripCase,
    ],
    ["a derived id is the same id as its string: one copy, the first stored, either way", derivedIdCase],
    [
      "malformed batches are rejected with INVALID_INPUT naming events[i].field; nothing stored",
      badBatchCase,
    ],
    [
      "appendBatch rejects a TimelineBatch whose length is not a count of its rows with INVALID_INPUT",
      batchLengthCase,
    ],
    [
      "a batch whose row throws when read is rejected with INVALID_INPUT naming events[i]; nothing stored",
      unreadableBatchCase,
    ],
  ];
  if (factory.reopen !== undefined) {
    cases.push([
      "events survive close and reopen; appends after reopen keep order and idempotency; deletes (before: Infinity too) persist",
      reopenCase,
    ]);
  }
  return cases.map(([name, body]) => ({ name, run: () => runCase(factory, name, body) }));
}

/**
 * Runs a case; when the adapter's stores have `appendBatch`, runs it a second time with every
 * `append` the case makes sent through `appendBatch` instead (as `TimelineBatch.of(events)`), so the
 * whole contract holds for both ways in. (A batch has no column for a field that is not a
 * `TimelineEvent` field, so such appends, and arguments that are not arrays of objects, still go
 * to `append` in that pass.)
 */
async function runCase(factory: ConformanceFactory, name: string, body: CaseBody): Promise<void> {
  const batches = await runPass(factory, name, body, false);
  if (batches) await runPass(factory, name, body, true);
}

/** One pass of a case; resolves whether the stores it made have `appendBatch`. */
async function runPass(
  factory: ConformanceFactory,
  name: string,
  body: CaseBody,
  throughBatches: boolean,
): Promise<boolean> {
  const open: TimelineStore[] = [];
  let last: TimelineStore | undefined;
  let batches = false;
  // what the case holds (the store, or in the batch pass its wrapper) -> the adapter's store
  const adapterOf = new Map<TimelineStore, TimelineStore>();
  const made = (store: TimelineStore): TimelineStore => {
    open.push(store);
    last = store;
    batches ||= typeof store.appendBatch === "function";
    const held = throughBatches ? appendingInBatches(store) : store;
    adapterOf.set(held, store);
    return held;
  };
  const ctx: CaseContext = {
    async create() {
      const store = await factory.create();
      ok(isStore(store), `factory.create() must resolve to a TimelineStore (append, query, delete, close)`);
      return made(store);
    },
    async reopen(held) {
      const store = adapterOf.get(held);
      ok(factory.reopen !== undefined, "reopen() needs factory.reopen");
      ok(
        store !== undefined && store === last,
        "reopen() reopens the store most recently created or reopened",
      );
      await store.close();
      const next = await factory.reopen(store);
      ok(isStore(next), "factory.reopen() must resolve to a TimelineStore");
      return made(next);
    },
  };
  let failure: unknown;
  try {
    await body(ctx);
  } catch (error) {
    failure =
      throughBatches && error instanceof ConformanceFailure
        ? new ConformanceFailure(`with appends through appendBatch: ${error.message}`)
        : error;
  }
  for (const store of open) {
    try {
      await store.close();
    } catch (error) {
      failure ??= new ConformanceFailure(`close() rejected at the end of "${name}": ${String(error)}`);
    }
  }
  try {
    await factory.cleanup?.();
  } catch (error) {
    failure ??= error;
  }
  if (failure !== undefined) throw failure;
  return batches;
}

/** `store`, with `append` sent through `appendBatch` whenever a batch can hold the events. */
function appendingInBatches(store: TimelineStore): TimelineStore {
  return {
    append: (events) =>
      TimelineBatch.canHold(events) ? store.appendBatch!(TimelineBatch.of(events)) : store.append(events),
    appendBatch: (batch) => store.appendBatch!(batch),
    query: (filter) => store.query(filter),
    delete: (filter) => store.delete(filter),
    close: () => store.close(),
  };
}

function isStore(value: unknown): value is TimelineStore {
  const s = value as Partial<Record<keyof TimelineStore, unknown>> | null;
  return (
    typeof s === "object" &&
    s !== null &&
    typeof s.append === "function" &&
    typeof s.query === "function" &&
    typeof s.delete === "function" &&
    typeof s.close === "function"
  );
}

// ---------------------------------------------------------------------------------------------
// fixtures

function ev(runId: string, seq: number, at: number, extra: Partial<TimelineEvent> = {}): TimelineEvent {
  return {
    id: `${runId}#${seq}`,
    runId,
    workflowId: "wf",
    seq,
    at,
    source: "runtime",
    type: "step.completed",
    ...extra,
  };
}

function sorted(events: readonly TimelineEvent[]): TimelineEvent[] {
  return [...events].sort(compareTimelineEvents);
}

function ids(events: readonly TimelineEvent[]): string[] {
  return events.map((e) => e.id);
}

/** Events a case read back, and the query they came from, for its failure messages. */
interface ReadBack {
  events: TimelineEvent[];
  next?: string | undefined;
  /** How a failure names where they came from, e.g. `query({"from":1020})`. */
  source: string;
}

const NUMBER_MARK = "\u2063number:";

/** A filter as a failure shows it: JSON, with infinities and `NaN` as such and long strings cut. */
function showFilter(filter: unknown): string {
  try {
    const text = JSON.stringify(filter, (_key, value: unknown) => {
      if (typeof value === "number" && !Number.isFinite(value)) return `${NUMBER_MARK}${value}`;
      if (typeof value === "string" && value.length > 60)
        return `${value.slice(0, 40)}… (${value.length} chars)`;
      return value;
    });
    if (text === undefined) return String(filter);
    return text.replace(new RegExp(`"${NUMBER_MARK}([^"]*)"`, "g"), "$1");
  } catch {
    return String(filter);
  }
}

/** `query(…)` as a failure names it. */
function queryCall(filter?: unknown): string {
  return filter === undefined ? "query()" : `query(${showFilter(filter)})`;
}

/**
 * `store.query(filter)`'s events, named for failures by the query (or by `label`, where showing
 * the filter would read it again: a getter).
 */
async function queryPage(store: TimelineStore, filter?: TimelineQuery, label?: string): Promise<ReadBack> {
  const source = label ?? queryCall(filter);
  const page = (await store.query(filter)) as { events?: unknown; next?: string } | null;
  ok(
    typeof page === "object" && page !== null && Array.isArray(page.events),
    `${source} must resolve to { events: [], next? }, got ${preview(page)}`,
  );
  return { events: page.events as TimelineEvent[], next: page.next, source };
}

/** Reads every page of `filter`, checking each page's shape; returns the concatenation. */
async function readAll(
  store: TimelineStore,
  filter: TimelineQuery = {},
  maxPages = 100_000,
): Promise<ReadBack> {
  const limit = filter.limit ?? DEFAULT_QUERY_LIMIT;
  const out: TimelineEvent[] = [];
  let next: string | undefined;
  for (let page = 0; page < maxPages; page++) {
    const result = await store.query(next === undefined ? filter : { ...filter, next });
    checkPage(result, limit, filter);
    out.push(...result.events);
    if (result.next === undefined)
      return { events: out, source: `${queryCall(filter)} and the pages after it` };
    next = result.next;
  }
  throw new ConformanceFailure(`${queryCall(filter)} kept returning next after ${maxPages} pages`);
}

function checkPage(
  page: unknown,
  limit: number,
  filter: TimelineQuery,
  call = queryCall(filter),
): asserts page is {
  events: TimelineEvent[];
  next?: string;
} {
  const p = page as { events?: unknown; next?: unknown } | null;
  ok(
    typeof p === "object" && p !== null && Array.isArray(p.events),
    `${call} must resolve to { events: [], next? }, got ${preview(p)}`,
  );
  const events = p.events as TimelineEvent[];
  ok(events.length <= limit, `${call}: a page holds at most limit (${limit}) events, got ${events.length}`);
  if (p.next !== undefined) {
    ok(
      typeof p.next === "string" && p.next.length > 0,
      `${call}: page.next must be a non-empty string when present`,
    );
    ok(events.length > 0, `${call}: a page with next must hold events`);
  }
  ok(
    events.length === limit || p.next === undefined,
    `${call}: a page with fewer than limit (${limit}) events is the last one: next must be absent`,
  );
  for (let i = 0; i < events.length; i++) {
    ok(matchesQuery(events[i]!, filter), `${call} returned event ${events[i]!.id}, which does not match it`);
    if (i > 0) {
      ok(
        compareTimelineEvents(events[i - 1]!, events[i]!) < 0,
        `${call} returned a page out of (at, seq, id) order: ${events[i - 1]!.id} then ${events[i]!.id}`,
      );
    }
  }
}

/** Checks `read` holds exactly `expected` (any input order), sorted, deep-equal. */
function sameEvents(read: ReadBack, expected: readonly TimelineEvent[], message: string): void {
  const want = sorted(expected);
  if (read.events.length !== want.length) {
    // which ids are missing or extra says more than two long lists
    const got = new Set(ids(read.events));
    const wanted = new Set(ids(want));
    const missing = ids(want).filter((id) => !got.has(id));
    const extra = ids(read.events).filter((id) => !wanted.has(id));
    const parts = [
      missing.length > 0 ? `missing ${preview(missing)}` : "",
      extra.length > 0 ? `unexpected ${preview(extra)}` : "",
    ].filter((part) => part !== "");
    throw new ConformanceFailure(
      `${message}: ${read.source} returned ${read.events.length} events, expected ${want.length}${parts.length > 0 ? ` (${parts.join("; ")})` : ""}`,
    );
  }
  deepEqual(ids(read.events), ids(want), message, `${read.source} returned ids`);
  for (let i = 0; i < want.length; i++) {
    const id = want[i]!.id;
    deepEqual(read.events[i], want[i], message, `${read.source} returned event ${preview(id)}`);
  }
}

/** Checks `read` holds `count` events, naming them when it does not. */
function countIs(read: ReadBack, count: number, message: string): void {
  if (read.events.length === count) return;
  throw new ConformanceFailure(
    `${message}: ${read.source} returned ${read.events.length} events (ids ${preview(ids(read.events))}), expected ${count}`,
  );
}

async function expectStored(store: TimelineStore, expected: readonly TimelineEvent[], message: string) {
  sameEvents(await readAll(store, { limit: MAX_QUERY_LIMIT }), expected, message);
}

// ---------------------------------------------------------------------------------------------
// cases

async function orderCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const events = [
    ev("r2", 0, 100),
    ev("r1", 1, 100), // same at: seq decides
    ev("r1", 0, 100),
    ev("r3", 0, 100, { id: "b" }), // same at and seq: id decides
    ev("r4", 0, 100, { id: "a" }),
    ev("r5", 0, 100, { id: "c" }),
    ev("r1", 2, 99.5), // fractional at
    ev("r1", 3, 0),
    ev("r2", 1, 1e12),
    ev("r6", 7, 50),
    ev("r6", 2, 50),
  ];
  await store.append(events.slice(0, 4));
  await store.append(events.slice(4));
  const page = await queryPage(store);
  checkPage(page, DEFAULT_QUERY_LIMIT, {}, page.source);
  sameEvents(page, events, "query() returns all events in (at, seq, id) order");
  deepEqual(
    ids(page.events),
    ["r1#3", "r6#2", "r6#7", "r1#2", "a", "b", "c", "r1#0", "r2#0", "r1#1", "r2#1"],
    "order by at, then seq, then id",
    `${page.source} returned ids`,
  );
}

async function roundTripCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const full: TimelineEvent = {
    id: "full",
    runId: "run-1",
    workflowId: "orders",
    seq: 3,
    at: 1_700_000_000_123,
    source: "logger",
    type: "log",
    stage: "approval",
    step: "wait",
    level: "warn",
    message: "waiting for approval",
    data: { orderId: "o-1", amount: 12.5, tags: ["a", "b"], nested: { ok: true, none: null }, empty: {} },
  };
  const bare = ev("run-1", 4, 1_700_000_000_124, { id: "bare" });
  const kinds: TimelineEvent[] = [
    ev("run-2", 0, 1, { data: null }),
    ev("run-2", 1, 2, { data: "text" }),
    ev("run-2", 2, 3, { data: 0 }),
    ev("run-2", 3, 4, { data: false }),
    ev("run-2", 4, 5, { data: [] }),
    ev("run-2", 5, 6, { data: {} }),
    ev("run-2", 6, 7, { data: [1, "two", null, true, { three: [3] }] }),
    ev("run-2", 7, 8, { data: -123.456e-7, message: "", stage: "", step: "" }),
    ev("run-2", 8, 9, { data: Number.MAX_SAFE_INTEGER, level: "debug" }),
    ev("run-2", 9, 10, { level: "info" }),
    ev("run-2", 10, 11, { level: "error", source: "custom-source", type: "custom.type" }),
  ];
  await store.append([full, bare, ...kinds]);
  const one = await queryPage(store, { runId: "run-1" });
  sameEvents(one, [full, bare], "every field round-trips");
  const bareBack = one.events[1] as unknown as Record<string, unknown>;
  for (const field of ["stage", "step", "level", "message", "data"]) {
    ok(
      bareBack[field] === undefined,
      `an absent ${field} must come back absent: ${one.source} returned event "bare" with ${field} ${String(bareBack[field])}`,
    );
  }
  const two = await queryPage(store, { runId: "run-2" });
  sameEvents(two, kinds, "data of every JSON kind round-trips");
  ok(
    "data" in two.events[0]! && two.events[0]!.data === null,
    `data: null must come back as null, not absent: ${two.source} returned event "run-2#0" without data`,
  );
  await undefinedPropertiesDropped(store);
}

/**
 * A data property whose value is `undefined` is dropped, as JSON drops it, at any depth. deepEqual
 * counts such a property as absent either way, so this looks for the key itself.
 */
async function undefinedPropertiesDropped(store: TimelineStore): Promise<void> {
  const data = { u: undefined, kept: 1, nested: { u: undefined, list: [{ u: undefined, v: 2 }] } };
  await store.append([ev("run-3", 0, 1, { data })]);
  const read = await queryPage(store, { runId: "run-3" });
  countIs(read, 1, "an event with undefined-valued properties in its data");
  const back = read.events[0]?.data as typeof data | undefined;
  deepEqual(
    back,
    { kept: 1, nested: { list: [{ v: 2 }] } },
    "data with undefined-valued properties",
    `${read.source} returned data`,
  );
  const objects = [
    ["data", back],
    ["data.nested", back?.nested],
    ["data.nested.list[0]", back?.nested.list[0]],
  ] as const;
  for (const [where, object] of objects) {
    ok(
      object !== undefined && !("u" in object),
      `${where}.u (undefined when appended) must be dropped, as JSON drops it: ${read.source} returned it`,
    );
  }
}

async function emptyAppendCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  await store.append([]);
  countIs(await queryPage(store), 0, "an empty append stores nothing");
  const stored = [ev("r", 0, 1), ev("r", 1, 2)];
  await store.append(stored);
  await store.append([]);
  await expectStored(store, stored, "an empty append leaves stored events alone");
}

async function idempotentCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const first = ev("r", 0, 10, { message: "first" });
  await store.append([first]);
  await store.append([first]);
  await store.append([{ ...first, message: "second copy, same id" }]);
  await store.append([{ ...first, runId: "other-run", at: 5 }]);
  const inBatch = ev("r", 1, 20, { message: "in batch" });
  await store.append([inBatch, { ...inBatch, message: "later in the same batch" }, ev("r", 2, 30)]);
  await expectStored(store, [first, inBatch, ev("r", 2, 30)], "one copy per id, the first one stored");
  countIs(await queryPage(store, { runId: "other-run" }), 0, "a re-appended id does not move runs");
}

async function concurrentAppendsCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const batches: TimelineEvent[][] = [];
  for (let b = 0; b < 20; b++) {
    const batch: TimelineEvent[] = [];
    for (let i = 0; i < 50; i++) batch.push(ev(`run-${b % 4}`, b * 50 + i, 1000 + ((b * 7 + i * 13) % 97)));
    batches.push(batch);
  }
  await Promise.all(batches.map((batch) => store.append(batch)));
  await expectStored(store, batches.flat(), "every concurrently appended batch is stored");
}

async function copiesCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  // an undefined-valued field and data property too: a store must not tidy them away in place
  const event = ev("r", 0, 1, {
    message: "original",
    data: { list: [1, 2], inner: { v: "x" }, gone: undefined },
  });
  (event as { stage?: string | undefined }).stage = undefined;
  const pristine = structuredClone(event);
  const batch = [event];
  const given = shapeOf(batch);
  await store.append(batch);
  leftAsGiven(given, "events", "append()");
  try {
    event.message = "mutated";
    (event.data as { list: number[] }).list.push(3);
    (event.data as { inner: { v: string } }).inner.v = "mutated";
    batch.push(ev("r", 1, 2));
  } catch (error) {
    fail(
      `the caller's events must stay theirs to change after append(): changing them threw ${describeThrown(error)}`,
    );
  }
  await expectStored(store, [pristine], "mutating appended objects after append() must not change the store");
  const returned = (await queryPage(store)).events[0]!;
  try {
    returned.message = "changed by reader";
    (returned.data as { list: number[] }).list.length = 0;
  } catch (error) {
    fail(
      `query() must return copies the caller may change (not frozen): changing one threw ${describeThrown(error)}`,
    );
  }
  await expectStored(store, [pristine], "mutating returned events must not change the store");
}

/**
 * What an object graph was like when the caller handed it over: each object's own keys with their
 * descriptors and values, and whether it could be extended, frozen or not.
 */
interface Shape {
  value: unknown;
  extensible?: boolean;
  frozen?: boolean;
  props?: Map<
    string | symbol,
    { shape?: Shape; writable?: boolean | undefined; get?: unknown; set?: unknown }
  >;
}

function shapeOf(value: unknown, seen = new Set<object>()): Shape {
  if (typeof value !== "object" || value === null || seen.has(value)) return { value };
  seen.add(value);
  const props: NonNullable<Shape["props"]> = new Map();
  for (const key of Reflect.ownKeys(value)) {
    const d = Object.getOwnPropertyDescriptor(value, key)!;
    props.set(
      key,
      "value" in d ? { shape: shapeOf(d.value, seen), writable: d.writable } : { get: d.get, set: d.set },
    );
  }
  return { value, extensible: Object.isExtensible(value), frozen: Object.isFrozen(value), props };
}

/** The first way the graph `given` describes was changed since, or `undefined`. */
function changeTo(given: Shape, path: string): string | undefined {
  const now = given.value;
  if (given.props === undefined || typeof now !== "object" || now === null) return undefined;
  if (!given.frozen && Object.isFrozen(now)) return `${path} was frozen`;
  if (given.extensible && !Object.isExtensible(now)) return `${path} was sealed or made non-extensible`;
  for (const [key, was] of given.props) {
    const at = `${path}${typeof key === "symbol" ? `[${String(key)}]` : /^\d+$/.test(key) ? `[${key}]` : `.${key}`}`;
    const d = Object.getOwnPropertyDescriptor(now, key);
    if (d === undefined) return `${at} was deleted`;
    if (was.shape === undefined) {
      if (d.get !== was.get || d.set !== was.set) return `${at}: its getter or setter was replaced`;
      continue;
    }
    if (!("value" in d)) return `${at} was replaced by a getter`;
    if (!Object.is(d.value, was.shape.value)) {
      const objects = typeof d.value === "object" && typeof was.shape.value === "object";
      return objects
        ? `${at} was replaced by another object`
        : `${at} was changed from ${preview(was.shape.value)} to ${preview(d.value)}`;
    }
    if (was.writable && !d.writable) return `${at} was made read-only`;
    const inner = changeTo(was.shape, at);
    if (inner !== undefined) return inner;
  }
  for (const key of Reflect.ownKeys(now)) {
    if (!given.props.has(key)) return `${path} got a new property ${String(key)}`;
  }
  return undefined;
}

/** Fails when what the caller passed (`given`, named `name`) was changed by `call`. */
function leftAsGiven(given: Shape, name: string, call: string): void {
  const change = changeTo(given, name);
  if (change !== undefined) {
    fail(
      `${call} must leave the caller's ${name} as given (the same own keys and values, not frozen): ${change}. Copy what you keep; never change, tidy or freeze what you were given`,
    );
  }
}

function fail(message: string): never {
  throw new ConformanceFailure(message);
}

function describeThrown(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : preview(error);
}

/** Three runs over two workflows and a spread of times, for filter and paging cases. */
function filterFixture(): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  const runs = [
    ["a1", "A"],
    ["a2", "A"],
    ["b1", "B"],
  ] as const;
  for (let seq = 0; seq < 12; seq++) {
    runs.forEach(([runId, workflowId], r) => {
      out.push(ev(runId, seq, 1000 + Math.floor(seq / 2) * 10 + (r === 2 ? 5 : 0), { workflowId }));
    });
  }
  return out;
}

const FILTERS: TimelineQuery[] = [
  {},
  { runId: "a1" },
  { runId: "b1" },
  { workflowId: "A" },
  { workflowId: "B" },
  { runId: "a1", workflowId: "A" },
  { runId: "a1", workflowId: "B" },
  { from: 1020 },
  { to: 1020 },
  { from: 1010, to: 1030 },
  { from: 1020, to: 1020 },
  { from: 1025, to: 1026 },
  { runId: "a2", from: 1010, to: 1040 },
  { workflowId: "B", from: 1015 },
  { workflowId: "A", to: 1005 },
  { runId: "none" },
  { workflowId: "none" },
  { from: 5000 },
  { to: 0 },
  { from: Number.NEGATIVE_INFINITY, to: Number.POSITIVE_INFINITY },
  // a field set to undefined is one left out (a filter built from optional settings)
  { runId: "a1", workflowId: undefined, from: undefined, to: undefined, limit: undefined, next: undefined },
];

async function filtersCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = filterFixture();
  await store.append(all);
  for (const filter of FILTERS) {
    const page = await queryPage(store, filter);
    checkPage(page, DEFAULT_QUERY_LIMIT, filter);
    const expected = all.filter((e) => matchesQuery(e, filter));
    sameEvents(page, expected, "every matching event, no other");
  }
  const atFrom = await queryPage(store, { from: 1010, to: 1011 });
  deepEqual(
    ids(atFrom.events),
    ["a1#2", "a2#2", "a1#3", "a2#3"],
    "from is inclusive, to exclusive",
    `${atFrom.source} returned ids`,
  );
  countIs(await queryPage(store, { from: 1000, to: 1000 }), 0, "from == to selects nothing");
  sameEvents(
    await queryPage(store, { from: 1055 }),
    all.filter((e) => e.at >= 1055),
    "from alone",
  );
  countIs(await queryPage(store, { to: 1000 }), 0, "to is exclusive: an event at `to` is not returned");
}

async function limitCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const count = DEFAULT_QUERY_LIMIT + 500;
  const all: TimelineEvent[] = [];
  for (let i = 0; i < count; i++) all.push(ev("big", i, 10_000 + Math.floor(i / 3)));
  await store.append(all);
  const first = await queryPage(store);
  checkPage(first, DEFAULT_QUERY_LIMIT, {}, first.source);
  countIs(first, DEFAULT_QUERY_LIMIT, `without a limit a page holds ${DEFAULT_QUERY_LIMIT} events`);
  ok(
    first.next !== undefined,
    `a full first page of a longer result has next: ${first.source} returned none`,
  );
  const second = await queryPage(store, { next: first.next });
  checkPage(second, DEFAULT_QUERY_LIMIT, {}, second.source);
  countIs(second, 500, "the second page holds the rest");
  equal(second.next, undefined, `the last page has no next: ${second.source} returned one`);
  const max = await queryPage(store, { limit: MAX_QUERY_LIMIT });
  checkPage(max, MAX_QUERY_LIMIT, {}, max.source);
  sameEvents(max, all, `limit ${MAX_QUERY_LIMIT} is allowed`);
  const one = await queryPage(store, { limit: 1 });
  checkPage(one, 1, {}, one.source);
  deepEqual(ids(one.events), ["big#0"], "limit 1 returns the first event", `${one.source} returned ids`);
  const exact = await queryPage(store, { runId: "big", limit: count });
  sameEvents(exact, all, "a limit equal to the match count returns them all");
  for (const limit of [0, -1, 1.5, MAX_QUERY_LIMIT + 1, Number.NaN, Number.POSITIVE_INFINITY, "10"]) {
    await rejectsWith(
      () => store.query({ limit } as unknown as TimelineQuery),
      "INVALID_INPUT",
      ["limit"],
      `query({ limit: ${String(limit)} })`,
    );
  }
}

async function pagingCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = filterFixture();
  await store.append(all);
  for (const filter of FILTERS) {
    for (const limit of [1, 4, 7, 36]) {
      const walked = await readAll(store, { ...filter, limit });
      const expected = all.filter((e) => matchesQuery(e, filter));
      sameEvents(walked, expected, "paging returns every matching event once, in order");
    }
  }
}

/**
 * `at` is any finite number and `seq` any safe integer: a backend that keeps them as 32- or 64-bit
 * integers, as 32-bit floats or as text, or whose cursor or range bounds round them, gets these
 * wrong (SQLite keeps an integral REAL within 64 bits as an INTEGER and the others as REAL, and
 * compares the two exactly).
 */
async function extremeNumbersCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const times = [
    -Number.MAX_VALUE,
    -1e300,
    -(2 ** 63),
    -1,
    -0.5,
    0,
    5e-324,
    1.5,
    1.5000000000000002,
    9,
    10,
    2 ** 53,
    2 ** 53 + 2,
    2 ** 63 - 1024,
    2 ** 63,
    2 ** 64,
    1e300,
    Number.MAX_VALUE,
  ];
  const seqs = [0, 2 ** 31, 2 ** 32 + 1, Number.MAX_SAFE_INTEGER - 1, Number.MAX_SAFE_INTEGER];
  const all: TimelineEvent[] = [];
  times.forEach((at, t) => {
    // two runs, two workflows, each time with two of the seqs (ties on `at`, seq decides)
    for (const r of [0, 1]) {
      const seq = seqs[(t + r) % seqs.length]!;
      all.push(ev(`x${r}`, seq, at, { id: `x${r}-${t}`, workflowId: r === 0 ? "A" : "B" }));
    }
  });
  await store.append(all);
  const filters: TimelineQuery[] = [
    {},
    { workflowId: "A" },
    { runId: "x1" },
    { from: 2 ** 63 },
    { to: 2 ** 63 },
    { from: -(2 ** 63), to: 5e-324 },
    { from: 1.5000000000000002, to: 2 ** 53 + 2 },
    { runId: "x0", from: -1e300, to: 2 ** 64 },
  ];
  for (const filter of filters) {
    for (const limit of [1, 3, MAX_QUERY_LIMIT]) {
      sameEvents(
        await readAll(store, { ...filter, limit }),
        all.filter((e) => matchesQuery(e, filter)),
        "every matching event once, in order, times and seqs exact",
      );
    }
  }
  const before = -(2 ** 63);
  equal(
    await store.delete({ before }),
    all.filter((e) => e.at < before).length,
    `delete({ before: -(2 ** 63) }) returns the count of events before it`,
  );
  await expectStored(
    store,
    all.filter((e) => !(e.at < before)),
    "events at or after before stay after delete({ before: -(2 ** 63) })",
  );
}

async function concurrentPagingCase(ctx: CaseContext): Promise<void> {
  const filters: TimelineQuery[] = [{}, { workflowId: "A" }, { runId: "a2" }, { from: 1012, to: 1048 }];
  for (const filter of filters) {
    const store = await ctx.create();
    const base = filterFixture();
    await store.append(base);
    const known = new Map<string, TimelineEvent>();
    for (const e of base) known.set(e.id, e);
    const limit = 5;
    const seen: TimelineEvent[] = [];
    let page = await store.query({ ...filter, limit });
    checkPage(page, limit, filter, queryCall({ ...filter, limit }));
    seen.push(...page.events);
    let round = 0;
    while (page.next !== undefined) {
      ok(round < 1000, "paging never ended");
      const extras: TimelineEvent[] = [];
      const writes: Array<Promise<unknown>> = [];
      if (round < 12) {
        // one behind the cursor (it must never show up), one ahead, one among the base events,
        // and a re-append of an already stored id (it must not show up twice)
        extras.push(ev("late", round * 3, 500 + round, { workflowId: "A" }));
        extras.push(ev("late", round * 3 + 1, 5000 + round, { workflowId: "A" }));
        extras.push(ev("a2", 100 + round, 1025, { workflowId: "A", id: `mid-${round}` }));
        for (const e of extras) known.set(e.id, e);
        writes.push(store.append([...extras, base[(round * 5) % base.length]!]));
      }
      if (round === 2) writes.push(store.delete({ runId: "b1" }));
      const [nextPage] = await Promise.all([store.query({ ...filter, limit, next: page.next }), ...writes]);
      page = nextPage as typeof page;
      checkPage(page, limit, filter, `${queryCall({ ...filter, limit })}'s page ${round + 2}`);
      seen.push(...page.events);
      round++;
    }
    const where = `paging ${queryCall({ ...filter, limit })} and its next pages while appending and deleting`;
    for (let i = 1; i < seen.length; i++) {
      ok(
        compareTimelineEvents(seen[i - 1]!, seen[i]!) < 0,
        `${where}: order must hold across pages (no repeats, nothing behind the cursor): ${seen[i - 1]!.id} then ${seen[i]!.id}`,
      );
    }
    const seenIds = new Set(ids(seen));
    for (const e of base) {
      if (e.runId === "b1" || !matchesQuery(e, filter)) continue;
      ok(seenIds.has(e.id), `${where}: ${e.id}, stored before the first page and never deleted, was skipped`);
    }
    for (const e of seen) {
      const original = known.get(e.id);
      ok(original !== undefined, `${where}: returned ${e.id}, which was never appended`);
      deepEqual(e, original, `${where}: ${e.id}`);
    }
  }
}

async function cursorCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = filterFixture();
  await store.append(all);
  const first = await queryPage(store, { runId: "a1", limit: 4 });
  const cursor = first.next;
  ok(cursor !== undefined, `a full page of a longer result has next: ${first.source} returned none`);
  const again = await store.query({ runId: "a1", limit: 4, next: cursor });
  const twice = await store.query({ runId: "a1", limit: 4, next: cursor });
  deepEqual(
    twice,
    again,
    "a cursor can be used again and gives the same page while nothing changed",
    `the second ${queryCall({ runId: "a1", limit: 4, next: cursor })}, against the first,`,
  );
  sameEvents(
    await queryPage(store, { runId: "a1", limit: 100, next: cursor }),
    all.filter((e) => e.runId === "a1").slice(4),
    "the limit may change between pages",
  );
  for (const other of [{}, { runId: "a2" }, { runId: "a1", workflowId: "A" }, { runId: "a1", from: 0 }]) {
    await rejectsWith(
      () => store.query({ ...other, next: cursor }),
      "INVALID_INPUT",
      ["next"],
      `a cursor from { runId: "a1" } used with ${JSON.stringify(other)}`,
    );
  }
  const tampered = `${cursor.slice(0, -3)}${cursor.slice(-3) === "AAA" ? "BBB" : "AAA"}`;
  for (const garbage of ["garbage", "%%%", "{}", "eyJ4IjoxfQ", "bnVsbA", tampered, " "]) {
    await rejectsWith(
      () => store.query({ runId: "a1", next: garbage }),
      "INVALID_INPUT",
      ["next"],
      `query with next ${JSON.stringify(garbage)}`,
    );
  }
  await rejectsWith(
    () => store.query({ next: 42 } as unknown as TimelineQuery),
    "INVALID_INPUT",
    ["next"],
    "query with a numeric next",
  );
  // A cursor is a position, not a row: once the event it ends at is deleted (its whole run here),
  // the next page still starts strictly after that position (a store that looks the event up fails).
  const workflowPage = await queryPage(store, { workflowId: "A", limit: 3 });
  const last = workflowPage.events.at(-1);
  ok(
    last !== undefined && workflowPage.next !== undefined,
    `a full page of a longer result has next: ${workflowPage.source} returned none`,
  );
  await store.delete({ runId: last.runId });
  sameEvents(
    await readAll(store, { workflowId: "A", limit: 3, next: workflowPage.next }),
    all.filter((e) => e.workflowId === "A" && e.runId !== last.runId && compareTimelineEvents(e, last) > 0),
    `the pages after a cursor whose event was deleted (delete({ runId: "${last.runId}" }))`,
  );
}

async function badQueryCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  await store.append([ev("r", 0, 1)]);
  const bad: Array<[unknown, string]> = [
    [{ runId: 5 }, "runId"],
    [{ runId: "" }, "runId"],
    [{ workflowId: null }, "workflowId"],
    [{ from: "yesterday" }, "from"],
    [{ from: Number.NaN }, "from"],
    [{ to: {} }, "to"],
    [{ from: 10, to: 5 }, "from"],
    [{ runID: "r" }, "runID"],
    [null, "filter"],
    ["r", "filter"],
  ];
  for (const [filter, field] of bad) {
    await rejectsWith(
      () => store.query(filter as TimelineQuery),
      "INVALID_INPUT",
      [field],
      queryCall(filter),
    );
  }
}

class QueryLike {
  runId = "a1";
}

/** Filters that are not plain objects, each rejected as a query and as a delete filter. */
function notPlainFilters(): Array<[unknown, string]> {
  return [
    [new Map([["runId", "a1"]]), "a Map"],
    [new QueryLike(), "a class instance"],
    [Object.create({ runId: "a1", before: Number.POSITIVE_INFINITY }), "Object.create({ runId })"],
    [Object.create(Object.create(null)), "an object inheriting from a null-prototype object"],
    [new Date(0), "a Date"],
    [() => ({ runId: "a1" }), "a function"],
  ];
}

/**
 * Runs `body` while `Object.prototype` carries `key` (not enumerable, removed afterwards): what a
 * polluted prototype does to every plain object's reads.
 */
async function withInheritedKey(key: string, value: unknown, body: () => Promise<void>): Promise<void> {
  ok(!Object.hasOwn(Object.prototype, key), `Object.prototype already has ${key}`);
  Object.defineProperty(Object.prototype, key, { value, configurable: true, writable: true });
  try {
    await body();
  } finally {
    delete (Object.prototype as Record<string, unknown>)[key];
  }
}

async function filterShapeCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = filterFixture();
  await store.append(all);
  for (const [filter, label] of notPlainFilters()) {
    await rejectsWith(
      () => store.query(filter as TimelineQuery),
      "INVALID_INPUT",
      ["filter", "plain object"],
      `query(${label})`,
    );
    await rejectsWith(
      () => store.delete(filter as TimelineDeleteFilter),
      "INVALID_INPUT",
      ["filter", "plain object"],
      `delete(${label})`,
    );
  }
  await expectStored(store, all, "rejected deletes remove nothing");
  // A null-prototype object is a plain object: its own fields are the filter.
  const bare = Object.assign(Object.create(null), { runId: "a1", limit: MAX_QUERY_LIMIT });
  sameEvents(
    await queryPage(store, bare, "query(Object.assign(Object.create(null), { runId: 'a1', limit: 10000 }))"),
    all.filter((e) => e.runId === "a1"),
    "a null-prototype object is a plain filter",
  );
  // A field inherited from Object.prototype is not a filter field.
  await withInheritedKey("runId", "a1", async () => {
    sameEvents(
      await queryPage(store, { workflowId: "A", limit: MAX_QUERY_LIMIT }),
      all.filter((e) => e.workflowId === "A"),
      "a runId inherited from Object.prototype filters nothing",
    );
    sameEvents(
      await queryPage(store, { limit: MAX_QUERY_LIMIT }),
      all,
      "a runId inherited from Object.prototype filters nothing (no other field given)",
    );
  });
  const fromA = all.filter((e) => e.workflowId === "A");
  let count = 0;
  await withInheritedKey("runId", "a1", async () => {
    count = await store.delete({ workflowId: "A" });
  });
  equal(
    count,
    fromA.length,
    "delete({ workflowId }) while Object.prototype.runId is set removes the workflow's events",
  );
  await expectStored(
    store,
    all.filter((e) => e.workflowId !== "A"),
    "delete({ workflowId }) while Object.prototype.runId is set",
  );
  const bareDelete = Object.assign(Object.create(null), { runId: "b1" });
  equal(await store.delete(bareDelete), all.length - fromA.length, "delete(Object.create(null) with runId)");
}

/** `{ [key]: first }` whose `key` is a getter returning `first` on the first read and `later` after. */
function twoFacedFilter(key: string, first: unknown, later: unknown, rest: object = {}): object {
  let reads = 0;
  return Object.defineProperty({ ...rest }, key, {
    enumerable: true,
    get: () => (++reads === 1 ? first : later),
  });
}

async function filterReadOnceCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = filterFixture();
  await store.append(all);
  const a1 = all.filter((e) => e.runId === "a1");
  const query = twoFacedFilter("runId", "a1", undefined, { limit: MAX_QUERY_LIMIT });
  sameEvents(
    await queryPage(
      store,
      query as TimelineQuery,
      'query({ get runId() { "a1" the first time, undefined after }, limit: 10000 })',
    ),
    a1,
    "a query's runId getter is read once",
  );
  const filter = twoFacedFilter("runId", "a1", undefined, { before: Number.POSITIVE_INFINITY });
  equal(await store.delete(filter as TimelineDeleteFilter), a1.length, "delete with a runId getter");
  await expectStored(
    store,
    all.filter((e) => e.runId !== "a1"),
    "a delete whose runId getter gives another value when read again removes only what was checked",
  );
  const boom = new Error("filter getter");
  for (const op of ["query", "delete"] as const) {
    const throwing = Object.defineProperty({}, "runId", {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const error = await rejectsWith(
      () => (op === "query" ? store.query(throwing) : store.delete(throwing)),
      "INVALID_INPUT",
      ["filter.runId"],
      `${op}() with a runId getter that throws`,
    );
    ok(error.cause === boom, `${op}(): the INVALID_INPUT's cause is what the getter threw`);
  }
}

function deleteFixture(): TimelineEvent[] {
  const out: TimelineEvent[] = [];
  for (let seq = 0; seq < 6; seq++) {
    out.push(ev("a1", seq, 100 + seq * 10, { workflowId: "A" }));
    out.push(ev("a2", seq, 105 + seq * 10, { workflowId: "A" }));
    out.push(ev("b1", seq, 100 + seq * 10, { workflowId: "B" }));
  }
  return out;
}

async function deleteCase(ctx: CaseContext): Promise<void> {
  const filters: TimelineDeleteFilter[] = [
    { runId: "a1" },
    { workflowId: "A" },
    { workflowId: "B" },
    { before: 130 },
    { before: 100 },
    { before: 101 },
    { runId: "a2", before: 125 },
    { workflowId: "B", before: 140 },
    { runId: "a1", workflowId: "A" },
    { runId: "a1", workflowId: "B" },
    { runId: "b1", workflowId: "B", before: 120 },
    { runId: "none" },
    { workflowId: "none" },
    { before: 0 },
    // a field set to undefined is one left out
    { runId: "a2", workflowId: undefined, before: undefined },
  ];
  for (const filter of filters) {
    const store = await ctx.create();
    const all = deleteFixture();
    await store.append(all);
    const removed = all.filter((e) => matchesDeleteFilter(e, filter));
    const count = await store.delete(filter);
    equal(count, removed.length, `delete(${showFilter(filter)}) resolves to how many it removed`);
    await expectStored(
      store,
      all.filter((e) => !matchesDeleteFilter(e, filter)),
      `after delete(${showFilter(filter)}) everything else is still stored`,
    );
    equal(await store.delete(filter), 0, `delete(${showFilter(filter)}) again removes nothing`);
    await store.append(removed);
    await expectStored(store, all, `deleted ids can be appended again after delete(${showFilter(filter)})`);
  }
}

async function deleteAllCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const all = deleteFixture();
  await store.append(all);
  for (const filter of [
    {},
    { runId: undefined },
    undefined,
    null,
    "a1",
    { before: Number.NaN },
    { runId: 7 },
  ]) {
    await rejectsWith(
      () => store.delete(filter as TimelineDeleteFilter),
      "INVALID_INPUT",
      [],
      `delete(${showFilter(filter)})`,
    );
  }
  await rejectsWith(
    () => store.delete({ run: "a1" } as TimelineDeleteFilter),
    "INVALID_INPUT",
    ["run"],
    "delete({ run })",
  );
  await expectStored(store, all, "rejected deletes remove nothing");
  equal(
    await store.delete({ before: Number.POSITIVE_INFINITY }),
    all.length,
    "delete({ before: Infinity }) counts all",
  );
  countIs(await queryPage(store), 0, "delete({ before: Infinity }) removes everything");
  equal(
    await store.delete({ before: Number.POSITIVE_INFINITY }),
    0,
    "deleting from an empty store removes 0",
  );
}

const GOOD_BASE = { runId: "r", workflowId: "wf", source: "runtime", type: "log" };

function malformed(): Array<[unknown, string]> {
  const cycle: Record<string, unknown> = { a: 1 };
  cycle.self = cycle;
  const good = (over: Record<string, unknown>) => ({ id: "bad", seq: 0, at: 1, ...GOOD_BASE, ...over });
  const without = (field: string) => {
    const e: Record<string, unknown> = good({});
    delete e[field];
    return e;
  };
  return [
    [null, ""],
    ["event", ""],
    [[], ""],
    [without("id"), ".id"],
    [good({ id: "" }), ".id"],
    [good({ id: 7 }), ".id"],
    [without("runId"), ".runId"],
    [good({ runId: "" }), ".runId"],
    [without("workflowId"), ".workflowId"],
    [good({ workflowId: ["wf"] }), ".workflowId"],
    [without("seq"), ".seq"],
    [good({ seq: -1 }), ".seq"],
    [good({ seq: 1.5 }), ".seq"],
    [good({ seq: "1" }), ".seq"],
    [good({ seq: Number.NaN }), ".seq"],
    [good({ seq: 2 ** 53 }), ".seq"],
    [without("at"), ".at"],
    [good({ at: Number.NaN }), ".at"],
    [good({ at: Number.POSITIVE_INFINITY }), ".at"],
    [good({ at: "2024-01-01" }), ".at"],
    [good({ at: new Date(0) }), ".at"],
    [without("source"), ".source"],
    [without("type"), ".type"],
    [good({ type: "" }), ".type"],
    [good({ stage: 5 }), ".stage"],
    [good({ step: null }), ".step"],
    [good({ message: { text: "hi" } }), ".message"],
    [good({ level: "fatal" }), ".level"],
    [good({ extra: "field" }), ".extra"],
    [good({ data: () => 1 }), ".data"],
    [good({ data: { fn: () => 1 } }), ".data"],
    [good({ data: { deep: [1, { f: Symbol("s") }] } }), ".data"],
    [good({ data: cycle }), ".data"],
    [good({ data: 10n }), ".data"],
    [good({ data: { big: 10n } }), ".data"],
    [good({ data: Number.NaN }), ".data"],
    [good({ data: { n: Number.POSITIVE_INFINITY } }), ".data"],
    [good({ data: [1, undefined, 3] }), ".data"],
    [good({ data: new Map([["a", 1]]) }), ".data"],
    [good({ data: { when: new Date(0) } }), ".data"],
    [good({ data: new Uint8Array(4) }), ".data"],
  ];
}

async function malformedEventsCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  for (const batch of [null, undefined, "events", 42, { 0: ev("r", 0, 1), length: 1 }]) {
    await rejectsWith(
      () => store.append(batch as unknown as TimelineEvent[]),
      "INVALID_INPUT",
      ["events"],
      `append(${JSON.stringify(batch) ?? String(batch)})`,
    );
  }
  for (const [event, field] of malformed()) {
    const description = `append([ok, ok, ${safeJson(event)}])`;
    await rejectsWith(
      () =>
        store.append([ev("r", 0, 1, { id: "ok-0" }), ev("r", 1, 2, { id: "ok-1" }), event as TimelineEvent]),
      "INVALID_INPUT",
      [`events[2]${field}`],
      description,
    );
  }
}

function safeJson(value: unknown): string {
  try {
    return (
      JSON.stringify(value, (_key, v) =>
        typeof v === "bigint" ? `${v}n` : typeof v === "function" ? "<function>" : v,
      ) ?? String(value)
    );
  } catch {
    return "<circular>";
  }
}

async function batchAtomicityCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const kept = [ev("r", 0, 1), ev("r", 1, 2)];
  await store.append(kept);
  const batch: TimelineEvent[] = [];
  for (let i = 0; i < 50; i++) batch.push(ev("new", i, 100 + i));
  for (const [bad, field] of malformed()) {
    for (const position of [0, 25, 50]) {
      const attempt: unknown[] = [...batch];
      attempt.splice(position, 0, bad);
      await rejectsWith(
        () => store.append(attempt as TimelineEvent[]),
        "INVALID_INPUT",
        [`events[${position}]${field}`],
        `append of 50 good events with ${safeJson(bad)} at ${position}`,
      );
    }
  }
  await expectStored(store, kept, "no event of a rejected batch is stored; earlier events are untouched");
  await store.append(batch);
  await expectStored(store, [...kept, ...batch], "the same good events append fine afterwards");
}

/** `data` that throws when the store reads it: a getter, at the top or nested. */
function unreadableData(nested: boolean): Record<string, unknown> {
  const data = {
    before: 1,
    get boom(): never {
      throw new Error("data getter throws");
    },
  };
  return nested ? { outer: [data] } : data;
}

// Reading an event is part of checking it: whatever a getter throws, the store must reject with
// INVALID_INPUT (the runtime splits a batch to keep the other runs' events only on that code), and
// must not have stored the events it read before the one that threw.
async function unreadableDataCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const kept = [ev("r", 0, 1)];
  await store.append(kept);
  const good = [ev("new", 0, 5, { data: { n: 1 } }), ev("new", 1, 6), ev("new", 2, 7, { message: "m" })];
  for (const nested of [false, true]) {
    for (const position of [0, 1, 3]) {
      const attempt = [...good];
      attempt.splice(position, 0, ev("bad", 0, 6, { data: unreadableData(nested) }));
      const where = `${nested ? "nested " : ""}data with a throwing getter at events[${position}]`;
      await rejectsWith(() => store.append(attempt), "INVALID_INPUT", [`events[${position}]`], where);
      await expectStored(store, kept, `${where}: no event of the rejected batch is stored`);
    }
  }
  await store.append(good);
  await expectStored(
    store,
    [...kept, ...good],
    "the good events of the rejected batches append fine afterwards",
  );
}

/**
 * `target` with `key` made a getter that gives `first` on the first read and `later` on every read
 * after (a computed field, a Proxy over a source that changes): enumerable, so it is a field.
 */
function twoFaced<T extends object>(target: T, key: string, first: unknown, later: unknown): T {
  let reads = 0;
  return Object.defineProperty(target, key, {
    enumerable: true,
    configurable: true,
    get: () => (++reads === 1 ? first : later),
  });
}

// A store that checks the caller's events and then reads them again to store them (a copy, a
// JSON text, a structured clone) stores what a getter gives on the second read, unchecked. Reading
// each event's fields once into the copy that is checked and stored (readTimelineEvents) keeps
// the first. (Fields: what a getter inside `data` gives is left to the store's own reading.)
async function eventReadOnceCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const stored = [ev("r", 0, 1)];
  await store.append(stored);
  const trials: Array<[field: string, first: unknown, later: unknown, shown: string]> = [
    ["seq", 1, -1, "-1"],
    ["at", 5, Number.NaN, "NaN"],
    ["id", "two-faced-id", "", '""'],
    ["runId", "two-faced", "", '""'],
    ["message", "checked", 42, "42"],
    ["level", "info", "fatal", '"fatal"'],
    ["data", { n: 1 }, () => 1, "a function"],
  ];
  for (const [i, [field, first, later, shown]] of trials.entries()) {
    const id = field === "id" ? (first as string) : `two-faced-${field}`;
    const plain = ev("two-faced", 1, 100 + i, { id, [field]: first });
    const event = twoFaced({ ...plain }, field, first, later);
    const good = ev("two-faced", 0, 100 + i, { id: `good-${field}` });
    const what = `append([ok, an event whose ${field} getter gives ${preview(first)} on the first read and ${shown} after])`;
    let rejected: unknown;
    try {
      await store.append([good, event]);
    } catch (error) {
      rejected = error;
    }
    if (rejected === undefined) {
      const message = `${what} resolved, so the store must hold what it read the first time and checked (read each event once, with readTimelineEvents, and store that copy)`;
      const all = await readAll(store, { limit: MAX_QUERY_LIMIT });
      const back = all.events.find((e) => e.id === plain.id);
      ok(
        back !== undefined,
        `${message}: ${all.source} returned no event with id ${preview(plain.id)} (ids ${preview(ids(all.events))})`,
      );
      deepEqual(back, plain, message, `${all.source} returned event ${preview(plain.id)}`);
      stored.push(good, plain);
      sameEvents(all, stored, message);
    } else {
      ok(
        SystemError.is(rejected, "INVALID_INPUT"),
        `${what} rejected with ${rejected instanceof Error ? `${rejected.name}: ${rejected.message}` : preview(rejected)}; a store either stores what it read the first time or rejects the batch with INVALID_INPUT`,
      );
      await expectStored(store, stored, `${what} was rejected: nothing of its batch may be stored`);
    }
  }
}

function nest(depth: number): unknown {
  let value: unknown = { leaf: "bottom", n: depth };
  for (let i = depth - 1; i > 0; i--) value = i % 2 === 0 ? { level: i, child: value } : [i, value];
  return value;
}

async function largeDataCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const mb = "0123456789abcdef".repeat(65_536);
  const numbers: number[] = [];
  for (let i = 0; i < 10_000; i++) numbers.push(i * 1.5 - 5000);
  const events = [
    ev("big", 0, 1, { data: { blob: mb } }),
    ev("big", 1, 2, { message: mb }),
    ev("big", 2, 3, { data: nest(50) }),
    ev("big", 3, 4, { data: numbers }),
    ev("big", 4, 5, {
      data: { floats: [0.1, 1e-300, 1.7976931348623157e308, -5, Number.MIN_VALUE], keys: manyKeys(2000) },
    }),
  ];
  await store.append(events);
  await expectStored(store, events, "large and nested data round-trips deep-equal");
}

function manyKeys(count: number): Record<string, number> {
  const out: Record<string, number> = {};
  for (let i = 0; i < count; i++) out[`key-${i}`] = i;
  return out;
}

const UNICODE = [
  "🚀 emoji 👩‍👩‍👧‍👦 🇺🇦",
  "שלום עולם",
  "مرحبا بالعالم",
  "a\u0000b",
  "\u0000",
  "line\u2028sep\u2029",
  "\uFEFFbom",
  "e\u0301 combining",
  "日本語テキスト",
  "𝕳𝖊𝖑𝖑𝖔",
  "tab\tnew\nline\r",
  "\u202Eright-to-left override",
];

async function unicodeCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const events = UNICODE.map((text, i) =>
    ev(text, i, 1000 + i, {
      id: `${text}|id`,
      workflowId: `${text}|wf`,
      source: text,
      type: text,
      stage: text,
      step: text,
      message: text,
      data: { [text]: text, list: [text] },
    }),
  );
  await store.append(events);
  await expectStored(store, events, "unicode round-trips in every string field and in data keys");
  for (const e of events) {
    sameEvents(await queryPage(store, { runId: e.runId }), [e], "a unicode runId matches exactly");
    sameEvents(
      await queryPage(store, { workflowId: e.workflowId }),
      [e],
      "a unicode workflowId matches exactly",
    );
  }
}

const HOSTILE = [
  '"double"',
  "'single'",
  "it's",
  "%",
  "100%",
  "_",
  "a_b",
  "'; DROP TABLE events; --",
  '"; DROP TABLE timeline; --',
  "1 OR 1=1",
  "back\\slash",
  "\\",
  "\\'",
  "*",
  "?",
  "[x]",
  "{}",
  "$1",
  ":name",
  "../../etc/passwd",
  " ",
  " lead",
  "trail ",
  "__proto__",
  "constructor",
  "prototype",
  "hasOwnProperty",
  "toString",
  "null",
  "undefined",
  "0",
  "-1",
  "x".repeat(10_000),
  "\u0000nul",
];

/** Exact-match traps: LIKE wildcards, prefixes, case, trailing space. */
const LOOKALIKES = ["run", "run1", "run%", "run_1", "runX1", "Run1", "RUN1", "run1 ", "run10", "ru"];

async function hostileIdsCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const hostile = HOSTILE.map((text, i) => ev(text, 0, 1000 + i, { id: text, workflowId: text }));
  const lookalike = LOOKALIKES.map((text, i) =>
    ev(text, 1, 2000 + i, { id: `lookalike:${text}`, workflowId: `wf:${text}` }),
  );
  const polluting = ev("proto-data", 0, 3000, {
    data: JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}'),
  });
  await store.append([...hostile, ...lookalike, polluting]);
  await expectStored(store, [...hostile, ...lookalike, polluting], "hostile ids round-trip");
  for (const e of [...hostile, ...lookalike]) {
    const name = JSON.stringify(e.runId.length > 50 ? `${e.runId.slice(0, 20)}…` : e.runId);
    sameEvents(
      await queryPage(store, { runId: e.runId }, `query({ runId: ${name} })`),
      [e],
      "a hostile runId matches exactly",
    );
    sameEvents(
      await queryPage(store, { workflowId: e.workflowId }, `query({ workflowId: ${name} })`),
      [e],
      "a hostile workflowId matches exactly",
    );
  }
  const protoRead = await queryPage(store, { runId: "proto-data" });
  countIs(protoRead, 1, "an event with __proto__ keys in its data");
  const back = protoRead.events[0]!;
  ok(
    typeof back.data === "object" && back.data !== null && Object.hasOwn(back.data, "__proto__"),
    'a "__proto__" key in data comes back as an own property',
  );
  ok(
    ({} as Record<string, unknown>).polluted === undefined,
    "storing data with __proto__ keys must not pollute Object.prototype",
  );
  for (const text of ["%", "_", "run%", "__proto__", "'; DROP TABLE events; --"]) {
    equal(
      await store.delete({ runId: text }),
      1,
      `delete({ runId: ${JSON.stringify(text)} }) removes exactly one`,
    );
  }
  equal(
    await store.delete({ workflowId: "wf:run_1" }),
    1,
    'delete({ workflowId: "wf:run_1" }) removes exactly one',
  );
  const gone = new Set(["%", "_", "run%", "__proto__", "'; DROP TABLE events; --", "run_1"]);
  await expectStored(
    store,
    [...hostile, ...lookalike, polluting].filter((e) => !gone.has(e.runId)),
    "deleting hostile ids removes exactly those",
  );
}

async function manyRunsCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const runs = 500;
  const perRun = 20;
  const all: TimelineEvent[] = [];
  let batch: TimelineEvent[] = [];
  for (let seq = 0; seq < perRun; seq++) {
    for (let r = 0; r < runs; r++) {
      const runId = `run-${String(r).padStart(4, "0")}`;
      const e = ev(runId, seq, 1_000_000 + seq * 1000 + (r % 7), {
        workflowId: `wf-${r % 5}`,
        data: { r, seq },
      });
      all.push(e);
      batch.push(e);
      if (batch.length === 1000) {
        await store.append(batch);
        batch = [];
      }
    }
  }
  await store.append(batch);
  for (let r = 0; r < runs; r += 25) {
    const runId = `run-${String(r).padStart(4, "0")}`;
    sameEvents(
      await queryPage(store, { runId }),
      all.filter((e) => e.runId === runId),
      "every event of the run",
    );
  }
  sameEvents(
    await readAll(store, { workflowId: "wf-2", limit: 700 }),
    all.filter((e) => e.workflowId === "wf-2"),
    "paging every event of the workflow",
  );
  sameEvents(await readAll(store), all, "paging every event with the default limit");
  equal(await store.delete({ workflowId: "wf-4" }), runs * perRun * 0.2, 'delete({ workflowId: "wf-4" })');
  equal(await store.delete({ runId: "run-0000" }), perRun, 'delete({ runId: "run-0000" })');
  sameEvents(
    await readAll(store, { limit: MAX_QUERY_LIMIT }),
    all.filter((e) => e.workflowId !== "wf-4" && e.runId !== "run-0000"),
    "the rest is intact",
  );
}

async function closeCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  await store.append([ev("r", 0, 1)]);
  await store.close();
  await store.close();
  await rejectsWith(() => store.append([ev("r", 1, 2)]), "DISPOSED", [], "append after close()");
  await rejectsWith(() => store.append([]), "DISPOSED", [], "an empty append after close()");
  await rejectsWith(() => store.query(), "DISPOSED", [], "query() after close()");
  await rejectsWith(() => store.query({ runId: "r" }), "DISPOSED", [], "query({ runId }) after close()");
  await rejectsWith(() => store.delete({ runId: "r" }), "DISPOSED", [], "delete after close()");
  await store.close();
  const fresh = await ctx.create();
  await fresh.append([ev("s", 0, 1)]);
  await Promise.all([fresh.close(), fresh.close()]);
  await rejectsWith(() => fresh.query(), "DISPOSED", [], "query() after two concurrent close() calls");
}

async function reopenCase(ctx: CaseContext): Promise<void> {
  let store = await ctx.create();
  const first = [ev("r", 0, 10, { data: { n: 1 } }), ev("r", 1, 20), ev("s", 0, 15, { workflowId: "other" })];
  await store.append(first);
  store = await ctx.reopen(store);
  await expectStored(store, first, "events appended before close() are there after reopen");
  const second = [ev("r", 2, 30), ev("s", 1, 5, { workflowId: "other" }), ev("r", 3, 12)];
  await store.append([...second, { ...first[0]!, message: "duplicate after reopen" }]);
  await expectStored(store, [...first, ...second], "appends after reopen keep order and one copy per id");
  const page = await queryPage(store, { runId: "r", limit: 2 });
  ok(page.next !== undefined, `a full page of a longer result has next: ${page.source} returned none`);
  store = await ctx.reopen(store);
  sameEvents(
    await queryPage(store, { runId: "r", limit: 10, next: page.next }),
    [ev("r", 1, 20), ev("r", 2, 30)],
    "a cursor from before reopen still pages",
  );
  equal(await store.delete({ workflowId: "other" }), 2, "delete after reopen");
  store = await ctx.reopen(store);
  await expectStored(store, [first[0]!, first[1]!, second[0]!, second[2]!], "deletes persist across reopen");
  // `before: Infinity` must persist as such: JSON writes Infinity as null, and a delete kept that
  // way (a tombstone, a log line) deletes nothing once replayed.
  const other = [ev("t", 0, 40), ev("t", 1, 41)];
  await store.append(other);
  equal(
    await store.delete({ runId: "r", before: Number.POSITIVE_INFINITY }),
    4,
    'delete({ runId: "r", before: Infinity })',
  );
  store = await ctx.reopen(store);
  await expectStored(
    store,
    other,
    'events deleted by { runId: "r", before: Infinity } stay deleted after reopen',
  );
  equal(
    await store.delete({ before: Number.POSITIVE_INFINITY }),
    2,
    "delete({ before: Infinity }) after reopen",
  );
  store = await ctx.reopen(store);
  await expectStored(store, [], "events deleted by { before: Infinity } stay deleted after reopen");
  // a deleted id may be appended again, and that copy persists (a replay applies deletes in order)
  await store.append([first[1]!]);
  store = await ctx.reopen(store);
  await expectStored(store, [first[1]!], "an id appended again after its delete is there after reopen");
}

// ---------------------------------------------------------------------------------------------
// batches in columns (TimelineBatch, appendBatch)

async function batchRoundTripCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const batch = new TimelineBatch();
  const runId = "run-é✓-1";
  batch.add(undefined, runId, "orders", 1, 1_000, "runtime", "run.started");
  batch.add(undefined, runId, "orders", 2, 1_000, "pipeline", "stage.started", "approve");
  batch.add("explicit-id", runId, "orders", 3, 1_001, "pipeline", "step.started", "approve", "wait");
  batch.add(undefined, runId, "orders", 4, 1_002, "logger", "log", "approve", "wait", "warn", "waiting", {
    orderId: "o-1",
    list: [1, "two", null, { ok: true }],
  });
  batch.add(
    undefined,
    "run-2",
    "orders",
    0,
    999,
    "runtime",
    "run.started",
    undefined,
    undefined,
    undefined,
    "",
    null,
  );
  const expected = batch.toEvents();
  deepEqual(
    expected.map((e) => e.id),
    [`${runId}:1`, `${runId}:2`, "explicit-id", `${runId}:4`, "run-2:0"],
    "toEvents() derives ids as runId:seq",
  );
  const given = shapeOf(batch);
  await appendTimelineBatch(store, batch);
  leftAsGiven(given, "batch", typeof store.appendBatch === "function" ? "appendBatch()" : "append()");
  await expectStored(store, expected, "a batch's events read back as the events it holds");
  // the batch and its data objects belong to the writer again once the append resolved
  try {
    (batch.data[3] as { orderId: string }).orderId = "mutated after append";
    batch.data[3] = { replaced: true };
  } catch (error) {
    fail(
      `the batch must be the writer's to change once its append resolved: changing it threw ${describeThrown(error)}`,
    );
  }
  const atWait = await queryPage(store, { runId, from: 1_002 });
  countIs(atWait, 1, "the batch's event at 1002 (its data changed by the writer after the append)");
  deepEqual(
    atWait.events[0]?.data,
    { orderId: "o-1", list: [1, "two", null, { ok: true }] },
    "stored data is a copy",
    `${atWait.source} returned data`,
  );
  // a writer may empty the batch and refill it for its next append
  const before = JSON.stringify((await readAll(store)).events);
  batch.clear();
  batch.add("refilled", "run-3", "other", 9, 5_000, "runtime", "run.failed", "s", "t", "error", "no", {
    x: 1,
  });
  const refilled = await readAll(store);
  equal(
    JSON.stringify(refilled.events),
    before,
    `refilling a batch after its append settled must not change what is stored (read by ${refilled.source})`,
  );
  await appendTimelineBatch(store, new TimelineBatch());
  countIs(await readAll(store), 5, "an empty batch is a no-op");
}

async function derivedIdCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  // the string form first: a batch's derived id of the same run and seq is a repeat
  const asString = ev("r", 7, 10, { id: "r:7", message: "first, as an object" });
  await store.append([asString]);
  const batch = new TimelineBatch();
  batch.add(
    undefined,
    "r",
    "wf",
    7,
    20,
    "runtime",
    "step.completed",
    undefined,
    undefined,
    undefined,
    "again",
  );
  batch.add(undefined, "r", "wf", 8, 30, "runtime", "step.completed", undefined, undefined, undefined, "new");
  batch.add(undefined, "r", "wf", 8, 40, "runtime", "step.completed", undefined, undefined, undefined, "dup");
  await appendTimelineBatch(store, batch);
  // the derived form first: the same id as a string is a repeat
  await store.append([ev("r", 8, 50, { id: "r:8", message: "later, as an object" })]);
  await appendTimelineBatch(store, batch.slice(1, 2));
  await expectStored(
    store,
    [asString, ev("r", 8, 30, { id: "r:8", message: "new" })],
    "one copy per id, the first one stored, whether the id was given or derived",
  );
  // events tied on (at, seq) are ordered by id, derived ids as their strings ("r-10:1" < "r-a:1")
  const tied = new TimelineBatch();
  for (const run of ["r-b", "r-a", "r-10"]) tied.add(undefined, run, "wf", 1, 60, "runtime", "run.started");
  tied.add("r-a:0", "r-x", "wf", 1, 60, "runtime", "run.started");
  tied.add("r-c", "r-y", "wf", 1, 60, "runtime", "run.started");
  await appendTimelineBatch(store, tied);
  const tiedRead = await queryPage(store, { from: 60 });
  deepEqual(
    ids(tiedRead.events),
    ["r-10:1", "r-a:0", "r-a:1", "r-b:1", "r-c"],
    "ties on (at, seq) in id order, derived ids compared as their strings",
    `${tiedRead.source} returned ids`,
  );
}

async function badBatchCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  await store.append([ev("r", 0, 1)]);
  const hasBatches = typeof store.appendBatch === "function";
  if (hasBatches) {
    const short = new TimelineBatch();
    short.add(undefined, "r", "wf", 1, 2, "runtime", "x");
    short.length = 2; // claims a row its columns do not have
    for (const bad of [null, undefined, {}, [], { length: 1 }, short]) {
      await rejectsWith(
        () => store.appendBatch!(bad as unknown as TimelineBatch),
        "INVALID_INPUT",
        ["batch"],
        `appendBatch(${safeJson(bad)})`,
      );
    }
  }
  for (const [event, field] of malformed()) {
    if (!TimelineBatch.canHold([event])) continue; // no column for it: append's own case covers it
    const batch = TimelineBatch.of([ev("new", 0, 5), ev("new", 1, 6), event as TimelineEvent]);
    await rejectsWith(
      () => appendTimelineBatch(store, batch),
      "INVALID_INPUT",
      [`events[2]${field}`],
      `a batch of [ok, ok, ${safeJson(event)}]`,
    );
  }
  const derived = new TimelineBatch();
  derived.add(undefined, "", "wf", 1, 2, "runtime", "x");
  await rejectsWith(
    () => appendTimelineBatch(store, derived),
    "INVALID_INPUT",
    ["events[0].runId"],
    "an empty runId",
  );
  await expectStored(store, [ev("r", 0, 1)], "no event of a rejected batch is stored");
}

async function batchLengthCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  if (typeof store.appendBatch !== "function") return; // append's own cases cover the store
  await store.append([ev("r", 0, 1)]);
  // a real TimelineBatch of 3 valid rows, with a length that validateTimelineBatch refuses: not a
  // non-negative integer, or more rows than its columns hold
  const lengths: Array<[string, (batch: TimelineBatch) => void]> = [
    ["2.5", (batch) => (batch.length = 2.5)],
    ["-1", (batch) => (batch.length = -1)],
    ["NaN", (batch) => (batch.length = Number.NaN)],
    ['"3"', (batch) => ((batch as { length: unknown }).length = "3")],
    ["2 ** 32 - 1, past its columns", (batch) => (batch.length = 2 ** 32 - 1)],
    ["3, with a data column of 2", (batch) => (batch.data.length = 2)],
  ];
  for (const [label, spoil] of lengths) {
    const batch = new TimelineBatch();
    for (let seq = 1; seq <= 3; seq++) batch.add(undefined, "r", "wf", seq, 1 + seq, "runtime", "x");
    spoil(batch);
    await rejectsWith(
      () => store.appendBatch!(batch),
      "INVALID_INPUT",
      ["batch"],
      `appendBatch of a batch of 3 rows whose length is ${label}`,
    );
  }
  await expectStored(store, [ev("r", 0, 1)], "no event of a batch with a bad length is stored");
}

// What reading a row of a batch throws is INVALID_INPUT naming the row (as validateTimelineBatch
// says), through appendBatch or, for a store without it, appendTimelineBatch's own reading: the
// runtime's writer splits a batch to keep the other runs' events only on that code.
async function unreadableBatchCase(ctx: CaseContext): Promise<void> {
  const store = await ctx.create();
  const kept = [ev("r", 0, 1)];
  await store.append(kept);
  const unreadable: Array<[string, (batch: TimelineBatch) => void]> = [
    [
      "a derived id from a run id that cannot become a string (a symbol)",
      (batch) => ((batch.runIds as unknown[])[1] = Symbol("run")),
    ],
    [
      "a data column whose item throws when read",
      (batch) =>
        Object.defineProperty(batch.data, 1, {
          get() {
            throw new Error("column getter throws");
          },
        }),
    ],
  ];
  for (const [label, spoil] of unreadable) {
    const batch = new TimelineBatch();
    for (let seq = 0; seq < 3; seq++) batch.add(undefined, "new", "wf", seq, 5 + seq, "runtime", "x");
    spoil(batch);
    await rejectsWith(() => appendTimelineBatch(store, batch), "INVALID_INPUT", ["events[1]"], label);
  }
  await expectStored(store, kept, "no event of a batch with an unreadable row is stored");
}
