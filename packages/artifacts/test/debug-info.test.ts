import { describe, expect, it } from "vitest";
import { ArtifactContainer } from "../src/index.js";
import { delay, gate } from "./helpers.js";

describe("debugInfo", () => {
  it("reports key, scope, status, dependencies, dependents, buildCount and lastError for every artifact", async () => {
    const parent = new ArtifactContainer({ name: "global" });
    parent.register({ key: "cfg", factory: () => 1 });
    const c = new ArtifactContainer({ name: "run" }).extend(parent);
    const g = gate();
    c.register({ key: "db", factory: async (ctx) => `db${await ctx.require("cfg")}` });
    c.register({ key: "repo", factory: async (ctx) => `repo(${await ctx.require("db")})` });
    c.register({ key: "idle", factory: () => 0 });
    c.register({
      key: "bad",
      factory: () => {
        throw new Error("nope");
      },
    });
    c.register({ key: "slow", factory: () => g.promise });
    c.register({ key: "t", scope: "transient", factory: () => ({}) });
    c.register({ key: "p", param: true, factory: (ctx) => ctx.param });
    await c.require("repo");
    await c.resolve("bad");
    void c.resolve("slow");
    await c.require("t");
    await c.require("t");
    await c.require("p", "x");
    await c.invalidate("idle");
    await delay(1);
    const info = c.debugInfo();
    expect(info.name).toBe("run");
    expect(info.parents).toEqual(["global"]);
    const byKey = Object.fromEntries(info.artifacts.map((a) => [a.key, a]));
    expect(byKey["db"]).toMatchObject({
      scope: "singleton",
      status: "ready",
      dependencies: ["cfg@global"],
      dependents: ["repo"],
      buildCount: 1,
      lastError: undefined,
    });
    expect(byKey["repo"]).toMatchObject({ status: "ready", dependencies: ["db"], dependents: [] });
    expect(byKey["idle"]!.status).toBe("registered");
    expect(byKey["bad"]!.status).toBe("failed");
    expect(byKey["bad"]!.lastError).toEqual({
      code: "FACTORY_FAILED",
      message: expect.stringContaining("nope"),
    });
    expect(byKey["slow"]!.status).toBe("building");
    expect(byKey["t"]).toMatchObject({ scope: "transient", buildCount: 2, retainedInstances: 0 });
    expect(byKey["p"]).toMatchObject({ parameterised: true, status: "ready" });
    expect(byKey["p"]!.instances).toEqual([
      { param: "x", status: "ready", buildCount: 1, dependencies: [], dependents: [], lastError: undefined },
    ]);
    await c.invalidate("db");
    const after = Object.fromEntries(c.debugInfo().artifacts.map((a) => [a.key, a.status]));
    expect(after["db"]).toBe("invalidated");
    expect(after["repo"]).toBe("invalidated");
    expect(parent.debugInfo().artifacts[0]!.dependents).toEqual([]);
    g.open();
  });
});
