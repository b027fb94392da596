import { describe, expect, it } from "vitest";
import { describeFault } from "../src/index.js";

describe("describeFault", () => {
  it("gives an Error as its name and message", () => {
    expect(describeFault(new TypeError("boom"))).toBe("TypeError: boom");
    expect(describeFault(new RangeError())).toBe("RangeError");
    const nameless = new Error("boom");
    nameless.name = "";
    expect(describeFault(nameless)).toBe("boom");
  });

  it("cuts an Error's text at 200 characters with an ellipsis", () => {
    const text = describeFault(new Error("x".repeat(500)));
    expect(text).toHaveLength(201);
    expect(text.startsWith("Error: x")).toBe(true);
    expect(text.endsWith("…")).toBe(true);
  });

  it("shows anything else as describeValue does", () => {
    expect(describeFault("boom")).toBe('"boom"');
    expect(describeFault({ status: 503 })).toBe('{"status":503}');
    expect(describeFault(42)).toBe("42");
    expect(describeFault(undefined)).toBe("undefined");
  });

  it("never throws: an Error whose message getter throws is described as a value", () => {
    const hostile = new Error("x");
    Object.defineProperty(hostile, "message", {
      get() {
        throw new Error("no");
      },
    });
    expect(typeof describeFault(hostile)).toBe("string");
    const proxy = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("no");
        },
      },
    );
    expect(typeof describeFault(proxy)).toBe("string");
  });
});
