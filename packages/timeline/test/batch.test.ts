import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import {
  appendTimelineBatch,
  TimelineBatch,
  type TimelineEvent,
  validateTimelineBatch,
} from "../src/index.js";
import { createReferenceStore } from "./reference-store.js";

const started: TimelineEvent = {
  id: "e1",
  runId: "r",
  workflowId: "wf",
  seq: 1,
  at: 10,
  source: "runtime",
  type: "run.started",
};

describe("TimelineBatch", () => {
  it("holds events in columns, derives missing ids as runId:seq and gives them back as events", () => {
    const batch = new TimelineBatch();
    batch.add(undefined, "run-1", "wf", 3, 100, "logger", "log", "s", "t", "info", "hi", { n: 1 });
    batch.add("given", "run-1", "wf", 4, 101, "runtime", "run.completed");
    expect(batch.length).toBe(2);
    expect(batch.id(0)).toBe("run-1:3");
    expect(batch.id(1)).toBe("given");
    expect(batch.toEvents()).toEqual([
      {
        id: "run-1:3",
        runId: "run-1",
        workflowId: "wf",
        seq: 3,
        at: 100,
        source: "logger",
        type: "log",
        stage: "s",
        step: "t",
        level: "info",
        message: "hi",
        data: { n: 1 },
      },
      {
        id: "given",
        runId: "run-1",
        workflowId: "wf",
        seq: 4,
        at: 101,
        source: "runtime",
        type: "run.completed",
      },
    ]);
    // one shape for every event: absent optional fields are there, undefined
    expect(Object.keys(batch.event(1))).toEqual(Object.keys(batch.event(0)));
    expect(batch.event(1)).toMatchObject({ stage: undefined, data: undefined });
    expect(batch.slice(1).toEvents()).toEqual([batch.event(1)]);
    expect(batch.slice(0, 1).id(0)).toBe("run-1:3");
    expect(TimelineBatch.of(batch.toEvents()).toEvents()).toEqual(batch.toEvents());
  });

  it("clear() empties a batch for refilling and lets go of its ids, messages and data", () => {
    const batch = new TimelineBatch();
    const payload = { big: "x".repeat(1000) };
    batch.add("e1", "r1", "w", 1, 10, "logger", "log", "s", "t", "info", "hello", payload);
    batch.add(undefined, "r1", "w", 2, 11, "runtime", "run.completed");
    batch.clear();
    expect(batch.length).toBe(0);
    expect(batch.toEvents()).toEqual([]);
    expect(batch.data.includes(payload)).toBe(false);
    expect(batch.messages.includes("hello")).toBe(false);
    expect(batch.ids.includes("e1")).toBe(false);
    batch.add(undefined, "r2", "w", 1, 20, "runtime", "run.started");
    expect(batch.toEvents()).toEqual([
      {
        id: "r2:1",
        runId: "r2",
        workflowId: "w",
        seq: 1,
        at: 20,
        source: "runtime",
        type: "run.started",
        stage: undefined,
        step: undefined,
        level: undefined,
        message: undefined,
        data: undefined,
      },
    ]);
  });

  it("can hold an array of events with ids and no field it has no column for", () => {
    expect(TimelineBatch.canHold([started])).toBe(true);
    expect(TimelineBatch.canHold([])).toBe(true);
    expect(TimelineBatch.canHold([{ ...started, extra: 1 }])).toBe(false);
    expect(TimelineBatch.canHold([{ ...started, id: undefined }])).toBe(false);
    expect(TimelineBatch.canHold([started, null])).toBe(false);
    expect(TimelineBatch.canHold("events")).toBe(false);
  });

  it("is checked like append's events: INVALID_INPUT naming events[i].field, or batch", () => {
    const good = TimelineBatch.of([started]);
    validateTimelineBatch(good);
    const bad = TimelineBatch.of([started, { ...started, id: "e2", seq: -1 }]);
    expect(() => validateTimelineBatch(bad)).toThrow(/events\[1\]\.seq/);
    const noRun = new TimelineBatch();
    noRun.add(undefined, "", "wf", 1, 1, "runtime", "x");
    expect(() => validateTimelineBatch(noRun)).toThrow(/events\[0\]\.runId/);
    for (const notABatch of [null, 42, {}, { length: 1, ids: [] }]) {
      try {
        validateTimelineBatch(notABatch);
        expect.unreachable();
      } catch (error) {
        expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
        expect((error as Error).message).toContain("batch must be a TimelineBatch");
      }
    }
  });

  it("reports what reading a row throws as INVALID_INPUT naming the row, with it as the cause", () => {
    const batch = TimelineBatch.of([started]);
    const data = {
      get boom(): never {
        throw new Error("getter boom");
      },
    };
    batch.add(undefined, "r", "wf", 2, 10, "logger", "log", undefined, undefined, "info", "m", data);
    // a derived id from a run id that cannot become a string
    batch.add(undefined, Symbol("run") as unknown as string, "wf", 3, 10, "logger", "log");
    const rows: Array<[TimelineBatch, string]> = [
      [batch.slice(0, 2), "events[1].data.boom could not be read"],
      [batch.slice(2, 3), "events[0] could not be read"],
    ];
    for (const [part, expected] of rows) {
      try {
        validateTimelineBatch(part);
        expect.unreachable();
      } catch (error) {
        expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
        expect((error as Error).message).toContain(expected);
        expect((error as Error).cause).toBeDefined();
      }
    }
  });

  it("appendTimelineBatch refuses a batch whose length is not a count of its rows with INVALID_INPUT, for a store without appendBatch too", async () => {
    for (const length of [2.5, -1, Number.NaN, 4]) {
      const store = createReferenceStore();
      const batch = TimelineBatch.of([
        started,
        { ...started, id: "r:2", seq: 2 },
        { ...started, id: "r:3", seq: 3 },
      ]);
      batch.length = length;
      const outcome = await appendTimelineBatch(store, batch).then(
        () => "resolved",
        (error: unknown) => (SystemError.is(error) ? error.code : String(error)),
      );
      expect(outcome, `length ${length}`).toBe("INVALID_INPUT");
      expect((await store.query()).events).toEqual([]);
    }
  });

  it("appendTimelineBatch appends a batch in plain columns (a structured clone of a TimelineBatch) to a store without appendBatch", async () => {
    const batch = new TimelineBatch();
    batch.add(undefined, "r", "wf", 1, 1, "runtime", "run.started");
    batch.add("given", "r", "wf", 2, 2, "logger", "log", "s", "t", "info", "hi", { n: 1 });
    // what a batch becomes through postMessage: its columns and length, not the class
    const plain = structuredClone(batch);
    expect(plain).not.toBeInstanceOf(TimelineBatch);
    const store = createReferenceStore();
    await appendTimelineBatch(store, plain);
    expect((await store.query()).events).toEqual([
      { id: "r:1", runId: "r", workflowId: "wf", seq: 1, at: 1, source: "runtime", type: "run.started" },
      {
        id: "given",
        runId: "r",
        workflowId: "wf",
        seq: 2,
        at: 2,
        source: "logger",
        type: "log",
        stage: "s",
        step: "t",
        level: "info",
        message: "hi",
        data: { n: 1 },
      },
    ]);
  });

  it("appendTimelineBatch uses appendBatch when the store has it, append otherwise", async () => {
    for (const store of [createReferenceStore(), createReferenceStore({ batches: true })]) {
      const batch = new TimelineBatch();
      batch.add(undefined, "r", "wf", 1, 1, "runtime", "run.started");
      await appendTimelineBatch(store, batch);
      expect((await store.query()).events.map((e) => e.id)).toEqual(["r:1"]);
    }
    const calls: string[] = [];
    const base = createReferenceStore({ batches: true });
    await appendTimelineBatch(
      {
        ...base,
        append: (events) => {
          calls.push("append");
          return base.append(events);
        },
        appendBatch: (b) => {
          calls.push("appendBatch");
          return base.appendBatch!(b);
        },
      },
      TimelineBatch.of([started]),
    );
    expect(calls).toEqual(["appendBatch"]);
  });
});
