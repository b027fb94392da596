import { describe, expect, it } from "vitest";
import { createStateStore } from "../src/index.js";

// StateStore behaviour state-store.test.ts leaves open: unsafe keys on the copy-on-write path,
// the order of several re-entrant sets, and dispose() from inside a notification.

describe("createStateStore, once a snapshot has been handed out", () => {
  it("still skips __proto__, constructor and prototype keys of a patch", () => {
    const store = createStateStore<Record<string, unknown>>({ a: 1 });
    const before = store.get();
    store.set(JSON.parse('{"__proto__":{"polluted":1},"constructor":{"x":1},"prototype":2,"b":2}'));
    const state = store.get();
    expect(state).not.toBe(before);
    expect(Object.keys(state)).toEqual(["a", "b"]);
    expect(Object.hasOwn(state, "__proto__")).toBe(false);
    expect(Object.hasOwn(state, "constructor")).toBe(false);
    expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
    expect(before).toEqual({ a: 1 });
  });

  it("skips them for subscribers too: listeners see only the safe keys", () => {
    const store = createStateStore<Record<string, unknown>>({ a: 1 });
    const seen: Array<readonly string[]> = [];
    store.subscribe((next) => seen.push(Object.keys(next)));
    store.set(JSON.parse('{"constructor":1,"c":3}'));
    expect(seen).toEqual([["a", "c"]]);
  });
});

describe("createStateStore notifications", () => {
  it("delivers several sets made by listeners in one round in the order they were made", () => {
    const store = createStateStore({ n: 0 });
    const log: string[] = [];
    store.subscribe((next, prev) => {
      log.push(`A ${prev.n}->${next.n}`);
      if (next.n === 1) store.set({ n: 2 });
    });
    store.subscribe((next, prev) => {
      log.push(`B ${prev.n}->${next.n}`);
      if (next.n === 1) store.set({ n: 3 });
    });
    store.set({ n: 1 });
    expect(log).toEqual(["A 0->1", "B 0->1", "A 1->2", "B 1->2", "A 2->3", "B 2->3"]);
    expect(store.get().n).toBe(3);
  });

  it("a listener that disposes the store stops delivery to the listeners after it", () => {
    const store = createStateStore({ n: 0 });
    const calls: string[] = [];
    store.subscribe(() => {
      calls.push("first");
      store.dispose();
    });
    store.subscribe(() => calls.push("second"));
    store.set({ n: 1 });
    expect(calls).toEqual(["first"]);
    expect(store.disposed).toBe(true);
  });
});
