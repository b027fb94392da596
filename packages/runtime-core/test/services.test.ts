import { afterEach, describe, expect, it } from "vitest";
import type { Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** A workflow whose one step resolves every listed key and records what it got. */
function probe(id: string, keys: string[], extra: Partial<Workflow> = {}): Workflow {
  return {
    id,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "probe",
                action: async (ctx) => {
                  const seen: Record<string, unknown> = {};
                  for (const key of keys) {
                    const r = await ctx.use((d) => d.resolve(key));
                    seen[key] = r.ok ? r.value : `missing:${r.error.code}`;
                  }
                  return { seen };
                },
              },
            ],
          },
        ],
      },
    },
    ...extra,
  };
}

async function seen(workflowId: string, payload: Record<string, unknown> = {}) {
  const r = await h.runtime.invoke(workflowId, "go", payload);
  if (!r.ok) throw r.error;
  return r.value.state.seen as Record<string, unknown>;
}

describe("services and scopes", () => {
  it("global services are singletons shared by every workflow", async () => {
    let builds = 0;
    h = await harness({ services: [{ id: "api", factory: () => ({ n: ++builds }) }] });
    await h.runtime.register(probe("a", ["api"]));
    await h.runtime.register(probe("b", ["api"]));
    expect((await seen("a")).api).toEqual({ n: 1 });
    expect((await seen("b")).api).toEqual({ n: 1 });
    expect(builds).toBe(1);
  });

  it("workflow-scoped services are shared across runs of one workflow and invisible to others", async () => {
    h = await harness();
    let builds = 0;
    await h.runtime.register(
      probe("a", ["config"], {
        services: [{ id: "config", scope: "workflow", factory: () => ({ n: ++builds }) }],
      }),
    );
    await h.runtime.register(probe("b", ["config"]));
    expect((await seen("a")).config).toEqual({ n: 1 });
    expect((await seen("a")).config).toEqual({ n: 1 });
    expect((await seen("b")).config).toBe("missing:NOT_FOUND");
  });

  it("run-scoped services are built once per run, read run state, and are cleaned up when the run ends", async () => {
    h = await harness();
    const cleaned: string[] = [];
    await h.runtime.register(
      probe("a", ["profile", "profile"], {
        services: [
          {
            id: "profile",
            scope: "run",
            factory: async (ctx) => {
              const user = await ctx.use((d) => d.select((s: { user?: string }) => s.user));
              ctx.onCleanup(() => void cleaned.push(String(user)));
              return { user };
            },
          },
        ],
      }),
    );
    expect((await seen("a", { user: "ann" })).profile).toEqual({ user: "ann" });
    expect((await seen("a", { user: "bob" })).profile).toEqual({ user: "bob" });
    expect(cleaned).toEqual(["ann", "bob"]);
  });

  it("a run-scoped service that selected run state is rebuilt when a step changes that state", async () => {
    // The seed: run services "can use deps.select() to read pipeline state and react to state changes".
    h = await harness();
    const cleaned: string[] = [];
    let builds = 0;
    await h.runtime.register({
      ...probe("r", []),
      services: [
        {
          id: "profile",
          scope: "run",
          factory: async (ctx) => {
            const user = await ctx.use((d) => d.select((s: { user?: string }) => s.user));
            const build = ++builds;
            ctx.onCleanup(() => void cleaned.push(`${user}#${build}`));
            return { user, build };
          },
        },
      ],
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "before",
                  action: async (ctx) => ({ before: await ctx.use((d) => d.require("profile")) }),
                },
                { id: "switch", action: () => ({ user: "bob" }) },
                {
                  id: "after",
                  action: async (ctx) => ({ after: await ctx.use((d) => d.require("profile")) }),
                },
                {
                  id: "again",
                  action: async (ctx) => ({ again: await ctx.use((d) => d.require("profile")) }),
                },
              ],
            },
          ],
        },
      },
    });
    const r = await h.runtime.invoke("r", "go", { user: "ann" });
    expect(r.ok && r.value.state).toMatchObject({
      before: { user: "ann", build: 1 },
      after: { user: "bob", build: 2 },
      again: { user: "bob", build: 2 },
    });
    // the stale instance was cleaned up when it was invalidated, the current one when the run ended
    expect(cleaned).toEqual(["ann#1", "bob#2"]);
  });

  it("a transient built from a run service, whose selection a step then changed, is released before that service at the run's end", async () => {
    h = await harness();
    const log: string[] = [];
    await h.runtime.register({
      ...probe("r", []),
      services: [
        {
          id: "db",
          scope: "run",
          factory: (ctx) => {
            ctx.onCleanup(() => void log.push("db closed"));
            return {};
          },
        },
        {
          id: "conn",
          scope: "transient",
          factory: async (ctx) => {
            await ctx.require("db");
            ctx.select((s: { tenant?: string }) => s.tenant);
            ctx.onCleanup(() => void log.push("conn released"));
            return {};
          },
        },
      ],
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                { id: "use", action: async (ctx) => void (await ctx.use((d) => d.require("conn"))) },
                { id: "switch", action: () => ({ tenant: "t2" }) }, // invalidates the transient; the instance stays
              ],
            },
          ],
        },
      },
    });
    const r = await h.runtime.invoke("r", "go", { tenant: "t1" });
    expect(r.ok).toBe(true);
    expect(log).toEqual(["conn released", "db closed"]);
  });

  it("transient services are new on every resolution", async () => {
    h = await harness();
    let n = 0;
    await h.runtime.register(
      probe("a", ["id1"], { services: [{ id: "id1", scope: "transient", factory: () => ++n }] }),
    );
    await h.runtime.register({
      ...probe("t", []),
      services: [{ id: "seq", scope: "transient", factory: () => ++n }],
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: async (ctx) => ({
                    a: await ctx.use((d) => d.require("seq")),
                    b: await ctx.use((d) => d.require("seq")),
                  }),
                },
              ],
            },
          ],
        },
      },
    });
    const r = await h.runtime.invoke("t", "go", {});
    expect(r.ok && [r.value.state.a, r.value.state.b]).toEqual([1, 2]);
  });

  it("workflow-scoped services cannot see run state", async () => {
    h = await harness();
    await h.runtime.register(
      probe("a", ["cfg"], {
        services: [
          {
            id: "cfg",
            scope: "workflow",
            factory: async (ctx) => ({
              user: await ctx.use((d) => d.select((s: { user?: string }) => s.user)),
            }),
          },
        ],
      }),
    );
    expect((await seen("a", { user: "ann" })).cfg).toEqual({ user: undefined });
  });
});

describe("eager services (lazy: false)", () => {
  it("build at once and may need __env__ and services listed after them, globally and per workflow", async () => {
    const built: string[] = [];
    h = await harness({
      env: { URL: "pg://global" },
      services: [
        {
          id: "repo",
          lazy: false,
          factory: async (ctx) => {
            const db = await ctx.require<string>("db");
            built.push(`repo over ${db}`);
            return { db };
          },
        },
        {
          id: "db",
          factory: async (ctx) => (await ctx.require<{ get(key: string): string }>("__env__")).get("URL"),
        },
      ],
    });
    await h.runtime.register(
      probe("w", ["cache"], {
        env: { URL: "pg://workflow" },
        services: [
          {
            id: "cache",
            lazy: false,
            factory: async (ctx) => {
              const store = await ctx.require<string>("store");
              built.push(`cache over ${store}`);
              return store;
            },
          },
          {
            id: "store",
            factory: async (ctx) => (await ctx.require<{ get(key: string): string }>("__env__")).get("URL"),
          },
        ],
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(h.errors).toEqual([]);
    expect(built.sort()).toEqual(["cache over pg://workflow", "repo over pg://global"]);
  });

  it("a failing eager service is reported once, and built again when a run needs it", async () => {
    let attempts = 0;
    h = await harness({
      services: [
        {
          id: "flaky",
          lazy: false,
          factory: () => {
            attempts++;
            if (attempts === 1) throw new Error("not yet");
            return "ok";
          },
        },
      ],
    });
    await h.runtime.register(probe("w", ["flaky"]));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(h.errors.map((e) => e.code)).toEqual(["FACTORY_FAILED"]);
    const result = await h.runtime.invoke("w", "go", {});
    expect(result.ok && result.value.state).toEqual({ seen: { flaky: "ok" } });
    expect(attempts).toBe(2);
  });
});

describe("run services across a pause window", () => {
  it("a resume builds a released run's services again only once the released instances are disposed", async () => {
    const log: string[] = [];
    let n = 0;
    h = await harness();
    const useLock = async (ctx: { use: (fn: (d: any) => unknown) => Promise<unknown> }) => {
      log.push(`using #${await ctx.use((d) => d.require("lock"))}`);
    };
    await h.runtime.register(
      {
        id: "locked",
        triggers: { go: { event: "locked.go", pipeline: "p" } },
        services: [
          {
            id: "lock",
            scope: "run",
            factory: (ctx) => {
              const i = ++n;
              log.push(`acquire #${i}`);
              ctx.onCleanup(async () => {
                await new Promise((resolve) => setTimeout(resolve, 30));
                log.push(`release #${i}`);
              });
              return i;
            },
          },
        ],
        pipelines: {
          p: {
            stages: [
              {
                id: "first",
                steps: [
                  {
                    id: "a",
                    action: async (ctx) => {
                      await useLock(ctx);
                      const pause = await ctx.use((d) => d.require<any>("__pause_service__"));
                      pause.register({ event: "locked.on" });
                    },
                  },
                ],
              },
              { id: "second", steps: [{ id: "b", action: useLock }] },
            ],
          },
        },
      },
      { pauseWindowMs: 0 },
    );
    const paused = await h.runtime.invoke("locked", "go", {});
    await new Promise((resolve) => setTimeout(resolve, 5)); // the window has passed: lock #1 is being released
    const result = await h.runtime.resume(paused.metadata.runId!);
    expect(result.ok && result.value.status).toBe("completed");
    expect(log).toEqual(["acquire #1", "using #1", "release #1", "acquire #2", "using #2", "release #2"]);
  });
});

describe("run services after the run", () => {
  it("a step context kept past its run's end: use() rejects INVALID_STATE (never throws), and a failing run service names its run's container", async () => {
    let kept: { use: (fn: (d: any) => unknown) => Promise<unknown> } | undefined;
    h = await harness();
    await h.runtime.register(
      probe("kept", ["broken"], {
        services: [
          {
            id: "broken",
            scope: "run",
            factory: () => {
              throw new Error("no connection");
            },
          },
          { id: "conn", scope: "run", factory: () => "c" },
        ],
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "a",
                    action: async (ctx) => {
                      kept = ctx;
                      const r = await ctx.use((d) => d.resolve("broken"));
                      return { message: r.ok ? "" : r.error.message };
                    },
                  },
                ],
              },
            ],
          },
        },
      }),
    );
    const result = await h.runtime.invoke("kept", "go", {});
    const runId = result.metadata.runId!;
    expect(result.ok && result.value.state).toEqual({
      message: `factory of artifact "broken" in container "run:${runId}" failed: no connection`,
    });
    let used: Promise<unknown> | undefined;
    expect(() => {
      used = kept!.use((d) => d.require("conn"));
    }).not.toThrow();
    await expect(used).rejects.toMatchObject({ code: "INVALID_STATE" });
  });
  it("without run services too: a kept step context's use() rejects INVALID_STATE once its run has ended, rather than lending workflow services to nothing", async () => {
    let kept: { use: (fn: (d: any) => unknown) => Promise<unknown> } | undefined;
    h = await harness();
    await h.runtime.register(
      probe("kept-plain", [], {
        services: [{ id: "db", scope: "workflow", factory: () => "db" }],
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "a",
                    action: async (ctx) => {
                      kept = ctx;
                      return { db: await ctx.use((d) => d.require("db")) };
                    },
                  },
                ],
              },
            ],
          },
        },
      }),
    );
    const result = await h.runtime.invoke("kept-plain", "go", {});
    expect(result.ok && result.value.state).toEqual({ db: "db" });
    await expect(kept!.use((d) => d.require("db"))).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: `run ${result.metadata.runId} is completed: its services are not available`,
    });
  });
});

describe("__env__", () => {
  it("resolves the workflow layer, then the global layer, then undefined; read-only", async () => {
    h = await harness({ env: { REGION: "us", DB: "global-db" } });
    const read: Record<string, unknown> = {};
    const envProbe = (id: string, env?: Record<string, string>): Workflow => ({
      ...probe(id, []),
      ...(env && { env }),
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: async (ctx) => {
                    const e = await ctx.use((d) =>
                      d.require<{ get(k: string): string | undefined }>("__env__"),
                    );
                    read[id] = {
                      REGION: e.get("REGION"),
                      DB: e.get("DB"),
                      NOPE: e.get("NOPE"),
                      prop: (e as unknown as Record<string, unknown>).REGION,
                      frozen: Object.isFrozen(e),
                    };
                    expect(() => {
                      (e as unknown as Record<string, unknown>).get = () => "hacked";
                    }).toThrow();
                  },
                },
              ],
            },
          ],
        },
      },
    });
    await h.runtime.register(envProbe("eu", { REGION: "eu" }));
    await h.runtime.register(envProbe("plain"));
    expect((await h.runtime.invoke("eu", "go", {})).ok).toBe(true);
    expect((await h.runtime.invoke("plain", "go", {})).ok).toBe(true);
    expect(read.eu).toEqual({
      REGION: "eu",
      DB: "global-db",
      NOPE: undefined,
      prop: undefined,
      frozen: true,
    });
    expect(read.plain).toEqual({
      REGION: "us",
      DB: "global-db",
      NOPE: undefined,
      prop: undefined,
      frozen: true,
    });
  });
});
