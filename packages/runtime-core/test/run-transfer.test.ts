import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineEvent, TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  defineWorkflow,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunCheckpoint,
  type RunResult,
  WorkflowRuntime,
} from "../src/index.js";
import { tick } from "./helpers.js";

type OrderState = { orderId?: string; approved?: boolean; shipped?: boolean; note?: string };

/** placed → waits for the approval of this order (or a timeout) → shipped. */
const orders = (timeoutMs?: number) =>
  defineWorkflow<OrderState>({
    id: "orders",
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    services: [{ id: "session", scope: "run", factory: () => ({ open: true }) }],
    pipelines: {
      fulfil: {
        stages: [
          {
            id: "approval",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId! }],
                    ...(timeoutMs === undefined ? {} : { timeoutMs, timeoutPatch: { approved: false } }),
                  });
                },
              },
            ],
          },
          {
            id: "ship",
            steps: [{ id: "ship", action: (ctx) => ({ shipped: ctx.state().approved === true }) }],
          },
        ],
      },
    },
  });

interface Node {
  runtime: WorkflowRuntime;
  bus: ReturnType<typeof createEventBus<any>>;
  completed: RunResult<OrderState>[];
  resumed: boolean[];
  cleanups: string[];
  errors: SystemError[];
}

const nodes: Node[] = [];
afterEach(async () => {
  for (const node of nodes.splice(0)) await node.runtime.stop();
});

/** One worker: its own bus, store registry and runtime, sharing `timeline` with the others. */
async function worker(
  timeline: TimelineStore,
  options: { mode?: ExecutionMode; timeoutMs?: number; pauseWindowMs?: number } = {},
): Promise<Node> {
  const bus = createEventBus<any>();
  const errors: SystemError[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    timelineStore: timeline,
    onError: (e) => errors.push(e),
  });
  const node: Node = { runtime, bus, completed: [], resumed: [], cleanups: [], errors };
  const registerOptions: RegisterOptions<OrderState> = {
    onComplete: (result) => void node.completed.push(result),
    onResume: (ctx) => void node.resumed.push(ctx.restored),
    onCleanup: (info) => void node.cleanups.push(info.runId),
  };
  if (options.mode !== undefined) registerOptions.mode = options.mode;
  if (options.pauseWindowMs !== undefined) registerOptions.pauseWindowMs = options.pauseWindowMs;
  await runtime.register(orders(options.timeoutMs), registerOptions);
  nodes.push(node);
  return node;
}

async function pausedRun(node: Node, orderId: string): Promise<string> {
  const result = await node.runtime.invoke("orders", "placed", { orderId });
  expect(result.ok && result.value.status).toBe("paused");
  return result.metadata.runId!;
}

/** What a host would keep: the checkpoint as JSON text, parsed back. */
const throughJson = (checkpoint: RunCheckpoint): RunCheckpoint => JSON.parse(JSON.stringify(checkpoint));

async function eventsOf(timeline: TimelineStore, runId: string): Promise<TimelineEvent[]> {
  return (await timeline.query({ runId, limit: 1000 })).events;
}

function refusal(fn: () => unknown, code: string): SystemError {
  try {
    fn();
  } catch (error) {
    expect(SystemError.is(error, code as SystemError["code"]), String(error)).toBe(true);
    return error as SystemError;
  }
  throw new Error("expected a refusal");
}

describe("detach() and adopt(): a parked run moves to another runtime", () => {
  it("continues where it paused: the next matching event there resumes it, once, with its state and timeline", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    const b = await worker(timeline);
    const runId = await pausedRun(a, "o1");
    a.runtime.signal(runId, { note: "signalled in a" });

    const checkpoint = await a.runtime.detach(runId);
    expect(checkpoint).toMatchObject({
      version: 1,
      runId,
      workflowId: "orders",
      triggerId: "placed",
      pipelineId: "fulfil",
      nextStage: 1,
      nextStageId: "ship",
      state: { orderId: "o1", note: "signalled in a" },
      event: { orderId: "o1" },
      pause: [{ event: "order.approved", conditions: [{ path: "orderId", op: "==", value: "o1" }] }],
      dispatched: false,
    });
    await a.runtime.flushTimeline();
    expect(checkpoint.startedAt).toBe(
      (await eventsOf(timeline, runId)).find((e) => e.type === "run.started")!.at,
    );
    // gone from a: nothing there can resume, signal or end it, and no hook ran for it
    expect(a.runtime.listAllRuns()).toEqual([]);
    expect(a.runtime.watch("orders", runId)).toBeUndefined();
    a.bus.emit("order.approved", { orderId: "o1", approved: true });
    expect(() => a.runtime.signal(runId, {})).toThrow(/no active run/);
    expect((await a.runtime.resume(runId)).ok).toBe(false);
    await expect(a.runtime.abort(runId)).rejects.toMatchObject({ code: "NOT_FOUND" });
    expect(a.completed).toEqual([]);
    expect(a.cleanups).toEqual([]);

    const info = b.runtime.adopt(throughJson(checkpoint));
    expect(info).toMatchObject({
      runId,
      workflowId: "orders",
      triggerId: "placed",
      status: "paused",
      stage: "ship",
    });
    expect(info.startedAt).toBe(checkpoint.startedAt);
    expect(b.runtime.checkpoint(runId)).toEqual(checkpoint);
    b.bus.emit("order.approved", { orderId: "o2", approved: true });
    expect(b.runtime.watch("orders", runId)?.status).toBe("paused");
    b.bus.emit("order.approved", { orderId: "o1", approved: true });
    await expect.poll(() => b.completed.length).toBe(1);
    const [result] = b.completed;
    expect(result!.ok && result!.value).toEqual({
      status: "completed",
      state: { orderId: "o1", note: "signalled in a", approved: true, shipped: true },
    });
    expect(b.resumed).toEqual([true]);
    expect(b.cleanups).toEqual([runId]);
    expect(a.completed).toEqual([]);

    // one timeline across both runtimes: seq runs on from a's run.paused
    await a.runtime.flushTimeline();
    await b.runtime.flushTimeline();
    const events = await eventsOf(timeline, runId);
    expect(events.map((e) => e.seq)).toEqual(events.map((_, i) => i + 1));
    const paused = events.findIndex((e) => e.type === "run.paused");
    expect(events[paused]!.seq).toBe(checkpoint.seq);
    expect(events[paused + 1]!.type).toBe("run.resumed");
    expect(events.at(-1)!.type).toBe("run.completed");
    expect(events.filter((e) => e.type === "run.started")).toHaveLength(1);
  });

  it("a run still in its pause window goes too: its live state, signals included, its run services disposed before detach() resolves", async () => {
    const timeline = await createMemoryTimelineStore();
    const storeRegistry = new StoreRegistry();
    const runtime = new WorkflowRuntime({
      bus: createEventBus<any>(),
      storeRegistry,
      timelineStore: timeline,
    });
    nodes.push({ runtime } as Node);
    const disposed: string[] = [];
    let cleanupDone!: () => void;
    await runtime.register(
      {
        ...orders(),
        services: [
          {
            id: "session",
            scope: "run",
            factory: (ctx) => {
              // an async cleanup: detach() waits for it
              ctx.onCleanup(
                () =>
                  new Promise<void>((resolve) => {
                    cleanupDone = () => {
                      disposed.push("session");
                      resolve();
                    };
                  }),
              );
              return { open: true };
            },
          },
        ],
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "approval",
                steps: [
                  {
                    id: "ask",
                    action: async (ctx) => {
                      await ctx.use((d) => d.require("session"));
                      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                      pause.register({ event: "order.approved" });
                    },
                  },
                ],
              },
              { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
            ],
          },
        },
      },
      { pauseWindowMs: 60_000 },
    );
    const result = await runtime.invoke("orders", "placed", { orderId: "o1" });
    const runId = result.metadata.runId!;
    runtime.signal(runId, { note: "live" });
    expect(storeRegistry.has(runId)).toBe(true);
    let detached: RunCheckpoint | undefined;
    const detaching = runtime.detach(runId).then((checkpoint) => {
      detached = checkpoint;
    });
    await tick();
    expect(storeRegistry.has(runId)).toBe(false);
    expect(detached).toBeUndefined();
    cleanupDone();
    await detaching;
    expect(disposed).toEqual(["session"]);
    expect(detached!.state).toEqual({ orderId: "o1", note: "live" });
  });

  it("an adopted run whose deadline passed while it travelled times out at once, with its timeoutPatch", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { timeoutMs: 40 });
    const b = await worker(timeline, { timeoutMs: 40 });
    const runId = await pausedRun(a, "o1");
    const checkpoint = throughJson(await a.runtime.detach(runId));
    await tick(80);
    expect(a.completed).toEqual([]); // its deadline timer left with it
    b.runtime.adopt(checkpoint);
    await expect.poll(() => b.completed.length).toBe(1);
    expect(b.completed[0]!.ok && b.completed[0]!.value.state).toMatchObject({
      approved: false,
      shipped: false,
    });
  });

  it("an adopted run keeps the time left on its deadline", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { timeoutMs: 300 });
    const b = await worker(timeline, { timeoutMs: 300 });
    const runId = await pausedRun(a, "o1");
    const checkpoint = throughJson(await a.runtime.detach(runId));
    b.runtime.adopt(checkpoint);
    await tick(100);
    expect(b.runtime.watch("orders", runId)?.status).toBe("paused");
    await expect.poll(() => b.completed.length, { timeout: 2_000 }).toBe(1);
    expect(Date.now()).toBeGreaterThanOrEqual(checkpoint.pause[0]!.deadline as number);
  });

  it("a result's durationMs counts from the run's start, time paused and travelling included", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    const b = await worker(timeline);
    const runId = await pausedRun(a, "o1");
    const startedAt = a.runtime.watch("orders", runId)!.startedAt;
    await tick(60);
    const checkpoint = throughJson(await a.runtime.detach(runId));
    b.runtime.adopt(checkpoint);
    const resumed = await b.runtime.resume(runId, { approved: true });
    expect(resumed.metadata.durationMs).toBeGreaterThanOrEqual(60);
    expect(resumed.metadata.durationMs).toBe(b.runtime.watch("orders", runId)!.updatedAt - startedAt);
    // the same measure in the same runtime, without a move
    const local = await pausedRun(b, "o2");
    await tick(60);
    const done = await b.runtime.resume(local, { approved: true });
    expect(done.metadata.durationMs).toBeGreaterThanOrEqual(60);
  });

  it("resume() and abort() work on an adopted run as on any parked one", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    const b = await worker(timeline);
    const first = await pausedRun(a, "o1");
    const second = await pausedRun(a, "o2");
    b.runtime.adopt(throughJson(await a.runtime.detach(first)));
    b.runtime.adopt(throughJson(await a.runtime.detach(second)));
    const resumed = await b.runtime.resume<OrderState>(first, { approved: true });
    expect(resumed.ok && resumed.value).toEqual({
      status: "completed",
      state: { orderId: "o1", approved: true, shipped: true },
    });
    const seq = b.runtime.checkpoint(second)!.seq;
    await b.runtime.abort(second);
    expect(b.runtime.watch("orders", second)?.status).toBe("aborted");
    await b.runtime.flushTimeline();
    const last = (await eventsOf(timeline, second)).at(-1)!;
    expect(last).toMatchObject({ type: "run.aborted", seq: seq + 1 });
  });

  it("stop() ends an adopted run as it ends any parked run (aborted), so detach it first to keep it", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    const b = await worker(timeline);
    const runId = await pausedRun(a, "o1");
    b.runtime.adopt(throughJson(await a.runtime.detach(runId)));
    await b.runtime.stop();
    expect(b.completed.map((r) => r.ok && r.value.status)).toEqual(["aborted"]);
  });

  it("a restart: checkpoints saved before stop() are adopted by the next runtime", async () => {
    const timeline = await createMemoryTimelineStore();
    const before = await worker(timeline);
    const ids = [await pausedRun(before, "o1"), await pausedRun(before, "o2")];
    const saved: string[] = [];
    for (const info of before.runtime.listAllRuns()) {
      if (info.status === "paused") saved.push(JSON.stringify(await before.runtime.detach(info.runId)));
    }
    await before.runtime.stop();
    expect(before.completed).toEqual([]); // nothing was aborted: the runs had left

    const after = await worker(timeline);
    for (const text of saved) after.runtime.adopt(JSON.parse(text));
    expect(after.runtime.listAllRuns().map((r) => [r.runId, r.status])).toEqual([
      [ids[0], "paused"],
      [ids[1], "paused"],
    ]);
    after.bus.emit("order.approved", { orderId: "o2", approved: true });
    after.bus.emit("order.approved", { orderId: "o1", approved: false });
    await expect.poll(() => after.completed.length).toBe(2);
    expect(after.completed.map((r) => r.ok && [r.metadata.runId, r.value.state.shipped])).toEqual([
      [ids[1], true],
      [ids[0], false],
    ]);
  });
});

describe("execution modes and moved runs", () => {
  const exclusive: ExecutionMode = { type: "exclusive", onBusy: "reject" };

  it("a dispatched run holds an exclusive workflow's slot where it is adopted, and frees it where it left", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { mode: exclusive });
    const b = await worker(timeline, { mode: exclusive });
    const outcomes: string[] = [];
    a.bus.emit("order.placed", { orderId: "o1" });
    await expect.poll(() => a.runtime.listAllRuns()[0]?.status).toBe("paused");
    const runId = a.runtime.listAllRuns()[0]!.runId;
    const checkpoint = throughJson(await a.runtime.detach(runId));
    expect(checkpoint.dispatched).toBe(true);

    // a's slot is free again: the next event there starts a run
    a.bus.emit("order.placed", { orderId: "o2" });
    await expect.poll(() => a.runtime.listAllRuns().length).toBe(1);
    expect(a.runtime.listAllRuns()[0]!.runId).not.toBe(runId);

    // b: adopted, it holds the slot, so an event that would start a run is rejected
    await b.runtime.deregister("orders");
    await b.runtime.register(orders(), {
      mode: exclusive,
      onDispatch: (d) => void outcomes.push(d.outcome),
      onComplete: (r) => void b.completed.push(r),
    });
    b.runtime.adopt(checkpoint);
    b.bus.emit("order.placed", { orderId: "o3" });
    expect(outcomes).toEqual(["rejected"]);
    b.bus.emit("order.approved", { orderId: "o1", approved: true });
    await expect.poll(() => b.completed.length).toBe(1);
    b.bus.emit("order.placed", { orderId: "o4" });
    expect(outcomes).toEqual(["rejected", "started"]);
  });

  it("adopt() refuses a dispatched run while another run holds the slot, and takes it once the slot is free", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { mode: { type: "singleton_loop", onBusy: "drop" } });
    const b = await worker(timeline, { mode: { type: "singleton_loop", onBusy: "drop" } });
    a.bus.emit("order.placed", { orderId: "o1" });
    b.bus.emit("order.placed", { orderId: "o2" });
    await expect.poll(() => a.runtime.listAllRuns()[0]?.status).toBe("paused");
    await expect.poll(() => b.runtime.listAllRuns()[0]?.status).toBe("paused");
    const checkpoint = throughJson(await a.runtime.detach(a.runtime.listAllRuns()[0]!.runId));
    const busy = b.runtime.listAllRuns()[0]!.runId;
    const error = refusal(() => b.runtime.adopt(checkpoint), "INVALID_STATE");
    expect(error.message).toContain(`run ${busy} is active`);
    expect(b.runtime.watch("orders", checkpoint.runId)).toBeUndefined();
    b.bus.emit("order.approved", { orderId: "o2", approved: true });
    await expect.poll(() => b.completed.length).toBe(1);
    expect(b.runtime.adopt(checkpoint).status).toBe("paused");
  });

  it("an invoked run (not dispatched) takes no slot where it is adopted, as invoke() takes none", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { mode: exclusive });
    const b = await worker(timeline, { mode: exclusive });
    const checkpoint = throughJson(await a.runtime.detach(await pausedRun(a, "o1")));
    expect(checkpoint.dispatched).toBe(false);
    b.bus.emit("order.placed", { orderId: "o2" });
    await expect.poll(() => b.runtime.listAllRuns()[0]?.status).toBe("paused");
    expect(b.runtime.adopt(checkpoint).status).toBe("paused");
  });

  it("detach() of the run holding an exclusive slot starts the one queued behind it (queue_single)", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { mode: { type: "exclusive", onBusy: "queue_single" } });
    a.bus.emit("order.placed", { orderId: "o1" });
    await expect.poll(() => a.runtime.listAllRuns()[0]?.status).toBe("paused");
    const first = a.runtime.listAllRuns()[0]!.runId;
    a.bus.emit("order.placed", { orderId: "o2" });
    expect(a.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused", "queued"]);
    await a.runtime.detach(first);
    await expect.poll(() => a.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
  });
});

describe("what adopt() and detach() refuse", () => {
  async function fixture() {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    const b = await worker(timeline);
    const checkpoint = throughJson(await a.runtime.detach(await pausedRun(a, "o1")));
    return { a, b, checkpoint };
  }

  it("a workflow that is not registered: NOT_FOUND, naming the ones that are", async () => {
    const { b, checkpoint } = await fixture();
    const error = refusal(() => b.runtime.adopt({ ...checkpoint, workflowId: "invoices" }), "NOT_FOUND");
    expect(error.message).toBe('workflow "invoices" is not registered (registered: orders)');
  });

  it.each([
    [
      "not an object",
      () => "{}",
      "checkpoint must be an object that runtime.checkpoint() or detach() returned",
    ],
    [
      "its JSON text, not parsed (not quoted back: it may be megabytes)",
      () => '{"version":1}',
      "or its JSON parsed (got a string of 13 characters: pass JSON.parse(text), not the text)",
    ],
    [
      "a list of checkpoints",
      (c: RunCheckpoint) => [c, c],
      "(got an array of 2 items: adopt each checkpoint on its own)",
    ],
    [
      "a field a checkpoint does not have",
      (c: RunCheckpoint) => ({ ...c, dispatch: true }),
      "adopt(checkpoint): checkpoint.dispatch is not an option (options: version, runId, workflowId",
    ],
    [
      "no workflowId",
      (c: RunCheckpoint) => ({ ...c, workflowId: undefined }),
      "checkpoint.workflowId must be a non-empty string",
    ],
    [
      "no triggerId",
      (c: RunCheckpoint) => ({ ...c, triggerId: 7 }),
      "checkpoint.triggerId must be a non-empty string (got 7)",
    ],
    [
      "a bad startedAt",
      (c: RunCheckpoint) => ({ ...c, startedAt: "today" }),
      "checkpoint.startedAt must be an epoch time in ms",
    ],
    [
      "no dispatched flag",
      (c: RunCheckpoint) => ({ ...c, dispatched: undefined }),
      "checkpoint.dispatched must be true or false",
    ],
    [
      "no pipelineId",
      (c: RunCheckpoint) => ({ ...c, pipelineId: undefined }),
      "adopt(checkpoint): checkpoint.pipelineId must be a non-empty string (got undefined)",
    ],
    [
      "a pipeline the workflow lacks",
      (c: RunCheckpoint) => ({ ...c, pipelineId: "refund" }),
      'workflow "orders" has no pipeline "refund" (pipelines: fulfil)',
    ],
    [
      "no waits",
      (c: RunCheckpoint) => ({ ...c, pause: [] }),
      "checkpoint.pause is empty, but a paused run waits on at least one wait",
    ],
    [
      "a next stage the pipeline lacks",
      (c: RunCheckpoint) => ({ ...c, nextStageId: "packing" }),
      'checkpoint.nextStageId: pipeline "fulfil" has no stage "packing" (stages: approval, ship), which the run waits to run',
    ],
    [
      "an unknown version",
      (c: RunCheckpoint) => ({ ...c, version: 2 }),
      "checkpoint.version: unsupported checkpoint version 2",
    ],
    [
      "a state that is not an object",
      (c: RunCheckpoint) => ({ ...c, state: [] }),
      "checkpoint.state: must be an object",
    ],
    [
      "a malformed wait",
      (c: RunCheckpoint) => ({ ...c, pause: [{ id: "w", event: "*" }] }),
      'checkpoint.pause[0].event: must be a non-empty event name other than "*"',
    ],
    [
      "a wait with a misspelt key",
      (c: RunCheckpoint) => ({ ...c, pause: [{ id: "w", condition: [] }] }),
      "checkpoint.pause[0].condition: is not an option here",
    ],
    [
      "a wait on a control event",
      (c: RunCheckpoint) => ({ ...c, pause: [{ id: "w", event: "sluice.run.abort" }] }),
      'checkpoint.pause[0].event: "sluice.run.abort" is a runtime control event',
    ],
    [
      "two waits with one id",
      (c: RunCheckpoint) => ({ ...c, pause: [{ id: "w" }, { id: "w" }] }),
      'has two waits with id "w"',
    ],
    [
      "a state JSON cannot hold",
      (c: RunCheckpoint) => ({ ...c, state: { n: 1n } }),
      "must be JSON-serialisable",
    ],
    [
      "a getter that throws",
      (c: RunCheckpoint) =>
        Object.defineProperty({ ...c }, "seq", {
          get: () => {
            throw new Error("boom");
          },
          enumerable: true,
        }),
      "checkpoint could not be read (boom)",
    ],
  ])("%s: INVALID_INPUT saying what to fix", async (_what, change, message) => {
    const { b, checkpoint } = await fixture();
    const error = refusal(() => b.runtime.adopt(change(checkpoint) as RunCheckpoint), "INVALID_INPUT");
    expect(error.message).toContain(message);
    expect(b.runtime.listAllRuns()).toEqual([]);
  });

  it.each([
    ["Number.MAX_SAFE_INTEGER", Number.MAX_SAFE_INTEGER],
    ["Number.MAX_SAFE_INTEGER - 100", Number.MAX_SAFE_INTEGER - 100],
    ["2^52 + 1", 2 ** 52 + 1],
  ])(
    "a seq that leaves the run no room for its events (%s): INVALID_INPUT naming checkpoint.seq and the bound",
    async (_what, seq) => {
      const { b, checkpoint } = await fixture();
      const error = refusal(() => b.runtime.adopt({ ...checkpoint, seq }), "INVALID_INPUT");
      expect(error.message).toContain(`checkpoint.seq: must be an integer from 0 to 4503599627370496 (2^52`);
      expect(error.message).toContain(`(got ${seq})`);
      expect(b.runtime.listAllRuns()).toEqual([]);
    },
  );

  it("a seq at the bound (2^52) is adopted, and the run's events go on from it, each with a seq of its own", async () => {
    const { b, checkpoint } = await fixture();
    const timeline = await createMemoryTimelineStore();
    const c = await worker(timeline);
    const runId = c.runtime.adopt({ ...checkpoint, seq: 2 ** 52 }).runId;
    c.bus.emit("order.approved", { orderId: "o1", approved: true });
    await expect.poll(() => c.completed.length).toBe(1);
    await c.runtime.flushTimeline();
    const seqs = (await eventsOf(timeline, runId)).map((e) => e.seq);
    expect(seqs.length).toBeGreaterThan(3);
    expect(seqs).toEqual(seqs.map((_, i) => 2 ** 52 + 1 + i));
    expect(b.runtime.listAllRuns()).toEqual([]);
  });

  it("a run this runtime already knows, waiting or finished: DUPLICATE_KEY (a checkpoint continues once)", async () => {
    const { b, checkpoint } = await fixture();
    b.runtime.adopt(checkpoint);
    expect(refusal(() => b.runtime.adopt(checkpoint), "DUPLICATE_KEY").message).toContain(
      `run ${checkpoint.runId} is already known to this runtime`,
    );
    await b.runtime.resume(checkpoint.runId, { approved: true });
    expect(b.runtime.watch("orders", checkpoint.runId)?.status).toBe("completed");
    refusal(() => b.runtime.adopt(checkpoint), "DUPLICATE_KEY");
  });

  it("after stop(): INVALID_STATE", async () => {
    const { b, checkpoint } = await fixture();
    await b.runtime.stop();
    expect(refusal(() => b.runtime.adopt(checkpoint), "INVALID_STATE").message).toContain(
      "adopt: the runtime has been stopped",
    );
  });

  it("detach() of an unknown run is NOT_FOUND; of a running, finished or detached one INVALID_STATE or NOT_FOUND", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    await expect(a.runtime.detach("nope")).rejects.toMatchObject({ code: "NOT_FOUND" });
    const runId = await pausedRun(a, "o1");
    await a.runtime.resume(runId, { approved: true });
    await expect(a.runtime.detach(runId)).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: `detach(${runId}): the run is finished, not paused; only a paused run can be detached`,
    });
    const again = await pausedRun(a, "o2");
    await a.runtime.detach(again);
    await expect(a.runtime.detach(again)).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("detach() of a running run: INVALID_STATE, and the run goes on", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    let release!: () => void;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    await a.runtime.deregister("orders");
    await a.runtime.register({
      id: "orders",
      triggers: { placed: { event: "order.placed", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "wait", action: () => gate }] }] } },
    });
    const running = a.runtime.invoke("orders", "placed", {});
    const runId = a.runtime.listAllRuns()[0]!.runId;
    await expect(a.runtime.detach(runId)).rejects.toMatchObject({
      code: "INVALID_STATE",
      message: `detach(${runId}): the run is running, not paused; only a paused run can be detached`,
    });
    release();
    expect((await running).ok).toBe(true);
  });

  it("a run detached by its wait's patch mapper while an event resumes it is not resumed here", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline);
    let detaching: Promise<RunCheckpoint> | undefined;
    await a.runtime.deregister("orders");
    await a.runtime.register(
      {
        id: "orders",
        triggers: { placed: { event: "order.placed", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "wait",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) => {
                      const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                      pause.register({
                        event: "go",
                        patch: (payload: { n: number }) => {
                          detaching = a.runtime.detach(ctx.runId);
                          return { n: payload.n };
                        },
                      });
                    },
                  },
                ],
              },
              { id: "after", steps: [{ id: "a", action: () => ({ ran: true }) }] },
            ],
          },
        },
      },
      { onComplete: (r) => void a.completed.push(r as RunResult<OrderState>) },
    );
    const runId = (await a.runtime.invoke("orders", "placed", {})).metadata.runId!;
    a.bus.emit("go", { n: 1 });
    const checkpoint = await detaching!;
    await tick(20);
    expect(a.completed).toEqual([]);
    expect(a.runtime.listAllRuns()).toEqual([]);
    expect(checkpoint).toMatchObject({ runId, nextStageId: "after", state: {} });
  });

  it("detach() of a run whose state JSON cannot hold: INVALID_STATE, and the run goes on waiting", async () => {
    const timeline = await createMemoryTimelineStore();
    const a = await worker(timeline, { pauseWindowMs: 60_000 });
    const runId = await pausedRun(a, "o1");
    a.runtime.signal(runId, { big: 1n });
    await expect(a.runtime.detach(runId)).rejects.toMatchObject({ code: "INVALID_STATE" });
    a.bus.emit("order.approved", { orderId: "o1", approved: true });
    await expect.poll(() => a.completed.length).toBe(1);
  });
});
