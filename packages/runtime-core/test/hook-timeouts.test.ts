import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, RegisterOptions, RunResult, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

/** A hook that never settles. */
const hang = () => new Promise<never>(() => {});

const once: Workflow = {
  id: "once",
  triggers: { go: { event: "once.go", pipeline: "main" } },
  pipelines: { main: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ ran: true }) }] }] } },
};

/** Waits for `runtime.resume()` after its first stage, then runs a second. */
const twoStages: Workflow = {
  id: "two",
  triggers: { go: { event: "two.go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        {
          id: "wait",
          steps: [
            {
              id: "w",
              action: async (ctx) => {
                const pause = (await ctx.use((d) => d.require("__pause_service__"))) as PauseService;
                pause.register({});
              },
            },
          ],
        },
        { id: "after", steps: [{ id: "a", action: () => ({ after: true }) }] },
      ],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

const codes = () => h.errors.map((e) => e.code);

describe("hookTimeoutMs: a hook that never settles does not hold its run", () => {
  it("onComplete: reported TIMEOUT, bookkeeping and onCleanup follow, and the exclusive slot is free again", async () => {
    h = await harness();
    const dispatched: DispatchResult["outcome"][] = [];
    const cleaned: string[] = [];
    let calls = 0;
    await h.runtime.register(once, {
      mode: { type: "exclusive", onBusy: "reject" },
      hookTimeoutMs: 40,
      onComplete: () => (++calls === 1 ? hang() : undefined),
      onCleanup: (info) => void cleaned.push(info.status),
      onDispatch: (d) => void dispatched.push(d.outcome),
    });
    h.bus.emit("once.go", {});
    await tick(10);
    h.bus.emit("once.go", {});
    expect(dispatched).toEqual(["started", "rejected"]);
    await tick(80);
    expect(cleaned).toEqual(["completed"]);
    expect(h.errors).toHaveLength(1);
    expect(h.errors[0]).toMatchObject({
      code: "TIMEOUT",
      details: { workflowId: "once", hook: "onComplete", timeoutMs: 40 },
    });
    expect(h.errors[0]!.message).toMatch(/onComplete of run .+ did not settle within 40 ms.+hookTimeoutMs/);
    h.bus.emit("once.go", {});
    await tick(10);
    expect(dispatched).toEqual(["started", "rejected", "started"]);
    expect(cleaned).toEqual(["completed", "completed"]);
    expect(h.runtime.listAllRuns().map((r) => r.status)).toEqual(["completed", "completed"]);
  });

  it("onCleanup: invoke resolves with the run's result once the limit passes", async () => {
    h = await harness();
    await h.runtime.register(once, { hookTimeoutMs: 30, onCleanup: hang });
    const started = Date.now();
    const result = await h.runtime.invoke("once", "go", {});
    expect(Date.now() - started).toBeGreaterThanOrEqual(25);
    expect(result.ok && result.value).toEqual({ status: "completed", state: { ran: true } });
    expect(h.errors.map((e) => [e.code, e.details?.hook])).toEqual([["TIMEOUT", "onCleanup"]]);
  });

  it("onPrepare: the run fails with TIMEOUT, the hook's signal fires, onComplete and onCleanup still run", async () => {
    h = await harness();
    let signal: AbortSignal | undefined;
    const completed: RunResult[] = [];
    const cleaned: string[] = [];
    await h.runtime.register(once, {
      hookTimeoutMs: 30,
      onPrepare: (ctx) => {
        signal = ctx.signal;
        return hang();
      },
      onComplete: (r) => void completed.push(r),
      onCleanup: (info) => void cleaned.push(info.status),
    });
    const result = await h.runtime.invoke("once", "go", {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("TIMEOUT");
    expect(result.error.message).toMatch(/onPrepare of run .+ did not settle within 30 ms/);
    expect(signal?.aborted).toBe(true);
    expect((signal?.reason as { code?: string } | undefined)?.code).toBe("TIMEOUT");
    expect(completed).toEqual([result]);
    expect(cleaned).toEqual(["failed"]);
    // the run's failure is its result, not a separate report
    expect(h.errors).toEqual([]);
    const events = await h.runtime
      .flushTimeline()
      .then(() => h.timeline.query({ runId: result.metadata.runId! }));
    expect(events.events.at(-1)).toMatchObject({ type: "run.failed" });
  });

  it("onResume: reported TIMEOUT and the run goes on to its next stage", async () => {
    h = await harness();
    await h.runtime.register(twoStages, { hookTimeoutMs: 30, onResume: hang });
    const paused = await h.runtime.invoke("two", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    const resumed = await h.runtime.resume(paused.metadata.runId!);
    expect(resumed.ok && resumed.value).toEqual({ status: "completed", state: { after: true } });
    expect(h.errors.map((e) => [e.code, e.details?.hook])).toEqual([["TIMEOUT", "onResume"]]);
  });

  it("abort() and stop() do not wait for an onResume that never settles", async () => {
    h = await harness();
    const entered = deferred();
    await h.runtime.register(twoStages, {
      hookTimeoutMs: Number.POSITIVE_INFINITY,
      onResume: () => {
        entered.resolve();
        return hang();
      },
    });
    const paused = await h.runtime.invoke("two", "go", {});
    const runId = paused.metadata.runId!;
    const resumed = h.runtime.resume(runId);
    await entered.promise;
    await h.runtime.abort(runId);
    const result = await resumed;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(h.runtime.watch("two", runId)?.status).toBe("aborted");
  });

  it("each workflow's hooks time out at its own limit, a short one while a long one is pending", async () => {
    h = await harness();
    await h.runtime.register(once, { hookTimeoutMs: 400, onCleanup: hang });
    await h.runtime.register({ ...twoStages, id: "short" }, { hookTimeoutMs: 20, onCleanup: hang });
    const slow = h.runtime.invoke("once", "go", {});
    await tick(5);
    const quick = await h.runtime.invoke("short", "go", {});
    expect(quick.ok && quick.value.status).toBe("paused");
    const started = Date.now();
    await h.runtime.abort(quick.metadata.runId!);
    const waited = Date.now() - started;
    expect(waited).toBeGreaterThanOrEqual(15);
    expect(waited).toBeLessThan(300);
    expect(h.errors.map((e) => e.details?.workflowId)).toEqual(["short"]);
    expect((await slow).ok).toBe(true);
    expect(h.errors.map((e) => e.details?.workflowId)).toEqual(["short", "once"]);
  });

  it("a hook that fails after its limit passed is reported HOOK_FAILED as well", async () => {
    h = await harness();
    const late = deferred();
    await h.runtime.register(once, { hookTimeoutMs: 20, onComplete: () => late.promise });
    const result = await h.runtime.invoke("once", "go", {});
    expect(result.ok).toBe(true);
    expect(codes()).toEqual(["TIMEOUT"]);
    late.reject(new Error("mail server down"));
    await tick(1);
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["TIMEOUT", expect.stringContaining("onComplete")],
      [
        "HOOK_FAILED",
        `workflow "once": onComplete of run ${result.metadata.runId} threw after its time limit: mail server down`,
      ],
    ]);
  });

  it("a hook returning a thenable whose then() throws is reported HOOK_FAILED and not timed", async () => {
    h = await harness();
    const hostile = {
      // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point of the test
      then() {
        throw new Error("then exploded");
      },
    };
    await h.runtime.register(once, {
      hookTimeoutMs: 20,
      onComplete: () => hostile as unknown as Promise<void>,
    });
    const result = await h.runtime.invoke("once", "go", {});
    expect(result.ok && result.value.status).toBe("completed");
    await tick(40);
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["HOOK_FAILED", `workflow "once": onComplete of run ${result.metadata.runId} threw: then exploded`],
    ]);
  });

  it("a hook that settles in time leaves no timer behind", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    h = await harness();
    await h.runtime.register(once, {
      hookTimeoutMs: 60_000,
      onPrepare: async () => ({ prepared: true }),
      onComplete: async () => {},
      onCleanup: async () => {},
    });
    const result = await h.runtime.invoke("once", "go", {});
    expect(result.ok && result.value.state).toEqual({ prepared: true, ran: true });
    await h.runtime.stop();
    expect(timers()).toBe(before);
    expect(h.errors).toEqual([]);
  });

  it("defaults to 30 000 ms", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    try {
      h = await harness();
      const options: RegisterOptions = { onCleanup: hang };
      await h.runtime.register(once, options);
      let settled = false;
      const done = h.runtime.invoke("once", "go", {}).then(() => {
        settled = true;
      });
      await vi.advanceTimersByTimeAsync(29_999);
      expect(settled).toBe(false);
      await vi.advanceTimersByTimeAsync(1);
      await done;
      expect(settled).toBe(true);
      expect(h.errors.map((e) => e.details?.timeoutMs)).toEqual([30_000]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("is a duration: a wall clock set forward while a hook runs does not time it out early", async () => {
    vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date", "performance"] });
    try {
      h = await harness();
      const quick = deferred();
      let calls = 0;
      await h.runtime.register(once, {
        hookTimeoutMs: 1_000,
        // the first run's onPrepare never settles, the second's takes 500 ms
        onPrepare: () => (++calls === 1 ? hang() : quick.promise),
      });
      const stuck = h.runtime.invoke("once", "go", {});
      await vi.advanceTimersByTimeAsync(900);
      const second = h.runtime.invoke("once", "go", {});
      await vi.advanceTimersByTimeAsync(50);
      // the wall clock is stepped an hour forward (an NTP correction, a VM resumed)
      vi.setSystemTime(Date.now() + 3_600_000);
      // the first run's limit passes: only its hook has run for 1 000 ms
      await vi.advanceTimersByTimeAsync(50);
      expect(await stuck).toMatchObject({ ok: false, error: { code: "TIMEOUT" } });
      await vi.advanceTimersByTimeAsync(400);
      quick.resolve();
      expect(await second).toMatchObject({ ok: true, value: { status: "completed" } });
      expect(h.errors).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it.each([0, -1, Number.NaN, "100", null])(
    "refuses hookTimeoutMs %s with INVALID_DEFINITION",
    async (bad) => {
      h = await harness();
      await expect(h.runtime.register(once, { hookTimeoutMs: bad as number })).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringContaining("options.hookTimeoutMs"),
      });
    },
  );
});

/** `once`, with a service of `scope` whose cleanup never settles, used by its step. */
const withStuckCleanup = (scope: "run" | "workflow"): Workflow => ({
  ...once,
  id: `stuck-${scope}`,
  services: [
    {
      id: "conn",
      scope,
      factory: (ctx) => {
        ctx.onCleanup(hang);
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

describe("hookTimeoutMs also bounds the wait for services' cleanups", () => {
  it("a run-scoped service whose cleanup never settles: the run ends, onCleanup runs, TIMEOUT is reported", async () => {
    h = await harness();
    const cleaned: string[] = [];
    await h.runtime.register(withStuckCleanup("run"), {
      hookTimeoutMs: 30,
      onCleanup: (info) => void cleaned.push(info.status),
    });
    const result = await h.runtime.invoke("stuck-run", "go", {});
    expect(result.ok && result.value).toEqual({ status: "completed", state: { open: true } });
    expect(cleaned).toEqual(["completed"]);
    expect(h.errors).toHaveLength(2);
    // the container names the cleanup it left behind when the runtime stopped waiting
    expect(h.errors[1]).toMatchObject({ code: "ABORTED", details: { key: "conn", phase: "cleanup" } });
    expect(h.errors[0]).toMatchObject({
      code: "TIMEOUT",
      details: { workflowId: "stuck-run", timeoutMs: 30 },
    });
    expect(h.errors[0]!.message).toMatch(/services of run .+ did not finish their cleanups within 30 ms/);
  });

  it("a workflow-scoped service whose cleanup never settles: deregister() resolves after the limit", async () => {
    h = await harness();
    await h.runtime.register(withStuckCleanup("workflow"), { hookTimeoutMs: 30 });
    expect((await h.runtime.invoke("stuck-workflow", "go", {})).ok).toBe(true);
    expect(await h.runtime.deregister("stuck-workflow")).toBe(true);
    expect(h.runtime.hasWorkflow("stuck-workflow")).toBe(false);
    expect(h.errors.map((e) => [e.code, e.details?.workflowId ?? e.details?.key])).toEqual([
      ["TIMEOUT", "stuck-workflow"],
      ["ABORTED", "conn"],
    ]);
    expect(h.errors[0]!.message).toMatch(
      /services of workflow "stuck-workflow" did not finish their cleanups/,
    );
  });
});

describe("the runtime's hookTimeoutMs", () => {
  it("is the default of every workflow's limit; a register option overrides it", async () => {
    h = await harness({ hookTimeoutMs: 25 });
    await h.runtime.register(once, { onCleanup: hang });
    await h.runtime.register({ ...once, id: "own" }, { hookTimeoutMs: 60, onCleanup: hang });
    await Promise.all([h.runtime.invoke("once", "go", {}), h.runtime.invoke("own", "go", {})]);
    expect(h.errors.map((e) => [e.details?.workflowId, e.details?.timeoutMs])).toEqual([
      ["once", 25],
      ["own", 60],
    ]);
  });

  it("bounds stop()'s wait for the global services' cleanups", async () => {
    h = await harness({
      hookTimeoutMs: 30,
      services: [
        {
          id: "pool",
          factory: (ctx) => {
            ctx.onCleanup(hang);
            return { size: 1 };
          },
        },
      ],
    });
    await h.runtime.register({
      ...once,
      pipelines: {
        main: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: async (ctx) => ({
                    size: (await ctx.use((d) => d.require<{ size: number }>("pool"))).size,
                  }),
                },
              ],
            },
          ],
        },
      },
    });
    expect((await h.runtime.invoke("once", "go", {})).ok).toBe(true);
    await h.runtime.stop();
    expect(h.errors.map((e) => [e.code, e.details?.timeoutMs ?? e.details?.key])).toEqual([
      ["TIMEOUT", 30],
      ["ABORTED", "pool"],
    ]);
    expect(h.errors[0]!.message).toMatch(
      /^stop\(\): the global services did not finish their cleanups within 30 ms/,
    );
  });
});

describe("a service cleanup that never settles does not keep the others from running", () => {
  /** A service whose cleanup never settles, and one whose cleanup logs `name`. */
  const stuckAndLogged = (log: string[], scope: "run" | "workflow" | undefined) => [
    {
      id: "stuck",
      ...(scope === undefined ? {} : { scope }),
      factory: async (ctx: { require(id: string): Promise<unknown>; onCleanup(fn: () => unknown): void }) => {
        await ctx.require("db");
        ctx.onCleanup(hang);
        return 1;
      },
    },
    {
      id: "db",
      ...(scope === undefined ? {} : { scope }),
      factory: (ctx: { onCleanup(fn: () => unknown): void }) => {
        ctx.onCleanup(() => void log.push("db"));
        return 1;
      },
    },
    {
      id: "other",
      ...(scope === undefined ? {} : { scope }),
      factory: (ctx: { onCleanup(fn: () => unknown): void }) => {
        ctx.onCleanup(() => void log.push("other"));
        return 1;
      },
    },
  ];
  /** `once`, whose step resolves "other", then "stuck" (which is built from "db"). */
  const usesThem = (id: string): Workflow => ({
    ...once,
    id,
    pipelines: {
      main: {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "x",
                action: async (ctx) => {
                  await ctx.use((d) => d.require("other"));
                  await ctx.use((d) => d.require("stuck"));
                },
              },
            ],
          },
        ],
      },
    },
  });

  it("stop(): the other global services and the stuck one's dependency are cleaned by the time it resolves", async () => {
    const log: string[] = [];
    h = await harness({ hookTimeoutMs: 30, services: stuckAndLogged(log, undefined) });
    await h.runtime.register(usesThem("g"));
    expect((await h.runtime.invoke("g", "go", {})).ok).toBe(true);
    await h.runtime.stop();
    // "stuck" (built last) goes first: it holds the rest only until hookTimeoutMs
    expect(log).toEqual(["db", "other"]);
    expect(h.errors.map((e) => [e.code, e.details?.key ?? e.details?.timeoutMs])).toEqual([
      ["TIMEOUT", 30],
      ["ABORTED", "stuck"],
    ]);
  });

  it("a run's end: its other run services are cleaned before onCleanup runs", async () => {
    const log: string[] = [];
    h = await harness();
    await h.runtime.register(
      { ...usesThem("r"), services: stuckAndLogged(log, "run") },
      { hookTimeoutMs: 30, onCleanup: () => void log.push("onCleanup") },
    );
    expect((await h.runtime.invoke("r", "go", {})).ok).toBe(true);
    expect(log).toEqual(["db", "other", "onCleanup"]);
  });

  it("deregister(): the workflow's other services are cleaned by the time it resolves", async () => {
    const log: string[] = [];
    h = await harness();
    await h.runtime.register(
      { ...usesThem("w"), services: stuckAndLogged(log, "workflow") },
      { hookTimeoutMs: 30 },
    );
    expect((await h.runtime.invoke("w", "go", {})).ok).toBe(true);
    expect(await h.runtime.deregister("w")).toBe(true);
    expect(log).toEqual(["db", "other"]);
  });
});
