import { afterEach, describe, expect, it } from "vitest";
import type { RunResult, Workflow } from "../../src/index.js";
import { deferred, type Harness, harness } from "../helpers.js";
import { expectPrototypesClean, prototypeSnapshot, until } from "./support.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

interface Session {
  n: number;
  runId: string | undefined;
  writes: unknown[];
}

type Use = (fn: (d: any) => any) => Promise<any>;

/** A one-step workflow whose step runs `probe` and stores what it returns under `seen`. */
function prober(
  id: string,
  probe: (ctx: { use: Use; state: () => any }) => Promise<unknown>,
  extra: Partial<Workflow> = {},
): Workflow {
  return {
    id,
    triggers: { go: { event: `${id}.go`, pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          { id: "s", steps: [{ id: "probe", action: async (ctx) => ({ seen: await probe(ctx as never) }) }] },
        ],
      },
    },
    ...extra,
  };
}

describe("isolation between workflows", () => {
  it("a workflow cannot resolve another workflow's workflow-, run- or transient-scoped services", async () => {
    h = await harness();
    await h.runtime.register({
      id: "owner",
      services: [
        { id: "wfSecret", scope: "workflow", factory: () => ({ secret: "workflow" }) },
        { id: "runSecret", scope: "run", factory: () => ({ secret: "run" }) },
        { id: "tSecret", scope: "transient", factory: () => ({ secret: "transient" }) },
      ],
      triggers: { go: { event: "owner.go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "own",
                  action: async (ctx) => ({
                    mine: await ctx.use(async (d) => [
                      (await d.require<{ secret: string }>("wfSecret")).secret,
                      (await d.require<{ secret: string }>("runSecret")).secret,
                      (await d.require<{ secret: string }>("tSecret")).secret,
                    ]),
                  }),
                },
              ],
            },
          ],
        },
      },
    });
    await h.runtime.register(
      prober("intruder", (ctx) =>
        ctx.use(async (d) => {
          const out: Record<string, unknown> = {};
          for (const key of ["wfSecret", "runSecret", "tSecret"]) {
            const r = await d.resolve(key);
            out[key] = r.ok ? r.value : r.error.code;
          }
          return out;
        }),
      ),
    );
    const own = await h.runtime.invoke("owner", "go", {});
    expect(own.ok && own.value.state.mine).toEqual(["workflow", "run", "transient"]);
    // the owner is registered and has live instances, yet the intruder sees none of them
    const intruder = await h.runtime.invoke("intruder", "go", {});
    expect(intruder.ok && intruder.value.state.seen).toEqual({
      wfSecret: "NOT_FOUND",
      runSecret: "NOT_FOUND",
      tSecret: "NOT_FOUND",
    });
  });

  it("two workflows may declare the same service id: each resolves its own instance", async () => {
    h = await harness();
    for (const id of ["left", "right"]) {
      await h.runtime.register(
        prober(id, (ctx) => ctx.use(async (d) => (await d.require("cfg")).owner), {
          services: [{ id: "cfg", scope: "workflow", factory: () => ({ owner: id }) }],
        }),
      );
    }
    const [l, r] = await Promise.all([
      h.runtime.invoke("left", "go", {}),
      h.runtime.invoke("right", "go", {}),
    ]);
    expect(l.ok && l.value.state.seen).toBe("left");
    expect(r.ok && r.value.state.seen).toBe("right");
  });
});

describe("isolation between runs", () => {
  it("run-scoped instances are never shared across runs, even concurrent ones, and are disposed when each run ends", async () => {
    h = await harness();
    let built = 0;
    const disposed: number[] = [];
    const gate = deferred();
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        id: "runs",
        services: [
          {
            id: "session",
            scope: "run",
            factory: (ctx) => {
              const instance = { n: ++built, runId: ctx.runId, writes: [] as unknown[] };
              ctx.onCleanup(() => void disposed.push(instance.n));
              return instance;
            },
          },
        ],
        triggers: { go: { event: "runs.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "one",
                steps: [
                  {
                    id: "write",
                    action: async (ctx) => {
                      const s = await ctx.use((d) => d.require<Session>("session"));
                      s.writes.push(ctx.state().tag);
                      await gate.promise; // every run holds its instance at the same time
                      return { first: s.n };
                    },
                  },
                ],
              },
              {
                id: "two",
                steps: [
                  {
                    id: "read",
                    action: async (ctx) => {
                      const s = await ctx.use((d) => d.require<Session>("session"));
                      return { second: s.n, owner: s.runId, writes: [...s.writes] };
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      { mode: { type: "transient", concurrency: 20 }, onComplete: (r) => void completed.push(r) },
    );
    for (let i = 0; i < 20; i++) h.bus.emit("runs.go", { tag: `t${i}` });
    await until(() => built === 20, 2_000, "every run to build its instance");
    gate.resolve();
    await until(() => completed.length === 20, 2_000, "every run");
    const instances = new Set<number>();
    for (const r of completed) {
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      const s = r.value.state;
      // within a run: one instance for both stages; it saw only this run's writes
      expect(s.second).toBe(s.first);
      expect(s.owner).toBe(r.metadata.runId);
      expect(s.writes).toEqual([s.tag]);
      instances.add(s.first as number);
    }
    expect(instances.size).toBe(20);
    await until(() => disposed.length === 20, 1_000, "every instance to be disposed");
    expect(new Set(disposed)).toEqual(instances);
  });

  it("run state is private: a step cannot mutate the state object it reads, and one run's state never shows in another's", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        id: "state",
        triggers: { go: { event: "state.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "tamper",
                    action: (ctx) => {
                      const state = ctx.state() as Record<string, unknown>;
                      let blocked = false;
                      try {
                        state.injected = "direct write";
                      } catch {
                        blocked = true;
                      }
                      return { blocked, me: ctx.state().tag };
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      { mode: { type: "transient", concurrency: 10 }, onComplete: (r) => void completed.push(r) },
    );
    for (let i = 0; i < 10; i++) h.bus.emit("state.go", { tag: i });
    await until(() => completed.length === 10, 2_000, "every run");
    for (const r of completed) {
      expect(r.ok).toBe(true);
      if (!r.ok) continue;
      expect(r.value.state.blocked).toBe(true);
      expect(r.value.state.injected).toBeUndefined();
      expect(r.value.state.me).toBe(r.value.state.tag);
      expect(Object.keys(r.value.state).sort()).toEqual(["blocked", "me", "tag"]);
    }
  });
});

describe("the env service cannot be mutated", () => {
  it("__env__ is frozen with only get(); writes, deletes, redefinitions and source-object changes have no effect", async () => {
    const globalLayer: Record<string, string | undefined> = { SHARED: "global", ONLY_GLOBAL: "g" };
    h = await harness({ env: globalLayer });
    const before = prototypeSnapshot();
    const workflowLayer: Record<string, string | undefined> = { SHARED: "workflow" };
    const attempts = (env: any) => {
      const outcomes: Record<string, string> = {};
      const attempt = (name: string, fn: () => void) => {
        try {
          fn();
          outcomes[name] = "no error";
        } catch (error) {
          outcomes[name] = error instanceof TypeError ? "TypeError" : String(error);
        }
      };
      attempt("assign", () => {
        env.SHARED = "hacked";
      });
      attempt("replace get", () => {
        env.get = () => "hacked";
      });
      attempt("delete get", () => {
        delete env.get;
      });
      attempt("define", () => Object.defineProperty(env, "set", { value: () => {} }));
      attempt("setPrototypeOf", () => Object.setPrototypeOf(env, { get: () => "hacked" }));
      return outcomes;
    };
    await h.runtime.register(
      prober(
        "envy",
        (ctx) =>
          ctx.use(async (d) => {
            const env = await d.require("__env__");
            const outcomes = attempts(env);
            return {
              frozen: Object.isFrozen(env),
              keys: Object.getOwnPropertyNames(env),
              outcomes,
              shared: env.get("SHARED"),
              onlyGlobal: env.get("ONLY_GLOBAL"),
              proto: env.get("__proto__"),
              ctor: env.get("constructor"),
            };
          }),
        { env: workflowLayer },
      ),
    );
    await h.runtime.register(
      prober("other", (ctx) => ctx.use(async (d) => (await d.require("__env__")).get("SHARED"))),
    );
    // changing the source objects after registration changes nothing
    workflowLayer.SHARED = "mutated source";
    globalLayer.ONLY_GLOBAL = "mutated source";
    const r = await h.runtime.invoke("envy", "go", {});
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const seen = r.value.state.seen as Record<string, any>;
    expect(seen.frozen).toBe(true);
    expect(seen.keys).toEqual(["get"]);
    for (const [name, outcome] of Object.entries(seen.outcomes as Record<string, string>)) {
      // in strict-mode code every write attempt on a frozen object throws
      expect(outcome, name).toBe("TypeError");
    }
    expect(seen.shared).toBe("workflow");
    expect(seen.onlyGlobal).toBe("g");
    expect(seen.proto).toBeUndefined();
    expect(seen.ctor).toBeUndefined();
    // another workflow reads the global layer, not this workflow's
    const o = await h.runtime.invoke("other", "go", {});
    expect(o.ok && o.value.state.seen).toBe("global");
    // and a second run of the first workflow still reads the original values
    const again = await h.runtime.invoke("envy", "go", {});
    expect(again.ok && (again.value.state.seen as any).shared).toBe("workflow");
    expectPrototypesClean(before);
  });
});
