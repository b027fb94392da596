// Differential test of `appendBatch`'s one pass for batches whose ids are all derived
// (`writeDerivedBatch`): random batches (derived ids, some `data`, repeats within and across
// batches, ids stored earlier as objects, seqs near the derived limit, invalid rows, columns whose
// read throws) appended to three stores, one through the one pass, one as objects with explicit ids
// `runId:seq`, one as batches with those ids explicit (the general batch path), with queries,
// deletes and eviction in between. The three must store, answer and reject alike, and each log's id
// table must hold exactly its live events (no entry left behind by an undone row).
import { SystemError } from "@sluice/errors";
import { TimelineBatch, type TimelineEvent, type TimelineQuery } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import type { EventLog } from "../src/event-log.js";
import { runSeqHash } from "../src/id-hash.js";
import { IdUnits } from "../src/id-units.js";
import { createMemoryTimelineStore, type MemoryTimelineStore } from "../src/index.js";
import { createMemoryTimelineStoreWithLimit } from "../src/memory-timeline-store.js";

/** A small deterministic PRNG (mulberry32). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const RUNS = ["r", "r1", "a:1", "run-2", "\u00e9"];
const WORKFLOWS = ["wf", "other"];
const LEVELS = [undefined, "info", "debug", "warn", "error"] as const;
const BIG_SEQS = [999_999_999_999_999, 1e15, 1e15 + 1, Number.MAX_SAFE_INTEGER];

type Row = Record<string, unknown>;

function pick<T>(random: () => number, list: readonly T[]): T {
  return list[Math.floor(random() * list.length)]!;
}

/** A random row (an event without `id`), valid unless `invalid`. */
function randomRow(random: () => number, invalid: boolean): Row {
  const row: Row = {
    runId: pick(random, RUNS),
    workflowId: pick(random, WORKFLOWS),
    seq: random() < 0.05 ? pick(random, BIG_SEQS) : Math.floor(random() * 12),
    at: random() < 0.05 ? -0 : Math.floor(random() * 6),
    source: "runtime",
    type: "log",
  };
  if (random() < 0.3) row.stage = pick(random, ["s", ""]);
  if (random() < 0.3) row.step = "t";
  if (random() < 0.3) row.message = pick(random, ["m", "", "longer message"]);
  const level = pick(random, LEVELS);
  if (level !== undefined) row.level = level;
  const kind = random();
  if (kind < 0.15) row.data = { x: Math.floor(random() * 100), list: [1, "two", null] };
  else if (kind < 0.2) row.data = "text";
  else if (kind < 0.23) row.data = 0;
  else if (kind < 0.26) row.data = null;
  else if (kind < 0.28) row.data = Object.assign(Object.create(null) as Row, { n: 1 });
  else if (kind < 0.3) row.data = { s: "x".repeat(5000) };
  else if (kind < 0.34) row.data = { s: "y".repeat(500 + Math.floor(random() * 1500)) };
  if (invalid) {
    const faults: Row[] = [
      { at: Number.NaN },
      { at: Number.POSITIVE_INFINITY },
      { at: "1" },
      { seq: -1 },
      { seq: 1.5 },
      { seq: 2 ** 53 },
      { runId: "" },
      { runId: 5 },
      { workflowId: "" },
      { level: "verbose" },
      { stage: 5 },
      { message: 5 },
      { type: "" },
      { data: { d: new Date(0) } },
      { data: Number.NaN },
    ];
    Object.assign(row, pick(random, faults));
  }
  return row;
}

function idOf(row: Row): string {
  return `${row.runId as string}:${row.seq as number}`;
}

function eventOf(row: Row): TimelineEvent {
  return { id: idOf(row), ...row } as TimelineEvent;
}

/** The batch of `rows`, ids derived or explicit, with the column read of row `throwing` throwing. */
function batchOf(rows: readonly Row[], explicit: boolean, throwing: number): TimelineBatch {
  const batch = TimelineBatch.of(rows.map(eventOf));
  if (!explicit) batch.ids.fill(undefined);
  if (throwing >= 0) {
    Object.defineProperty(batch.types, throwing, {
      get() {
        throw new Error("boom");
      },
    });
  }
  return batch;
}

/** What `operation` rejected with, as a comparable string, or "ok". */
async function outcome(operation: () => Promise<unknown>): Promise<string> {
  try {
    await operation();
    return "ok";
  } catch (error) {
    if (!SystemError.is(error)) throw error;
    return `${error.code}: ${error.message}`;
  }
}

function logOf(store: MemoryTimelineStore): EventLog {
  return (store as unknown as { log: EventLog }).log;
}

/** The id table holds exactly the live events (undone, evicted and deleted rows are not in it). */
function expectTableMatchesLog(store: MemoryTimelineStore): void {
  const log = logOf(store);
  expect(log.idTable.size).toBe(log.live);
  let live = 0;
  for (let position = log.head; position < log.tail; position++) if (log.isLive(position)) live++;
  expect(live).toBe(log.live);
}

/** Every page of `filter`, joined. */
async function allPages(store: MemoryTimelineStore, filter: TimelineQuery): Promise<TimelineEvent[]> {
  const out: TimelineEvent[] = [];
  let next: string | undefined;
  for (;;) {
    const page = await store.query({ ...filter, limit: 7, ...(next === undefined ? {} : { next }) });
    out.push(...page.events);
    if (page.next === undefined) return out;
    next = page.next;
  }
}

async function expectSameAnswers(stores: readonly MemoryTimelineStore[]): Promise<void> {
  const sizes = stores.map((s) => s.size);
  expect(new Set(sizes).size, `sizes ${sizes}`).toBe(1);
  for (const store of stores) expectTableMatchesLog(store);
  const filters: TimelineQuery[] = [
    {},
    ...RUNS.map((runId) => ({ runId })),
    ...WORKFLOWS.map((workflowId) => ({ workflowId })),
    { from: 1, to: 4 },
    { runId: "r", workflowId: "wf", from: 0 },
  ];
  for (const filter of filters) {
    const [first, ...rest] = await Promise.all(stores.map((s) => allPages(s, filter)));
    for (const other of rest) expect(other, JSON.stringify(filter)).toStrictEqual(first);
  }
}

async function runModel(
  seed: number,
  steps: number,
  maxEvents: number | undefined,
  maxPosition?: number,
): Promise<void> {
  const random = prng(seed);
  const make = async () =>
    maxPosition !== undefined
      ? createMemoryTimelineStoreWithLimit(maxEvents ?? 100_000, maxPosition)
      : maxEvents === undefined
        ? createMemoryTimelineStore()
        : createMemoryTimelineStore({ maxEvents: maxEvents });
  // the one pass, the objects, the general batch path
  const stores = [await make(), await make(), await make()];
  const [derived, objects, explicit] = stores as [
    MemoryTimelineStore,
    MemoryTimelineStore,
    MemoryTimelineStore,
  ];
  const history: Row[] = [];
  for (let step = 0; step < steps; step++) {
    const what = random();
    if (what < 0.65) {
      const count = 1 + Math.floor(random() * (random() < 0.1 ? 300 : 20));
      const bad = random() < 0.2 ? Math.floor(random() * count) : -1;
      const rows: Row[] = [];
      for (let i = 0; i < count; i++) {
        // repeats of rows appended before, and of rows earlier in the batch
        if (history.length > 0 && random() < 0.15) rows.push({ ...pick(random, history), message: "again" });
        else if (rows.length > 0 && random() < 0.1) rows.push({ ...pick(random, rows), message: "twice" });
        else rows.push(randomRow(random, i === bad));
      }
      const throwing = bad < 0 && random() < 0.05 ? Math.floor(random() * count) : -1;
      const results = [
        await outcome(() => derived.appendBatch!(batchOf(rows, false, throwing))),
        throwing >= 0
          ? await outcome(() => explicit.appendBatch!(batchOf(rows, false, throwing)))
          : await outcome(() => objects.append(rows.map(eventOf))),
        await outcome(() => explicit.appendBatch!(batchOf(rows, true, throwing))),
      ];
      if (throwing >= 0) {
        // the column read throws: rejected by every path, nothing stored
        for (const result of results) expect(result, `step ${step}`).toMatch(/^INVALID_INPUT/);
      } else {
        expect(results[0], `step ${step}`).toBe(results[1]);
        expect(results[2], `step ${step}`).toBe(results[1]);
      }
      if (results[1] === "ok" && throwing < 0) history.push(...rows);
    } else if (what < 0.75) {
      // the same ids appended as objects, into every store
      const rows =
        history.length > 0 ? [{ ...pick(random, history), message: "object" }] : [randomRow(random, false)];
      const results = await Promise.all(stores.map((s) => outcome(() => s.append(rows.map(eventOf)))));
      expect(new Set(results).size).toBe(1);
      if (results[0] === "ok") history.push(...rows);
    } else if (what < 0.85) {
      const filter =
        random() < 0.4
          ? { runId: pick(random, RUNS) }
          : random() < 0.5
            ? { workflowId: pick(random, WORKFLOWS), before: Math.floor(random() * 6) }
            : { before: Math.floor(random() * 4) };
      const counts = await Promise.all(stores.map((s) => s.delete(filter)));
      expect(new Set(counts).size, `delete ${JSON.stringify(filter)}: ${counts}`).toBe(1);
    }
    await expectSameAnswers(stores);
  }
}

describe("a batch of derived ids stores and answers as the same events with explicit ids", () => {
  for (const seed of [1, 2, 3, 4, 5, 6]) {
    it(`random operations, seed ${seed}`, async () => {
      await runModel(seed, 120, undefined);
    });
  }
  for (const seed of [11, 12, 13, 14]) {
    it(`random operations with eviction (maxEvents 40), seed ${seed}`, async () => {
      await runModel(seed, 150, 40);
    });
  }

  for (const seed of [21, 22]) {
    it(`random operations, positions and offsets renumbered often, seed ${seed}`, async () => {
      await runModel(seed, 150, 60, 1 << 14);
    });
  }

  it("a repeated id in a batch that fills the log past its ring and its row chunk", async () => {
    // 5000 rows: past the first 4096-row chunk and the smallest ring (1024 slots); maxEvents 1500
    const stores = [
      await createMemoryTimelineStore({ maxEvents: 1500 }),
      await createMemoryTimelineStore({ maxEvents: 1500 }),
    ];
    for (let round = 0; round < 3; round++) {
      const rows: Row[] = [];
      for (let i = 0; i < 5000; i++) {
        rows.push({
          runId: `run${round}-${i % 7}`,
          workflowId: "wf",
          seq: i % 900,
          at: i,
          source: "runtime",
          type: "log",
          ...(i % 5 === 0 ? { data: { i } } : {}),
        });
      }
      await stores[0]!.appendBatch!(batchOf(rows, false, -1));
      await stores[1]!.append(rows.map(eventOf));
      await expectSameAnswers(stores);
    }
  });

  it("positions renumbered (compaction) between batches keep the derived ids found", async () => {
    const stores = [
      createMemoryTimelineStoreWithLimit(100, 4096),
      createMemoryTimelineStoreWithLimit(100, 4096),
    ];
    const random = prng(99);
    for (let round = 0; round < 200; round++) {
      const rows = Array.from({ length: 1 + Math.floor(random() * 30) }, () => randomRow(random, false));
      const results = [
        await outcome(() => stores[0]!.appendBatch!(batchOf(rows, false, -1))),
        await outcome(() => stores[1]!.append(rows.map(eventOf))),
      ];
      expect(results[0]).toBe(results[1]);
      await expectSameAnswers(stores);
    }
  });

  it("two runs whose derived ids hash alike stay two ids, in either spelling", async () => {
    // run ids whose ids `run:0` to `run:15` have the same hash (found by search: ~2^14 tries)
    const units = new IdUnits();
    const seen = new Map<number, string>();
    let a = "";
    let b = "";
    for (let n = 0; a === "" && n < 1_000_000; n++) {
      const run = `c${n}`;
      const hash = runSeqHash(units.runHash(run), 0);
      const other = seen.get(hash);
      if (other === undefined) seen.set(hash, run);
      else [a, b] = [other, run];
    }
    expect(a).not.toBe("");
    expect(runSeqHash(units.runHash(a), 3)).toBe(runSeqHash(units.runHash(b), 3));
    const row = (runId: string, seq: number, message: string): Row => ({
      runId,
      workflowId: "wf",
      seq,
      at: seq,
      source: "runtime",
      type: "log",
      message,
    });
    const stores = [await createMemoryTimelineStore(), await createMemoryTimelineStore()];
    const appendBoth = async (rows: Row[], asBatch: boolean): Promise<void> => {
      if (asBatch) await stores[0]!.appendBatch!(batchOf(rows, false, -1));
      else await stores[0]!.append(rows.map(eventOf));
      await stores[1]!.append(rows.map(eventOf));
      await expectSameAnswers(stores);
    };
    await appendBoth([row(a, 0, "batch"), row(b, 0, "batch"), row(a, 0, "again"), row(b, 0, "again")], true);
    await appendBoth([row(a, 1, "object")], false);
    await appendBoth([row(b, 1, "batch"), row(a, 1, "batch"), row(b, 2, "batch"), row(b, 1, "again")], true);
    await appendBoth([row(a, 2, "object"), row(b, 2, "object")], false);
    expect(stores[0]!.size).toBe(6);
    expect((await stores[0]!.query({ runId: b })).events.map((e) => [e.id, e.message])).toEqual([
      [`${b}:0`, "batch"],
      [`${b}:1`, "batch"],
      [`${b}:2`, "batch"],
    ]);
    for (const store of stores) expect(await store.delete({ runId: a })).toBe(3);
    await appendBoth([row(a, 0, "after"), row(b, 0, "after")], true);
    expect(stores[0]!.size).toBe(4);
  });

  it("rows reused after the row chunks wrap do not keep an id decoded for their last event", async () => {
    // 8192 positions share 2 chunks of rows (a log of 1024 slots): every query decodes and keeps the
    // ids of the live rows, which the rows of the same slots a lap later must not return
    const stores = [
      await createMemoryTimelineStore({ maxEvents: 1000 }),
      await createMemoryTimelineStore({ maxEvents: 1000 }),
    ];
    for (let round = 0; round < 24; round++) {
      const rows: Row[] = Array.from({ length: 500 }, (_, i) => ({
        runId: `run${round}`,
        workflowId: "wf",
        seq: i,
        at: round,
        source: "runtime",
        type: "log",
      }));
      await stores[0]!.appendBatch!(batchOf(rows, false, -1));
      await stores[1]!.append(rows.map(eventOf));
      await expectSameAnswers(stores);
    }
  });

  it("the code-unit ring holds only the live events' records, rows without data among them", async () => {
    // Each row without data records where its (empty) record starts: the oldest live row's start is
    // where the ring's used part begins. Left as the slot's last value (0 on the first lap), the
    // ring would count every record ever written as used and grow without end.
    const store = await createMemoryTimelineStore({ maxEvents: 100 });
    for (let round = 0; round < 60; round++) {
      const rows: Row[] = Array.from({ length: 50 }, (_, i) => ({
        runId: `run${round}`,
        workflowId: "wf",
        seq: i,
        at: round,
        source: "runtime",
        type: "log",
        ...(i % 4 === 1 ? { data: { s: "z".repeat(190) } } : {}),
      }));
      await store.appendBatch!(batchOf(rows, false, -1));
      // live: 100 events, 25 records of ~200 code units
      expect(logOf(store).chars.length, `round ${round}`).toBe(16 * 1024);
    }
    expect((await store.query({ runId: "run59" })).events).toHaveLength(50);
  });
});
