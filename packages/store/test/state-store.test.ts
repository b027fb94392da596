import { runInNewContext } from "node:vm";
import { SystemError } from "@sluice/errors";
import { describe, expect, it, vi } from "vitest";
import { createStateStore } from "../src/index.js";

const code = (c: string) => expect.objectContaining({ code: c });

describe("createStateStore", () => {
  it("copies the initial state, so mutating the source does not change the store", () => {
    const initial = { a: 1 };
    const store = createStateStore(initial);
    initial.a = 2;
    expect(store.get()).toEqual({ a: 1 });
  });

  it("merges patches shallowly and replaces nested values", () => {
    const store = createStateStore<{ a: number; b: { x: number; y?: number }; c?: string }>({
      a: 1,
      b: { x: 1 },
    });
    store.set({ b: { x: 2 } });
    store.set({ c: "hi" });
    expect(store.get()).toEqual({ a: 1, b: { x: 2 }, c: "hi" });
  });

  it("accepts an updater that receives the current snapshot", () => {
    const store = createStateStore({ count: 1 });
    store.set((s) => ({ count: s.count + 1 }));
    store.set((s) => ({ count: s.count * 10 }));
    expect(store.get().count).toBe(20);
  });

  it("treats an updater returning undefined as no change", () => {
    const store = createStateStore({ count: 1 });
    const listener = vi.fn();
    store.subscribe(listener);
    store.set((() => undefined) as any);
    expect(listener).not.toHaveBeenCalled();
  });

  it("hands out frozen snapshots, a new one per change; old snapshots stay valid", () => {
    const store = createStateStore({ a: 1 });
    const first = store.get();
    expect(Object.isFrozen(first)).toBe(true);
    expect(() => {
      (first as { a: number }).a = 5;
    }).toThrow(TypeError);
    store.set({ a: 2 });
    const second = store.get();
    expect(second).not.toBe(first);
    expect(first).toEqual({ a: 1 });
    expect(second).toEqual({ a: 2 });
    expect(Object.isFrozen(second)).toBe(true);
  });

  it("never changes a snapshot it handed out, however many writes follow, read or not", () => {
    const store = createStateStore<Record<string, number>>({ x: 0 });
    const before = store.get();
    store.set({ a: 1 });
    store.set({ b: 2 }); // nobody has read since the last write: may go into the same object
    const middle = store.select((s) => s);
    store.set({ c: 3 });
    store.set({ a: 9 });
    expect(before).toEqual({ x: 0 });
    expect(middle).toEqual({ x: 0, a: 1, b: 2 });
    expect(store.get()).toEqual({ x: 0, a: 9, b: 2, c: 3 });
    for (const snapshot of [before, middle, store.get()]) expect(Object.isFrozen(snapshot)).toBe(true);
  });

  it("gives subscribers an intact previous snapshot even when nobody read it", () => {
    const store = createStateStore<Record<string, number>>({ x: 0 });
    store.set({ a: 1 });
    const changes: Array<[object, object]> = [];
    store.subscribe((next, previous) => changes.push([next, previous]));
    store.set({ b: 2 });
    expect(changes).toEqual([
      [
        { x: 0, a: 1, b: 2 },
        { x: 0, a: 1 },
      ],
    ]);
    expect(changes[0]![0]).not.toBe(changes[0]![1]);
  });

  it("freezes every snapshot it hands out, however it leaves: get, select, updater, listener", () => {
    const store = createStateStore<Record<string, number>>({ a: 1 });
    // several writes nobody reads in between, as a run's steps make them
    store.set({ b: 2 });
    store.set({ c: 3 });
    expect(store.select((s) => Object.isFrozen(s))).toBe(true);
    store.set({ d: 4 });
    let seenByUpdater: object | undefined;
    store.set((s) => {
      seenByUpdater = s;
      return { e: 5 };
    });
    expect(Object.isFrozen(seenByUpdater)).toBe(true);
    const seen: object[] = [];
    store.subscribe((next, previous) => seen.push(next, previous));
    store.set({ f: 6 });
    expect(seen).toHaveLength(2);
    for (const snapshot of seen) expect(Object.isFrozen(snapshot)).toBe(true);
    expect(store.get()).toEqual({ a: 1, b: 2, c: 3, d: 4, e: 5, f: 6 });
    expect(Object.isFrozen(store.get())).toBe(true);
  });

  it("does not freeze the caller's objects", () => {
    const nested = { x: 1 };
    const initial = { nested };
    createStateStore(initial);
    expect(Object.isFrozen(initial)).toBe(false);
    expect(Object.isFrozen(nested)).toBe(false);
  });

  it("notifies subscribers synchronously with next and previous", () => {
    const store = createStateStore({ a: 1, b: 1 });
    const calls: Array<[unknown, unknown]> = [];
    store.subscribe((next, previous) => calls.push([next, previous]));
    const before = store.get();
    store.set({ a: 2 });
    expect(calls).toEqual([
      [
        { a: 2, b: 1 },
        { a: 1, b: 1 },
      ],
    ]);
    expect(calls[0]![1]).toBe(before);
    expect(calls[0]![0]).toBe(store.get());
  });

  it("does not notify or replace the snapshot when nothing changed (Object.is per key)", () => {
    const obj = { deep: true };
    const store = createStateStore({ a: 1, n: Number.NaN, o: obj });
    const listener = vi.fn();
    store.subscribe(listener);
    const before = store.get();
    store.set({ a: 1, n: Number.NaN, o: obj });
    store.set({});
    expect(listener).not.toHaveBeenCalled();
    expect(store.get()).toBe(before);
    store.set({ o: { deep: true } });
    expect(listener).toHaveBeenCalledOnce();
  });

  it("counts adding a key as a change even when its value is undefined", () => {
    const store = createStateStore<{ a: number; b?: undefined }>({ a: 1 });
    const listener = vi.fn();
    store.subscribe(listener);
    store.set({ b: undefined });
    expect(listener).toHaveBeenCalledOnce();
    expect(Object.hasOwn(store.get(), "b")).toBe(true);
  });

  it("selects from the current snapshot", () => {
    const store = createStateStore({ items: [1, 2, 3] });
    expect(store.select((s) => s.items.length)).toBe(3);
    store.set({ items: [1] });
    expect(store.select((s) => s.items.length)).toBe(1);
  });

  it("stops notifying after unsubscribe (idempotent, safe during notification)", () => {
    const store = createStateStore({ n: 0 });
    const seen: string[] = [];
    let offLater: () => void = () => {};
    const offFirst = store.subscribe(() => {
      seen.push("first");
      offFirst();
      offFirst();
      offLater();
    });
    store.subscribe(() => seen.push("second"));
    offLater = store.subscribe(() => seen.push("later"));
    store.set({ n: 1 });
    store.set({ n: 2 });
    expect(seen).toEqual(["first", "second", "second"]);
  });

  it("keeps set() and other subscribers working when a subscriber throws", () => {
    const errors: unknown[] = [];
    const store = createStateStore({ n: 0 }, { onError: (e) => errors.push(e) });
    const boom = new Error("boom");
    const after = vi.fn();
    store.subscribe(() => {
      throw boom;
    });
    store.subscribe(after);
    expect(() => store.set({ n: 1 })).not.toThrow();
    expect(store.get().n).toBe(1);
    expect(after).toHaveBeenCalledOnce();
    expect(errors).toEqual([boom]);
  });

  it("reports an async subscriber that rejects as one that throws (no unhandled rejection)", async () => {
    const errors: unknown[] = [];
    const store = createStateStore({ n: 0 }, { onError: (e) => errors.push(e) });
    const boom = new Error("boom");
    store.subscribe(async () => {
      throw boom;
    });
    store.set({ n: 1 });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors).toEqual([boom]);
  });

  it("prints an onError that rejects to console.error, as one that throws (no unhandled rejection)", async () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      const store = createStateStore(
        { n: 0 },
        { onError: async () => Promise.reject(new Error("reporter")) },
      );
      store.subscribe(() => {
        throw new Error("subscriber");
      });
      store.set({ n: 1 });
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
      expect(spy.mock.calls.map((args) => String(args[0]))).toEqual(["[sluice/store] onError rejected:"]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
      spy.mockRestore();
    }
  });

  it("reports subscriber errors on console.error by default", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const store = createStateStore({ n: 0 });
      store.subscribe(() => {
        throw new Error("x");
      });
      store.set({ n: 1 });
      expect(spy).toHaveBeenCalledOnce();
    } finally {
      spy.mockRestore();
    }
  });

  it("keeps set() and other subscribers working when a subscriber throws a value console.error cannot print (default onError)", () => {
    // util.inspect (behind console.error) reads `name` of an Error-like value: this one throws itself there
    const unprintable: unknown = Object.create(Error.prototype, {
      name: {
        get() {
          throw unprintable;
        },
      },
    });
    const store = createStateStore({ n: 0 });
    const after = vi.fn();
    store.subscribe(() => {
      throw unprintable;
    });
    store.subscribe(after);
    expect(() => store.set({ n: 1 })).not.toThrow();
    expect(store.get().n).toBe(1);
    expect(after).toHaveBeenCalledOnce();
  });

  it("delivers a set made inside a listener after the current round, in order", () => {
    const store = createStateStore({ n: 0 });
    const log: string[] = [];
    store.subscribe((next, prev) => {
      log.push(`A ${prev.n}->${next.n}`);
      if (next.n === 1) store.set({ n: 2 });
    });
    store.subscribe((next, prev) => log.push(`B ${prev.n}->${next.n}`));
    store.set({ n: 1 });
    expect(log).toEqual(["A 0->1", "B 0->1", "A 1->2", "B 1->2"]);
    expect(store.get().n).toBe(2);
  });

  it("after dispose: listeners dropped, set/subscribe throw DISPOSED, get returns the last snapshot", () => {
    const store = createStateStore({ n: 1 });
    const listener = vi.fn();
    store.subscribe(listener);
    const last = store.get();
    store.dispose();
    store.dispose();
    expect(store.disposed).toBe(true);
    expect(() => store.set({ n: 2 })).toThrowError(code("DISPOSED"));
    expect(() => store.subscribe(() => {})).toThrowError(code("DISPOSED"));
    expect(store.get()).toBe(last);
    expect(store.select((s) => s.n)).toBe(1);
    expect(listener).not.toHaveBeenCalled();
  });

  it("rejects non-plain-object patches and initial states with INVALID_INPUT", () => {
    const store = createStateStore<Record<string, unknown>>({});
    for (const bad of [null, 1, "x", [1], new Date(), new Map(), () => ({})]) {
      const patch = typeof bad === "function" ? () => bad : bad;
      expect(() => store.set(patch as any)).toThrowError(code("INVALID_INPUT"));
    }
    expect(() => createStateStore([] as any)).toThrowError(code("INVALID_INPUT"));
    expect(() => createStateStore(new (class Foo {})())).toThrowError(code("INVALID_INPUT"));
    expect(() => store.subscribe(null as any)).toThrowError(code("INVALID_INPUT"));
    expect(() => store.select("n" as any)).toThrowError(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: 'stateStore.select: the selector must be a function (got "n")',
      }),
    );
  });

  it("refuses a patch whose reading throws (a Proxy trap, a getter) with INVALID_INPUT, on every path", () => {
    const boom = new Error("trap");
    const trap = () => {
      throw boom;
    };
    const unreadable: [string, () => object][] = [
      ["listing its keys", () => new Proxy({}, { ownKeys: trap })],
      ["reading a key's descriptor", () => new Proxy({ a: 1 }, { getOwnPropertyDescriptor: trap })],
      ["reading a value", () => new Proxy({ a: 1 }, { get: trap })],
      ["a getter", () => Object.defineProperty({}, "a", { get: trap, enumerable: true })],
      ["reading its prototype", () => new Proxy({}, { getPrototypeOf: trap })],
    ];
    const message =
      "stateStore.set: the patch could not be read (trap); pass a plain object whose fields can be read (no getters that throw, no Proxy objects)";
    for (const [what, make] of unreadable) {
      // written in place (nobody saw the snapshot), copied (it was handed out), and with a subscriber
      const inPlace = createStateStore<Record<string, unknown>>({});
      const copying = createStateStore<Record<string, unknown>>({});
      copying.get();
      const subscribed = createStateStore<Record<string, unknown>>({});
      subscribed.subscribe(() => {});
      for (const store of [inPlace, copying, subscribed]) {
        for (const patch of [make(), () => make()]) {
          let thrown: unknown;
          try {
            store.set(patch as Record<string, unknown>);
          } catch (error) {
            thrown = error;
          }
          expect(thrown, what).toBeInstanceOf(SystemError);
          expect(thrown, what).toMatchObject({ code: "INVALID_INPUT", message, cause: boom });
        }
      }
    }
    // what an updater itself throws is the caller's own, passed on as it is
    expect(() => createStateStore({}).set(trap)).toThrow(boom);
  });

  it("accepts null-prototype patches", () => {
    const store = createStateStore<Record<string, unknown>>({});
    const patch = Object.create(null);
    patch.a = 1;
    store.set(patch);
    expect(store.get()).toEqual({ a: 1 });
  });

  describe("objects that inherit enumerable keys", () => {
    // A prototype whose own prototype is null, but which is not any realm's Object.prototype: an
    // object made from it inherits `inherited`, which for...in would visit and a spread would not.
    const makeProto = () => Object.assign(Object.create(null), { inherited: "from prototype" });
    const withInherited = (proto: object) => Object.assign(Object.create(proto), { own: 1 });

    it("refuses them with INVALID_INPUT on every path: in place, copy, subscribed, initial", () => {
      const proto = makeProto();
      const inPlace = createStateStore<Record<string, unknown>>({});
      expect(() => inPlace.set(withInherited(proto))).toThrowError(code("INVALID_INPUT"));
      expect(inPlace.get()).toEqual({});
      const copying = createStateStore<Record<string, unknown>>({});
      copying.get();
      expect(() => copying.set(withInherited(proto))).toThrowError(code("INVALID_INPUT"));
      const subscribed = createStateStore<Record<string, unknown>>({ own: 1 });
      const listener = vi.fn();
      subscribed.subscribe(listener);
      expect(() => subscribed.set(Object.create(proto))).toThrowError(code("INVALID_INPUT"));
      expect(() => subscribed.set(() => withInherited(proto))).toThrowError(code("INVALID_INPUT"));
      expect(listener).not.toHaveBeenCalled();
      expect(subscribed.get()).toEqual({ own: 1 });
      expect(() => createStateStore(withInherited(proto))).toThrowError(code("INVALID_INPUT"));
    });

    it("refuses look-alikes of Object.prototype that carry enumerable keys", () => {
      const proto = makeProto();
      Object.defineProperty(proto, "constructor", { value: Object, enumerable: false });
      Object.defineProperty(proto, "hasOwnProperty", { value: Object.prototype.hasOwnProperty });
      const store = createStateStore<Record<string, unknown>>({});
      expect(() => store.set(withInherited(proto))).toThrowError(code("INVALID_INPUT"));
    });

    it("still accepts plain objects from another realm (node:vm), on every path", () => {
      const foreign = () => runInNewContext("({ a: 1, b: { c: 2 } })") as Record<string, unknown>;
      expect(Object.getPrototypeOf(foreign())).not.toBe(Object.prototype);
      const store = createStateStore<Record<string, unknown>>(foreign());
      expect(store.get()).toEqual({ a: 1, b: { c: 2 } });
      const inPlace = createStateStore<Record<string, unknown>>({});
      inPlace.set(foreign());
      inPlace.set(runInNewContext("JSON.parse('{\"d\":4}')"));
      expect(inPlace.get()).toEqual({ a: 1, b: { c: 2 }, d: 4 });
      const listener = vi.fn();
      inPlace.subscribe(listener);
      inPlace.set(runInNewContext("({ e: 5 })"));
      expect(listener).toHaveBeenCalledTimes(1);
      expect(inPlace.get()).toEqual({ a: 1, b: { c: 2 }, d: 4, e: 5 });
    });
  });

  describe("prototype pollution", () => {
    it("never lets __proto__/constructor/prototype in a patch reach a prototype", () => {
      const store = createStateStore<Record<string, unknown>>({ a: 1 });
      store.set(JSON.parse('{"__proto__":{"polluted":1},"b":2}'));
      store.set(JSON.parse('{"constructor":{"prototype":{"polluted":1}}}'));
      store.set(JSON.parse('{"prototype":{"polluted":1}}'));
      expect(({} as any).polluted).toBeUndefined();
      expect((Object.prototype as any).polluted).toBeUndefined();
      const state = store.get();
      expect(Object.getPrototypeOf(state)).toBe(Object.prototype);
      expect((state as any).polluted).toBeUndefined();
      expect(Object.keys(state)).toEqual(["a", "b"]);
      expect(Object.hasOwn(state, "constructor")).toBe(false);
      expect(Object.hasOwn(state, "prototype")).toBe(false);
    });

    it("skips unsafe keys in the initial state and in updater results", () => {
      const store = createStateStore<Record<string, unknown>>(
        JSON.parse('{"__proto__":{"polluted":1},"a":1}'),
      );
      store.set(() => JSON.parse('{"__proto__":{"polluted":2}}'));
      expect((store.get() as any).polluted).toBeUndefined();
      expect(Object.getPrototypeOf(store.get())).toBe(Object.prototype);
      expect((Object.prototype as any).polluted).toBeUndefined();
    });
  });

  it("uses SystemError instances", () => {
    const store = createStateStore({});
    store.dispose();
    try {
      store.set({});
      expect.unreachable();
    } catch (e) {
      expect(SystemError.is(e, "DISPOSED")).toBe(true);
      expect((e as Error).message).toMatch(/disposed/);
    }
  });
});
