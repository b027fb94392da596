import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it } from "vitest";
import type { Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

const ok: Workflow = {
  id: "wf",
  triggers: { go: { event: "wf.go", pipeline: "main" } },
  pipelines: { main: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ done: true }) }] }] } },
};

/** A sparse array `[<hole>, item]`: forEach and every skip the hole, for...of reads it as undefined. */
function holeThen<T>(item: T): T[] {
  const list = new Array<T>(2);
  list[1] = item;
  return list;
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function registerError(workflow: unknown, options?: unknown): Promise<SystemError> {
  try {
    await h.runtime.register(workflow as Workflow, options as never);
  } catch (error) {
    expect(SystemError.is(error)).toBe(true);
    return error as SystemError;
  }
  throw new Error("register() accepted a bad definition");
}

describe("register validation", () => {
  it("rejects bad definitions at register() with a code and a path", async () => {
    h = await harness();
    const cases: Array<[unknown, unknown, string, string]> = [
      [null, undefined, "INVALID_DEFINITION", "workflow"],
      [{ ...ok, id: "" }, undefined, "INVALID_DEFINITION", "workflow.id"],
      [{ ...ok, pipelines: {} }, undefined, "INVALID_DEFINITION", "pipelines"],
      [{ ...ok, triggers: {} }, undefined, "INVALID_DEFINITION", "triggers"],
      // "" is no id, as for the workflow, stages, steps, services and patch mappers: a pipeline ""
      // could never be named by a trigger (it was accepted, and the trigger naming it was told
      // "pipelines: " with the "" in the list invisible)
      [
        { ...ok, pipelines: { "": ok.pipelines.main }, triggers: { go: { event: "wf.go", pipeline: "" } } },
        undefined,
        "INVALID_DEFINITION",
        'pipelines: a pipeline needs an id ("" is not one)',
      ],
      [
        { ...ok, triggers: { "": { event: "wf.go", pipeline: "main" } } },
        undefined,
        "INVALID_DEFINITION",
        'triggers: a trigger needs an id ("" is not one)',
      ],
      [
        { ...ok, triggers: { go: { event: "wf.go", pipeline: "missing" } } },
        undefined,
        "INVALID_DEFINITION",
        "triggers.go.pipeline",
      ],
      [
        { ...ok, triggers: { go: { event: "", pipeline: "main" } } },
        undefined,
        "INVALID_DEFINITION",
        "triggers.go.event",
      ],
      [
        { ...ok, triggers: { go: { event: "wf.go", pipeline: "main", when: [{ path: "a", op: "~=" }] } } },
        undefined,
        "INVALID_DEFINITION",
        "triggers.go.when",
      ],
      [
        { ...ok, pipelines: { main: { stages: [{ id: "s", steps: [{ id: "x" }] }] } } },
        undefined,
        "INVALID_DEFINITION",
        "pipelines.main.stages[0].steps[0]",
      ],
      [{ ...ok, pipelines: { main: { stages: [] } } }, undefined, "INVALID_DEFINITION", "pipelines.main"],
      // SPEC: duplicate ids fail at register()
      [
        {
          ...ok,
          pipelines: {
            main: {
              stages: [
                { id: "s", steps: [{ id: "a", action: () => undefined }] },
                { id: "s", steps: [{ id: "b", action: () => undefined }] },
              ],
            },
          },
        },
        undefined,
        "INVALID_DEFINITION",
        'pipelines.main.stages[1]: duplicate stage id "s"',
      ],
      [
        {
          ...ok,
          pipelines: {
            main: {
              stages: [
                { id: "s", steps: [{ id: "a", action: () => undefined }] },
                { id: "t", steps: [{ id: "a", action: () => undefined }] },
              ],
            },
          },
        },
        undefined,
        "INVALID_DEFINITION",
        'pipelines.main.stages[1].steps[0]: duplicate step id "a"',
      ],
      [{ ...ok, services: [{ id: "__env__", factory: () => 1 }] }, undefined, "DUPLICATE_KEY", "__env__"],
      [
        { ...ok, services: [{ id: "__pause_service__", factory: () => 1 }] },
        undefined,
        "DUPLICATE_KEY",
        "__pause_service__",
      ],
      [
        {
          ...ok,
          services: [
            { id: "a", factory: () => 1 },
            { id: "a", factory: () => 2 },
          ],
        },
        undefined,
        "DUPLICATE_KEY",
        "services[1].id",
      ],
      [
        { ...ok, services: [{ id: "a", factory: () => 1, scope: "global" }] },
        undefined,
        "INVALID_DEFINITION",
        "services[0].scope",
      ],
      // a hole in a sparse array is an entry too (it reads as undefined)
      [
        { ...ok, services: holeThen({ id: "a", factory: () => 1 }) },
        undefined,
        "INVALID_DEFINITION",
        "services[0]",
      ],
      [{ ...ok, env: { A: 1 } }, undefined, "INVALID_DEFINITION", "env.A"],
      [ok, { mode: { type: "transient" } }, "INVALID_DEFINITION", "options.mode.concurrency"],
      [ok, { mode: { type: "transient", concurrency: 0 } }, "INVALID_DEFINITION", "options.mode.concurrency"],
      [
        ok,
        { mode: { type: "singleton_loop", onBusy: "queue" } },
        "INVALID_DEFINITION",
        "options.mode.onBusy",
      ],
      [ok, { mode: { type: "exclusive", onBusy: "drop" } }, "INVALID_DEFINITION", "options.mode.onBusy"],
      [ok, { mode: { type: "parallel" } }, "INVALID_DEFINITION", "options.mode.type"],
      [ok, { onComplete: "yes" }, "INVALID_DEFINITION", "options.onComplete"],
      [ok, { pauseWindowMs: -1 }, "INVALID_DEFINITION", "options.pauseWindowMs"],
      [ok, { retention: { maxFinished: -1 } }, "INVALID_DEFINITION", "options.retention.maxFinished"],
      [ok, { retention: { maxAgeMs: "1h" } }, "INVALID_DEFINITION", "options.retention.maxAgeMs"],
    ];
    for (const [workflow, options, code, path] of cases) {
      const error = await registerError(workflow, options);
      expect(error.code, `${path}: ${error.message}`).toBe(code);
      expect(error.message).toContain(path);
    }
    expect(h.runtime.listWorkflows()).toEqual([]);
  });

  it("rejects a second workflow with the same id with DUPLICATE_KEY", async () => {
    h = await harness();
    await h.runtime.register(ok);
    const error = await registerError(ok);
    expect(error.code).toBe("DUPLICATE_KEY");
  });

  it("rejects a hole in the global services list at construction, naming it", async () => {
    await expect(
      harness({ services: holeThen({ id: "a", factory: () => 1 }) as never }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("options.services[0]"),
    });
    h = await harness();
  });

  it.each(["__pause_service__", "__env__"])(
    "rejects the reserved id %s among global services at construction with DUPLICATE_KEY",
    async (id) => {
      await expect(harness({ services: [{ id, factory: () => 1 }] })).rejects.toMatchObject({
        code: "DUPLICATE_KEY",
        message: expect.stringContaining(`options.services[0].id: "${id}" is reserved`),
      });
      h = await harness();
    },
  );

  it.each(["run", "transient", "workflow"] as const)(
    "rejects the reserved ids among %s-scoped workflow services with DUPLICATE_KEY",
    async (scope) => {
      h = await harness();
      for (const id of ["__pause_service__", "__env__"]) {
        const error = await registerError({ ...ok, services: [{ id, scope, factory: () => 1 }] });
        expect(error).toMatchObject({ code: "DUPLICATE_KEY", message: expect.stringContaining(id) });
      }
      expect(h.runtime.listWorkflows()).toEqual([]);
    },
  );
});

describe("service definitions are checked whole at register(), never later inside a run", () => {
  const longest = 2147483647; // MAX_TIMER_MS: setTimeout fires anything longer at once
  const cases: Array<[string, Record<string, unknown>, string]> = [
    [
      "a run-scoped service's timeoutMs past the longest timer",
      { scope: "run", timeoutMs: longest + 1 },
      "timeoutMs",
    ],
    ["a transient service's timeoutMs of Infinity", { scope: "transient", timeoutMs: Infinity }, "timeoutMs"],
    [
      "a workflow service's timeoutMs past the longest timer",
      { scope: "workflow", timeoutMs: 1e12 },
      "timeoutMs",
    ],
    ["a lazy that is not a boolean", { lazy: "no" }, "lazy"],
    ["a run-scoped lazy that is not a boolean", { scope: "run", lazy: 0 }, "lazy"],
  ];
  it.each(cases)("%s is INVALID_DEFINITION naming services[i].field", async (_, fields, field) => {
    h = await harness();
    let built = 0;
    const services = [
      { id: "db", lazy: false, factory: () => ++built },
      { id: "bad", factory: () => 1, ...fields },
    ];
    const error = await registerError({ ...ok, services });
    expect(error).toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining(`services[1].${field}:`),
      details: { path: `services[1].${field}` },
    });
    // refused before anything was built or registered
    expect(built).toBe(0);
    expect(h.runtime.hasWorkflow("wf")).toBe(false);
  });

  it("the longest timer is accepted, for every scope", async () => {
    h = await harness();
    const services = (["workflow", "run", "transient"] as const).map((scope) => ({
      id: scope,
      scope,
      timeoutMs: longest,
      lazy: true,
      factory: () => scope,
    }));
    await h.runtime.register({ ...ok, services });
    expect(h.runtime.hasWorkflow("wf")).toBe(true);
  });

  it.each([
    [{ timeoutMs: Infinity }, "options.services[0].timeoutMs"],
    [{ lazy: 0 }, "options.services[0].lazy"],
  ])("a global service with %o is INVALID_DEFINITION naming %s", async (fields, path) => {
    await expect(
      harness({ services: [{ id: "g", factory: () => 1, ...fields }] as never }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining(`${path}:`),
    });
    h = await harness();
  });
});

describe("hasWorkflow, listWorkflows, deregister", () => {
  it("tracks registration and releases bus subscriptions on deregister", async () => {
    h = await harness();
    const before = h.bus.listenerCount();
    await h.runtime.register(ok);
    await h.runtime.register({ ...ok, id: "wf2" });
    expect(h.runtime.hasWorkflow("wf")).toBe(true);
    expect(h.runtime.listWorkflows().sort()).toEqual(["wf", "wf2"]);
    expect(h.bus.listenerCount("wf.go")).toBe(1);
    expect(await h.runtime.deregister("wf")).toBe(true);
    expect(h.bus.listenerCount("wf.go")).toBe(1);
    expect(await h.runtime.deregister("wf2")).toBe(true);
    expect(h.bus.listenerCount("wf.go")).toBe(0);
    expect(h.bus.listenerCount()).toBe(before);
    expect(await h.runtime.deregister("wf")).toBe(false);
    expect(h.runtime.hasWorkflow("wf")).toBe(false);
  });

  it("a deregister() right after one that resolved resolves false: the id is unknown by then", async () => {
    h = await harness();
    await h.runtime.register(ok);
    await h.runtime.invoke("wf", "go", {});
    expect(await h.runtime.deregister("wf")).toBe(true);
    expect(await h.runtime.deregister("wf")).toBe(false);
  });

  it("disposes the workflow's scoped services on deregister", async () => {
    h = await harness();
    const cleaned: string[] = [];
    await h.runtime.register({
      ...ok,
      services: [
        {
          id: "conn",
          scope: "workflow",
          factory: (ctx) => {
            ctx.onCleanup(() => {
              cleaned.push("conn");
            });
            return { open: true };
          },
        },
      ],
      pipelines: {
        main: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: async (ctx) => ({
                    open: (await ctx.use((d) => d.require<{ open: boolean }>("conn"))).open,
                  }),
                },
              ],
            },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("wf", "go", {});
    expect(result.ok && result.value.state.open).toBe(true);
    expect(cleaned).toEqual([]);
    await h.runtime.deregister("wf");
    expect(cleaned).toEqual(["conn"]);
  });
});

describe("stop", () => {
  it("deregisters everything, unsubscribes control events and refuses new work", async () => {
    h = await harness();
    await h.runtime.register(ok);
    expect(h.bus.listenerCount()).toBeGreaterThan(0);
    await h.runtime.stop();
    expect(h.bus.listenerCount()).toBe(0);
    expect(h.runtime.listWorkflows()).toEqual([]);
    const result = await h.runtime.invoke("wf", "go", {});
    expect(!result.ok && result.error.code).toBe("INVALID_STATE");
    await expect(h.runtime.register(ok)).rejects.toMatchObject({ code: "INVALID_STATE" });
  });
});

describe("trigger events the bus cannot deliver as triggers", () => {
  it('a trigger on "*" (the bus wildcard) is refused with INVALID_DEFINITION', async () => {
    h = await harness();
    const star: Workflow = { ...ok, triggers: { all: { event: "*", pipeline: "main" } } };
    await expect(h.runtime.register(star)).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("triggers.all.event"),
    });
    expect(h.runtime.hasWorkflow("wf")).toBe(false);
  });

  it("a throwing map() is reported rejected with what it threw", async () => {
    h = await harness();
    const reasons: Array<string | undefined> = [];
    const mapped: Workflow = {
      ...ok,
      triggers: {
        go: {
          event: "wf.go",
          pipeline: "main",
          map: () => {
            throw new Error("orderId missing");
          },
        },
      },
    };
    await h.runtime.register(mapped, { onDispatch: (d) => void reasons.push(d.reason) });
    h.bus.emit("wf.go", {});
    expect(reasons).toHaveLength(1);
    expect(reasons[0]).toContain("orderId missing");
  });

  it("a map() throwing a value that cannot become text is reported rejected, and invoke resolves INVALID_INPUT naming map()", async () => {
    h = await harness();
    const reasons: Array<string | undefined> = [];
    const mapped: Workflow = {
      ...ok,
      triggers: {
        go: {
          event: "wf.go",
          pipeline: "main",
          map: () => {
            throw Object.create(null);
          },
        },
      },
    };
    await h.runtime.register(mapped, { onDispatch: (d) => void reasons.push(d.reason) });
    h.bus.emit("wf.go", {});
    expect(reasons).toEqual(['workflow "wf" trigger "go": map() threw: [object Object]']);
    const result = await h.runtime.invoke("wf", "go", {});
    expect(!result.ok && [result.error.code, result.error.message]).toEqual([
      "INVALID_INPUT",
      expect.stringContaining("map() threw: [object Object]"),
    ]);
  });
});

describe("options that would be ignored are refused", () => {
  const cases: Array<[string, Record<string, unknown>, string]> = [
    ["a misspelt hook", { onComplet: () => {} }, "options.onComplet"],
    [
      "concurrency on a serialized mode",
      { mode: { type: "serialized", concurrency: 4 } },
      "options.mode.concurrency",
    ],
    [
      "onBusy on a transient mode",
      { mode: { type: "transient", concurrency: 2, onBusy: "drop" } },
      "options.mode.onBusy",
    ],
    ["a misspelt retention field", { retention: { maxFinish: 10 } }, "options.retention.maxFinish"],
  ];
  for (const [name, options, path] of cases) {
    it(name, async () => {
      h = await harness();
      await expect(h.runtime.register(ok, options as never)).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringContaining(path),
      });
      expect(h.runtime.hasWorkflow("wf")).toBe(false);
    });
  }

  it("a trigger without a pipeline id says which pipelines there are", async () => {
    h = await harness();
    const missing = { ...ok, triggers: { go: { event: "wf.go" } } } as unknown as Workflow;
    await expect(h.runtime.register(missing)).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("must be the id of one of the workflow's pipelines (pipelines: main)"),
    });
  });

  it("new WorkflowRuntime with an unknown option is INVALID_INPUT naming it", async () => {
    h = await harness();
    const { WorkflowRuntime } = await import("../src/index.js");
    const { createEventBus } = await import("@sluice/events");
    const { StoreRegistry } = await import("@sluice/store");
    expect(
      () =>
        new WorkflowRuntime({
          bus: createEventBus(),
          storeRegistry: new StoreRegistry(),
          onErorr: () => {},
        } as never),
    ).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT", message: expect.stringContaining("options.onErorr") }),
    );
  });
});

describe("definition fields that would be ignored are refused", () => {
  const step = { id: "x", action: () => undefined };
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    [
      "a misspelt workflow field",
      { ...ok, lable: "Orders" },
      "workflow.lable",
      "id, label, env, services, triggers, pipelines, patches",
    ],
    [
      "a misspelt trigger field",
      { ...ok, triggers: { placed: { event: "wf.go", pipeline: "main", pipline: "main" } } },
      "triggers.placed.pipline",
      "event, pipeline, when, map, key, rateLimit, debounce, throttle, cancelOn, batch",
    ],
    [
      "a trigger's pipeline under a misspelt name",
      { ...ok, triggers: { placed: { event: "wf.go", pipline: "main" } } },
      "triggers.placed.pipline",
      "event, pipeline, when, map, key, rateLimit, debounce, throttle, cancelOn, batch",
    ],
    [
      "a misspelt service scope (which would make a shared, workflow-scoped service)",
      { ...ok, services: [{ id: "cart", scop: "run", factory: () => ({}) }] },
      "services[0].scop",
      "id, factory, scope, timeoutMs, retries, lazy",
    ],
    [
      "a misspelt pipeline field",
      { ...ok, pipelines: { main: { stages: [{ id: "s", steps: [step] }], stage: [] } } },
      "pipelines.main.stage",
      "stages",
    ],
    [
      "a misspelt stage field",
      { ...ok, pipelines: { main: { stages: [{ id: "s", concurent: true, steps: [step] }] } } },
      "pipelines.main.stages[0].concurent",
      "id, steps, concurrent",
    ],
    [
      "a misspelt step field",
      { ...ok, pipelines: { main: { stages: [{ id: "s", steps: [{ ...step, timeoutMS: 10 }] }] } } },
      "pipelines.main.stages[0].steps[0].timeoutMS",
      "id, action, retry, timeoutMs, when",
    ],
    [
      "a misspelt retry field",
      {
        ...ok,
        pipelines: {
          main: { stages: [{ id: "s", steps: [{ ...step, retry: { attempts: 2, backof: 5 } }] }] },
        },
      },
      "pipelines.main.stages[0].steps[0].retry.backof",
      "attempts, backoffMs, factor, maxBackoffMs",
    ],
  ];
  it.each(cases)(
    "%s is INVALID_DEFINITION naming it and the fields there",
    async (_, workflow, path, options) => {
      h = await harness();
      let built = 0;
      const error = await registerError({
        ...workflow,
        services: [...((workflow.services as []) ?? []), { id: "db", lazy: false, factory: () => ++built }],
      });
      expect(error).toMatchObject({
        code: "INVALID_DEFINITION",
        message: `${path}: is not an option here (options: ${options})`,
        details: { path },
      });
      // refused before anything was built or registered
      expect(built).toBe(0);
      expect(h.runtime.hasWorkflow("wf")).toBe(false);
    },
  );

  it("a misspelt field of a global service is INVALID_DEFINITION at construction; scope keeps its own message", async () => {
    await expect(
      harness({ services: [{ id: "g", factory: () => 1, timeoutMS: 5 }] as never }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message:
        "options.services[0].timeoutMS: is not an option here (options: id, factory, timeoutMs, retries, lazy)",
    });
    await expect(
      harness({ services: [{ id: "g", factory: () => 1, scope: "run" }] as never }),
    ).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: "options.services[0].scope: global services are always singletons; remove scope",
    });
    h = await harness();
  });

  it("every documented field is accepted", async () => {
    h = await harness();
    await h.runtime.register({
      id: "wf",
      label: "Orders",
      env: { REGION: "eu" },
      services: [{ id: "cfg", scope: "workflow", factory: () => 1, timeoutMs: 100, retries: 1, lazy: true }],
      triggers: {
        go: { event: "wf.go", pipeline: "main", when: [{ path: "a", op: "exists" }], map: (p) => p },
      },
      pipelines: {
        main: {
          stages: [
            {
              id: "s",
              concurrent: true,
              steps: [
                {
                  id: "x",
                  action: () => undefined,
                  when: () => true,
                  timeoutMs: 100,
                  retry: { attempts: 2, backoffMs: 1, factor: 2, maxBackoffMs: 10 },
                },
              ],
            },
          ],
        },
      },
    });
    expect(h.runtime.hasWorkflow("wf")).toBe(true);
  });
});

describe("a definition whose reading throws", () => {
  const hostile = () =>
    new Proxy(
      {},
      {
        ownKeys() {
          throw new Error("keys boom");
        },
        get() {
          throw new Error("get boom");
        },
      },
    );
  for (const [name, options] of [
    ["options", hostile()],
    ["options.mode", { mode: hostile() }],
    ["options.retention", { retention: hostile() }],
  ] as const) {
    it(`${name} that throws when read is INVALID_DEFINITION with the thrown error as cause`, async () => {
      h = await harness();
      await expect(h.runtime.register(ok, options as never)).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        cause: expect.objectContaining({ message: expect.stringMatching(/boom/) }),
      });
      expect(h.runtime.hasWorkflow("wf")).toBe(false);
    });
  }
});
