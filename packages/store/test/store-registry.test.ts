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
