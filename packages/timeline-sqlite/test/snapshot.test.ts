import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";
import { describe, expect, it } from "vitest";
import { createSqliteTimelineStore } from "../src/index.js";

// An append reads each field of an event once: what it checks is what it stores (snapshot.ts).

const event = (id: string, seq: number): TimelineEvent => ({
  id,
  runId: "r",
  workflowId: "w",
  seq,
  at: seq,
  source: "runtime",
  type: "log",
});

/** `target` whose `key` reads as `first` the first time and calls `later` on every read after. */
function twoFaced<T extends object>(target: T, key: string, first: unknown, later: () => unknown): T {
  let reads = 0;
  Object.defineProperty(target, key, { enumerable: true, get: () => (++reads === 1 ? first : later()) });
  return target;
}

async function rejection(promise: Promise<unknown>): Promise<SystemError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(SystemError.is(error), `expected a SystemError, got ${String(error)}`).toBe(true);
  return error as SystemError;
}

describe("append reads each event once", () => {
  it("stores a field that changes on a second read as it was checked", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    const flip = twoFaced(event("flip", 6), "seq", 6, () => "NaN-ish");
    const late = twoFaced(event("late", 7), "at", 7, () => "later");
    await store.append([flip, late]);
    const { events } = await store.query();
    expect(events.map((e) => [e.id, e.seq, e.at])).toEqual([
      ["flip", 6, 6],
      ["late", 7, 7],
    ]);
    await store.close();
  });

  it("rejects an event whose field throws on a second read with INVALID_INPUT, storing nothing of the batch", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    // A getter that throws once read again: the store reads it once, so the append goes through.
    const once = twoFaced(event("once", 1), "message", "fine", () => {
      throw new Error("second read");
    });
    await store.append([event("before", 0), once]);
    expect((await store.query()).events.map((e) => [e.id, e.message])).toEqual([
      ["before", undefined],
      ["once", "fine"],
    ]);
    // One that throws on the first read is INVALID_INPUT naming the event, with what it threw.
    const boom = new Error("first read");
    const bad = event("bad", 3);
    Object.defineProperty(bad, "type", {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const error = await rejection(store.append([event("kept-out", 2), bad]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain("events[1]");
    expect(error.cause).toBe(boom);
    expect((await store.query()).events.map((e) => e.id)).toEqual(["before", "once"]);
    await store.close();
  });

  it("rejects data whose getter throws when serialized (its second read) with INVALID_INPUT", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    let reads = 0;
    const boom = new Error("second read of data");
    const data = {
      get x() {
        if (++reads > 1) throw boom;
        return 1;
      },
    };
    const error = await rejection(store.append([event("a", 0), { ...event("b", 1), data }]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain("events[1]");
    expect(error.cause).toBe(boom);
    expect((await store.query()).events).toEqual([]);
    await store.close();
  });

  it("still names an unknown field, without reading it", async () => {
    const store = await createSqliteTimelineStore({ filename: ":memory:" });
    const extra = event("x", 0) as TimelineEvent & { extra?: unknown };
    Object.defineProperty(extra, "extra", {
      enumerable: true,
      get() {
        throw new Error("never read");
      },
    });
    const error = await rejection(store.append([extra]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain("events[0].extra is not a TimelineEvent field");
    await store.close();
  });
});
