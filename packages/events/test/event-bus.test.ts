import { SystemError } from "@sluice/errors";
import { describe, expect, it, vi } from "vitest";
import { createEventBus } from "../src/index.js";

type Events = { a: number; b: string };

describe("createEventBus", () => {
  it("delivers typed handlers in subscription order, then wildcard handlers", () => {
    const bus = createEventBus<Events>();
    const seen: string[] = [];
    bus.on("*", (type, payload) => seen.push(`*1:${String(type)}:${String(payload)}`));
    bus.on("a", (n) => seen.push(`a1:${n}`));
    bus.on("a", (n) => seen.push(`a2:${n}`));
    bus.on("*", (type) => seen.push(`*2:${String(type)}`));
    bus.on("b", (s) => seen.push(`b:${s}`));
    bus.emit("a", 1);
    bus.emit("b", "x");
    expect(seen).toEqual(["a1:1", "a2:1", "*1:a:1", "*2:a", "b:x", "*1:b:x", "*2:b"]);
  });

  it("stops delivery after unsubscribe, and unsubscribe is idempotent", () => {
    const bus = createEventBus<Events>();
    const handler = vi.fn();
    const other = vi.fn();
    const off = bus.on("a", handler);
    bus.on("a", other);
    bus.emit("a", 1);
    off();
    off();
    bus.emit("a", 2);
    expect(handler).toHaveBeenCalledTimes(1);
    expect(other).toHaveBeenCalledTimes(2);
    expect(bus.listenerCount("a")).toBe(1);
  });

  it("unsubscribes a wildcard handler", () => {
    const bus = createEventBus<Events>();
    const handler = vi.fn();
    const off = bus.on("*", handler);
    bus.emit("a", 1);
    off();
    bus.emit("a", 2);
    expect(handler).toHaveBeenCalledOnce();
    expect(bus.listenerCount()).toBe(0);
  });

  it("keeps delivering to other handlers and never throws when a handler throws", () => {
    const errors: Array<[unknown, string, unknown]> = [];
    const bus = createEventBus<Events>({ onError: (e, type, payload) => errors.push([e, type, payload]) });
    const boom = new Error("boom");
    const after = vi.fn();
    const wildcard = vi.fn();
    bus.on("a", () => {
      throw boom;
    });
    bus.on("a", after);
    bus.on("*", () => {
      throw boom;
    });
    bus.on("*", wildcard);
    expect(() => bus.emit("a", 7)).not.toThrow();
    expect(after).toHaveBeenCalledWith(7);
    expect(wildcard).toHaveBeenCalledWith("a", 7);
    expect(errors).toEqual([
      [boom, "a", 7],
      [boom, "a", 7],
    ]);
  });

  it("reports an async handler that rejects as one that throws (no unhandled rejection), typed and wildcard", async () => {
    const errors: Array<[unknown, string, unknown]> = [];
    const bus = createEventBus<Events>({ onError: (e, type, payload) => errors.push([e, type, payload]) });
    const boom = new Error("boom");
    const after = vi.fn();
    bus.on("a", async () => {
      throw boom;
    });
    bus.on("a", after);
    bus.on("*", async () => {
      throw boom;
    });
    // a thenable that is no promise, as a handler written against another library may return
    bus.on(
      "a",
      () =>
        ({
          // biome-ignore lint/suspicious/noThenProperty: a thenable that is no promise is what is tested
          then: (_: unknown, reject: (e: unknown) => void) => reject(boom),
        }) as never,
    );
    expect(() => bus.emit("a", 7)).not.toThrow();
    expect(after).toHaveBeenCalledWith(7);
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(errors).toEqual([
      [boom, "a", 7],
      [boom, "a", 7],
      [boom, "a", 7],
    ]);
    // an async onError that fails goes to console.error, as a throwing one does
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const reporting = createEventBus<Events>({
        onError: async () => Promise.reject(new Error("reporter broken")),
      });
      reporting.on("b", async () => Promise.reject(boom));
      reporting.emit("b", "x");
      await new Promise((resolve) => setTimeout(resolve, 0));
      expect(spy.mock.calls.map((args) => String(args[0]))).toEqual([
        '[sluice/events] onError rejected while reporting a "b" handler error:',
      ]);
    } finally {
      spy.mockRestore();
    }
  });

  it("reports handler errors on console.error by default, naming the event type", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const bus = createEventBus<Events>();
      bus.on("b", () => {
        throw new Error("bad");
      });
      bus.emit("b", "x");
      expect(spy).toHaveBeenCalledOnce();
      expect(String(spy.mock.calls[0]![0])).toContain('"b"');
    } finally {
      spy.mockRestore();
    }
  });

  it("does not throw out of emit when onError itself throws", () => {
    const spy = vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const bus = createEventBus<Events>({
        onError: () => {
          throw new Error("reporter broken");
        },
      });
      const after = vi.fn();
      bus.on("a", () => {
        throw new Error("x");
      });
      bus.on("a", after);
      expect(() => bus.emit("a", 1)).not.toThrow();
      expect(after).toHaveBeenCalledOnce();
      expect(spy).toHaveBeenCalledOnce();
    } finally {
      spy.mockRestore();
    }
  });

  it("never throws and keeps delivering when a handler throws a value console.error cannot print (default onError)", () => {
    // util.inspect (behind console.error) reads `name` of an Error-like value: this one throws itself there
    const unprintable: unknown = Object.create(Error.prototype, {
      name: {
        get() {
          throw unprintable;
        },
      },
    });
    const bus = createEventBus<Events>();
    const after = vi.fn();
    const wildcard = vi.fn();
    bus.on("a", () => {
      throw unprintable;
    });
    bus.on("a", after);
    bus.on("*", wildcard);
    expect(() => bus.emit("a", 1)).not.toThrow();
    expect(after).toHaveBeenCalledWith(1);
    expect(wildcard).toHaveBeenCalledWith("a", 1);
  });

  it("is safe to unsubscribe during emit: self, a later handler, and an earlier one", () => {
    const bus = createEventBus<Events>();
    const seen: string[] = [];
    let offLater: () => void = () => {};
    const offSelf = bus.on("a", () => {
      seen.push("self");
      offSelf();
      offLater();
    });
    bus.on("a", () => seen.push("middle"));
    offLater = bus.on("a", () => seen.push("later"));
    bus.emit("a", 1);
    bus.emit("a", 2);
    expect(seen).toEqual(["self", "middle", "middle"]);
    expect(bus.listenerCount("a")).toBe(1);
  });

  it("does not deliver the current event to a handler subscribed during emit", () => {
    const bus = createEventBus<Events>();
    const late = vi.fn();
    bus.on("a", () => {
      if (bus.listenerCount("a") === 1) bus.on("a", late);
    });
    bus.emit("a", 1);
    expect(late).not.toHaveBeenCalled();
    bus.emit("a", 2);
    expect(late).toHaveBeenCalledWith(2);
  });

  it("counts listeners per type, wildcard, and in total", () => {
    const bus = createEventBus<Events>();
    expect(bus.listenerCount()).toBe(0);
    const offs = [bus.on("a", () => {}), bus.on("a", () => {}), bus.on("b", () => {}), bus.on("*", () => {})];
    expect(bus.listenerCount("a")).toBe(2);
    expect(bus.listenerCount("b")).toBe(1);
    expect(bus.listenerCount("*")).toBe(1);
    expect(bus.listenerCount("nope")).toBe(0);
    expect(bus.listenerCount()).toBe(4);
    for (const off of offs) off();
    expect(bus.listenerCount()).toBe(0);
  });

  it("delivers to a handler subscribed twice twice, each with its own unsubscribe", () => {
    const bus = createEventBus<Events>();
    const handler = vi.fn();
    const off1 = bus.on("a", handler);
    bus.on("a", handler);
    bus.emit("a", 1);
    expect(handler).toHaveBeenCalledTimes(2);
    off1();
    bus.emit("a", 2);
    expect(handler).toHaveBeenCalledTimes(3);
  });

  it("rejects invalid event types and handlers with INVALID_INPUT", () => {
    const bus = createEventBus();
    for (const bad of ["", 1, undefined, null, Symbol("s")]) {
      expect(() => bus.emit(bad as any, 1)).toThrowError(expect.objectContaining({ code: "INVALID_INPUT" }));
      expect(() => bus.on(bad as any, () => {})).toThrowError(
        expect.objectContaining({ code: "INVALID_INPUT" }),
      );
    }
    expect(() => bus.emit("*", 1)).toThrowError(expect.objectContaining({ code: "INVALID_INPUT" }));
    let error: unknown;
    try {
      bus.on("x", "not a function" as any);
    } catch (e) {
      error = e;
    }
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    expect((error as Error).message).toContain("handler must be a function");
  });

  it("emits with no handlers at all", () => {
    const bus = createEventBus();
    expect(() => bus.emit("nobody", { x: 1 })).not.toThrow();
  });
});
