// An append reads the caller's events (getters included) while it writes them into the log. A
// getter that calls the store back (append, appendBatch, query, delete) ran that call in the middle
// of the write: a nested append wrote into the room reserved for the outer one, counted its events
// twice when the outer one finished, and, when it grew the log, left the one pass for derived ids
// writing into the columns the log had replaced (the same id stored four times); a nested delete or
// query saw (and indexed) rows an undo then took back. Such calls are refused instead.
import { SystemError } from "@sluice/errors";
import { TimelineBatch, type TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import type { EventLog } from "../src/event-log.js";
import { createMemoryTimelineStore, type MemoryTimelineStore } from "../src/index.js";

function ev(runId: string, seq: number): TimelineEvent {
  return { id: `${runId}:${seq}`, runId, workflowId: "wf", seq, at: seq, source: "runtime", type: "log" };
}

function logOf(store: MemoryTimelineStore): EventLog {
  return (store as unknown as { log: EventLog }).log;
}

type Nested = (store: MemoryTimelineStore) => Promise<unknown>;

const NESTED: Array<[string, Nested]> = [
  ["a small append", (s) => s.append([ev("inner", 0), ev("inner", 1)])],
  ["an append that grows the log", (s) => s.append(Array.from({ length: 3000 }, (_, i) => ev("inner", i)))],
  [
    "an appendBatch",
    (s) => {
      const batch = TimelineBatch.of([ev("inner", 0)]);
      batch.ids.fill(undefined);
      return s.appendBatch!(batch);
    },
  ],
  ["a query", (s) => s.query({ runId: "outer" })],
  ["a delete", (s) => s.delete({ before: Number.POSITIVE_INFINITY })],
];

const OUTER: Array<[string, (store: MemoryTimelineStore, call: () => void) => Promise<void>]> = [
  [
    "appendBatch of derived ids",
    (store, call) => {
      const batch = TimelineBatch.of(Array.from({ length: 5 }, (_, i) => ev("outer", i)));
      batch.ids.fill(undefined);
      Object.defineProperty(batch.data, 2, { get: call });
      return store.appendBatch!(batch);
    },
  ],
  [
    "appendBatch of explicit ids",
    (store, call) => {
      const batch = TimelineBatch.of(Array.from({ length: 5 }, (_, i) => ev("outer", i)));
      Object.defineProperty(batch.data, 2, { get: call });
      return store.appendBatch!(batch);
    },
  ],
  [
    "append",
    (store, call) => {
      const events = Array.from({ length: 5 }, (_, i) => ev("outer", i));
      Object.defineProperty(events[2], "data", { get: call, enumerable: true });
      return store.append(events);
    },
  ],
];

describe("a store called back from a getter of the events it is appending", () => {
  for (const [outerName, outer] of OUTER) {
    for (const [nestedName, nested] of NESTED) {
      it(`${outerName}, calling ${nestedName}: refused, the outer append whole`, async () => {
        const store = await createMemoryTimelineStore();
        await store.append([ev("before", 0)]);
        let inner: Promise<unknown> | undefined;
        await outer(store, () => {
          inner ??= nested(store);
          return undefined;
        });
        const log = logOf(store);
        expect(store.size).toBe(6);
        expect(log.tail - log.head).toBe(6);
        expect(log.idTable.size).toBe(6);
        const ids = (await store.query()).events.map((e) => e.id);
        expect(ids).toEqual(["before:0", "outer:0", "outer:1", "outer:2", "outer:3", "outer:4"]);
        expect(inner).toBeDefined();
        await expect(inner).rejects.toSatisfy(
          (error: unknown) =>
            SystemError.is(error, "INVALID_STATE") && /while the store is reading/.test(error.message),
        );
        // and the store goes on working
        await store.append([ev("after", 0)]);
        expect(await store.delete({ runId: "outer" })).toBe(5);
        expect((await store.query()).events.map((e) => e.id)).toEqual(["after:0", "before:0"]);
      });
    }
  }

  it("a getter that throws after its nested call was refused still rejects the append, storing nothing", async () => {
    const store = await createMemoryTimelineStore();
    const batch = TimelineBatch.of([ev("outer", 0), ev("outer", 1)]);
    batch.ids.fill(undefined);
    let inner: Promise<unknown> | undefined;
    Object.defineProperty(batch.data, 1, {
      get() {
        inner ??= store.append([ev("inner", 0)]);
        throw new Error("boom");
      },
    });
    await expect(store.appendBatch!(batch)).rejects.toSatisfy((error: unknown) =>
      SystemError.is(error, "INVALID_INPUT"),
    );
    await expect(inner).rejects.toSatisfy((error: unknown) => SystemError.is(error, "INVALID_STATE"));
    expect(store.size).toBe(0);
    expect(logOf(store).idTable.size).toBe(0);
    // refused only while the append read its events: now it is accepted
    await store.append([ev("inner", 0)]);
    expect(store.size).toBe(1);
  });
});
