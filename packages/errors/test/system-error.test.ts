import { describe, expect, it } from "vitest";
import { ErrorCode, err, ok, SystemError } from "../src/index.js";

describe("SystemError", () => {
  it("carries a stable code, message, cause and details", () => {
    const cause = new Error("disk full");
    const e = new SystemError("STORAGE_FAILED", "append failed: disk full", { cause, details: { batch: 3 } });
    expect(e).toBeInstanceOf(Error);
    expect(e.name).toBe("SystemError");
    expect(e.code).toBe(ErrorCode.STORAGE_FAILED);
    expect(e.cause).toBe(cause);
    expect(e.toJSON()).toEqual({
      name: "SystemError",
      code: "STORAGE_FAILED",
      message: "append failed: disk full",
      details: { batch: 3 },
    });
  });

  it("is() recognises errors by brand and code, not by instanceof", () => {
    const e = new SystemError("NOT_FOUND", "no run r1");
    expect(SystemError.is(e)).toBe(true);
    expect(SystemError.is(e, "NOT_FOUND")).toBe(true);
    expect(SystemError.is(e, "TIMEOUT")).toBe(false);
    expect(SystemError.is(new Error("x"))).toBe(false);
    expect(SystemError.is({ code: "NOT_FOUND" })).toBe(false);
    expect(SystemError.is(null)).toBe(false);
    // an error made by a second copy of the package carries the same registry symbol
    const foreign = Object.assign(new Error("x"), {
      [Symbol.for("sluice.SystemError")]: true,
      code: "ABORTED",
    });
    expect(SystemError.is(foreign, "ABORTED")).toBe(true);
  });

  it("from() wraps foreign throws and passes SystemErrors through", () => {
    const original = new SystemError("TIMEOUT", "step took too long");
    expect(SystemError.from(original, "STEP_FAILED", "step a")).toBe(original);
    const wrapped = SystemError.from(new TypeError("boom"), "STEP_FAILED", 'step "a" failed');
    expect(wrapped.code).toBe("STEP_FAILED");
    expect(wrapped.message).toBe('step "a" failed: boom');
    expect(wrapped.cause).toBeInstanceOf(TypeError);
    expect(SystemError.from("a string", "HOOK_FAILED", "onComplete").message).toBe("onComplete: a string");
  });

  it("every code maps to itself", () => {
    for (const [k, v] of Object.entries(ErrorCode)) expect(k).toBe(v);
  });
});

describe("Result", () => {
  it("narrows on ok", () => {
    const good = ok(1, { runId: "r" });
    const bad = err(new SystemError("ABORTED", "aborted"), { runId: "r" });
    expect(good.ok && good.value).toBe(1);
    expect(!bad.ok && bad.error.code).toBe("ABORTED");
  });
});

describe("describeValue", () => {
  it("renders values for messages and never throws", async () => {
    const { describeValue } = await import("../src/index.js");
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(describeValue("x")).toBe('"x"');
    expect(describeValue(undefined)).toBe("undefined");
    expect(describeValue(10n)).toBe("bigint");
    expect(describeValue(cyclic)).toBe("an object that cannot be shown as JSON");
  });
});
