import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  type DispatchResult,
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RunResult,
  WorkflowRuntime,
} from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

type JobState = { id: string; approval?: boolean; approved?: boolean; worked?: boolean; done?: boolean };

/**
 * work (waits for the test to open its gate) → approval (parks until `job.approved` for this id,
 * when `approval` is set) → finish.
 */
function jobs() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const workflow = defineWorkflow<JobState>({
    id: "jobs",
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "work",
                action: (ctx) => {
                  const id = ctx.state().id;
                  started.push(id);
                  return new Promise<Partial<JobState>>((resolve, reject) => {
                    gates.set(id, () => resolve({ worked: true }));
                    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                  });
                },
              },
            ],
          },
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  if (ctx.state().approval !== true) return;
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "job.approved",
                    conditions: [{ path: "id", op: "==", value: ctx.state().id }],
                  });
                },
              },
            ],
          },
          { id: "finish", steps: [{ id: "finish", action: () => ({ done: true }) }] },
        ],
      },
    },
  });
  const open = (id: string) => {
    const gate = gates.get(id);
    if (gate === undefined) throw new Error(`job ${id} has not started its work`);
    gates.delete(id);
    gate();
  };
  return { workflow, started, open };
}

interface Setup {
  h: Harness;
  open: (id: string) => void;
  started: string[];
  dispatched: DispatchResult[];
  completed: RunResult<JobState>[];
}

const runtimes: WorkflowRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
});

async function setup(
  mode: ExecutionMode = { type: "transient", concurrency: 10 },
  onComplete?: (result: RunResult<JobState>) => void | Promise<void>,
): Promise<Setup> {
  const h = await harness();
  runtimes.push(h.runtime);
  const { workflow, open, started } = jobs();
  const dispatched: DispatchResult[] = [];
  const completed: RunResult<JobState>[] = [];
  await h.runtime.register(workflow, {
    mode,
    onDispatch: (result) => dispatched.push(result),
    onComplete: async (result) => {
      await onComplete?.(result);
      completed.push(result);
    },
  });
  return { h, open, started, dispatched, completed };
}

/** Waits until `condition` holds (a few ms at a time), failing after a second. */
async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await tick(5);
  expect(condition()).toBe(true);
}

const states = (results: RunResult<JobState>[]) =>
  results.map((r) => (r.ok ? { status: r.value.status, ...r.value.state } : { error: r.error.code }));

describe("drain()", () => {
  it("resolves at once, drained, when no run is busy", async () => {
    const { h } = await setup();
    await expect(h.runtime.drain()).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("waits for running runs to complete, and resolves once the last one has", async () => {
    const { h, open, started, completed } = await setup();
    h.bus.emit("job", { id: "a" });
    h.bus.emit("job", { id: "b" });
    await until(() => started.length === 2);
    let report: unknown;
    const draining = h.runtime.drain().then((r) => {
      report = r;
    });
    open("a");
    await tick(20);
    expect(report).toBeUndefined();
    expect(completed).toHaveLength(1);
    open("b");
    await draining;
    expect(report).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(states(completed)).toEqual([
      { status: "completed", id: "a", worked: true, done: true },
      { status: "completed", id: "b", worked: true, done: true },
    ]);
  });

  it("still starts runs queued before it, as their mode frees slots, and waits for them", async () => {
    const { h, open, started, completed } = await setup({ type: "serialized" });
    h.bus.emit("job", { id: "a" });
    h.bus.emit("job", { id: "b" });
    await until(() => started.length === 1);
    const draining = h.runtime.drain();
    open("a");
    await until(() => started.length === 2);
    open("b");
    const report = await draining;
    expect(report.drained).toBe(true);
    expect(states(completed).map((s) => (s as JobState).id)).toEqual(["a", "b"]);
  });

  it("drops bus events that match a trigger from the call on, telling onDispatch why", async () => {
    const { h, started, dispatched } = await setup();
    void h.runtime.drain();
    h.bus.emit("job", { id: "late" });
    await tick(10);
    expect(started).toEqual([]);
    expect(dispatched).toEqual([
      {
        outcome: "dropped",
        workflowId: "jobs",
        triggerId: "go",
        event: "job",
        payload: { id: "late" },
        reason: "the runtime is draining (drain() was called): bus events start no new runs",
      },
    ]);
    expect(h.runtime.listAllRuns()).toEqual([]);
  });

  it('with triggers: "start", an event a run hands on starts the next workflow, and the drain waits for that run too', async () => {
    // a chain through the bus, as a saga is: each finished job is audited by another workflow
    let emit: (id: string) => void = () => {};
    const { h, open, started, dispatched } = await setup(undefined, (result) => {
      if (result.ok) emit(result.value.state.id);
    });
    emit = (id) => h.bus.emit("job.finished", { id });
    const audited: string[] = [];
    await h.runtime.register(
      defineWorkflow<{ id: string }>({
        id: "audit",
        triggers: { finished: { event: "job.finished", pipeline: "audit" } },
        pipelines: {
          audit: {
            stages: [
              {
                id: "audit",
                steps: [
                  {
                    id: "audit",
                    action: async (ctx) => {
                      await tick(20);
                      audited.push(ctx.state().id);
                    },
                  },
                ],
              },
            ],
          },
        },
      }),
    );
    h.bus.emit("job", { id: "a" });
    await until(() => started.length === 1);
    const draining = h.runtime.drain({ triggers: "start" });
    open("a");
    await expect(draining).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(audited).toEqual(["a"]);
    // each call sets it anew: a drain without it drops again
    await h.runtime.drain();
    h.bus.emit("job", { id: "b" });
    expect(started).toEqual(["a"]);
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "dropped"]);
  });

  it("refuses invoke, register and adopt with INVALID_STATE, and resume, signal and abort still work", async () => {
    const { h, open, started } = await setup();
    const parked = h.runtime.invoke<JobState>("jobs", "go", { id: "p", approval: true });
    await until(() => started.length === 1);
    open("p");
    const paused = await parked;
    expect(paused.ok && paused.value.status).toBe("paused");
    const checkpoint = h.runtime.checkpoint(paused.metadata.runId!)!;

    await h.runtime.drain();
    const refused = await h.runtime.invoke("jobs", "go", { id: "new" });
    expect(refused.ok).toBe(false);
    if (!refused.ok) {
      expect(refused.error.code).toBe("INVALID_STATE");
      expect(refused.error.message).toBe(
        "invoke: the runtime is draining (drain() was called) and takes no new runs; stop() it and start new work on another WorkflowRuntime",
      );
    }
    await expect(h.runtime.register({ ...jobs().workflow, id: "other" })).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: expect.stringContaining("register: the runtime is draining"),
    });
    expect(() => h.runtime.adopt({ ...checkpoint, runId: "someone-else" })).toThrow(
      expect.objectContaining({ code: "INVALID_STATE" }),
    );

    h.runtime.signal(paused.metadata.runId!, { approved: true });
    const resumed = await h.runtime.resume<JobState>(paused.metadata.runId!);
    expect(resumed.ok && resumed.value).toEqual({
      status: "completed",
      state: { id: "p", approval: true, approved: true, worked: true, done: true },
    });
    expect(started).toEqual(["p"]);
  });

  it("reports the runs that parked, which can be detached and adopted elsewhere before stop()", async () => {
    const { h, open, started, completed } = await setup();
    h.bus.emit("job", { id: "keep", approval: true });
    h.bus.emit("job", { id: "quick" });
    await until(() => started.length === 2);
    const draining = h.runtime.drain();
    open("quick");
    await until(() => completed.length === 1);
    // the last busy run comes to rest by parking
    open("keep");
    const report = await draining;
    expect(report.drained).toBe(true);
    expect(report.active).toEqual([]);
    expect(report.paused).toHaveLength(1);
    const keepId = report.paused[0]!;
    expect(h.runtime.watch("jobs", keepId)?.status).toBe("paused");

    const checkpoint = await h.runtime.detach(keepId);
    await h.runtime.stop();
    // nothing was aborted: one run completed here, the other goes on in the next runtime
    expect(states(completed)).toEqual([{ status: "completed", id: "quick", worked: true, done: true }]);

    const bus = createEventBus<any>();
    const next = new WorkflowRuntime({
      bus,
      storeRegistry: new StoreRegistry(),
      timelineStore: await createMemoryTimelineStore(),
    });
    runtimes.push(next);
    const after: RunResult<JobState>[] = [];
    await next.register(jobs().workflow, { onComplete: (r) => void after.push(r) });
    next.adopt(checkpoint);
    bus.emit("job.approved", { id: "keep", approved: true });
    await until(() => after.length === 1);
    expect(states(after)).toEqual([
      { status: "completed", id: "keep", approval: true, approved: true, worked: true, done: true },
    ]);
  });

  it("waits again for a parked run that an event resumes while it drains", async () => {
    const { h, open, started, completed } = await setup();
    h.bus.emit("job", { id: "parked", approval: true });
    await until(() => started.length === 1);
    open("parked");
    await until(() => h.runtime.listAllRuns()[0]?.status === "paused");
    h.bus.emit("job", { id: "busy" });
    await until(() => started.length === 2);

    let report: { drained: boolean; paused: string[] } | undefined;
    const draining = h.runtime.drain().then((r) => {
      report = r;
    });
    h.bus.emit("job.approved", { id: "parked", approved: true });
    await tick(10);
    // the resumed run completed; the other still works
    expect(states(completed).map((s) => (s as JobState).id)).toEqual(["parked"]);
    expect(report).toBeUndefined();
    open("busy");
    await draining;
    expect(report).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("looks a macrotask after the call, so an event the caller sends right after it resumes a run drain waits for", async () => {
    for (const send of ["sync", "microtask"] as const) {
      const { h, open, started, completed } = await setup();
      h.bus.emit("job", { id: "p", approval: true });
      await until(() => started.length === 1);
      open("p");
      await until(() => h.runtime.listAllRuns()[0]?.status === "paused");
      const draining = h.runtime.drain();
      const approve = () => h.bus.emit("job.approved", { id: "p", approved: true });
      if (send === "sync") approve();
      else queueMicrotask(approve);
      // every run was parked at the call: a report made then would list p as paused, which the
      // caller could no longer detach
      await expect(draining).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
      expect(states(completed)).toEqual([
        { status: "completed", id: "p", approval: true, approved: true, worked: true, done: true },
      ]);
    }
  });

  it("counts a run in its onComplete as active until the hook is over", async () => {
    const hook = deferred();
    const { h, open, started, completed } = await setup(undefined, () => hook.promise);
    h.bus.emit("job", { id: "a" });
    await until(() => started.length === 1);
    open("a");
    await tick(10);
    const report = await h.runtime.drain({ timeoutMs: 20 });
    expect(report.drained).toBe(false);
    expect(report.active).toHaveLength(1);
    hook.resolve();
    await expect(h.runtime.drain()).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(completed).toHaveLength(1);
  });

  it("gives up after timeoutMs with the runs still busy, which stop() then aborts", async () => {
    const { h, started, completed } = await setup();
    h.bus.emit("job", { id: "stuck" });
    await until(() => started.length === 1);
    const [runId] = h.runtime.listAllRuns().map((r) => r.runId);
    const startedAt = Date.now();
    const report = await h.runtime.drain({ timeoutMs: 50 });
    expect(Date.now() - startedAt).toBeGreaterThanOrEqual(45);
    expect(report).toEqual({ drained: false, active: [runId], paused: [], dropped: [] });
    await h.runtime.stop();
    expect(states(completed)).toEqual([{ status: "aborted", id: "stuck" }]);
  });

  it("resolves once an abort through the bus's control event ends the last busy run", async () => {
    const { h, started, completed } = await setup();
    h.bus.emit("job", { id: "a" });
    await until(() => started.length === 1);
    const [runId] = h.runtime.listAllRuns().map((r) => r.runId);
    const draining = h.runtime.drain({ timeoutMs: Infinity });
    h.bus.emit(ControlEvent.Abort, { runId });
    await expect(draining).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(states(completed)).toEqual([{ status: "aborted", id: "a" }]);
  });

  it("resolves when stop() ends the runs it waits for", async () => {
    const { h, started } = await setup();
    h.bus.emit("job", { id: "a" });
    await until(() => started.length === 1);
    const draining = h.runtime.drain({ timeoutMs: Infinity });
    await h.runtime.stop();
    await expect(draining).resolves.toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("refuses bad options with INVALID_INPUT, and a call after stop() with INVALID_STATE", async () => {
    const { h, started } = await setup();
    // a string is quoted: "10" is not 10
    for (const [timeoutMs, given] of [
      [-1, "-1"],
      [Number.NaN, "NaN"],
      ["10", '"10"'],
    ] as const) {
      await expect(h.runtime.drain({ timeoutMs: timeoutMs as number })).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: `drain(options): timeoutMs must be a non-negative number of ms or Infinity, got ${given}`,
      });
    }
    await expect(h.runtime.drain({ triggers: "keep" } as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: 'drain(options): triggers must be "drop" or "start", got "keep"',
    });
    await expect(h.runtime.drain({ timeout: 5 } as never)).rejects.toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringContaining("drain(options): options.timeout is not an option"),
    });
    // a refused call does not start draining
    void h.runtime.invoke("jobs", "go", { id: "x" });
    await until(() => started.length === 1);
    await h.runtime.stop();
    await expect(h.runtime.drain()).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: "drain: the runtime has been stopped; create a new WorkflowRuntime",
    });
  });
});
