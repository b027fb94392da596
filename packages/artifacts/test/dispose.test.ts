import { SystemError } from "@sluice/errors";
import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer, type ResolveResult } from "../src/index.js";
import { delay, errorSink, gate } from "./helpers.js";

describe("dispose", () => {
  it("runs cleanups in reverse dependency order, once, including transients that registered one", async () => {
    const c = new ArtifactContainer();
    const log: string[] = [];
    // Registered (and built) in an order unlike the dependency order, to show the order is not a list order.
    c.register({
      key: "app",
      factory: async (ctx) => {
        await ctx.require("repo");
        await ctx.require("requestScope");
        ctx.onCleanup(() => void log.push("app"));
        return "app";
      },
    });
    c.register({
      key: "repo",
      factory: async (ctx) => {
        await ctx.require("db");
        ctx.onCleanup(async () => {
          await delay(1);
          log.push("repo");
        });
        return "repo";
      },
    });
    c.register({
      key: "db",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("db"));
        return "db";
      },
    });
    let t = 0;
    c.register({
      key: "requestScope",
      scope: "transient",
      factory: async (ctx) => {
        await ctx.require("db");
        const id = ++t;
        ctx.onCleanup(() => void log.push(`request${id}`));
        return id;
      },
    });
    await c.require("app");
    await c.require("requestScope");
    const disposed: string[] = [];
    c.on("container:dispose", (e) => disposed.push(e.container));
    await c.dispose();
    await c.dispose();
    // Each cleanup exactly once; every dependent before what it depends on.
    expect([...log].sort()).toEqual(["app", "db", "repo", "request1", "request2"]);
    const at = (name: string) => log.indexOf(name);
    expect(at("app")).toBeLessThan(at("repo"));
    expect(at("app")).toBeLessThan(at("request1"));
    expect(at("repo")).toBeLessThan(at("db"));
    expect(at("request1")).toBeLessThan(at("db"));
    expect(at("request2")).toBeLessThan(at("request1")); // newest transient first
    expect(log.at(-1)).toBe("db");
    expect(disposed).toEqual(["container"]);
  });

  it("a failing cleanup goes to onError and the others still run", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ onError: sink.onError, name: "run" });
    const log: string[] = [];
    c.register({
      key: "a",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("a"));
        return 1;
      },
    });
    c.register({
      key: "b",
      factory: (ctx) => {
        ctx.onCleanup(() => {
          throw new Error("socket stuck");
        });
        ctx.onCleanup(() => void log.push("b-first-registered-runs-last"));
        return 2;
      },
    });
    await c.require("a");
    await c.require("b");
    await c.dispose();
    expect(log).toEqual(["b-first-registered-runs-last", "a"]);
    expect(sink.errors).toHaveLength(1);
    expect(sink.errors[0]!.message).toMatch(
      /cleanup of artifact "b" in container "run" failed: socket stuck/,
    );
  });

  it("every later operation fails with DISPOSED", async () => {
    const c = new ArtifactContainer({ name: "gone" });
    c.register({ key: "a", factory: () => 1 });
    await c.require("a");
    await c.dispose();
    expect(c.disposed).toBe(true);
    const r = await c.resolve("a");
    expect(r.ok ? "" : r.error.code).toBe("DISPOSED");
    await expect(c.require("a")).rejects.toMatchObject({ code: "DISPOSED" });
    expect(() => c.peek("a")).toThrow(expect.objectContaining({ code: "DISPOSED" }));
    expect(() => c.register({ key: "b", factory: () => 1 })).toThrow(
      expect.objectContaining({ code: "DISPOSED" }),
    );
    await expect(c.invalidate("a")).rejects.toMatchObject({ code: "DISPOSED" });
    await expect(c.use(() => 1)).rejects.toMatchObject({ code: "DISPOSED" });
    expect(() => c.scope("x")).toThrow(expect.objectContaining({ code: "DISPOSED" }));
    expect(() => c.export()).toThrow(expect.objectContaining({ code: "DISPOSED" }));
    expect(() => new ArtifactContainer().extend(c)).toThrow(expect.objectContaining({ code: "DISPOSED" }));
    expect(c.has("a")).toBe(false);
    expect(c.debugInfo().artifacts.map((a) => [a.key, a.status])).toEqual([["a", "disposed"]]);
  });

  it("disposes child scopes with the parent; a disposed parent is skipped by lookups", async () => {
    const log: string[] = [];
    const global = new ArtifactContainer({ name: "global" });
    global.register({
      key: "g",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("g"));
        return "g";
      },
    });
    const wf = global.scope("wf");
    wf.register({
      key: "w",
      factory: async (ctx) => {
        await ctx.require("g");
        ctx.onCleanup(() => void log.push("w"));
        return "w";
      },
    });
    await wf.require("w");
    const run = new ArtifactContainer({ name: "run" }).extend(wf);
    await global.dispose();
    expect(log).toEqual(["w", "g"]);
    expect(wf.disposed).toBe(true);
    const r = await run.resolve("w");
    expect(r.ok ? "" : r.error.code).toBe("NOT_FOUND");
  });

  it("a value finished after dispose is cleaned up at once and its waiter gets DISPOSED", async () => {
    const c = new ArtifactContainer();
    const g = gate();
    const log: string[] = [];
    c.register({
      key: "slow",
      factory: async (ctx) => {
        await g.promise;
        ctx.onCleanup(() => void log.push("slow cleaned"));
        return 1;
      },
    });
    const pending = c.resolve("slow");
    await delay(1);
    await c.dispose();
    g.open();
    const r = await pending;
    expect(r.ok ? "" : r.error.code).toBe("DISPOSED");
    await delay(1);
    expect(log).toEqual(["slow cleaned"]);
  });

  it("emits artifact:disposed for each instance", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "a", factory: () => 1 });
    c.register({ key: "b", factory: () => 2 });
    await c.require("a");
    await c.require("b");
    const seen: string[] = [];
    c.on("artifact:disposed", (e) => seen.push(e.key));
    await c.dispose();
    expect(seen).toEqual(["b", "a"]);
  });
});

describe("dispose, re-entered and under failure", () => {
  it("dispose() called again from a container:dispose handler returns the same promise and disposes once", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ name: "run", onError: sink.onError });
    let cleanups = 0;
    c.register({
      key: "a",
      factory: (ctx) => {
        ctx.onCleanup(() => void cleanups++);
        return 1;
      },
    });
    await c.require("a");
    let handlerCalls = 0;
    const inner: Promise<void>[] = [];
    c.on("container:dispose", () => {
      handlerCalls++;
      inner.push(c.dispose());
    });
    const outer = c.dispose();
    expect(inner).toHaveLength(1);
    expect(inner[0]).toBe(outer);
    expect(c.dispose()).toBe(outer);
    await outer;
    await delay(1);
    expect(handlerCalls).toBe(1);
    expect(cleanups).toBe(1);
    expect(sink.errors).toEqual([]);
  });

  it("a dependency requested just before dispose() never runs its factory; its resolve gets DISPOSED", async () => {
    const c = new ArtifactContainer({ name: "run" });
    let depRuns = 0;
    c.register({ key: "dep", factory: () => ++depRuns });
    let disposal: Promise<void> | undefined;
    let depResult: ResolveResult<unknown> | undefined;
    c.register({
      key: "app",
      factory: async (ctx) => {
        const dep = ctx.resolve("dep"); // the nested build starts on the next microtask
        disposal = c.dispose();
        depResult = await dep;
        return 0;
      },
    });
    const app = await c.resolve("app");
    await disposal;
    expect(depRuns).toBe(0);
    expect(depResult).toEqual({ ok: false, error: expect.objectContaining({ code: "DISPOSED" }) });
    expect(app).toEqual({ ok: false, error: expect.objectContaining({ code: "DISPOSED" }) });
  });

  it("a cleanup throwing a value that cannot become a string is reported as FACTORY_FAILED; the others still run", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ name: "run", onError: sink.onError });
    const log: string[] = [];
    const unprintable = Object.create(null);
    c.register({
      key: "a",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("registered first, runs last"));
        ctx.onCleanup(() => {
          throw unprintable;
        });
        return 1;
      },
    });
    await c.require("a");
    await expect(c.dispose()).resolves.toBeUndefined();
    expect(log).toEqual(["registered first, runs last"]);
    expect(sink.errors).toHaveLength(1);
    const error = sink.errors[0]!;
    expect(error).toBeInstanceOf(SystemError);
    expect(error.code).toBe("FACTORY_FAILED");
    expect(error.message).toMatch(/cleanup of artifact "a" in container "run" failed: \[object Object\]/);
    expect(error.cause).toBe(unprintable);
  });

  it("a cleanup throwing an Error whose message cannot become a string is reported too", async () => {
    const sink = errorSink();
    const c = new ArtifactContainer({ name: "run", onError: sink.onError });
    c.register({
      key: "a",
      factory: (ctx) => {
        ctx.onCleanup(() => {
          throw Object.assign(new Error("x"), { message: Object.create(null) });
        });
        return 1;
      },
    });
    await c.require("a");
    await c.invalidate("a");
    expect(sink.errors.map((e) => e.code)).toEqual(["FACTORY_FAILED"]);
  });
});

describe("dispose order after a select change", () => {
  /** A container on a store, with "db" (a singleton) logging its cleanup. */
  function withDb(): {
    store: ReturnType<typeof createStateStore<{ x: number }>>;
    c: ArtifactContainer;
    log: string[];
  } {
    const store = createStateStore<{ x: number }>({ x: 1 });
    const c = new ArtifactContainer({ store });
    const log: string[] = [];
    c.register({
      key: "db",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("db"));
        return {};
      },
    });
    return { store, c, log };
  }

  it("a retained transient whose selection changed is still cleaned before the singleton it was built from", async () => {
    const { store, c, log } = withDb();
    let n = 0;
    c.register({
      key: "conn",
      scope: "transient",
      factory: async (ctx) => {
        await ctx.require("db");
        ctx.select((s) => s.x);
        const id = ++n;
        ctx.onCleanup(() => void log.push(`conn${id}`));
        return {};
      },
    });
    await c.require("conn");
    store.set({ x: 2 }); // invalidates "conn": its record forgets what it read, instance 1 lives on
    await c.require("conn");
    store.set({ x: 3 });
    await delay(0);
    await c.dispose();
    expect(log).toEqual(["conn2", "conn1", "db"]);
  });

  it("a singleton replaced after a select change: dispose() waits for the old instance's cleanup before its dependency's", async () => {
    const { store, c, log } = withDb();
    c.register({
      key: "repo",
      factory: async (ctx) => {
        await ctx.require("db");
        const x = ctx.select((s) => s.x);
        ctx.onCleanup(async () => {
          if (x === 1) await delay(20); // the old instance is slow to let go
          log.push(`repo${x}`);
        });
        return {};
      },
    });
    await c.require("repo");
    store.set({ x: 2 }); // starts the old instance's cleanup, which takes 20 ms
    await c.require("repo");
    await c.dispose();
    expect(log).toEqual(["repo1", "repo2", "db"]);
  });
});

describe("dispose({ signal }): a cleanup that never settles", () => {
  const never = (): Promise<void> => new Promise<void>(() => {});

  /** "db" <- "repo" (whose cleanup never settles), and "cache", unrelated, built last. */
  async function withStuckRepo(onError: (e: SystemError) => void) {
    const c = new ArtifactContainer({ name: "app", onError });
    const log: string[] = [];
    c.register({
      key: "db",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("db"));
        return {};
      },
    });
    c.register({
      key: "repo",
      factory: async (ctx) => {
        await ctx.require("db");
        ctx.onCleanup(never);
        return {};
      },
    });
    c.register({
      key: "cache",
      factory: (ctx) => {
        ctx.onCleanup(async () => {
          await delay(5);
          log.push("cache");
        });
        return {};
      },
    });
    await c.require("repo");
    await c.require("cache");
    return { c, log };
  }

  it("waits for each cleanup in order until the signal aborts, then cleans the rest and resolves", async () => {
    const { errors, onError } = errorSink();
    const { c, log } = await withStuckRepo(onError);
    const controller = new AbortController();
    let resolved = false;
    const disposing = c.dispose({ signal: controller.signal }).then(() => void (resolved = true));
    await delay(30);
    // "cache" (built last) went first and was waited for; "repo" holds "db" back while it may run.
    expect(log).toEqual(["cache"]);
    expect(resolved).toBe(false);
    const reason = new SystemError("TIMEOUT", "gave up");
    controller.abort(reason);
    await Promise.race([disposing, delay(100)]);
    expect(resolved).toBe(true);
    expect(log).toEqual(["cache", "db"]);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({
      code: "ABORTED",
      cause: reason,
      details: { key: "repo", container: "app", phase: "cleanup" },
    });
    expect(errors[0]!.message).toMatch(
      /cleanup of artifact "repo" in container "app" had not settled when the signal given to dispose\(\) aborted; .*what "repo" was built from may be cleaned while this cleanup still runs/,
    );
  });

  it("an already aborted signal starts every cleanup in order without waiting; a late rejection is still reported", async () => {
    const { errors, onError } = errorSink();
    const c = new ArtifactContainer({ name: "app", onError });
    const log: string[] = [];
    c.register({
      key: "a",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("a"));
        return 1;
      },
    });
    c.register({
      key: "b",
      factory: async (ctx) => {
        await ctx.require("a");
        ctx.onCleanup(async () => {
          log.push("b started");
          await delay(5);
          throw new Error("b failed late");
        });
        return 2;
      },
    });
    await c.require("b");
    await c.dispose({ signal: AbortSignal.abort() });
    expect(log).toEqual(["b started", "a"]);
    expect(errors).toEqual([]);
    await delay(20);
    expect(errors.map((e) => [e.code, e.message])).toEqual([
      [
        "FACTORY_FAILED",
        'cleanup of artifact "b" in container "app" failed after its disposal stopped waiting for it: b failed late',
      ],
    ]);
  });

  it("a cleanup that rejects after the signal aborted is reported once more, as failed", async () => {
    const { errors, onError } = errorSink();
    const c = new ArtifactContainer({ name: "app", onError });
    let fail!: (error: Error) => void;
    c.register({
      key: "slow",
      factory: (ctx) => {
        ctx.onCleanup(() => new Promise<void>((_, reject) => (fail = reject)));
        return 1;
      },
    });
    await c.require("slow");
    const controller = new AbortController();
    const disposing = c.dispose({ signal: controller.signal });
    await delay(1);
    controller.abort();
    await disposing;
    fail(new Error("closed too late"));
    await delay(1);
    expect(errors.map((e) => e.code)).toEqual(["ABORTED", "FACTORY_FAILED"]);
    expect(errors[1]!.message).toContain("failed after its disposal stopped waiting for it: closed too late");
  });

  it("the signal reaches child scopes: a stuck cleanup in a scope does not hold the parent's disposal", async () => {
    const { errors, onError } = errorSink();
    const app = new ArtifactContainer({ name: "app", onError });
    const log: string[] = [];
    app.register({
      key: "db",
      factory: (ctx) => {
        ctx.onCleanup(() => void log.push("db"));
        return 1;
      },
    });
    const child = app.scope("orders");
    child.register({
      key: "queue",
      factory: (ctx) => {
        ctx.onCleanup(never);
        return 2;
      },
    });
    await app.require("db");
    await child.require("queue");
    const controller = new AbortController();
    let resolved = false;
    const disposing = app.dispose({ signal: controller.signal }).then(() => void (resolved = true));
    await delay(5);
    expect([log, resolved]).toEqual([[], false]); // the scope goes first, and is waited for
    controller.abort();
    await Promise.race([disposing, delay(100)]);
    expect([log, resolved]).toEqual([["db"], true]);
    expect(errors.map((e) => [e.code, e.details?.container])).toEqual([["ABORTED", "app/orders"]]);
  });

  it("options it cannot use reject with INVALID_INPUT and dispose nothing", async () => {
    const c = new ArtifactContainer();
    await expect(c.dispose({ signal: 5000 } as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: "dispose: options.signal must be an AbortSignal, such as AbortSignal.timeout(5000); got 5000",
    });
    await expect(c.dispose({ timeoutMs: 5000 } as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    await expect(c.dispose(null as never)).rejects.toMatchObject({ code: "INVALID_INPUT" });
    expect(c.disposed).toBe(false);
    await c.dispose({});
    expect(c.disposed).toBe(true);
  });
});
