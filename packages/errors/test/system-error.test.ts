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

  it("from() never throws, whatever was thrown, and keeps it as the cause", () => {
    const nullProto = Object.assign(Object.create(null), { reason: "card declined" });
    const badToString = {
      toString: () => {
        throw new Error("no");
      },
    };
    const badPrimitive = {
      [Symbol.toPrimitive]: () => {
        throw new Error("prim");
      },
    };
    const badMessage = new Error("x");
    Object.defineProperty(badMessage, "message", {
      get: () => {
        throw new Error("getter");
      },
    });
    const trap = () => {
      throw new Error("trap");
    };
    const hostile = new Proxy({}, { get: trap, getPrototypeOf: trap, has: trap, ownKeys: trap });
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    const cases: Array<[unknown, string]> = [
      [nullProto, "step a: [object Object]"],
      [badToString, "step a: [object Object]"],
      [badPrimitive, "step a: [object Object]"],
      [badMessage, "step a: [object Error]"],
      [{ toString: null }, "step a: [object Object]"],
      [hostile, "step a: a value that cannot be shown as text"],
      [revoked, "step a: a value that cannot be shown as text"],
    ];
    for (const [thrown, message] of cases) {
      const e = SystemError.from(thrown, "STEP_FAILED", "step a");
      expect(e.code).toBe("STEP_FAILED");
      expect(e.message).toBe(message);
      expect(e.cause).toBe(thrown);
    }
    // ordinary values keep their usual text
    expect(SystemError.from(Symbol("s"), "STEP_FAILED", "c").message).toBe("c: Symbol(s)");
    expect(SystemError.from(undefined, "STEP_FAILED", "c").message).toBe("c: undefined");
    expect(SystemError.from({ a: 1 }, "STEP_FAILED", "c").message).toBe('c: {"a":1}');
  });

  it("is() never throws: a value that throws when read is not a SystemError", () => {
    const trap = () => {
      throw new Error("trap");
    };
    expect(SystemError.is(new Proxy({}, { get: trap }))).toBe(false);
    expect(SystemError.is(new Proxy({}, { get: trap }), "ABORTED")).toBe(false);
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(SystemError.is(revoked)).toBe(false);
    const badCode = { [Symbol.for("sluice.SystemError")]: true };
    Object.defineProperty(badCode, "code", { get: trap });
    expect(SystemError.is(badCode)).toBe(true);
    expect(SystemError.is(badCode, "ABORTED")).toBe(false);
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

  it("shows NaN and the infinities as such, not as JSON's null", async () => {
    const { describeValue } = await import("../src/index.js");
    expect(describeValue(Number.NaN)).toBe("NaN");
    expect(describeValue(Number.POSITIVE_INFINITY)).toBe("Infinity");
    expect(describeValue(Number.NEGATIVE_INFINITY)).toBe("-Infinity");
    // everything else as before
    expect(describeValue(1.5)).toBe("1.5");
    expect(describeValue(null)).toBe("null");
    expect(describeValue([1, "a"])).toBe('[1,"a"]');
    expect(describeValue(Symbol("s"))).toBe("Symbol(s)");
  });

  it("stays short: a function is not its source text, and long text is cut at 200 characters", async () => {
    const { describeValue } = await import("../src/index.js");
    expect(
      describeValue(function handler() {
        return "a long body";
      }),
    ).toBe("a function");
    expect(describeValue(class Store {})).toBe("a function");
    expect(describeValue("x".repeat(500))).toBe(`"${"x".repeat(198)}…`);
    expect(describeValue({ rows: new Array(100).fill(1) })).toHaveLength(200);
  });

  it("never throws on hostile values", async () => {
    const { describeValue } = await import("../src/index.js");
    const trap = () => {
      throw new Error("trap");
    };
    const { proxy: revoked, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const v of [
      Object.create(null),
      { toJSON: trap },
      { toJSON: () => undefined, toString: trap },
      new Proxy({}, { get: trap, ownKeys: trap, getOwnPropertyDescriptor: trap }),
      revoked,
      Object.assign(() => 1, { toString: trap }),
    ]) {
      expect(typeof describeValue(v)).toBe("string");
    }
  });
});
