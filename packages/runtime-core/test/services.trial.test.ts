import { afterEach, describe, expect, it } from "vitest";
import type { StepDefinition, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

let h: Harness | undefined;
afterEach(async () => {
  await h?.runtime.stop();
  h = undefined;
});

/** A one-stage workflow `id`, triggered by `${id}.go`, running `steps`. */
function flow(id: string, steps: StepDefinition<any>[], extra: Partial<Workflow<any>> = {}): Workflow<any> {
  return {
    id,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: { p: { stages: [{ id: "s", steps }] } },
    ...extra,
  };
}

describe("run state changed while a step runs", () => {
  it("signal(): the run service's old instance is cleaned at once, the new one built at the next require", async () => {
    h = await harness();
    const gate = deferred();
    const log: string[] = [];
    await h.runtime.register(
      flow(
        "sig",
        [
          {
            id: "x",
            action: async (ctx) => {
              log.push(`got n=${(await ctx.use((d) => d.require<{ n: number }>("view"))).n}`);
              await gate.promise;
              log.push(`got n=${(await ctx.use((d) => d.require<{ n: number }>("view"))).n}`);
            },
          },
        ],
        {
          services: [
            {
              id: "view",
              scope: "run",
              factory: (ctx) => {
                const n = ctx.select((s: { n: number }) => s.n);
                log.push(`built n=${n}`);
                ctx.onCleanup(() => void log.push(`cleaned n=${n}`));
                return { n };
              },
            },
          ],
        },
      ),
    );
    const pending = h.runtime.invoke("sig", "go", { n: 1 });
    await tick(5);
    const [run] = h.runtime.listAllRuns();
    h.runtime.signal(run!.runId, { n: 7 });
    await tick(1);
    log.push("signalled");
    gate.resolve();
    expect((await pending).ok).toBe(true);
    expect(log).toEqual([
      "built n=1",
      "got n=1",
      "cleaned n=1",
      "signalled",
      "built n=7",
      "got n=7",
      "cleaned n=7",
    ]);
  });
});

describe("run services that keep their factory context", () => {
  it("a pool registering a cleanup per connection opened by a step: all are closed at the run's end", async () => {
    h = await harness();
    const closed: string[] = [];
    type Pool = { open(id: string): string };
    await h.runtime.register(
      flow(
        "pool",
        [
          {
            id: "x",
            action: async (ctx) => {
              const pool = await ctx.use((d) => d.require<Pool>("pool"));
              return { a: pool.open("a"), b: pool.open("b") };
            },
          },
        ],
        {
          services: [
            {
              id: "pool",
              scope: "run",
              factory: (ctx) => ({
                open: (id: string) => {
                  ctx.onCleanup(() => void closed.push(id));
                  return id;
                },
              }),
            },
          ],
        },
      ),
    );
    const r = await h.runtime.invoke("pool", "go", {});
    expect(r.ok && r.value.state).toMatchObject({ a: "a", b: "b" });
    expect(closed).toEqual(["b", "a"]); // before, neither: the connections leaked
  });
});

describe("isolation between concurrent runs", () => {
  it("two interleaved runs each see their own run service and state", async () => {
    h = await harness();
    const gates = [deferred(), deferred()];
    await h.runtime.register(
      flow(
        "iso",
        [
          {
            id: "x",
            action: async (ctx) => {
              const me = ctx.state().me as number;
              const a = await ctx.use((d) => d.require<{ me: number }>("who"));
              await gates[me]!.promise;
              const t = await ctx.use((d) => d.require<{ me: number }>("tr"));
              return { a: a.me, t: t.me };
            },
          },
        ],
        {
          services: [
            { id: "who", scope: "run", factory: (ctx) => ({ me: ctx.select((s: { me: number }) => s.me) }) },
            {
              id: "tr",
              scope: "transient",
              factory: async (ctx) => ({ me: (await ctx.require<{ me: number }>("who")).me }),
            },
          ],
        },
      ),
    );
    const r0 = h.runtime.invoke("iso", "go", { me: 0 });
    const r1 = h.runtime.invoke("iso", "go", { me: 1 });
    await tick(5);
    gates[1]!.resolve();
    await tick(5);
    gates[0]!.resolve();
    const [a, b] = await Promise.all([r0, r1]);
    expect(a.ok && a.value.state).toMatchObject({ a: 0, t: 0 });
    expect(b.ok && b.value.state).toMatchObject({ a: 1, t: 1 });
  });
});

describe("shadowing and reserved ids", () => {
  it("a workflow or run service shadows a global one for the run; a global service still gets the global one, env included", async () => {
    h = await harness({
      env: { REGION: "us" },
      services: [
        { id: "db", factory: () => "global-db" },
        { id: "cache", factory: () => "global-cache" },
        { id: "repo", factory: async (ctx) => `repo(${await ctx.require("db")})` },
        { id: "regionG", factory: async (ctx) => (await ctx.require("__env__")).get("REGION") },
      ],
    });
    await h.runtime.register(
      flow(
        "sh",
        [
          {
            id: "x",
            action: async (ctx) => ({
              db: await ctx.use((d) => d.require("db")),
              cache: await ctx.use((d) => d.require("cache")),
              repo: await ctx.use((d) => d.require("repo")),
              regionG: await ctx.use((d) => d.require("regionG")),
              regionRun: await ctx.use((d) => d.require("regionRun")),
              regionWf: await ctx.use((d) => d.require("regionWf")),
            }),
          },
        ],
        {
          env: { REGION: "eu" },
          services: [
            { id: "db", scope: "workflow", factory: () => "wf-db" },
            { id: "cache", scope: "run", factory: () => "run-cache" },
            {
              id: "regionRun",
              scope: "run",
              factory: async (ctx) => (await ctx.require("__env__")).get("REGION"),
            },
            {
              id: "regionWf",
              scope: "workflow",
              factory: async (ctx) => (await ctx.require("__env__")).get("REGION"),
            },
          ],
        },
      ),
    );
    const r = await h.runtime.invoke("sh", "go", {});
    expect(r.ok && r.value.state).toMatchObject({
      db: "wf-db",
      cache: "run-cache",
      repo: "repo(global-db)",
      regionG: "us",
      regionRun: "eu",
      regionWf: "eu",
    });
  });

  it("a run service can register a wait through __pause_service__; a workflow service gets the stub", async () => {
    h = await harness();
    await h.runtime.register(
      flow(
        "ps",
        [
          {
            id: "x",
            action: async (ctx) => {
              const wf = await ctx.use((d) => d.require<{ tryWait(): string }>("wfWaiter"));
              const run = await ctx.use((d) => d.require<{ wait(): void }>("runWaiter"));
              const wfResult = wf.tryWait();
              run.wait();
              return { wfResult };
            },
          },
        ],
        {
          services: [
            {
              id: "wfWaiter",
              scope: "workflow",
              factory: async (ctx) => {
                const p = await ctx.require("__pause_service__");
                return {
                  tryWait: () => {
                    try {
                      p.register({ event: "never" });
                      return "registered";
                    } catch (e) {
                      return (e as { code: string }).code;
                    }
                  },
                };
              },
            },
            {
              id: "runWaiter",
              scope: "run",
              factory: async (ctx) => {
                const p = await ctx.require("__pause_service__");
                return { wait: () => p.register({ event: "ps.resume" }) };
              },
            },
          ],
        },
      ),
    );
    const r = await h.runtime.invoke("ps", "go", {});
    expect(r.ok && r.value.status).toBe("paused");
    expect(r.ok && r.value.state).toMatchObject({ wfResult: "INVALID_STATE" });
  });
});

describe("cleanups at the run's end", () => {
  it("run services are cleaned dependents first, a throwing cleanup reported; the workflow service they used at deregister()", async () => {
    h = await harness();
    const log: string[] = [];
    await h.runtime.register(
      flow("cl", [{ id: "x", action: async (ctx) => void (await ctx.use((d) => d.require("top"))) }], {
        services: [
          {
            id: "pool",
            scope: "workflow",
            factory: (ctx) => {
              ctx.onCleanup(() => void log.push("pool"));
              return "pool";
            },
          },
          {
            id: "conn",
            scope: "run",
            factory: async (ctx) => {
              await ctx.require("pool");
              ctx.onCleanup(() => void log.push("conn"));
              return "conn";
            },
          },
          {
            id: "top",
            scope: "run",
            factory: async (ctx) => {
              await ctx.require("conn");
              ctx.onCleanup(() => {
                log.push("top");
                throw new Error("top failed to close");
              });
              return "top";
            },
          },
        ],
      }),
    );
    const r = await h.runtime.invoke("cl", "go", {});
    expect(r.ok && r.value.status).toBe("completed");
    expect(log).toEqual(["top", "conn"]);
    expect(h.errors.map((e) => e.code)).toEqual(["FACTORY_FAILED"]);
    await h.runtime.deregister("cl");
    expect(log).toEqual(["top", "conn", "pool"]);
  });
});

describe("env", () => {
  it("a workflow layer parsed from JSON keeps __proto__ and constructor as plain keys; getters are read at construction", async () => {
    const layer = JSON.parse('{"__proto__": "proto-val", "constructor": "ctor", "A": "a"}');
    let lazy = "at construction";
    const globalEnv = {
      get LAZY() {
        return lazy;
      },
    };
    h = await harness({ env: globalEnv as unknown as Record<string, string> });
    lazy = "later";
    let got: Record<string, unknown> = {};
    await h.runtime.register(
      flow(
        "env",
        [
          {
            id: "x",
            action: async (ctx) => {
              const env = await ctx.use((d) => d.require("__env__"));
              got = {
                proto: env.get("__proto__"),
                ctor: env.get("constructor"),
                toString: env.get("toString"),
                hasOwn: env.get("hasOwnProperty"),
                lazy: env.get("LAZY"),
                a: env.get("A"),
              };
            },
          },
        ],
        { env: layer },
      ),
    );
    const r = await h.runtime.invoke("env", "go", {});
    expect(r.ok).toBe(true);
    expect(got).toEqual({
      proto: "proto-val",
      ctor: "ctor",
      toString: undefined,
      hasOwn: undefined,
      lazy: "at construction",
      a: "a",
    });
  });
});

describe("many runs", () => {
  it("the run services of 200 finished runs (with selections, transients kept for cleanups) are collectable", async () => {
    h = await harness({ services: [{ id: "g", factory: () => ({ global: true }) }] });
    const refs: WeakRef<object>[] = [];
    await h.runtime.register(
      flow("many", [{ id: "x", action: async (ctx) => void (await ctx.use((d) => d.require("svc"))) }], {
        services: [
          { id: "wf", scope: "workflow", factory: () => ({ wf: true }) },
          {
            id: "svc",
            scope: "run",
            factory: async (ctx) => {
              const v = {
                g: await ctx.require("g"),
                wf: await ctx.require("wf"),
                t: await ctx.require("t"),
                n: ctx.select((s: { n: number }) => s.n),
                big: new Array(1000).fill(0),
              };
              refs.push(new WeakRef(v));
              return v;
            },
          },
          {
            id: "t",
            scope: "transient",
            factory: (ctx) => {
              ctx.onCleanup(() => {});
              return {};
            },
          },
        ],
      }),
    );
    const { runtime } = h;
    const runAll = async () => {
      for (let n = 0; n < 200; n++) {
        const r = await runtime.invoke("many", "go", { n });
        if (!r.ok) throw r.error;
      }
    };
    await runAll();
    await tick(10);
    const gc = (globalThis as { gc?: () => void }).gc!;
    gc();
    gc();
    await tick(10);
    gc();
    expect(refs.filter((r) => r.deref() !== undefined).length).toBe(0);
  });
});
