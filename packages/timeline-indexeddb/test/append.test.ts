import { SystemError } from "@sluice/errors";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { IDBFactory, IDBKeyRange } from "fake-indexeddb";
import { describe, expect, it } from "vitest";
import { createIndexedDBTimelineStore } from "../src/index.js";

const open = () => createIndexedDBTimelineStore({ database: "t", indexedDB: new IDBFactory(), IDBKeyRange });

const event = (id: string, seq: number, extra: Partial<TimelineEvent> = {}): TimelineEvent => ({
  id,
  runId: "r",
  workflowId: "w",
  seq,
  at: seq,
  source: "runtime",
  type: "log",
  ...extra,
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

const stored = async (store: TimelineStore) => (await store.query()).events;

// An append reads each event once into the record it checks and stores (snapshot.ts).
describe("append reads each event once", () => {
  it("stores a field that changes on a second read as it was checked", async () => {
    const store = await open();
    await store.append([twoFaced(event("flip", 6), "at", 6, () => "later")]);
    expect((await store.query({ runId: "r" })).events.map((e) => [e.id, e.at])).toEqual([["flip", 6]]);
    await store.close();
  });

  it("stores data whose getter would throw on a second read, as it was read", async () => {
    const store = await open();
    const data = twoFaced({}, "id", "first", () => {
      throw new Error("second read");
    });
    const message = twoFaced(event("m", 1), "message", "fine", () => {
      throw new Error("second read");
    });
    await store.append([message, event("d", 2, { data })]);
    expect((await stored(store)).map((e) => [e.id, e.message, e.data])).toEqual([
      ["m", "fine", undefined],
      ["d", undefined, { id: "first" }],
    ]);
    await store.close();
  });

  it("rejects an event that throws when read with INVALID_INPUT naming it, storing nothing of the batch", async () => {
    const store = await open();
    const boom = new Error("first read");
    const bad = event("bad", 1);
    Object.defineProperty(bad, "source", {
      enumerable: true,
      get() {
        throw boom;
      },
    });
    const error = await rejection(store.append([event("good", 0), bad]));
    expect(error.code).toBe("INVALID_INPUT");
    expect(error.message).toContain("events[1]");
    expect(error.cause).toBe(boom);
    expect(await stored(store)).toEqual([]);
    await store.close();
  });

  it("rejects data nested too deep or in a cycle as the validator does", async () => {
    const store = await open();
    const cycle: Record<string, unknown> = {};
    cycle.self = cycle;
    const cycleError = await rejection(store.append([event("c", 0, { data: cycle })]));
    expect(cycleError.message).toContain("events[0].data.self refers back to an enclosing object");
    let deep: unknown = {};
    for (let i = 0; i < 300; i++) deep = { deep };
    const deepError = await rejection(store.append([event("d", 0), event("e", 1, { data: deep })]));
    expect(deepError.message).toContain("events[1].data nests deeper than 256 levels");
    expect(await stored(store)).toEqual([]);
    await store.close();
  });
});

describe("data properties whose value is undefined", () => {
  it("are dropped at any depth, as JSON drops them, and the caller's data is left as it was", async () => {
    const store = await open();
    const data = { u: undefined, k: 1, nested: { u: undefined, list: [{ u: undefined, v: -0 }] } };
    await store.append([event("e", 0, { data })]);
    const back = (await stored(store))[0]!.data as typeof data;
    expect(Object.hasOwn(back, "u")).toBe(false);
    expect(Object.hasOwn(back.nested, "u")).toBe(false);
    expect(Object.hasOwn(back.nested.list[0]!, "u")).toBe(false);
    expect(Object.is(back.nested.list[0]!.v, -0)).toBe(true);
    expect(back).toEqual({ k: 1, nested: { list: [{ v: -0 }] } });
    expect(Object.hasOwn(data, "u")).toBe(true);
    await store.close();
  });
});
