import { afterEach, describe, expect, it, vi } from "vitest";
import { printFault } from "../src/index.js";

afterEach(() => vi.restoreAllMocks());

describe("printFault", () => {
  it("writes the message and the fault as they are", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    const fault = new Error("boom");
    printFault("[x] onError threw:", fault);
    expect(spy.mock.calls).toEqual([["[x] onError threw:", fault]]);
  });

  it("writes the fault's description when the console cannot print the value, and never throws", () => {
    const spy = vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => {
      if (args.length > 1) throw new TypeError("cannot inspect");
    });
    const fault = Object.create(null);
    expect(() => printFault("[x] onError threw:", fault)).not.toThrow();
    expect(spy.mock.calls.at(-1)).toEqual(["[x] onError threw: [object Object]"]);
  });
});
