import { createStateStore } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { ArtifactContainer, ScopedContainer } from "../src/index.js";

describe("scopes and parents", () => {
  it("a scope sees its own registrations first, then the parent's; siblings never see each other", async () => {
    const global = new ArtifactContainer({ name: "global" });
    global.register({ key: "greeting", factory: () => "hello" });
    const a = global.scope("a");
    const b = global.scope("b");
    expect(a).toBeInstanceOf(ScopedContainer);
    expect(a.parent).toBe(global);
    expect(a.name).toBe("global/a");
    a.register({ key: "greeting", factory: () => "hi from a" });
    a.register({ key: "onlyA", factory: () => "a" });
    expect(await a.require("greeting")).toBe("hi from a");
    expect(await b.require("greeting")).toBe("hello");
    expect((await b.resolve("onlyA")).ok).toBe(false);
    expect((await global.resolve("onlyA")).ok).toBe(false);
  });

  it("builds a parent's singleton once, in the parent, against the parent's store", async () => {
    const globalStore = createStateStore({ tenant: "acme", secret: undefined as string | undefined });
    const global = new ArtifactContainer({ name: "global", store: globalStore });
    let builds = 0;
    global.register({
      key: "workflowService",
      factory: (ctx) => {
        builds++;
        return {
          sees: ctx.select((s: any) => s.secret ?? "nothing"),
          tenant: ctx.select((s: any) => s.tenant),
        };
      },
    });
    const runA = new ArtifactContainer({
      name: "runA",
      store: createStateStore({ secret: "A-state" }),
    }).extend(global);
    const runB = new ArtifactContainer({
      name: "runB",
      store: createStateStore({ secret: "B-state" }),
    }).extend(global);
    const fromA = await runA.require("workflowService");
    const fromB = await runB.require("workflowService");
    expect(fromA).toEqual({ sees: "nothing", tenant: "acme" });
    expect(fromB).toBe(fromA);
    expect(builds).toBe(1);
    expect(global.peek("workflowService")).toBe(fromA);
  });

  it("the run pattern: run services see run state, fall back to workflow then global", async () => {
    const global = new ArtifactContainer({ name: "global" });
    global.register({ key: "api", factory: () => "global-api" });
    const wf = global.scope("orders");
    wf.register({ key: "config", factory: () => ({ region: "eu" }) });
    const runStore = createStateStore({ orderId: "o-1" });
    const run = new ArtifactContainer({ name: "run-1", store: runStore, runId: "run-1" })
      .extend(wf)
      .extend(global);
    run.register({
      key: "order",
      factory: async (ctx) => ({
        id: ctx.select((s) => s.orderId),
        region: (await ctx.require<{ region: string }>("config")).region,
        api: await ctx.require("api"),
        runId: ctx.runId,
      }),
    });
    expect(await run.require("order")).toEqual({
      id: "o-1",
      region: "eu",
      api: "global-api",
      runId: "run-1",
    });
    expect(run.debugInfo().artifacts[0]!.dependencies).toEqual(["config@global/orders", "api@global"]);
  });

  it("searches several parents in extend() order", async () => {
    const p1 = new ArtifactContainer({ name: "p1" });
    const p2 = new ArtifactContainer({ name: "p2" });
    p1.register({ key: "x", factory: () => "from p1" });
    p2.register({ key: "x", factory: () => "from p2" });
    p2.register({ key: "y", factory: () => "y from p2" });
    const c = new ArtifactContainer().extend(p1).extend(p2);
    expect(await c.require("x")).toBe("from p1");
    expect(await c.require("y")).toBe("y from p2");
  });

  it("refuses an extend() that would make containers fall back to each other", () => {
    const a = new ArtifactContainer({ name: "a" });
    const b = new ArtifactContainer({ name: "b" }).extend(a);
    expect(() => a.extend(b)).toThrow(expect.objectContaining({ code: "CIRCULAR_DEPENDENCY" }));
    expect(() => a.extend(a)).toThrow(expect.objectContaining({ code: "CIRCULAR_DEPENDENCY" }));
    expect(() => a.extend({} as never)).toThrow(expect.objectContaining({ code: "INVALID_INPUT" }));
  });

  it("invalidating a parent's artifact invalidates dependents in child containers", async () => {
    const global = new ArtifactContainer({ name: "global" });
    let v = 0;
    global.register({ key: "cfg", factory: () => ++v });
    const run = new ArtifactContainer({ name: "run" }).extend(global);
    run.register({ key: "svc", factory: async (ctx) => `svc@${await ctx.require("cfg")}` });
    expect(await run.require("svc")).toBe("svc@1");
    await global.invalidate("cfg");
    expect(run.peek("svc")).toBeUndefined();
    expect(await run.require("svc")).toBe("svc@2");
  });

  it("a disposed run leaves no edges behind in the shared parent", async () => {
    const global = new ArtifactContainer({ name: "global" });
    global.register({ key: "cfg", factory: () => 1 });
    for (let i = 0; i < 20; i++) {
      const run = new ArtifactContainer({ name: `run-${i}` }).extend(global);
      run.register({ key: "svc", factory: (ctx) => ctx.require("cfg") });
      await run.require("svc");
      await run.dispose();
    }
    expect(global.debugInfo().artifacts[0]!.dependents).toEqual([]);
  });
});

describe("scope options and lifetime", () => {
  it("a scope may have its own store and runId; by default it shares the parent's", async () => {
    const parentStore = createStateStore({ who: "parent" });
    const parent = new ArtifactContainer({ store: parentStore, runId: "p" });
    const shared = parent.scope("shared");
    const own = parent.scope("own", { store: createStateStore({ who: "own" }), runId: "r-own" });
    for (const c of [shared, own])
      c.register({ key: "who", factory: (ctx) => `${ctx.state().who}/${ctx.runId}` });
    expect(await shared.require("who")).toBe("parent/p");
    expect(await own.require("who")).toBe("own/r-own");
  });

  it("a scope disposed on its own is no longer disposed (again) with its parent", async () => {
    const parent = new ArtifactContainer();
    let cleaned = 0;
    const child = parent.scope("c");
    child.register({
      key: "x",
      factory: (ctx) => {
        ctx.onCleanup(() => {
          cleaned++;
        });
        return 1;
      },
    });
    await child.require("x");
    await child.dispose();
    await parent.dispose();
    expect(cleaned).toBe(1);
  });

  it("a dependency's SystemError keeps its code through the dependent", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "slow", timeoutMs: 5, factory: () => new Promise((r) => setTimeout(r, 50)) });
    c.register({ key: "user", factory: (ctx) => ctx.require("slow") });
    const r = await c.resolve("user");
    expect(r.ok ? "" : r.error.code).toBe("TIMEOUT");
  });
});
