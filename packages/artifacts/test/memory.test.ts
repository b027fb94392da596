import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";

const gc = (globalThis as { gc?: () => void }).gc;

function heapAfterGc(): number {
  gc!();
  gc!();
  return process.memoryUsage().heapUsed;
}

describe("transient retention", () => {
  it("runs with --expose-gc (see vitest.config.ts)", () => {
    expect(typeof gc).toBe("function");
  });

  it("keeps nothing of 100k transient resolutions that registered no cleanup", async () => {
    const c = new ArtifactContainer();
    c.register({ key: "dep", factory: () => "shared" });
    // Each instance is ~8 KB, so retaining them would grow the heap by ~800 MB.
    c.register({
      key: "big",
      scope: "transient",
      factory: async (ctx) => ({ dep: await ctx.require("dep"), payload: new Array(1000).fill(ctx.key) }),
    });
    await c.require("big");
    const before = heapAfterGc();
    for (let i = 0; i < 100_000; i++) await c.resolve("big");
    const after = heapAfterGc();
    const info = c.debugInfo();
    expect(info.retainedTransients).toBe(0);
    const big = info.artifacts.find((a) => a.key === "big")!;
    expect(big.buildCount).toBe(100_001);
    expect(big.dependencies).toEqual(["dep"]);
    expect(info.artifacts.find((a) => a.key === "dep")!.dependents).toEqual(["big"]);
    expect(after - before).toBeLessThan(8 * 1024 * 1024);
  });

  it("keeps exactly the transients that registered a cleanup, and releases them at dispose", async () => {
    const c = new ArtifactContainer();
    let cleaned = 0;
    c.register({
      key: "handle",
      scope: "transient",
      factory: (ctx) => {
        ctx.onCleanup(() => {
          cleaned++;
        });
        return {};
      },
    });
    for (let i = 0; i < 1000; i++) await c.resolve("handle");
    expect(c.debugInfo().retainedTransients).toBe(1000);
    await c.dispose();
    expect(cleaned).toBe(1000);
    expect(c.debugInfo().retainedTransients).toBe(0);
  });

  it("a disposed container and its instances are collectable (no global registry keeps them)", async () => {
    const global = new ArtifactContainer({ name: "global" });
    global.register({ key: "cfg", factory: () => ({}) });
    let ref: WeakRef<object> | undefined;
    await (async () => {
      const run = new ArtifactContainer({ name: "run" }).extend(global);
      run.register({
        key: "svc",
        factory: async (ctx) => ({ cfg: await ctx.require("cfg"), big: new Array(1e5) }),
      });
      ref = new WeakRef((await run.require("svc")) as object);
      await run.dispose();
    })();
    await new Promise((r) => setTimeout(r, 0));
    heapAfterGc();
    expect(ref!.deref()).toBeUndefined();
  });
});
