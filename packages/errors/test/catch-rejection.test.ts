import { describe, expect, it } from "vitest";
import { catchRejection } from "../src/index.js";

describe("catchRejection", () => {
  it("hands a promise's rejection to onRejected, and says it was a promise", async () => {
    const reasons: unknown[] = [];
    const failure = new Error("async callback failed");
    expect(catchRejection(Promise.reject(failure), (reason) => reasons.push(reason))).toBe(true);
    expect(catchRejection(Promise.resolve(1), (reason) => reasons.push(reason))).toBe(true);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(reasons).toEqual([failure]);
  });

  it("is false for anything else, and for a value whose then cannot be read or called", () => {
    // biome-ignore lint/suspicious/noThenProperty: a then getter that throws is what is tested
    const hostileGetter = Object.defineProperty({}, "then", {
      get() {
        throw new Error("read");
      },
    });
    const hostileThen = {
      // biome-ignore lint/suspicious/noThenProperty: a then that throws when called is what is tested
      then() {
        throw new Error("called");
      },
    };
    const values = [undefined, null, 0, "then", {}, () => {}, hostileGetter, hostileThen];
    const never = () => expect.unreachable("onRejected called");
    expect(values.map((value) => catchRejection(value, never))).toEqual(values.map(() => false));
  });
});
