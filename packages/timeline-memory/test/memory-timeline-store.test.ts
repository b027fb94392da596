import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { SystemError } from "@sluice/errors";
import {
  compareTimelineEvents,
  matchesDeleteFilter,
  matchesQuery,
  TimelineBatch,
  type TimelineEvent,
  type TimelineStore,
} from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { copyJson } from "../src/copy-json.js";
import { createMemoryTimelineStore, DEFAULT_MAX_EVENTS, type MemoryTimelineStore } from "../src/index.js";
import { createMemoryTimelineStoreWithLimit } from "../src/memory-timeline-store.js";

function ev(runId: string, seq: number, at: number, workflowId = "wf"): TimelineEvent {
  return { id: `${runId}#${seq}`, runId, workflowId, seq, at, source: "runtime", type: "log" };
}

async function everything(store: MemoryTimelineStore): Promise<TimelineEvent[]> {
  return (await store.query({ limit: 10_000 })).events;
}

/**
 * What `createMemoryTimelineStore(options)` rejects with. The factory must not throw synchronously
 * (as the SQLite and IndexedDB factories, it reports bad options as a rejected promise), so a call
 * that throws fails here.
 */
async function rejectionOf(options: unknown): Promise<unknown> {
  let pending: Promise<MemoryTimelineStore> | undefined;
  expect(() => {
    pending = createMemoryTimelineStore(options as never);
  }).not.toThrow();
  expect(pending).toBeInstanceOf(Promise);
  return pending!.then(
    () => expect.fail(`createMemoryTimelineStore(${String(options)}) resolved`),
    (error: unknown) => error,
  );
}

describe("createMemoryTimelineStore", () => {
  it("returns a promise that resolves to a working, empty store (as the SPEC's factories do)", async () => {
    const pending = createMemoryTimelineStore({ maxEvents: 10 });
    expect(pending).toBeInstanceOf(Promise);
    // interchangeable with the other adapters' factories behind one type
    const make: () => Promise<TimelineStore> = () => createMemoryTimelineStore();
    const store = await pending;
    expect(store.size).toBe(0);
    await store.append([ev("r", 0, 1), ev("r", 1, 2)]);
    expect((await store.query({ runId: "r" })).events.map((e) => e.id)).toEqual(["r#0", "r#1"]);
    expect(store.size).toBe(2);
    await store.close();
    const other = await make();
    expect((await other.query({})).events).toEqual([]);
    await other.close();
  });

  it("keeps at most maxEvents, evicting the oldest by insertion (not by at)", async () => {
    const store = await createMemoryTimelineStore({ maxEvents: 5 });
    await store.append([ev("late", 0, 9000), ev("a", 0, 1), ev("a", 1, 2)]);
    await store.append([ev("b", 0, 3), ev("b", 1, 4), ev("b", 2, 5)]);
    expect(store.size).toBe(5);
    expect((await everything(store)).map((e) => e.id)).toEqual(["a#0", "a#1", "b#0", "b#1", "b#2"]);
    expect((await store.query({ runId: "late" })).events).toEqual([]);
    // an evicted id may be appended again
    await store.append([ev("late", 0, 9000)]);
    expect((await everything(store)).map((e) => e.id)).toEqual(["a#1", "b#0", "b#1", "b#2", "late#0"]);
  });

  it("keeps the newest maxEvents of a batch larger than maxEvents", async () => {
    const store = await createMemoryTimelineStore({ maxEvents: 3 });
    const batch = Array.from({ length: 10 }, (_, i) => ev("r", i, 100 - i));
    await store.append(batch);
    expect((await store.query({ runId: "r" })).events.map((e) => e.seq)).toEqual([9, 8, 7]);
  });

  it(`defaults to ${DEFAULT_MAX_EVENTS} events`, async () => {
    const store = await createMemoryTimelineStore();
    const batch = Array.from({ length: DEFAULT_MAX_EVENTS + 10 }, (_, i) => ev(`r${i % 10}`, i, i));
    await store.append(batch);
    expect(store.size).toBe(DEFAULT_MAX_EVENTS);
    expect((await store.query({ limit: 1 })).events[0]!.seq).toBe(10);
  });

  it("rejects (never throws) a maxEvents that is not a positive integer, with INVALID_INPUT", async () => {
    // a string quoted ("10" is not 10); a value String() cannot convert is described, not thrown
    for (const [maxEvents, given] of [
      [0, "0"],
      [-1, "-1"],
      [1.5, "1.5"],
      [Number.NaN, "NaN"],
      ["10", '"10"'],
      [Object.create(null), "{}"],
    ] as const) {
      const error = await rejectionOf({ maxEvents });
      expect(error).toBeInstanceOf(SystemError);
      expect(error).toMatchObject({
        code: "INVALID_INPUT",
        message: `createMemoryTimelineStore: maxEvents must be a positive integer, got ${given}`,
        details: { path: "options.maxEvents" },
      });
    }
  });

  it("rejects (never throws) options that are not an object with INVALID_INPUT saying what to pass", async () => {
    for (const options of [null, 5, "big", true, [], () => ({})]) {
      const error = await rejectionOf(options);
      expect(error).toBeInstanceOf(SystemError);
      expect(error).toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringContaining("options must be an object such as { maxEvents: 10_000 }"),
        details: { path: "options" },
      });
    }
    expect((await createMemoryTimelineStore(undefined)).size).toBe(0);
    expect((await createMemoryTimelineStore({})).size).toBe(0);
    for (const [options, given] of [
      [5, "5"],
      ["big", '"big"'],
      [[], "an array of 0 items"],
      [() => ({}), "a function"],
    ] as const) {
      expect(((await rejectionOf(options)) as SystemError).message).toBe(
        `createMemoryTimelineStore: options must be an object such as { maxEvents: 10_000 }, or left out for the defaults; got ${given}`,
      );
    }
  });

  it("size counts stored events and drops to 0 on close", async () => {
    const store = await createMemoryTimelineStore();
    await store.append([ev("r", 0, 1), ev("r", 1, 2), ev("r", 0, 1)]);
    expect(store.size).toBe(2);
    await store.delete({ runId: "r" });
    expect(store.size).toBe(0);
    await store.append([ev("r", 2, 3)]);
    await store.close();
    expect(store.size).toBe(0);
    await expect(store.append([])).rejects.toSatisfy((e) => SystemError.is(e, "DISPOSED"));
  });

  it("matches a naive model through random appends, deletes, evictions and paged queries", async () => {
    await checkAgainstModel({ seed: 12345, maxEvents: 300, runs: 12, steps: 400 });
  });

  it("matches the model with data, long ids, many runs and positions renumbered often", async () => {
    // maxPosition 4096: positions and character offsets are renumbered every few thousand events
    await checkAgainstModel({
      seed: 777,
      maxEvents: 80,
      runs: 3000,
      steps: 1500,
      maxPosition: 4096,
      rich: true,
    });
  });

  it("matches the model when one batch is larger than maxEvents", async () => {
    await checkAgainstModel({ seed: 99, maxEvents: 20, runs: 5, steps: 300 });
  });

  it("matches the model with appends through appendBatch, derived ids and their string form mixed", async () => {
    // ids are `run:seq`, so a batch leaves most of them out (derived) and an append gives them as
    // strings: the same ids either way, re-appended both ways, evicted, deleted and renumbered
    await checkAgainstModel({ seed: 4242, maxEvents: 300, runs: 12, steps: 400, batches: true });
    await checkAgainstModel({
      seed: 31337,
      maxEvents: 80,
      runs: 3000,
      steps: 1500,
      maxPosition: 4096,
      rich: true,
      batches: true,
    });
  });

  it("matches the model while the log grows around a wrapped ring, with indexes built and deletes pending", async () => {
    // batches of up to 3000 into a bound of 5000: the log grows from 1024 slots to 8192 while its
    // live range wraps, across several 4096-row chunks of string fields
    await checkAgainstModel({ seed: 2024, maxEvents: 5000, runs: 40, steps: 120, maxBatch: 3000 });
    await checkAgainstModel({ seed: 7, maxEvents: 3000, runs: 40, steps: 120, maxBatch: 2000, rich: true });
  });
});

interface ModelOptions {
  seed: number;
  maxEvents: number;
  runs: number;
  steps: number;
  maxPosition?: number;
  /** events carry data (encoded, copied or primitive) and ids of varied length */
  rich?: boolean;
  /** most events in a batch (default 40) */
  maxBatch?: number;
  /** ids `run:seq`, and half the appends through `appendBatch` with those ids derived */
  batches?: boolean;
}

async function checkAgainstModel(options: ModelOptions): Promise<void> {
  const { maxEvents, runs, steps } = options;
  // a seeded generator keeps failures reproducible
  let seed = options.seed;
  const random = (n: number) => {
    seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
    return seed % n;
  };
  const store =
    options.maxPosition === undefined
      ? await createMemoryTimelineStore({ maxEvents })
      : createMemoryTimelineStoreWithLimit(maxEvents, options.maxPosition);
  // with batches, each run counts its own seqs (as the runtime's do), so runs share seq values
  const seqsOfRun = new Map<string, number>();
  const make = (seq: number): TimelineEvent => {
    const e = ev(`run${random(runs)}`, seq, random(500), `wf${random(3)}`);
    if (options.batches) {
      e.seq = seqsOfRun.get(e.runId) ?? 0;
      seqsOfRun.set(e.runId, e.seq + 1);
      e.id = `${e.runId}:${e.seq}`;
    }
    if (!options.rich) return e;
    if (random(4) === 0) e.id = `${e.id}-${"é😀x".repeat(random(12))}`;
    switch (random(6)) {
      case 0:
        e.data = { seq, list: [seq, "s", null, true, 1.25], nested: { deep: [[seq]] } };
        break;
      case 1:
        e.data = Object.assign(Object.create(null) as object, { copied: seq });
        break;
      case 2:
        e.data = random(2) === 0 ? `text ${seq}` : null;
        break;
      case 3:
        e.data = { big: "y".repeat(5000 + random(100)) };
        break;
      default:
        break;
    }
    return e;
  };
  let model: Array<{ e: TimelineEvent; order: number }> = [];
  let order = 0;
  let nextSeq = 0;
  for (let step = 0; step < steps; step++) {
    const action = random(10);
    if (action < 6) {
      const batch: TimelineEvent[] = [];
      for (let i = random(options.maxBatch ?? 40); i >= 0; i--) {
        const e = make(nextSeq++);
        // sometimes re-append a stored id: must keep the first copy
        batch.push(random(10) === 0 && model.length > 0 ? { ...model[random(model.length)]!.e, at: 7 } : e);
      }
      if (options.batches && random(2) === 0) {
        const columns = TimelineBatch.of(batch);
        // a canonical id is left out: the batch derives it
        for (const [i, e] of batch.entries()) if (e.id === `${e.runId}:${e.seq}`) columns.ids[i] = undefined;
        await store.appendBatch!(columns);
      } else await store.append(batch);
      const stored = new Set(model.map((m) => m.e.id));
      for (const e of batch) {
        if (!stored.has(e.id)) {
          stored.add(e.id);
          model.push({ e, order: order++ });
        }
      }
      model.sort((a, b) => a.order - b.order);
      model = model.slice(Math.max(0, model.length - maxEvents));
    } else if (action < 8) {
      const filter = [
        { runId: `run${random(runs)}` },
        { workflowId: `wf${random(3)}` },
        { before: random(500) },
        { workflowId: `wf${random(3)}`, before: random(500) },
        { runId: `run${random(runs)}`, workflowId: `wf${random(3)}` },
      ][random(5)]!;
      const removed = model.filter((m) => matchesDeleteFilter(m.e, filter));
      expect(await store.delete(filter)).toBe(removed.length);
      model = model.filter((m) => !matchesDeleteFilter(m.e, filter));
    } else {
      const live = model.length > 0 ? model[random(model.length)]!.e : undefined;
      const filter = [
        {},
        { runId: live?.runId ?? `run${random(runs)}` },
        { workflowId: `wf${random(3)}`, from: random(250) },
        { from: random(250), to: 250 + random(250) },
        { runId: `run${random(runs)}`, workflowId: `wf${random(3)}` },
      ][random(5)]!;
      const expected = model
        .map((m) => m.e)
        .filter((e) => matchesQuery(e, filter))
        .sort(compareTimelineEvents);
      const got: TimelineEvent[] = [];
      let next: string | undefined;
      do {
        const page = await store.query({ ...filter, limit: 1 + random(50), ...(next ? { next } : {}) });
        got.push(...page.events);
        next = page.next;
      } while (next !== undefined);
      expect(got.map((e) => e.id)).toEqual(expected.map((e) => e.id));
      if (options.rich) expect(got).toEqual(expected.map((e) => ({ ...e, data: copyJson(e.data) })));
    }
    expect(store.size).toBe(model.length);
  }
}

describe("an event that throws when read", () => {
  const boom = new Error("getter boom");
  const throwing = (): never => {
    throw boom;
  };
  function withData(id: string, seq: number, data: unknown): TimelineEvent {
    return { ...ev("r", seq, seq), id, data };
  }
  // each makes one bad event; the store reads its fields and data while writing the batch
  const bad: Array<[string, () => TimelineEvent]> = [
    [
      "a getter in data",
      () => withData("bad", 9, Object.defineProperty({ a: 1 }, "boom", { get: throwing, enumerable: true })),
    ],
    [
      "a getter nested in data",
      () =>
        withData("bad", 9, {
          list: [
            {
              get boom(): never {
                return throwing();
              },
            },
          ],
        }),
    ],
    [
      "a Proxy as data",
      () => withData("bad", 9, new Proxy({}, { ownKeys: throwing, getPrototypeOf: throwing })),
    ],
    [
      "a getter on a field",
      () => Object.defineProperty(ev("r", 9, 9), "message", { get: throwing, enumerable: true }),
    ],
  ];
  const ways: Array<[string, (store: MemoryTimelineStore, events: TimelineEvent[]) => Promise<void>]> = [
    ["append", (store, events) => store.append(events)],
    ["appendBatch", (store, events) => store.appendBatch!(batchOf(events))],
  ];

  /** `TimelineBatch.of(events)`, but a field's getter becomes a getter on its column (not read here). */
  function batchOf(events: readonly TimelineEvent[]): TimelineBatch {
    const batch = new TimelineBatch();
    events.forEach((e, i) => {
      const getter = Object.getOwnPropertyDescriptor(e, "message")?.get;
      const message = getter === undefined ? e.message : undefined;
      batch.add(
        e.id,
        e.runId,
        e.workflowId,
        e.seq,
        e.at,
        e.source,
        e.type,
        e.stage,
        e.step,
        e.level,
        message,
        e.data,
      );
      if (getter !== undefined) Object.defineProperty(batch.messages, i, { get: getter });
    });
    return batch;
  }

  for (const [way, put] of ways) {
    for (const [kind, make] of bad) {
      it(`${way}: ${kind} rejects the batch with INVALID_INPUT and stores none of it`, async () => {
        const store = await createMemoryTimelineStore({ maxEvents: 4 });
        await store.append([ev("old", 0, 0)]);
        const good = [ev("r", 1, 1), ev("r", 2, 2)];
        for (const position of [0, 1, 2]) {
          const batch = [...good];
          batch.splice(position, 0, make());
          const error = await put(store, batch).then(
            () => expect.unreachable(),
            (e: unknown) => e as SystemError,
          );
          expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
          expect(error.message).toContain(`events[${position}]`);
          expect(error.cause).toBe(boom);
          expect(store.size).toBe(1);
          expect((await everything(store)).map((e) => e.id)).toEqual(["old#0"]);
          expect((await store.query({ runId: "r" })).events).toEqual([]);
        }
        // the ids of the rejected events do not block them, and the bound holds
        await put(store, [...good, ev("r", 3, 3), ev("r", 4, 4)]);
        expect(store.size).toBe(4);
        expect((await everything(store)).map((e) => e.id)).toEqual(["r#1", "r#2", "r#3", "r#4"]);
        expect(await store.delete({ runId: "r" })).toBe(4);
        expect(store.size).toBe(0);
      });
    }

    it(`${way}: data that reads fine when checked but throws when stored is rejected whole`, async () => {
      const store = await createMemoryTimelineStore();
      // null-prototype data takes the general path: checked by the shared validator (first read),
      // then copied (second read)
      let reads = 0;
      const data = Object.defineProperty(Object.create(null), "x", {
        get: () => (++reads > 1 ? throwing() : 1),
        enumerable: true,
      });
      const batch = [ev("r", 1, 1), ev("r", 2, 2), withData("flaky", 3, data)];
      const error = await put(store, batch).then(
        () => expect.unreachable(),
        (e: unknown) => e as SystemError,
      );
      expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
      expect(error.message).toContain("events[2]");
      expect(error.cause).toBe(boom);
      expect(store.size).toBe(0);
      expect(await everything(store)).toEqual([]);
      await put(store, batch.slice(0, 2));
      expect((await everything(store)).map((e) => e.id)).toEqual(["r#1", "r#2"]);
    });
  }
});

describe("append of an events array that throws when read", () => {
  it("is INVALID_INPUT with the thrown value as cause, and stores nothing", async () => {
    const store = await createMemoryTimelineStore();
    const boom = new Error("length boom");
    const events = new Proxy([], {
      get(target, key) {
        if (key === "length") throw boom;
        return Reflect.get(target, key);
      },
    });
    await expect(store.append(events)).rejects.toMatchObject({ code: "INVALID_INPUT", cause: boom });
    expect(store.size).toBe(0);
    await store.close();
  });
});

describe("an append undone after it renumbered the code-unit offsets", () => {
  // A full collection, so that what `arrayBuffers` counts is what is still held (the store's rings).
  setFlagsFromString("--expose-gc");
  const collect = runInNewContext("gc") as () => void;
  function heldBuffers(): number {
    collect();
    return process.memoryUsage().arrayBuffers;
  }

  // the batch's second event makes the fast path undo it, after its first renumbered the offsets
  const undone: Array<[string, (seq: number) => TimelineEvent, boolean]> = [
    [
      "valid but not in the common form (the general path then writes the batch)",
      (seq) => ({ ...ev("r", seq, seq), data: Object.create(null) }),
      true,
    ],
    ["invalid (the batch is rejected)", (seq) => ({ ...ev("r", seq, seq), seq: -1 }), false],
  ];

  for (const [kind, second, written] of undone) {
    it(`second event ${kind}: the ring of ids and data stays sized to the events held`, async () => {
      // offsets are renumbered from 0 before they pass 2^22 (2^30 in a real store)
      const maxPosition = 1 << 22;
      const store = createMemoryTimelineStoreWithLimit(2, maxPosition);
      const idLength = 4096;
      const withId = (seq: number, length: number): TimelineEvent => ({
        ...ev("r", seq, seq),
        id: String(seq).padStart(length, "x"),
      });
      let seq = 0;
      // fill the offsets up to just below maxPosition (two events of 4096 code units held at a time)
      for (; (seq + 1) * idLength < maxPosition - idLength; seq++)
        await store.append([withId(seq, idLength)]);
      const before = heldBuffers();
      // The first event passes maxPosition: the offsets are renumbered. The undo must restore the
      // tail in the new numbering: one left in the old made a gap of nearly maxPosition code units
      // that the next write took as used, and the ring grew to 2^23 code units to hold it (16 MiB;
      // 4 GiB at the default limit).
      const append = store.append([withId(seq, 3 * idLength), second(seq + 1)]);
      if (written) await append;
      else await expect(append).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(heldBuffers() - before).toBeLessThan(1 << 20);
      await store.append([withId(seq + 2, idLength)]);
      expect(heldBuffers() - before).toBeLessThan(1 << 20);
      expect((await everything(store)).map((e) => e.id)).toEqual([
        written ? `r#${seq + 1}` : withId(seq - 1, idLength).id,
        withId(seq + 2, idLength).id,
      ]);
    });
  }
});
