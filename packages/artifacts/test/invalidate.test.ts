import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay, gate } from "./helpers.js";

describe("invalidate", () => {
  it("drops the cached value, runs its cleanup, and cascades to dependents (dependents first)", async () => {
    const c = new ArtifactContainer();
    const log: string[] = [];
    let v = 0;
    c.register({
      key: "config",
      factory: (ctx) => {
        const n = ++v;
        ctx.onCleanup(() => void log.push(`config${n}`));
        return n;
      },
    });
    c.register({
      key: "client",
      factory: async (ctx) => {
        const n = await ctx.require<number>("config");
        ctx.onCleanup(() => void log.push(`client${n}`));
        return `client@${n}`;
      },
    });
    c.register({ key: "unrelated", factory: () => "u" });
    const invalidated: string[] = [];
    c.on("artifact:invalidated", (e) => invalidated.push(`${e.key}:${e.reason}`));
    await c.require("client");
    await c.require("unrelated");
    await c.invalidate("config");
    expect(log).toEqual(["client1", "config1"]);
    expect(invalidated).toEqual(["client:dependency", "config:manual"]);
    expect(c.peek("client")).toBeUndefined();
    expect(c.peek("unrelated")).toBe("u");
    expect(await c.require("client")).toBe("client@2");
  });

  it("rebuild: true rebuilds the artifact and its dependents that were built", async () => {
    const c = new ArtifactContainer();
    let v = 0;
    c.register({ key: "config", factory: () => ++v });
    c.register({ key: "client", factory: async (ctx) => `client@${await ctx.require("config")}` });
    await c.require("client");
    await c.invalidate("config", { rebuild: true });
    expect(c.peek("config")).toBe(2);
    expect(c.peek("client")).toBe("client@2");
  });

  it("tracks dependencies read through use() and resolve()", async () => {
    const c = new ArtifactContainer();
    let v = 0;
    c.register({ key: "a", factory: () => ++v });
    c.register({ key: "viaUse", factory: (ctx) => ctx.use(async (d) => `u${await d.require("a")}`) });
    c.register({
      key: "viaResolve",
      factory: async (ctx) => {
        const r = await ctx.resolve<number>("a");
        return r.ok ? `r${r.value}` : "none";
      },
    });
    await c.require("viaUse");
    await c.require("viaResolve");
    await c.invalidate("a");
    expect(c.peek("viaUse")).toBeUndefined();
    expect(c.peek("viaResolve")).toBeUndefined();
  });

  it("rejects NOT_FOUND for a key registered only in a parent", async () => {
    const parent = new ArtifactContainer({ name: "global" });
    parent.register({ key: "shared", factory: () => 1 });
    const run = new ArtifactContainer({ name: "run" }).extend(parent);
    await expect(run.invalidate("shared")).rejects.toMatchObject({
      code: "NOT_FOUND",
      message: expect.stringContaining('registered in container "global"'),
    });
  });

  it("a build invalidated while in flight is discarded and run again; waiters get the fresh value", async () => {
    const c = new ArtifactContainer();
    const g = gate();
    let v = 0;
    c.register({ key: "dep", factory: () => ++v });
    c.register({
      key: "slow",
      factory: async (ctx) => {
        const d = await ctx.require<number>("dep");
        if (d === 1) await g.promise;
        return `slow@${d}`;
      },
    });
    const pending = c.require("slow");
    await delay(2);
    await c.invalidate("dep");
    g.open();
    expect(await pending).toBe("slow@2");
  });
});

describe("state selection", () => {
  it("invalidates an artifact when the slice it selected changes (Object.is), not on other changes", async () => {
    const store = createStateStore({ userId: "u1", other: 0 });
    const c = new ArtifactContainer({ store });
    let builds = 0;
    c.register({
      key: "profile",
      factory: (ctx) => {
        builds++;
        return { id: ctx.select((s) => s.userId) };
      },
    });
    c.register({
      key: "view",
      factory: async (ctx) => `view:${(await ctx.require<{ id: string }>("profile")).id}`,
    });
    expect(await c.require("view")).toBe("view:u1");
    store.set({ other: 1 });
    expect(c.peek("view")).toBe("view:u1");
    store.set({ userId: "u1" });
    expect(c.peek("profile")).toBeDefined();
    store.set({ userId: "u2" });
    expect(c.peek("profile")).toBeUndefined();
    expect(c.peek("view")).toBeUndefined();
    expect(await c.require("view")).toBe("view:u2");
    expect(builds).toBe(2);
  });

  it("subscribes to the store lazily, only while selecting artifacts exist", async () => {
    const store = createStateStore({ n: 1 });
    const c = new ArtifactContainer({ store });
    c.register({ key: "plain", factory: (ctx) => ctx.state().n });
    c.register({ key: "sel", factory: (ctx) => ctx.select((s) => s.n) });
    await c.require("plain");
    expect(c.debugInfo().storeSubscribed).toBe(false);
    await c.require("sel");
    expect(c.debugInfo().storeSubscribed).toBe(true);
    store.set({ n: 2 });
    expect(c.debugInfo().storeSubscribed).toBe(false);
    expect(await c.require("sel")).toBe(2);
    expect(c.debugInfo().storeSubscribed).toBe(true);
    await c.dispose();
    expect(c.debugInfo().storeSubscribed).toBe(false);
  });

  it("select through use() on the container reads but never tracks", async () => {
    const store = createStateStore({ n: 1 });
    const c = new ArtifactContainer({ store });
    expect(await c.use((d) => d.select((s) => s.n))).toBe(1);
    expect(c.debugInfo().storeSubscribed).toBe(false);
  });
});

describe("state selection and dispose", () => {
  it("a factory selecting after its container was disposed gets DISPOSED and never resubscribes to the store", async () => {
    const store = createStateStore({ n: 1 });
    const c = new ArtifactContainer({ name: "run", store });
    c.register({
      key: "t",
      scope: "transient",
      factory: async (ctx) => {
        await delay(5);
        return ctx.select((s) => s.n);
      },
    });
    const pending = c.resolve("t");
    await c.dispose();
    const r = await pending;
    expect(r.ok).toBe(false);
    if (!r.ok) expect(r.error.code).toBe("DISPOSED");
    expect(c.debugInfo().storeSubscribed).toBe(false);
    store.set({ n: 2 }); // nothing may be listening any more
    expect(c.debugInfo().storeSubscribed).toBe(false);
  });

  it("select through a use() context kept past dispose() throws DISPOSED", async () => {
    const store = createStateStore({ n: 1 });
    const c = new ArtifactContainer({ name: "run", store });
    const deps = await c.use((d) => d);
    await c.dispose();
    expect(() => deps.select((s) => s.n)).toThrow(expect.objectContaining({ code: "DISPOSED" }));
  });
});

describe("stale restarts", () => {
  it("a build that gave up after too many stale restarts waits on nothing: no false CIRCULAR_DEPENDENCY later", async () => {
    const c = new ArtifactContainer({ name: "run" });
    const bGate = gate();
    const aGate = gate();
    let giveUpPhase = true;
    // "a" keeps invalidating itself mid-build, so it gives up with INVALID_STATE, while it is
    // (each time) waiting on "b", which is still building.
    c.register({
      key: "a",
      factory: async (ctx) => {
        if (giveUpPhase) {
          void ctx.resolve("b");
          void c.invalidate("a");
          return "stale";
        }
        await aGate.promise;
        return "a";
      },
    });
    c.register({
      key: "b",
      factory: async (ctx) => {
        await bGate.promise;
        return `b+${await ctx.require("x")}`;
      },
    });
    c.register({ key: "x", factory: async (ctx) => `x+${await ctx.require("a")}` });

    // "b" is started by its own caller, so no chain runs from "a" through it.
    const b = c.resolve("b");
    const first = await c.resolve("a");
    expect(first.ok).toBe(false);
    if (!first.ok) expect(first.error.code).toBe("INVALID_STATE");

    // Now "a" builds again without touching "b"; "b" goes on to need "x", which needs "a".
    giveUpPhase = false;
    const a = c.resolve("a");
    bGate.open();
    await delay(5);
    aGate.open();
    expect(await a).toEqual({ ok: true, value: "a" });
    expect(await b).toEqual({ ok: true, value: "b+x+a" });
  });
});
