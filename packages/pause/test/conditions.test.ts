import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { type Condition, matchesConditions, readPath, validateConditions } from "../src/index.js";

const c = (path: string, op: Condition["op"], value?: unknown): Condition =>
  value === undefined ? { path, op } : { path, op, value };

describe("readPath", () => {
  const payload = { a: { b: { c: 1 } }, items: [{ id: "x" }, { id: "y" }], nul: null, undef: undefined };

  it("reads dotted paths and array elements by index", () => {
    expect(readPath(payload, "a.b.c")).toEqual({ found: true, value: 1 });
    expect(readPath(payload, "items.1.id")).toEqual({ found: true, value: "y" });
    expect(readPath(payload, "items.length")).toEqual({ found: true, value: 2 });
    expect(readPath(payload, "nul")).toEqual({ found: true, value: null });
    expect(readPath(payload, "undef")).toEqual({ found: true, value: undefined });
  });

  it("reports missing paths and paths through primitives as not found", () => {
    expect(readPath(payload, "a.x")).toEqual({ found: false, value: undefined });
    expect(readPath(payload, "items.5.id").found).toBe(false);
    expect(readPath(payload, "a.b.c.d").found).toBe(false);
    expect(readPath(payload, "nul.x").found).toBe(false);
    expect(readPath("str", "length").found).toBe(false);
    expect(readPath(null, "a").found).toBe(false);
    expect(readPath(undefined, "a").found).toBe(false);
  });

  it("follows own properties only: prototype paths are never reached", () => {
    expect(readPath({}, "constructor").found).toBe(false);
    expect(readPath({}, "toString").found).toBe(false);
    expect(readPath({}, "__proto__").found).toBe(false);
    expect(readPath({}, "constructor.prototype").found).toBe(false);
    expect(readPath({ a: {} }, "a.__proto__.hasOwnProperty").found).toBe(false);
    expect(readPath([], "map").found).toBe(false);
    expect(readPath(Object.create({ inherited: 1 }), "inherited").found).toBe(false);
  });

  it("refuses prototype-named segments even when they are own keys", () => {
    const hostile = JSON.parse('{"__proto__":{"x":1},"constructor":{"prototype":{"y":2}}}');
    expect(readPath(hostile, "__proto__.x").found).toBe(false);
    expect(readPath(hostile, "constructor").found).toBe(false);
    expect(readPath({ fn: { prototype: 1 } }, "fn.prototype").found).toBe(false);
  });

  it("treats malformed paths as not found", () => {
    expect(readPath(payload, "").found).toBe(false);
    expect(readPath(payload, "a..b").found).toBe(false);
    expect(readPath(payload, ".a").found).toBe(false);
    expect(readPath(payload, 1 as any).found).toBe(false);
  });

  it("never throws on throwing getters or revoked proxies", () => {
    const getter = Object.defineProperty({}, "boom", {
      enumerable: true,
      get() {
        throw new Error("getter");
      },
    });
    expect(readPath(getter, "boom").found).toBe(false);
    const { proxy, revoke } = Proxy.revocable({ a: 1 }, {});
    revoke();
    expect(readPath(proxy, "a").found).toBe(false);
  });

  it("reads through cyclic payloads", () => {
    const cyclic: any = { id: 7 };
    cyclic.self = cyclic;
    expect(readPath(cyclic, "self.self.self.id")).toEqual({ found: true, value: 7 });
  });
});

describe("matchesConditions", () => {
  const payload = { n: 5, s: "m", b: true, z: null, u: undefined, nested: { list: [{ id: 3 }] } };

  it("matches everything with no conditions", () => {
    expect(matchesConditions(payload, undefined)).toBe(true);
    expect(matchesConditions(payload, [])).toBe(true);
    expect(matchesConditions(null, [])).toBe(true);
  });

  it("==: strict equality without coercion", () => {
    expect(matchesConditions(payload, [c("n", "==", 5)])).toBe(true);
    expect(matchesConditions(payload, [c("n", "==", "5")])).toBe(false);
    expect(matchesConditions(payload, [c("b", "==", true)])).toBe(true);
    expect(matchesConditions(payload, [c("b", "==", 1)])).toBe(false);
    expect(matchesConditions(payload, [c("z", "==", null)])).toBe(true);
    expect(matchesConditions(payload, [c("missing", "==", null)])).toBe(false);
    expect(matchesConditions(payload, [c("nested.list.0.id", "==", 3)])).toBe(true);
    expect(matchesConditions({ x: -0 }, [c("x", "==", 0)])).toBe(true);
  });

  it("!=: strict inequality; a missing path is not equal", () => {
    expect(matchesConditions(payload, [c("n", "!=", 5)])).toBe(false);
    expect(matchesConditions(payload, [c("n", "!=", "5")])).toBe(true);
    expect(matchesConditions(payload, [c("missing", "!=", "x")])).toBe(true);
    expect(matchesConditions(payload, [c("z", "!=", null)])).toBe(false);
  });

  it("ordering operators on numbers", () => {
    expect(matchesConditions(payload, [c("n", ">", 4)])).toBe(true);
    expect(matchesConditions(payload, [c("n", ">", 5)])).toBe(false);
    expect(matchesConditions(payload, [c("n", ">=", 5)])).toBe(true);
    expect(matchesConditions(payload, [c("n", ">=", 6)])).toBe(false);
    expect(matchesConditions(payload, [c("n", "<", 6)])).toBe(true);
    expect(matchesConditions(payload, [c("n", "<", 5)])).toBe(false);
    expect(matchesConditions(payload, [c("n", "<=", 5)])).toBe(true);
    expect(matchesConditions(payload, [c("n", "<=", 4)])).toBe(false);
  });

  it("ordering operators on strings", () => {
    expect(matchesConditions(payload, [c("s", ">", "a")])).toBe(true);
    expect(matchesConditions(payload, [c("s", "<", "z")])).toBe(true);
    expect(matchesConditions(payload, [c("s", ">=", "m")])).toBe(true);
    expect(matchesConditions(payload, [c("s", "<=", "l")])).toBe(false);
  });

  it("ordering operators are false across types, for missing paths and for NaN", () => {
    expect(matchesConditions({ v: "10" }, [c("v", ">", 5)])).toBe(false);
    expect(matchesConditions({ v: 10 }, [c("v", "<", "50")])).toBe(false);
    expect(matchesConditions({ v: null }, [c("v", "<=", 0)])).toBe(false);
    expect(matchesConditions({ v: true }, [c("v", ">=", 0)])).toBe(false);
    expect(matchesConditions({ v: [5] }, [c("v", "==", 5)])).toBe(false);
    expect(matchesConditions({}, [c("v", ">=", 0)])).toBe(false);
    expect(matchesConditions({ v: Number.NaN }, [c("v", ">=", 0)])).toBe(false);
    expect(matchesConditions({ v: Number.NaN }, [c("v", "<", 0)])).toBe(false);
  });

  it("exists: found and not undefined; null exists", () => {
    expect(matchesConditions(payload, [c("n", "exists")])).toBe(true);
    expect(matchesConditions(payload, [c("z", "exists")])).toBe(true);
    expect(matchesConditions(payload, [c("u", "exists")])).toBe(false);
    expect(matchesConditions(payload, [c("missing", "exists")])).toBe(false);
    expect(matchesConditions(payload, [c("nested.list.0", "exists")])).toBe(true);
    expect(matchesConditions(payload, [c("nested.list.1", "exists")])).toBe(false);
  });

  it("ANDs conditions", () => {
    expect(matchesConditions(payload, [c("n", ">", 1), c("s", "==", "m")])).toBe(true);
    expect(matchesConditions(payload, [c("n", ">", 1), c("s", "==", "x")])).toBe(false);
  });

  it("never matches prototype paths, even for exists", () => {
    expect(matchesConditions({}, [c("constructor", "exists")])).toBe(false);
    expect(matchesConditions({}, [c("toString", "exists")])).toBe(false);
    expect(matchesConditions({}, [c("__proto__", "exists")])).toBe(false);
    expect(matchesConditions({}, [c("constructor.name", "==", "Object")])).toBe(false);
    expect(matchesConditions({}, [c("__proto__.polluted", "!=", 1)])).toBe(false);
  });

  it("never throws on weird payloads", () => {
    const cyclic: any = { a: 1 };
    cyclic.me = cyclic;
    const getter = Object.defineProperty({}, "x", {
      get() {
        throw new Error("no");
      },
    });
    const trap = new Proxy(
      {},
      {
        getOwnPropertyDescriptor() {
          throw new Error("trap");
        },
      },
    );
    const conds = [c("x", "exists"), c("a", "==", 1)];
    for (const p of [null, undefined, 0, "str", true, Symbol("s"), 10n, cyclic, getter, trap, [], () => {}]) {
      expect(() => matchesConditions(p, conds)).not.toThrow();
    }
    expect(matchesConditions(cyclic, [c("me.me.a", "==", 1)])).toBe(true);
    expect(matchesConditions(getter, [c("x", "exists")])).toBe(false);
  });

  it("never throws on malformed conditions: they are not met", () => {
    const bad: any[] = [
      null,
      1,
      "x",
      {},
      { path: 1, op: "==" },
      { path: "n", op: "===", value: 5 },
      { path: "", op: "exists" },
    ];
    for (const cond of bad) {
      expect(matchesConditions({ n: 5 }, [cond])).toBe(false);
    }
    expect(matchesConditions({ n: 5 }, "nope" as any)).toBe(false);
  });
});

describe("validateConditions", () => {
  const failure = (conditions: unknown, path?: string): SystemError => {
    try {
      validateConditions(conditions, path);
    } catch (e) {
      if (SystemError.is(e)) return e;
      throw e;
    }
    throw new Error("expected validateConditions to throw");
  };

  it("accepts well-formed conditions", () => {
    expect(() =>
      validateConditions([
        c("a", "==", "x"),
        c("a", "!=", null),
        c("b.c", ">", 1),
        c("b.0", "<=", "z"),
        c("d", "exists"),
        c("e", "==", false),
      ]),
    ).not.toThrow();
    expect(() => validateConditions([])).not.toThrow();
  });

  it("names the offending field with INVALID_DEFINITION", () => {
    const e = failure([c("a", "==", 1), { path: "b", op: "=" }], "triggers.vip.when");
    expect(e.code).toBe("INVALID_DEFINITION");
    expect(e.message).toMatch(/^triggers\.vip\.when\[1\]\.op: must be one of/);
    expect(failure("x").message).toMatch(/^conditions: must be an array/);
    expect(failure([null]).message).toMatch(/^conditions\[0\]: must be an object/);
    expect(failure([{ op: "exists" }]).message).toMatch(/^conditions\[0\]\.path/);
    expect(failure([{ path: "a..b", op: "exists" }]).message).toMatch(/empty segment/);
    expect(failure([{ path: "a.__proto__", op: "exists" }]).message).toMatch(/not allowed/);
    expect(failure([{ path: "constructor", op: "exists" }]).message).toMatch(/not allowed/);
  });

  it("checks values against the operator", () => {
    expect(failure([{ path: "a", op: ">", value: true }]).message).toMatch(
      /conditions\[0\]\.value: ">" needs a finite number or a string/,
    );
    expect(failure([{ path: "a", op: "<", value: Number.NaN }]).message).toMatch(/\.value/);
    expect(failure([{ path: "a", op: "==" }]).message).toMatch(/conditions\[0\]\.value/);
    expect(failure([{ path: "a", op: "==", value: { x: 1 } }]).message).toMatch(/without coercion/);
    expect(failure([{ path: "a", op: "!=", value: [1] }]).code).toBe("INVALID_DEFINITION");
    expect(failure([{ path: "a", op: "exists", value: true }]).message).toMatch(/takes no value/);
  });

  it("says what was given: a primitive as itself, an object by its kind", () => {
    expect(failure([{ path: "a", op: "==", value: { x: 1 } }]).message).toBe(
      'conditions[0].value: "==" needs a string, finite number, boolean or null (got an object); comparison is strict, without coercion',
    );
    expect(failure([[c("a", "exists")]]).message).toBe(
      "conditions[0]: must be an object { path, op, value? } (got an array of 1 item)",
    );
    expect(failure([{ path: "a", op: ">", value: 5n }]).message).toBe(
      'conditions[0].value: ">" needs a finite number or a string (got 5n)',
    );
    expect(failure(new Set()).message).toBe(
      "conditions: must be an array of conditions (got an instance of Set)",
    );
  });

  it("refuses Infinity, -Infinity and NaN, which JSON would turn into null", () => {
    for (const op of ["==", "!=", ">", ">=", "<", "<="] as const) {
      for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
        const e = failure([c("a", op, value)]);
        expect(e.code).toBe("INVALID_DEFINITION");
        expect(e.message).toMatch(/^conditions\[0\]\.value: .*finite number/);
      }
    }
    expect(() => validateConditions([c("a", ">", Number.MAX_VALUE), c("b", "==", -0)])).not.toThrow();
  });
});
