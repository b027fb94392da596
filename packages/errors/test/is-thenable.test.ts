import { describe, expect, it } from "vitest";
import { isThenable } from "../src/index.js";

describe("isThenable", () => {
  it("is true for promises and for objects or functions with a callable then", () => {
    // biome-ignore lint/suspicious/noThenProperty: thenables are what is tested
    const thenable = { then: () => {} };
    // biome-ignore lint/suspicious/noThenProperty: thenables are what is tested
    const thenableFn = Object.assign(() => {}, { then: () => {} });
    expect([Promise.resolve(1), thenable, thenableFn].map(isThenable)).toEqual([true, true, true]);
  });

  it("is false for everything else, a then that is not a function included", () => {
    // biome-ignore lint/suspicious/noThenProperty: a then that is not a function is what is tested
    const notCallable = { then: 1 };
    const values = [undefined, null, 0, "then", {}, [], () => {}, notCallable, Object.create(null)];
    expect(values.map(isThenable)).toEqual(values.map(() => false));
  });

  it("lets a throwing then getter throw (callers with untrusted values catch it)", () => {
    // biome-ignore lint/suspicious/noThenProperty: a hostile then getter is what is tested
    const hostile = Object.defineProperty({}, "then", {
      get() {
        throw new Error("read");
      },
    });
    expect(() => isThenable(hostile)).toThrow("read");
  });
});
