import { describe, expect, it } from "vitest";
import { describeValue } from "../src/index.js";

describe("describeValue", () => {
  it("shows a value as JSON, non-finite numbers and functions as such", () => {
    expect(describeValue({ a: [1, "b"] })).toBe('{"a":[1,"b"]}');
    expect(describeValue("x")).toBe('"x"');
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(() => 1)).toBe("a function");
    expect(describeValue(undefined)).toBe("undefined");
  });

  it("cuts at 200 characters with an ellipsis and never throws", () => {
    const long = describeValue("x".repeat(500));
    expect(long).toHaveLength(200);
    expect(long.endsWith("…")).toBe(true);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue(cyclic)).toBe("an object that cannot be shown as JSON");
    expect(describeValue(1n)).toBe("bigint");
  });
});
