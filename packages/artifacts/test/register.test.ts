import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { errorSink } from "./helpers.js";

function definitionError(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (e) {
    expect(SystemError.is(e, "INVALID_DEFINITION")).toBe(true);
    return e as SystemError;
  }
  throw new Error("expected INVALID_DEFINITION");
}

describe("register", () => {
  it("rejects a malformed template with INVALID_DEFINITION naming the field", () => {
    const c = new ArtifactContainer();
    expect(definitionError(() => c.register(null as never)).message).toMatch(/template must be an object/);
    expect(definitionError(() => c.register({ key: "", factory: () => 1 })).message).toMatch(/template\.key/);
    expect(definitionError(() => c.register({ key: "a" } as never)).message).toMatch(
      /"factory" must be a function/,
    );
    expect(
      definitionError(() => c.register({ key: "a", factory: () => 1, scope: "run" as never })).message,
    ).toMatch(/"scope"/);
    expect(definitionError(() => c.register({ key: "a", factory: () => 1, timeoutMs: -5 })).message).toMatch(
      /"timeoutMs"/,
    );
    expect(definitionError(() => c.register({ key: "a", factory: () => 1, retries: 1.5 })).message).toMatch(
      /"retries"/,
    );
    expect(
      definitionError(() => c.register({ key: "a", factory: () => 1, retries: { attempts: 2, factor: 0.5 } }))
        .message,
    ).toMatch(/"retries\.factor"/);
    expect(
      definitionError(() => c.register({ key: "a", factory: () => 1, param: false as never })).message,
    ).toMatch(/"param"/);
    expect(
      definitionError(() =>
        c.register({ key: "a", factory: () => 1, serialize: { serialize: () => 1 } as never }),
      ).message,
    ).toMatch(/"serialize"/);
    expect(
      definitionError(() => c.register({ key: "a", factory: () => 1, lazy: false, param: true })).message,
    ).toMatch(/"lazy: false" cannot be combined with "param"/);
    expect(c.has("a")).toBe(false);
  });

  it("refuses a second registration of a key with DUPLICATE_KEY unless override is set", async () => {
    const c = new ArtifactContainer({ name: "app" });
    c.register({ key: "a", factory: () => 1 });
    expect(() => c.register({ key: "a", factory: () => 2 })).toThrow(
      expect.objectContaining({ code: "DUPLICATE_KEY", message: expect.stringContaining('"a"') }),
    );
    expect(await c.require("a")).toBe(1);
    c.register({ key: "a", factory: () => 2 }, { override: true });
    expect(await c.require("a")).toBe(2);
  });

  it("override disposes the old instance and invalidates its dependents", async () => {
    const c = new ArtifactContainer();
    const log: string[] = [];
    c.register({
      key: "conn",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("close v1"));
        return "v1";
      },
    });
    c.register({ key: "svc", factory: async (ctx) => `svc(${await ctx.require("conn")})` });
    expect(await c.require("svc")).toBe("svc(v1)");
    c.register({ key: "conn", factory: () => "v2" }, { override: true });
    expect(c.peek("svc")).toBeUndefined();
    expect(await c.require("svc")).toBe("svc(v2)");
    expect(log).toEqual(["close v1"]);
  });

  it("rejects bad keys on every lookup with INVALID_INPUT", async () => {
    const c = new ArtifactContainer();
    for (const key of ["", 42, undefined, null, {}]) {
      const r = await c.resolve(key as never);
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe("INVALID_INPUT");
      await expect(c.require(key as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
      expect(() => c.peek(key as never)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
      expect(() => c.has(key as never)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
      expect(() => c.watch(key as never)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
      await expect(c.invalidate(key as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    }
    const r = await c.resolve("a", { bad: 1 } as never);
    expect(r.ok ? undefined : r.error.code).toBe("INVALID_INPUT");
  });

  it("builds an eager artifact at register() and reports its failure through build:error, never throwing", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    let built = 0;
    c.register({ key: "warm", lazy: false, factory: () => ++built });
    expect(built).toBe(1); // the factory ran inside register()
    await new Promise((r) => setTimeout(r, 0));
    expect(c.peek("warm")).toBe(1);

    const seen: string[] = [];
    c.on("build:error", (e) => seen.push(`${e.key}:${e.error.code}`));
    expect(() =>
      c.register({
        key: "broken",
        lazy: false,
        factory: async () => {
          throw new Error("no db");
        },
      }),
    ).not.toThrow();
    await new Promise((r) => setTimeout(r, 5));
    expect(seen).toEqual(["broken:FACTORY_FAILED"]);
    expect(sink.errors).toEqual([]);
  });

  it("sends an eager failure to onError when nobody listens to build:error", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError });
    c.register({
      key: "broken",
      lazy: false,
      factory: () => {
        throw new Error("no db");
      },
    });
    await new Promise((r) => setTimeout(r, 5));
    expect(sink.errors.map((e) => e.code)).toEqual(["FACTORY_FAILED"]);
    expect(sink.errors[0]!.message).toContain("no db");
  });

  it("emits artifact:registered and answers has() with and without own", () => {
    const parent = new ArtifactContainer({ name: "p" });
    parent.register({ key: "x", factory: () => 1 });
    const child = new ArtifactContainer({ name: "c" }).extend(parent);
    const events: unknown[] = [];
    child.on("artifact:registered", (e) => events.push(e));
    child.register({ key: "y", factory: () => 2, scope: "transient" });
    expect(events).toEqual([
      { container: "c", key: "y", param: undefined, scope: "transient", override: false },
    ]);
    expect(child.has("x")).toBe(true);
    expect(child.has("x", { own: true })).toBe(false);
    expect(child.has("y", { own: true })).toBe(true);
    expect(parent.has("y")).toBe(false);
  });
});
