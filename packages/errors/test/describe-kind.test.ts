import { describe, expect, it } from "vitest";
import { describeKind } from "../src/index.js";

describe("describeKind", () => {
  it('shows a primitive as itself, a string quoted so that "5" and 5 never look alike', () => {
    expect(describeKind("5")).toBe('"5"');
    expect(describeKind("")).toBe('""');
    expect(describeKind(5)).toBe("5");
    expect(describeKind(-1)).toBe("-1");
    expect(describeKind(Number.NaN)).toBe("NaN");
    expect(describeKind(-Infinity)).toBe("-Infinity");
    expect(describeKind(true)).toBe("true");
    expect(describeKind(5n)).toBe("5n");
    expect(describeKind(undefined)).toBe("undefined");
    expect(describeKind(null)).toBe("null");
    expect(describeKind(Symbol("id"))).toBe("Symbol(id)");
  });

  it("cuts a long string at 80 characters and a long bigint at 80 digits", () => {
    expect(describeKind("x".repeat(500))).toBe(`"${"x".repeat(80)}…"`);
    expect(describeKind(10n ** 100n)).toBe(`1${"0".repeat(79)}…n`);
  });

  it("tells an object by its kind only, never its contents", () => {
    expect(describeKind(() => 1)).toBe("a function");
    expect(describeKind(class Foo {})).toBe("a function");
    expect(describeKind([])).toBe("an array of 0 items");
    expect(describeKind(["secret"])).toBe("an array of 1 item");
    expect(describeKind([1, 2, 3])).toBe("an array of 3 items");
    expect(describeKind({ password: "secret" })).toBe("an object");
    expect(describeKind(Object.create(null))).toBe("an object");
    expect(describeKind(new Map())).toBe("an instance of Map");
    expect(describeKind(new Uint8Array(2))).toBe("an instance of Uint8Array");
    expect(describeKind(new Date(0))).toBe("an instance of Date");
    expect(describeKind(new TypeError("x"))).toBe("an instance of TypeError");
  });

  it("tells an array subclass by its class, not as the plain array a message asks for", () => {
    class Tags extends Array<string> {}
    expect(describeKind(new Tags())).toBe("an instance of Tags");
  });

  it("says an object whose prototype is not Object.prototype is not a plain object", () => {
    const inheriting = "an object whose prototype is not Object.prototype (such as Object.create(proto))";
    expect(describeKind(Object.create({ a: 1 }))).toBe(inheriting);
    expect(describeKind(Object.create(Object.create(null)))).toBe(inheriting);
    expect(describeKind(new (class {})())).toBe(inheriting);
  });

  it("never throws: a revoked Proxy, and a Proxy whose traps throw", () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    expect(describeKind(proxy)).toBe("a revoked Proxy");
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("no");
        },
      },
    );
    expect(describeKind(hostile)).toBe("an object");
    const array = new Proxy([1], {
      get() {
        throw new Error("no");
      },
    });
    expect(describeKind(array)).toBe("an array");
  });
});
