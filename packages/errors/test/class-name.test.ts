import { describe, expect, it } from "vitest";
import { classNameOf } from "../src/index.js";

describe("classNameOf", () => {
  it("names the class an object was made by", () => {
    expect(classNameOf(new Map())).toBe("Map");
    expect(classNameOf(new Int32Array(1))).toBe("Int32Array");
    expect(classNameOf(new (class Undo {})())).toBe("Undo");
    expect(classNameOf([])).toBe("Array");
  });

  it("tells nothing for an object without a class of its own", () => {
    expect(classNameOf({})).toBe("");
    expect(classNameOf(Object.create(null))).toBe("");
    expect(classNameOf(Object.create({ a: 1 }))).toBe(""); // inherits Object through its prototype
    expect(classNameOf(new (class {})())).toBe("");
  });

  it("reads the constructor from the prototype, so an own constructor key does not pass for a class", () => {
    expect(classNameOf({ constructor: { name: "Map" } })).toBe("");
  });

  it("never throws: a Proxy whose prototype cannot be read tells nothing", () => {
    const hostile = new Proxy(
      {},
      {
        getPrototypeOf() {
          throw new Error("no");
        },
      },
    );
    expect(classNameOf(hostile)).toBe("");
  });
});
