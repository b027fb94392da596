import { SystemError } from "@sluice/errors";
import { describe, expect, it, vi } from "vitest";
import { createDeferredEventBus } from "../src/index.js";

describe("createDeferredEventBus", () => {
  it("delivers after emit returns, a macrotask later, once delivered() resolves", async () => {
    const bus = createDeferredEventBus<{ ping: { n: number } }>();
    const seen: number[] = [];
    bus.on("ping", (p) => seen.push(p.n));
    bus.emit("ping", { n: 1 });
    bus.emit("ping", { n: 2 });
    expect(seen).toEqual([]);
    await Promise.resolve();
    expect(seen).toEqual([]);
    await bus.delivered();
    expect(seen).toEqual([1, 2]);
  });

  it("hands handlers a parsed copy of what was sent, as a broker would", async () => {
    const bus = createDeferredEventBus();
    const got: unknown[] = [];
    bus.on("e", (p) => got.push(p));
    bus.on("e", (p) => got.push(p));
    const sent = { list: [1], at: new Date(0), skip: () => 1, gone: undefined };
    bus.emit("e", sent);
    sent.list.push(2);
    await bus.delivered();
    expect(got).toEqual([
      { list: [1], at: "1970-01-01T00:00:00.000Z" },
      { list: [1], at: "1970-01-01T00:00:00.000Z" },
    ]);
    expect(got[0]).not.toBe(sent);
  });

  it("refuses a payload JSON cannot hold, naming the event, and queues nothing", async () => {
    const bus = createDeferredEventBus();
    const handler = vi.fn();
    bus.on("e", handler);
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    for (const payload of [cyclic, { n: 1n }]) {
      let thrown: unknown;
      try {
        bus.emit("e", payload);
      } catch (error) {
        thrown = error;
      }
      expect(SystemError.is(thrown, "INVALID_INPUT")).toBe(true);
      expect((thrown as SystemError).message).toMatch(
        /^eventBus\.emit\("e"\): the payload cannot be sent as JSON: /,
      );
    }
    await bus.delivered();
    expect(handler).not.toHaveBeenCalled();
  });

  it("waits in delivered() for events that handlers emit in turn", async () => {
    const bus = createDeferredEventBus();
    const seen: string[] = [];
    bus.on("a", () => bus.emit("b", 1));
    bus.on("b", () => bus.emit("c", 1));
    bus.on("c", () => seen.push("c"));
    bus.emit("a", 1);
    await bus.delivered();
    expect(seen).toEqual(["c"]);
  });

  it("reports a throwing handler to onError with the event's type and delivered payload", async () => {
    const onError = vi.fn();
    const bus = createDeferredEventBus({ onError });
    const boom = new Error("boom");
    bus.on("e", () => {
      throw boom;
    });
    bus.emit("e", { n: 1 });
    await bus.delivered();
    expect(onError).toHaveBeenCalledWith(boom, "e", { n: 1 });
  });

  it("checks options and event types as createEventBus does", () => {
    expect(() => createDeferredEventBus({ onErr: () => {} } as never)).toThrow(
      /options\.onErr is not an option/,
    );
    const bus = createDeferredEventBus();
    expect(() => bus.emit("*", 1)).toThrow(/reserved for wildcard/);
    expect(() => bus.emit("", 1)).toThrow(/non-empty string/);
  });
});
