import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { assertEmittableType, assertSubscription, createEventBus } from "../src/index.js";

function messageOf(act: () => void): string {
  try {
    act();
  } catch (error) {
    expect(SystemError.is(error) && error.code).toBe("INVALID_INPUT");
    return (error as Error).message;
  }
  throw new Error("did not throw");
}

// A bus adapter's own checks say what createEventBus says, word for word.
describe("the checks a bus adapter makes with createEventBus's messages", () => {
  const bus = createEventBus();

  it("assertSubscription: a non-empty string (the wildcard included) and a function", () => {
    expect(() => assertSubscription("order.placed", () => {})).not.toThrow();
    expect(() => assertSubscription("*", () => {})).not.toThrow();
    for (const [type, handler] of [
      ["", () => {}],
      [7, () => {}],
      ["order.placed", "not a function"],
      ["order.placed", undefined],
    ] as const) {
      const message = messageOf(() => assertSubscription(type, handler));
      expect(message).toBe(messageOf(() => bus.on(type as string, handler as never)));
    }
    expect(messageOf(() => assertSubscription("order.placed", 3))).toBe(
      'eventBus.on("order.placed"): the handler must be a function (got 3)',
    );
    expect(messageOf(() => assertSubscription("order.placed", { handle() {} }))).toBe(
      'eventBus.on("order.placed"): the handler must be a function (got an object)',
    );
    expect(messageOf(() => bus.emit(7 as never, {}))).toBe(
      "eventBus.emit: the event type must be a non-empty string (got 7)",
    );
  });

  it("assertEmittableType: a non-empty string other than the wildcard", () => {
    expect(() => assertEmittableType("order.placed")).not.toThrow();
    for (const type of ["", "*", null]) {
      expect(messageOf(() => assertEmittableType(type))).toBe(messageOf(() => bus.emit(type as string, {})));
    }
  });
});
