import { describe, expect, it, vi } from "vitest";
import { StoreRegistry } from "../src/index.js";

const code = (c: string) => expect.objectContaining({ code: c });

describe("StoreRegistry", () => {
  it("creates, finds and counts stores by id", () => {
    const registry = new StoreRegistry();
    const a = registry.create("a", { n: 1 });
    registry.create("b", { n: 2 });
    expect(registry.size).toBe(2);
    expect(registry.has("a")).toBe(true);
    expect(registry.get("a")).toBe(a);
    expect(registry.get("zzz")).toBeUndefined();
    expect(registry.has("zzz")).toBe(false);
  });

  it("throws DUPLICATE_KEY for an id in use, and allows it again after dispose", () => {
    const registry = new StoreRegistry();
    registry.create("run-1", {});
    expect(() => registry.create("run-1", {})).toThrowError(code("DUPLICATE_KEY"));
    expect(registry.dispose("run-1")).toBe(true);
    expect(() => registry.create("run-1", {})).not.toThrow();
  });

  it("rejects empty or non-string ids with INVALID_INPUT", () => {
    const registry = new StoreRegistry();
    expect(() => registry.create("", {})).toThrowError(code("INVALID_INPUT"));
    expect(() => registry.create(1 as any, {})).toThrowError(code("INVALID_INPUT"));
    // the message says what was given, as the store's other argument errors do
    expect(() => registry.create("", {})).toThrowError(
      'storeRegistry.create: the id must be a non-empty string (got "")',
    );
    expect(() => registry.create(1 as any, {})).toThrowError(
      "storeRegistry.create: the id must be a non-empty string (got 1)",
    );
  });

  it("dispose(id) disposes the store and removes it; false for unknown ids", () => {
    const registry = new StoreRegistry();
    const store = registry.create("a", { n: 1 });
    expect(registry.dispose("a")).toBe(true);
    expect(store.disposed).toBe(true);
    expect(registry.has("a")).toBe(false);
    expect(registry.dispose("a")).toBe(false);
  });

  it("forgets a store that was disposed directly", () => {
    const registry = new StoreRegistry();
    const store = registry.create("a", {});
    store.dispose();
    expect(registry.has("a")).toBe(false);
    expect(registry.size).toBe(0);
    const replacement = registry.create("a", {});
    store.dispose();
    expect(registry.get("a")).toBe(replacement);
  });

  it("create(id, state, { copy: false }) takes the object itself as the first snapshot: written in place until handed out, then frozen", () => {
    const registry = new StoreRegistry();
    const state = JSON.parse('{"orderId":"A1","items":[{"sku":"x"}]}') as Record<string, unknown>;
    const items = state.items;
    const store = registry.create("run-1", state, { copy: false });
    expect(registry.get("run-1")).toBe(store);
    store.set({ approved: true }); // nobody has seen it yet: written into the object
    expect(store.get()).toBe(state);
    expect(Object.isFrozen(state)).toBe(true);
    expect(store.get()).toEqual({ orderId: "A1", items: [{ sku: "x" }], approved: true });
    expect(store.get().items).toBe(items);
    store.set({ approved: false }); // handed out: a new snapshot, the handed-over one unchanged
    expect(store.get()).not.toBe(state);
    expect(state.approved).toBe(true);
    expect(registry.dispose("run-1")).toBe(true);
    expect(registry.has("run-1")).toBe(false);
    // without it (or with copy: true) the store keeps a copy and never freezes the caller's object
    for (const options of [undefined, {}, { copy: true }]) {
      const mine = { n: 1 };
      const copied = registry.create(`copy-${JSON.stringify(options)}`, mine, options);
      expect(copied.get()).not.toBe(mine);
      expect(Object.isFrozen(mine)).toBe(false);
    }
  });

  it("an object handed over loses its own unsafe keys; one the store cannot write into is copied", () => {
    const registry = new StoreRegistry();
    const hostile = JSON.parse('{"__proto__":{"polluted":1},"constructor":2,"prototype":3,"a":1}');
    const store = registry.create("h", hostile, { copy: false });
    expect(store.get()).toBe(hostile);
    expect(Object.keys(store.get())).toEqual(["a"]);
    expect(Object.getPrototypeOf(store.get())).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    // frozen or sealed: the store cannot write into it, so it keeps a copy
    const frozen: Record<string, unknown> = Object.freeze({ n: 1 });
    const copied = registry.create("f", frozen, { copy: false });
    expect(copied.get()).not.toBe(frozen);
    copied.set({ n: 2 });
    expect(copied.get()).toEqual({ n: 2 });
    expect(frozen).toEqual({ n: 1 });
    const sealed: Record<string, unknown> = Object.seal({ n: 1 });
    registry.create("s", sealed, { copy: false }).set({ extra: true });
    expect(registry.get("s")!.get()).toEqual({ n: 1, extra: true });
    expect(sealed).toEqual({ n: 1 });
  });

  it("refuses bad or unknown create options with INVALID_INPUT, taking nothing over", () => {
    const registry = new StoreRegistry();
    const state = { n: 1 };
    expect(() => registry.create("a", state, { cpy: false } as any)).toThrowError(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "storeRegistry.create: options.cpy is not an option (options: copy)",
      }),
    );
    expect(() => registry.create("a", state, { copy: "yes" } as any)).toThrowError(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: 'storeRegistry.create: options.copy must be a boolean (got "yes")',
      }),
    );
    expect(() => registry.create("a", state, null as any)).toThrowError(code("INVALID_INPUT"));
    expect(() => registry.create("a", new Map() as any, { copy: false })).toThrowError(code("INVALID_INPUT"));
    expect(registry.size).toBe(0);
    expect(Object.isFrozen(state)).toBe(false);
  });

  it("disposeAll disposes every store", () => {
    const registry = new StoreRegistry();
    const stores = [registry.create("a", {}), registry.create("b", {}), registry.create("c", {})];
    registry.disposeAll();
    expect(registry.size).toBe(0);
    expect(stores.every((s) => s.disposed)).toBe(true);
  });

  it("passes onError to the stores it creates", () => {
    const onError = vi.fn();
    const registry = new StoreRegistry({ onError });
    const store = registry.create("a", { n: 0 });
    store.subscribe(() => {
      throw new Error("x");
    });
    store.set({ n: 1 });
    expect(onError).toHaveBeenCalledOnce();
  });

  it("keeps stores isolated: a fault in one does not touch another", () => {
    const registry = new StoreRegistry({ onError: () => {} });
    const a = registry.create("a", { n: 0 });
    const b = registry.create("b", { n: 0 });
    a.subscribe(() => {
      throw new Error("x");
    });
    a.set({ n: 1 });
    expect(() => a.set(null as any)).toThrow();
    b.set({ n: 5 });
    expect(a.get().n).toBe(1);
    expect(b.get().n).toBe(5);
  });
});
