import { describe, expect, it } from "vitest";
import { createEventBus } from "../src/index.js";

// Unsubscribing during an emit, for wildcard handlers (event-bus.test.ts covers typed ones).

describe("createEventBus wildcard handlers", () => {
  it("a wildcard handler unsubscribed during an emit is not called for the rest of it", () => {
    const bus = createEventBus();
    const calls: string[] = [];
    let offWildcard = (): void => {};
    bus.on("a", () => {
      calls.push("typed");
      offWildcard();
    });
    offWildcard = bus.on("*", (type) => calls.push(`wildcard:${String(type)}`));
    bus.emit("a", 1);
    bus.emit("b", 2);
    expect(calls).toEqual(["typed"]);
  });

  it("a wildcard handler can unsubscribe a later wildcard handler mid-emit", () => {
    const bus = createEventBus();
    const calls: string[] = [];
    let offSecond = (): void => {};
    bus.on("*", (type) => {
      calls.push(`first:${String(type)}`);
      offSecond();
    });
    offSecond = bus.on("*", (type) => calls.push(`second:${String(type)}`));
    bus.emit("a", 1);
    expect(calls).toEqual(["first:a"]);
    expect(bus.listenerCount("*")).toBe(1);
  });
});
