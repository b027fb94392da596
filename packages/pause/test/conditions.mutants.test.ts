import { describe, expect, it } from "vitest";
import { type Condition, matchesConditions, readPath } from "../src/index.js";

// Condition matching as documented on Condition and readPath, at the edges conditions.test.ts
// leaves open.

describe("paths with an empty segment", () => {
  it("read nothing, even from a payload that has an empty-string key", () => {
    const payload = { "": { b: 1 }, a: { "": 2 } };
    expect(readPath(payload, ".b")).toEqual({ found: false, value: undefined });
    expect(readPath(payload, "a.")).toEqual({ found: false, value: undefined });
    expect(readPath(payload, "")).toEqual({ found: false, value: undefined });
    // an unvalidated condition on such a path is simply not met
    expect(matchesConditions(payload, [{ path: ".b", op: "exists" }])).toBe(false);
    expect(matchesConditions(payload, [{ path: "a.", op: "==", value: 2 }])).toBe(false);
  });
});

describe("ordering operators", () => {
  it("hold only between two numbers or two strings: booleans, nulls and arrays never compare", () => {
    // unvalidated conditions (validateConditions refuses such values): not met, however JS would compare them
    const cases: Array<[unknown, Condition]> = [
      [true, { path: "v", op: ">", value: false }],
      [false, { path: "v", op: "<", value: true }],
      [null, { path: "v", op: ">=", value: null }],
      [null, { path: "v", op: "<=", value: null }],
      [[2], { path: "v", op: "<", value: [3] }],
      [{}, { path: "v", op: ">=", value: {} }],
    ];
    for (const [v, condition] of cases) {
      expect(matchesConditions({ v }, [condition]), JSON.stringify([v, condition])).toBe(false);
    }
    // the same comparisons between numbers and between strings do hold
    expect(matchesConditions({ v: 1 }, [{ path: "v", op: ">", value: 0 }])).toBe(true);
    expect(matchesConditions({ v: "b" }, [{ path: "v", op: ">", value: "a" }])).toBe(true);
  });
});
