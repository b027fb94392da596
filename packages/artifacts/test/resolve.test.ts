import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay, gate } from "./helpers.js";

describe("resolve", () => {
  it("builds a singleton once even when resolved concurrently, sharing the in-flight build", async () => {
    const c = new ArtifactContainer();
    const g = gate();
    let builds = 0;
    c.register({
      key: "db",
      factory: async () => {
        builds++;
        await g.promise;
        return { id: builds };
      },
    });
    const all = Promise.all(Array.from({ length: 50 }, () => c.require<{ id: number }>("db")));
    await delay(1);
    g.open();
    const values = await all;
    expect(builds).toBe(1);
    expect(new Set(values).size).toBe(1);
    expect(await c.require("db")).toBe(values[0]);
  });

  it("treats async and sync factories alike", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "sync", factory: () => 1 });
    c.register({
      key: "async",
      factory: async (ctx) => {
        await delay(2);
        return (await ctx.require<number>("sync")) + 1;
      },
    });
    expect(await c.resolve("async")).toEqual({ ok: true, value: 2 });
  });

  it("builds a transient anew on every resolution and never caches it", async () => {
    const c = new ArtifactContainer();
    let n = 0;
    c.register({ key: "id", scope: "transient", factory: () => ++n });
    expect(await c.require("id")).toBe(1);
    expect(await c.require("id")).toBe(2);
    expect(c.peek("id")).toBeUndefined();
  });

  it("caches one instance per param value of a parameterised singleton", async () => {
    const c = new ArtifactContainer();
    const built: Array<string | number | undefined> = [];
    c.register({
      key: "client",
      param: true,
      factory: (ctx) => {
        built.push(ctx.param);
        return { region: ctx.param };
      },
    });
    const eu = await c.require("client", "eu");
    expect(await c.require("client", "eu")).toBe(eu);
    const us = await c.require("client", "us");
    expect(us).not.toBe(eu);
    await c.require("client", 1);
    await c.require("client", "1");
    expect(built).toEqual(["eu", "us", 1, "1"]);
    expect(c.peek("client", "us")).toBe(us);
    expect(c.peek("client", "ap")).toBeUndefined();
    const missing = await c.resolve("client");
    expect(missing.ok ? "" : missing.error.code).toBe("INVALID_INPUT");
    c.register({ key: "plain", factory: () => 1 });
    const extra = await c.resolve("plain", "x");
    expect(extra.ok ? "" : extra.error.message).toMatch(/not parameterised/);
  });

  it("resolve never rejects; require throws the SystemError; a plain throw becomes FACTORY_FAILED with cause", async () => {
    const c = new ArtifactContainer({ name: "app" });
    const boom = new Error("boom");
    c.register({
      key: "bad",
      factory: () => {
        throw boom;
      },
    });
    const r = await c.resolve("bad");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("FACTORY_FAILED");
    expect(r.error.cause).toBe(boom);
    expect(r.error.message).toMatch(/"bad".*"app".*boom/);
    await expect(c.require("bad")).rejects.toSatisfy((e) => SystemError.is(e, "FACTORY_FAILED"));
  });

  it("does not cache a failure: the next resolution builds again", async () => {
    const c = new ArtifactContainer();
    let calls = 0;
    c.register({
      key: "flaky",
      factory: () => {
        if (++calls === 1) throw new Error("first");
        return "ok";
      },
    });
    expect((await c.resolve("flaky")).ok).toBe(false);
    expect(await c.require("flaky")).toBe("ok");
  });

  it("NOT_FOUND names the key and every container searched", async () => {
    const global = new ArtifactContainer({ name: "global" });
    const wf = global.scope("orders");
    const run = new ArtifactContainer({ name: "run-1" }).extend(wf).extend(global);
    const r = await run.resolve("nope");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("NOT_FOUND");
    expect(r.error.message).toContain('"nope"');
    expect(r.error.message).toContain('"run-1" → "global/orders" → "global"');
  });

  it("peek is synchronous, never builds, and sees a parent's built singleton", async () => {
    const parent = new ArtifactContainer();
    let builds = 0;
    parent.register({ key: "cfg", factory: () => ({ n: ++builds }) });
    const child = new ArtifactContainer().extend(parent);
    expect(child.peek("cfg")).toBeUndefined();
    expect(builds).toBe(0);
    const cfg = await child.require("cfg");
    expect(child.peek("cfg")).toBe(cfg);
    expect(parent.peek("cfg")).toBe(cfg);
    expect(child.peek("unknown")).toBeUndefined();
  });

  it("use() hands resolve/require/select bound to the container, destructurable", async () => {
    const c = new ArtifactContainer<{ user: string }>({
      store: (await import("@sluice/store")).createStateStore({ user: "ada" }),
    });
    c.register({ key: "greeting", factory: () => "hello" });
    const text = await c.use(
      async ({ require, select }) => `${await require("greeting")} ${select((s) => s.user)}`,
    );
    expect(text).toBe("hello ada");
    await expect(
      c.use(() => {
        throw new Error("step failed");
      }),
    ).rejects.toThrow("step failed");
  });

  it("use() rejects a callback that is not a function with INVALID_INPUT saying what it takes", async () => {
    const c = new ArtifactContainer({ name: "c" });
    for (const notAFunction of ["notfn", undefined, null, { fn: () => 1 }]) {
      const pending = c.use(notAFunction as never);
      expect(pending).toBeInstanceOf(Promise);
      await expect(pending).rejects.toMatchObject({
        name: "SystemError",
        code: "INVALID_INPUT",
        message: expect.stringMatching(/^use: takes a function \(deps\) => \.\.\./),
      });
    }
    await expect(c.use("notfn" as never)).rejects.toThrow(/got "notfn"/);
    c.register({ key: "bad", factory: (ctx) => ctx.use(42 as never) });
    const result = await c.resolve("bad");
    expect(result.ok ? undefined : result.error).toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(
        /^ctx\.use in the factory of "bad": takes a function \(deps\) => \.\.\./,
      ),
    });
  });

  it("gives factories key, param, runId, state() and destructurable helpers", async () => {
    const { createStateStore } = await import("@sluice/store");
    const c = new ArtifactContainer({ store: createStateStore({ orderId: "A1" }), runId: "r-9" });
    c.register({ key: "dep", factory: () => 5 });
    c.register({
      key: "info",
      factory: async ({ key, param, runId, state, require }) => ({
        key,
        param,
        runId,
        orderId: state().orderId,
        dep: await require("dep"),
      }),
    });
    expect(await c.require("info")).toEqual({
      key: "info",
      param: undefined,
      runId: "r-9",
      orderId: "A1",
      dep: 5,
    });
  });
});
