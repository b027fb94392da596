import { runInNewContext } from "node:vm";
import { describe, expect, it } from "vitest";
import { isPlainObject, safeAssign } from "../src/index.js";

describe("safeAssign", () => {
  it("copies own enumerable string keys and returns the target", () => {
    const target: Record<string, unknown> = { a: 1 };
    expect(safeAssign(target, { b: 2, c: 3 })).toBe(target);
    expect(target).toEqual({ a: 1, b: 2, c: 3 });
    const withSymbol: Record<string | symbol, unknown> = { d: 4 };
    withSymbol[Symbol("s")] = 5;
    Object.defineProperty(withSymbol, "hidden", { value: 6, enumerable: false });
    safeAssign(target, withSymbol);
    expect(Reflect.ownKeys(target)).toEqual(["a", "b", "c", "d"]);
  });

  it("skips __proto__, constructor and prototype", () => {
    const target: Record<string, unknown> = {};
    safeAssign(
      target,
      JSON.parse('{"__proto__":{"polluted":1},"constructor":{"x":1},"prototype":{},"ok":1}'),
    );
    expect(Object.getPrototypeOf(target)).toBe(Object.prototype);
    expect(({} as any).polluted).toBeUndefined();
    expect(Object.keys(target)).toEqual(["ok"]);
  });

  it("throws INVALID_INPUT when the patch is not a plain object", () => {
    for (const bad of [null, undefined, 1, "s", [], new Date(), Object.create({ a: 1 })]) {
      expect(() => safeAssign({}, bad)).toThrowError(expect.objectContaining({ code: "INVALID_INPUT" }));
    }
  });

  it("names the refused value without throwing, even when reading it throws", () => {
    const trap = () => {
      throw new Error("trap");
    };
    // the class is read from the prototype: an own constructor getter is never run
    const badCtor = Object.defineProperty(new (class Foo {})(), "constructor", { get: trap });
    expect(() => safeAssign({}, badCtor)).toThrowError(
      "safeAssign: the patch must be a plain object (got an instance of Foo)",
    );
    expect(() => safeAssign({}, new (class Foo {})())).toThrowError(/an instance of Foo/);
    expect(() => safeAssign({}, [])).toThrowError(/an array of 0 items/);
    expect(() => safeAssign({}, Object.create({ a: 1 }))).toThrowError(
      "safeAssign: the patch must be a plain object (got an object whose prototype is not Object.prototype (such as Object.create(proto)))",
    );
  });
});

describe("isPlainObject", () => {
  it("accepts literals, null-prototype objects and JSON output", () => {
    expect(isPlainObject({})).toBe(true);
    expect(isPlainObject(Object.create(null))).toBe(true);
    expect(isPlainObject(JSON.parse('{"a":1}'))).toBe(true);
  });

  it("accepts plain objects from another realm", () => {
    expect(isPlainObject(runInNewContext("({ a: 1 })"))).toBe(true);
    expect(isPlainObject(runInNewContext("JSON.parse('{\"a\":1}')"))).toBe(true);
    expect(isPlainObject(runInNewContext("Object.create(null)"))).toBe(true);
    expect(isPlainObject(runInNewContext("[]"))).toBe(false);
    expect(isPlainObject(runInNewContext("new Date()"))).toBe(false);
  });

  it("rejects an object whose prototype only has a null prototype (it would inherit keys)", () => {
    const proto = Object.assign(Object.create(null), { inherited: 1 });
    expect(isPlainObject(Object.create(proto))).toBe(false);
    expect(isPlainObject(Object.create(Object.create(null)))).toBe(false);
    // a look-alike of Object.prototype: refused while it carries an enumerable key
    Object.defineProperty(proto, "constructor", { value: Object });
    Object.defineProperty(proto, "hasOwnProperty", { value: Object.prototype.hasOwnProperty });
    expect(isPlainObject(Object.create(proto))).toBe(false);
    // one that throws when read is refused, not thrown from
    const trap = () => {
      throw new Error("trap");
    };
    const hostile = new Proxy(Object.create(null), { getOwnPropertyDescriptor: trap });
    expect(isPlainObject(Object.create(hostile))).toBe(false);
  });

  it("rejects everything else", () => {
    for (const v of [null, undefined, 0, "x", [], new Date(), new Map(), new (class A {})(), () => {}]) {
      expect(isPlainObject(v)).toBe(false);
    }
  });
});
