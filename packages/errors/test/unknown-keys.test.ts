import { describe, expect, it } from "vitest";
import { refuseUnknownKeys, SystemError } from "../src/index.js";

const KNOWN = new Set(["maxEvents", "now"]);

function thrown(fn: () => void): SystemError {
  try {
    fn();
  } catch (error) {
    if (SystemError.is(error)) return error;
    throw error;
  }
  throw new Error("did not throw");
}

describe("refuseUnknownKeys", () => {
  it("accepts the known keys, any subset of them and an empty object", () => {
    expect(() => refuseUnknownKeys({ maxEvents: 5, now: Date.now }, KNOWN, "options")).not.toThrow();
    expect(() => refuseUnknownKeys({ now: undefined }, KNOWN, "options")).not.toThrow();
    expect(() => refuseUnknownKeys({}, ["a"], "options")).not.toThrow();
    expect(() => refuseUnknownKeys(Object.create(null), KNOWN, "options")).not.toThrow();
  });

  it("refuses an unknown key as INVALID_INPUT in the argument style when a caller is named", () => {
    const error = thrown(() =>
      refuseUnknownKeys({ maxEvent: 5 }, KNOWN, "options", { caller: "createMemoryTimelineStore" }),
    );
    expect(error).toMatchObject({
      code: "INVALID_INPUT",
      message: "createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents, now)",
      details: { path: "options.maxEvent" },
    });
  });

  it("words a definition error without a caller, with the code given; an array lists in its order", () => {
    const error = thrown(() =>
      refuseUnknownKeys({ id: "a", lable: "x" }, ["id", "label"], "workflow", { code: "INVALID_DEFINITION" }),
    );
    expect(error).toMatchObject({
      code: "INVALID_DEFINITION",
      message: "workflow.lable: is not an option here (options: id, label)",
      details: { path: "workflow.lable" },
    });
  });

  it("takes a message of the package's own style and extra details", () => {
    const error = thrown(() =>
      refuseUnknownKeys({ lazzy: false }, KNOWN, "template", {
        message: (key, options) => `x: "${key}" is not an option (options: ${options})`,
        details: { key: "db" },
      }),
    );
    expect(error.message).toBe('x: "lazzy" is not an option (options: maxEvents, now)');
    expect(error.details).toEqual({ key: "db", path: "template.lazzy" });
  });

  it("checks own keys only: inherited keys and symbol keys are not options", () => {
    const inherited = Object.create({ typo: 1 }) as object;
    expect(() => refuseUnknownKeys(inherited, KNOWN, "options")).not.toThrow();
    expect(() => refuseUnknownKeys({ [Symbol("s")]: 1 }, KNOWN, "options")).not.toThrow();
    expect(() => refuseUnknownKeys(Object.assign(Object.create({ now: 1 }), { bad: 1 }), KNOWN, "o")).toThrow(
      "o.bad: is not an option here",
    );
  });

  it("never calls a getter: a throwing getter on a known key passes, on an unknown key is named", () => {
    const get = () => {
      throw new Error("read");
    };
    const known = Object.defineProperty({}, "now", { get, enumerable: true });
    expect(() => refuseUnknownKeys(known, KNOWN, "options")).not.toThrow();
    const unknown = Object.defineProperty({}, "nwo", { get, enumerable: true });
    expect(thrown(() => refuseUnknownKeys(unknown, KNOWN, "options")).message).toBe(
      "options.nwo: is not an option here (options: maxEvents, now)",
    );
  });

  it("refuses an object that cannot be enumerated with the code, never the raw error", () => {
    const hostile = new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("trap");
        },
      },
    );
    const error = thrown(() =>
      refuseUnknownKeys(hostile, KNOWN, "options", { caller: "f", code: "INVALID_DEFINITION" }),
    );
    expect(error).toMatchObject({
      code: "INVALID_DEFINITION",
      message: "f: options could not be read: trap",
      details: { path: "options" },
    });
    expect(error.cause).toBeInstanceOf(Error);
  });
});
