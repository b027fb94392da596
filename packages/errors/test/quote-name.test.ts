import { describe, expect, it } from "vitest";
import { quoteName } from "../src/index.js";

describe("quoteName", () => {
  it("quotes and escapes a name for a message", () => {
    expect(quoteName("approval")).toBe('"approval"');
    expect(quoteName('a"b\u0000')).toBe('"a\\"b\\u0000"');
  });

  it("cuts a long name at 80 characters (or max) with an ellipsis", () => {
    expect(quoteName("y".repeat(80))).toBe(`"${"y".repeat(80)}"`);
    expect(quoteName("y".repeat(81))).toBe(`"${"y".repeat(80)}…"`);
    expect(quoteName("abcdef", 3)).toBe('"abc…"');
  });
});
