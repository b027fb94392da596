import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay } from "./helpers.js";

describe("cycle detection", () => {
  it("fails at once with CIRCULAR_DEPENDENCY naming the whole cycle", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "a", factory: async (ctx) => ctx.require("b") });
    c.register({ key: "b", factory: async (ctx) => ctx.require("a") });
    const r = await c.resolve("a");
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.code).toBe("CIRCULAR_DEPENDENCY");
    expect(r.error.message).toContain("a → b → a");
    expect(r.error.details).toEqual({ cycle: ["a", "b", "a"] });
  });

  it("detects a cycle across awaits and through use()", async () => {
    const c = new ArtifactContainer();
    c.register({
      key: "a",
      factory: async (ctx) => {
        await delay(2);
        return ctx.use((d) => d.require("b"));
      },
    });
    c.register({
      key: "b",
      factory: async (ctx) => {
        await delay(2);
        return ctx.require("c");
      },
    });
    c.register({ key: "c", factory: async (ctx) => (await ctx.resolve("a")).ok });
    const started = Date.now();
    const r = await c.resolve("a");
    expect(Date.now() - started).toBeLessThan(1000);
    // c swallows the failure (resolve never rejects): a → b → c builds, but c saw the cycle.
    expect(r).toEqual({ ok: true, value: false });
  });

  it("detects a self-dependency and a cycle through a transient", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "self", factory: (ctx) => ctx.require("self") });
    c.register({ key: "t", scope: "transient", factory: (ctx) => ctx.require("s") });
    c.register({ key: "s", factory: (ctx) => ctx.require("t") });
    const self = await c.resolve("self");
    expect(self.ok ? "" : self.error.message).toContain("self → self");
    const s = await c.resolve("s");
    expect(s.ok ? "" : s.error.message).toContain("s → t → s");
  });

  it("detects a cycle between two builds started by separate callers (no hang)", async () => {
    const c = new ArtifactContainer();
    c.register({
      key: "a",
      factory: async (ctx) => {
        await delay(5);
        return ctx.require("b");
      },
    });
    c.register({
      key: "b",
      factory: async (ctx) => {
        await delay(5);
        return ctx.require("a");
      },
    });
    const [ra, rb] = await Promise.all([c.resolve("a"), c.resolve("b")]);
    for (const r of [ra, rb]) {
      expect(r.ok).toBe(false);
      if (!r.ok) expect(r.error.code).toBe("CIRCULAR_DEPENDENCY");
    }
  });

  it("param values are distinct nodes: fib(n) depending on fib(n-1) is not a cycle", async () => {
    const c = new ArtifactContainer();
    c.register({
      key: "fib",
      param: true,
      factory: async (ctx): Promise<number> => {
        const n = ctx.param as number;
        if (n < 2) return n;
        return (await ctx.require<number>("fib", n - 1)) + (await ctx.require<number>("fib", n - 2));
      },
    });
    expect(await c.require("fib", 30)).toBe(832040);
  });

  it("resolves a 3000-deep dependency chain without overflowing the stack", async () => {
    const c = new ArtifactContainer();
    const depth = 3000;
    c.register({ key: "n0", factory: () => 0 });
    for (let i = 1; i <= depth; i++) {
      c.register({ key: `n${i}`, factory: async (ctx) => (await ctx.require<number>(`n${i - 1}`)) + 1 });
    }
    expect(await c.require(`n${depth}`)).toBe(depth);
  });
});
