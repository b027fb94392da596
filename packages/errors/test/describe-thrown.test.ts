import { describe, expect, it } from "vitest";
import { describeThrown } from "../src/index.js";

describe("describeThrown", () => {
  it("gives an Error's message and a primitive's text", () => {
    expect(describeThrown(new TypeError("bad"))).toBe("bad");
    expect(describeThrown("plain text")).toBe("plain text");
    expect(describeThrown(42)).toBe("42");
    expect(describeThrown(undefined)).toBe("undefined");
  });

  it("gives an Error's name when its message is empty (IndexedDB's QuotaExceededError has none in Chromium)", () => {
    expect(describeThrown(new DOMException("", "QuotaExceededError"))).toBe("QuotaExceededError");
    expect(describeThrown(new RangeError())).toBe("RangeError");
    expect(describeThrown(new DOMException("quota reached", "QuotaExceededError"))).toBe("quota reached");
  });

  it("shows a thrown plain object or array as JSON, not [object Object], cut at 200 characters", () => {
    expect(describeThrown({ status: 503, reason: "busy" })).toBe('{"status":503,"reason":"busy"}');
    expect(describeThrown([1, "two"])).toBe("1,two"); // an array's String() already says something
    const long = describeThrown({ text: "x".repeat(500) });
    expect(long).toHaveLength(201);
    expect(long.endsWith("…")).toBe(true);
  });

  it("never throws: cyclic, null-prototype and hostile values fall back to a fixed text", () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeThrown(cyclic)).toBe("[object Object]");
    expect(describeThrown(Object.create(null))).toBe("[object Object]");
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("no");
        },
        getPrototypeOf() {
          throw new Error("no");
        },
      },
    );
    expect(typeof describeThrown(hostile)).toBe("string");
  });
});
