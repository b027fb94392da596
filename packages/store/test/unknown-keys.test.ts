import { describe, expect, it } from "vitest";
import { createStateStore, StoreRegistry } from "../src/index.js";

describe("unknown keys of the store's options", () => {
  it("createStateStore refuses a misspelt option and takes onError", () => {
    expect(() => createStateStore({}, { freez: true } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "createStateStore: options.freez is not an option (options: onError)",
      }),
    );
    const seen: unknown[] = [];
    const store = createStateStore({ n: 0 }, { onError: (e) => seen.push(e) });
    store.subscribe(() => {
      throw new Error("listener");
    });
    store.set({ n: 1 });
    expect(seen).toHaveLength(1);
  });

  it("new StoreRegistry refuses a misspelt option and takes onError", () => {
    expect(() => new StoreRegistry({ onErorr: () => {} } as never)).toThrow(
      expect.objectContaining({
        code: "INVALID_INPUT",
        message: "new StoreRegistry: options.onErorr is not an option (options: onError)",
      }),
    );
    expect(new StoreRegistry({ onError: () => {} }).create("a", {}).get()).toEqual({});
  });
});
