import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { defineWorkflow, type RunInfo, type Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

const linear: Workflow = defineWorkflow({
  id: "linear",
  triggers: { go: { event: "linear.go", pipeline: "main" } },
  pipelines: {
    main: {
      stages: [
        {
          id: "a",
          steps: [{ id: "a1", action: (ctx) => ({ n: (ctx.state().n as number) + 1, seen: [ctx.event] }) }],
        },
        { id: "b", steps: [{ id: "b1", action: (ctx) => ({ n: (ctx.state().n as number) * 10 }) }] },
        { id: "c", steps: [{ id: "c1", action: (ctx) => ({ runId: ctx.runId }) }] },
      ],
    },
  },
});

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("invoke", () => {
  it("runs every stage in order, merging patches, and resolves a completed Result", async () => {
    h = await harness();
    await h.runtime.register(linear);
    const result = await h.runtime.invoke("linear", "go", { n: 1 });
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.value.status).toBe("completed");
    expect(result.value.state).toMatchObject({ n: 20, seen: [{ n: 1 }] });
    expect(result.metadata.runId).toBe(result.value.state.runId);
    expect(result.metadata).toMatchObject({ workflowId: "linear", triggerId: "go", pipelineId: "main" });
    expect(h.runtime.watch("linear", result.metadata.runId!)).toMatchObject({ status: "completed" });
  });

  it("uses trigger.map to build the initial state", async () => {
    h = await harness();
    await h.runtime.register({
      ...linear,
      triggers: {
        go: { event: "linear.go", pipeline: "main", map: (p: { count: number }) => ({ n: p.count }) },
      },
    });
    const result = await h.runtime.invoke("linear", "go", { count: 2 });
    expect(result.ok && result.value.state.n).toBe(30);
  });

  it("never rejects for a failing step: ok false with the step's error and the runId", async () => {
    h = await harness();
    await h.runtime.register({
      id: "boom",
      triggers: { go: { event: "boom", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "explode",
                  action: () => {
                    throw new Error("kaboom");
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("boom", "go", {});
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(SystemError.is(result.error)).toBe(true);
    expect(result.error.message).toContain("kaboom");
    expect(result.metadata.runId).toEqual(expect.any(String));
    expect(h.runtime.watch("boom", result.metadata.runId!)).toMatchObject({ status: "failed" });
  });

  it("reports unknown workflows, triggers and bad payloads as ok:false with a code", async () => {
    h = await harness();
    await h.runtime.register(linear);
    const noWf = await h.runtime.invoke("nope", "go", {});
    expect(!noWf.ok && noWf.error.code).toBe("NOT_FOUND");
    const noTrigger = await h.runtime.invoke("linear", "nope", {});
    expect(!noTrigger.ok && noTrigger.error.code).toBe("NOT_FOUND");
    expect(!noTrigger.ok && noTrigger.error.message).toContain("triggers: go");
    for (const payload of [42, "text", null, [1, 2], new Date(0), new Map()]) {
      const bad = await h.runtime.invoke("linear", "go", payload);
      expect(!bad.ok && bad.error.code).toBe("INVALID_INPUT");
      // the message says what to fix, whichever layer refused the payload
      expect(!bad.ok && bad.error.message).toContain(
        'trigger "go": the event payload must be a plain object (it becomes the run\'s initial state); give the trigger a map(payload)',
      );
    }
    expect(h.runtime.listAllRuns()).toEqual([]);
    expect(h.storeRegistry.size).toBe(0);
  });

  it("bypasses the execution mode", async () => {
    h = await harness();
    let release!: () => void;
    const gate = new Promise<void>((r) => {
      release = r;
    });
    await h.runtime.register(
      {
        id: "one",
        triggers: { go: { event: "one", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "wait", action: () => gate }] }] } },
      },
      { mode: { type: "exclusive", onBusy: "reject" } },
    );
    const first = h.runtime.invoke("one", "go", {});
    const second = h.runtime.invoke("one", "go", {});
    release();
    const [a, b] = await Promise.all([first, second]);
    expect(a.ok && b.ok).toBe(true);
  });

  it("runs the trigger whatever its `when` conditions say: they only filter bus events (documented choice)", async () => {
    h = await harness();
    await h.runtime.register({
      id: "vip",
      triggers: { vip: { event: "order", pipeline: "p", when: [{ path: "tier", op: "==", value: "vip" }] } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ ran: true }) }] }] } },
    });
    const result = await h.runtime.invoke("vip", "vip", { tier: "standard" });
    expect(result.ok && result.value).toEqual({
      status: "completed",
      state: { tier: "standard", ran: true },
    });
  });

  it("a step's prototype-polluting patch never reaches Object.prototype", async () => {
    h = await harness();
    await h.runtime.register({
      id: "evil",
      triggers: { go: { event: "evil", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            { id: "s", steps: [{ id: "x", action: () => JSON.parse('{"__proto__":{"polluted":true}}') }] },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("evil", "go", JSON.parse('{"__proto__":{"polluted":true},"a":1}'));
    expect(result.ok).toBe(true);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe("listAllRuns, registry, watch", () => {
  it("lists runs across workflows and keeps retention bounded", async () => {
    h = await harness();
    await h.runtime.register(linear, { retention: { maxFinished: 5 } });
    await h.runtime.register({ ...linear, id: "linear2" });
    for (let i = 0; i < 12; i++) await h.runtime.invoke("linear", "go", { n: i });
    await h.runtime.invoke("linear2", "go", { n: 0 });
    expect(h.runtime.registry("linear")!.list().length).toBe(5);
    const all = h.runtime.listAllRuns();
    expect(all.length).toBe(6);
    expect(new Set(all.map((r) => r.workflowId))).toEqual(new Set(["linear", "linear2"]));
    expect(h.runtime.registry("missing")).toBeUndefined();
    expect(h.runtime.watch("linear", "missing")).toBeUndefined();
  });

  it("retention.maxAgeMs: a finished run past its age is gone from watch() and listAllRuns() while the workflow is idle", async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date"] });
    try {
      h = await harness();
      await h.runtime.register(linear, { retention: { maxAgeMs: 60_000 } });
      const result = await h.runtime.invoke("linear", "go", { n: 1 });
      const runId = result.metadata.runId!;
      vi.setSystemTime(1_000_000 + 30_000);
      expect(h.runtime.watch("linear", runId)).toMatchObject({ status: "completed" });
      vi.setSystemTime(1_000_000 + 61_000); // no run of the workflow has ended since
      expect(h.runtime.watch("linear", runId)).toBeUndefined();
      expect(h.runtime.listAllRuns()).toEqual([]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("retention.maxAgeMs: past its age, an idle workflow's finished run is gone from registry(id), result() and resume() too", async () => {
    vi.useFakeTimers({ now: 1_000_000, toFake: ["Date"] });
    try {
      h = await harness();
      await h.runtime.register(linear, { retention: { maxAgeMs: 60_000 } });
      const runId = (await h.runtime.invoke("linear", "go", { n: 1 })).metadata.runId!;
      vi.setSystemTime(1_000_000 + 61_000); // no run of the workflow has ended since
      expect(h.runtime.registry("linear")!.get(runId)).toBeUndefined();
      expect(h.runtime.registry("linear")!.list()).toEqual([]);
      const result = await h.runtime.result(runId);
      expect(!result.ok && result.error.message).toContain("retention has dropped it");
      expect((await h.runtime.resume(runId)).metadata).toEqual({ runId });
    } finally {
      vi.useRealTimers();
    }
  });

  it("a run the host deleted from registry(id) while it paused still gets its onCleanup", async () => {
    h = await harness();
    const cleaned: RunInfo[] = [];
    await h.runtime.register(
      defineWorkflow({
        id: "waits",
        triggers: { go: { event: "waits.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      (await ctx.use((d) => d.require("__pause_service__"))).register({});
                    },
                  },
                ],
              },
              { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
            ],
          },
        },
      }),
      { onCleanup: (info) => void cleaned.push(info) },
    );
    const paused = await h.runtime.invoke("waits", "go", {});
    const runId = paused.metadata.runId!;
    // the registry is the host's to read and write: what it writes changes what is reported only
    expect(h.runtime.registry("waits")!.delete(runId)).toBe(true);
    expect((await h.runtime.resume(runId)).ok).toBe(true);
    await expect.poll(() => cleaned.length).toBe(1);
    expect(cleaned[0]).toMatchObject({
      runId,
      workflowId: "waits",
      pipelineId: "p",
      triggerId: "go",
      status: "completed",
      stage: "done",
    });
  });
});

describe("ids that are not strings", () => {
  it("are runs and workflows nobody knows: NOT_FOUND or undefined, never a raw error, with finished runs held", async () => {
    h = await harness();
    await h.runtime.register(linear);
    await h.runtime.invoke("linear", "go", { n: 1 });
    const hostile = new Proxy(
      {},
      {
        get() {
          throw new Error("trap");
        },
        ownKeys() {
          throw new Error("trap");
        },
      },
    );
    for (const bad of [undefined, null, 42, {}, Symbol("id"), hostile] as unknown as string[]) {
      const noWorkflow = await h.runtime.invoke(bad, "go", { n: 1 });
      expect(!noWorkflow.ok && noWorkflow.error.code).toBe("NOT_FOUND");
      const noTrigger = await h.runtime.invoke("linear", bad, { n: 1 });
      expect(!noTrigger.ok && noTrigger.error.code).toBe("NOT_FOUND");
      const resumed = await h.runtime.resume(bad);
      expect(!resumed.ok && resumed.error.code).toBe("NOT_FOUND");
      await expect(h.runtime.abort(bad)).rejects.toMatchObject({ code: "NOT_FOUND" });
      await expect(h.runtime.detach(bad)).rejects.toMatchObject({ code: "NOT_FOUND" });
      expect(() => h.runtime.signal(bad, {})).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
      expect(h.runtime.watch("linear", bad)).toBeUndefined();
      expect(h.runtime.checkpoint(bad)).toBeUndefined();
    }
  });
});

describe("where a run is", () => {
  const twoStages: Workflow = {
    id: "two",
    triggers: { go: { event: "two.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          { id: "one", steps: [{ id: "a", action: () => ({ a: 1 }) }] },
          {
            id: "two",
            steps: [
              {
                id: "b",
                action: async (ctx) => {
                  if (ctx.state().fail) throw new Error("b fails");
                  await new Promise((resolve) => setTimeout(resolve, 30));
                },
              },
            ],
          },
        ],
      },
    },
  };

  it("a failed result's metadata names the stage it failed in", async () => {
    h = await harness();
    await h.runtime.register(twoStages);
    const result = await h.runtime.invoke("two", "go", { fail: true });
    expect(result.ok).toBe(false);
    expect(result.metadata.stage).toBe("two");
    const completed = await h.runtime.invoke("two", "go", {});
    expect(completed.metadata.stage).toBeUndefined();
  });

  it("a finished run's RunInfo names its last stage, whether or not it paused on the way", async () => {
    h = await harness();
    const cleanedUp = new Map<string, string | undefined>();
    await h.runtime.register(
      defineWorkflow({
        id: "staged",
        triggers: { go: { event: "staged.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      if (ctx.state().pause)
                        (await ctx.use((d) => d.require("__pause_service__"))).register({});
                    },
                  },
                ],
              },
              {
                id: "work",
                steps: [
                  {
                    id: "work",
                    action: async (ctx) => {
                      if (ctx.state().fail) throw new Error("work fails");
                      if (ctx.state().hang)
                        await new Promise((resolve) => ctx.signal.addEventListener("abort", resolve));
                    },
                  },
                ],
              },
              { id: "last", steps: [{ id: "last", action: () => undefined }] },
            ],
          },
        },
      }),
      { onCleanup: (info) => void cleanedUp.set(info.runId, info.stage) },
    );
    const stageOf = async (state: object, end: (runId: string) => Promise<unknown> = async () => {}) => {
      const started = await h.runtime.invoke("staged", "go", state);
      const runId = started.metadata.runId!;
      await end(runId);
      await expect.poll(() => cleanedUp.has(runId)).toBe(true);
      expect(cleanedUp.get(runId)).toBe(h.runtime.watch("staged", runId)?.stage);
      return [h.runtime.watch("staged", runId)?.status, cleanedUp.get(runId)];
    };
    expect(await stageOf({})).toEqual(["completed", "last"]);
    expect(await stageOf({ pause: true }, (runId) => h.runtime.resume(runId))).toEqual(["completed", "last"]);
    expect(await stageOf({ fail: true })).toEqual(["failed", "work"]);
    expect(await stageOf({ pause: true, fail: true }, (runId) => h.runtime.resume(runId))).toEqual([
      "failed",
      "work",
    ]);
    // paused before "work": the stage it would have gone on at
    expect(await stageOf({ pause: true }, (runId) => h.runtime.abort(runId))).toEqual(["aborted", "work"]);
    const hanging = h.runtime.invoke("staged", "go", { hang: true });
    await expect.poll(() => h.runtime.listAllRuns().find((r) => r.status === "running")?.stage).toBe("work");
    const runId = h.runtime.listAllRuns().find((r) => r.status === "running")!.runId;
    await h.runtime.abort(runId);
    expect((await hanging).ok).toBe(true);
    expect([h.runtime.watch("staged", runId)?.status, cleanedUp.get(runId)]).toEqual(["aborted", "work"]);
    expect(h.runtime.watch("staged", runId)?.stage).toBe("work");
  });

  it("listAllRuns() and watch() give a running run's current stage", async () => {
    h = await harness();
    await h.runtime.register(twoStages);
    const run = h.runtime.invoke("two", "go", {});
    await new Promise((resolve) => setTimeout(resolve, 10));
    const [info] = h.runtime.listAllRuns();
    expect(info).toMatchObject({ status: "running", stage: "two" });
    expect(h.runtime.watch("two", info!.runId)).toMatchObject({ status: "running", stage: "two" });
    await run;
  });
});
