import { SystemError } from "@sluice/errors";
import { MAX_TIMER_MS } from "@sluice/pipeline";
import { type StateStore, type StoreCreateOptions, StoreRegistry } from "@sluice/store";
import type { TimelineEvent } from "@sluice/timeline";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type DispatchResult,
  defineWorkflow,
  type PauseService,
  type RegisterOptions,
  type RunCheckpoint,
  type RunInfo,
  type RunResult,
  type Workflow,
} from "../src/index.js";
import { type ApprovalState, approvalWorkflow } from "./approval-workflow.js";
import { deferred, type Harness, harness } from "./helpers.js";

const START = 1_700_000_000_000;

/** The runtime's timers and clock are faked; the bus (mitt) and the memory timeline are real. */
function fakeClock(now = START): void {
  vi.useFakeTimers({ toFake: ["setTimeout", "clearTimeout", "Date"], now });
}

let harnesses: Harness[] = [];
async function start(): Promise<Harness> {
  const h = await harness();
  harnesses.push(h);
  return h;
}

afterEach(async () => {
  for (const h of harnesses) await h.runtime.stop();
  harnesses = [];
  vi.useRealTimers();
});

async function eventsOf(h: Harness, runId: string): Promise<TimelineEvent[]> {
  await h.runtime.flushTimeline();
  return (await h.timeline.query({ runId })).events;
}

function timedOut(result: RunResult<any> | undefined): SystemError {
  if (result === undefined || result.ok)
    throw new Error(`expected a failed result, got ${JSON.stringify(result)}`);
  expect(result.error.code).toBe("TIMEOUT");
  return result.error;
}

/** "slow": stage "first", then stage "call", whose step waits for `gate` (ignoring its signal), then "after". */
function slowWorkflow(gate: Promise<unknown>, seen: { reason?: unknown; after?: boolean }): Workflow {
  return {
    id: "slow",
    triggers: { go: { event: "slow.go", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          { id: "first", steps: [{ id: "a", action: () => ({ a: true }) }] },
          {
            id: "call",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  ctx.signal.addEventListener("abort", () => {
                    seen.reason = ctx.signal.reason;
                  });
                  await gate;
                  return { late: true };
                },
              },
            ],
          },
          {
            id: "after",
            steps: [
              {
                id: "b",
                action: () => {
                  seen.after = true;
                },
              },
            ],
          },
        ],
      },
    },
  };
}

/** Parks an "orders" run (it waits, with no timeout, for an approval that never comes). */
async function parked(h: Harness, options: RegisterOptions<ApprovalState> = {}): Promise<string> {
  await h.runtime.register(approvalWorkflow(), { runTimeoutMs: 5_000, ...options });
  const result = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
  if (!result.ok || result.value.status !== "paused") throw new Error("the run did not park");
  return result.metadata.runId;
}

describe("runTimeoutMs: a run past its deadline fails with TIMEOUT", () => {
  it("a running step past the deadline: its ctx.signal fires with the TIMEOUT, the run fails at once, the step's late result is dropped", async () => {
    fakeClock();
    const h = await start();
    const gate = deferred();
    const seen: { reason?: unknown; after?: boolean } = {};
    await h.runtime.register(slowWorkflow(gate.promise, seen), { runTimeoutMs: 5_000 });
    const pending = h.runtime.invoke("slow", "go", {});
    let result: RunResult | undefined;
    void pending.then((r) => {
      result = r;
    });
    await vi.advanceTimersByTimeAsync(4_999);
    expect(result).toBeUndefined();
    expect(seen.reason).toBeUndefined();
    await vi.advanceTimersByTimeAsync(1);
    const error = timedOut(result);
    expect(seen.reason).toBe(error);
    const runId = result!.metadata.runId!;
    expect(error.message).toBe(
      `run ${runId} of workflow "slow" did not end within its runTimeoutMs (5000 ms from its start): the deadline passed while it was running stage "call", so it failed; raise runTimeoutMs, or bound what the run waits for (a step's or a wait's timeoutMs)`,
    );
    expect(error.details).toEqual({
      workflowId: "slow",
      runId,
      runTimeoutMs: 5_000,
      deadline: START + 5_000,
      status: "running",
      stage: "call",
    });
    expect(result!.metadata).toMatchObject({ stage: "call", durationMs: 5_000, state: { a: true } });

    // the step settles later: nothing of it reaches the run, nothing runs after it
    gate.resolve();
    await vi.advanceTimersByTimeAsync(10);
    expect(seen.after).toBeUndefined();
    expect(h.runtime.watch("slow", runId)).toMatchObject({
      status: "failed",
      stage: "call",
      error: { code: "TIMEOUT", message: error.message },
    });
    const events = await eventsOf(h, runId);
    expect(events.map((e) => e.type)).toEqual([
      "run.started",
      "stage.started",
      "step.started",
      "step.completed",
      "stage.completed",
      "stage.started",
      "step.started",
      "run.failed",
    ]);
    expect(events.at(-1)).toMatchObject({
      stage: "call",
      at: START + 5_000,
      message: error.message,
      data: { error: { code: "TIMEOUT" } },
    });
    expect(h.errors).toEqual([]);
  });

  it("a run in its onPrepare fails at the deadline without waiting for the hook, whose ctx.signal fires with the TIMEOUT", async () => {
    fakeClock();
    const h = await start();
    let signal: AbortSignal | undefined;
    await h.runtime.register(approvalWorkflow(), {
      runTimeoutMs: 1_000,
      hookTimeoutMs: 60_000,
      onPrepare: (ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const pending = h.runtime.invoke("orders", "placed", { orderId: "o1" });
    await vi.advanceTimersByTimeAsync(1_000);
    const result = await pending;
    const error = timedOut(result);
    expect(signal?.reason).toBe(error);
    expect(error.message).toContain(
      "while it was running, in none of its stages (in its onPrepare or onResume)",
    );
    expect((await eventsOf(h, result.metadata.runId!)).map((e) => e.type)).toEqual([
      "run.started",
      "run.failed",
    ]);
  });

  it("a run resuming, in its onResume, fails at the deadline without waiting for the hook: no run.resumed, no stage", async () => {
    fakeClock();
    const h = await start();
    let signal: AbortSignal | undefined;
    const runId = await parked(h, {
      hookTimeoutMs: 60_000,
      onResume: (ctx) => {
        signal = ctx.signal;
        return new Promise(() => {});
      },
    });
    const ended = h.runtime.result<ApprovalState>(runId);
    await vi.advanceTimersByTimeAsync(1_000);
    h.bus.emit("order.approved", { orderId: "o1" });
    await vi.advanceTimersByTimeAsync(3_999);
    expect(h.runtime.watch("orders", runId)?.status).toBe("running");
    await vi.advanceTimersByTimeAsync(1);
    const result = await ended;
    const error = timedOut(result);
    expect(signal?.reason).toBe(error);
    expect(result.metadata.state).toMatchObject({ orderId: "o1" });
    const events = await eventsOf(h, runId);
    expect(events.slice(-2).map((e) => e.type)).toEqual(["run.paused", "run.failed"]);
    expect(events.at(-1)).toMatchObject({
      seq: events.at(-2)!.seq + 1,
      data: { error: { code: "TIMEOUT" } },
    });
  });

  it("a parked run (live context) fails without being resumed; the timeline ends run.paused, run.failed", async () => {
    fakeClock();
    const h = await start();
    const resumed: string[] = [];
    const runId = await parked(h, { onResume: (ctx) => void resumed.push(ctx.runId) });
    const ended = h.runtime.result<ApprovalState>(runId);
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.runtime.watch("orders", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(1);
    const result = await ended;
    const error = timedOut(result);
    expect(error.message).toContain('the deadline passed while it was paused before stage "ship"');
    expect(error.details).toMatchObject({ status: "paused", runTimeoutMs: 5_000 });
    expect(result.metadata).toMatchObject({ runId, durationMs: 5_000, state: { orderId: "o1" } });
    expect(result.metadata.stage).toBeUndefined();
    expect(resumed).toEqual([]);
    // RunInfo keeps the stage it would have gone on at
    expect(h.runtime.watch("orders", runId)).toMatchObject({ status: "failed", stage: "ship" });
    const events = await eventsOf(h, runId);
    expect(events.slice(-2).map((e) => [e.type, e.source])).toEqual([
      ["run.paused", "pipeline"],
      ["run.failed", "runtime"],
    ]);
    expect(events.at(-1)).toMatchObject({
      seq: events.at(-2)!.seq + 1,
      data: { error: { code: "TIMEOUT" } },
    });
    // its wait is gone: the approval now reaches nothing
    h.bus.emit("order.approved", { orderId: "o1" });
    await vi.advanceTimersByTimeAsync(10);
    expect(resumed).toEqual([]);
    expect(h.storeRegistry.size).toBe(0);
  });

  it("a parked run released past its pause window (pauseWindowMs: 0) fails without being rebuilt, with the state its checkpoint kept", async () => {
    fakeClock();
    const h = await start();
    const resumed: string[] = [];
    const runId = await parked(h, { pauseWindowMs: 0, onResume: (ctx) => void resumed.push(ctx.runId) });
    h.runtime.signal(runId, { note: "kept" });
    const ended = h.runtime.result(runId);
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await ended;
    timedOut(result);
    expect(result.metadata.state).toEqual({ orderId: "o1", note: "kept" });
    expect(resumed).toEqual([]);
    expect((await eventsOf(h, runId)).at(-1)).toMatchObject({
      type: "run.failed",
      data: { error: { code: "TIMEOUT" } },
    });
  });

  it("a queued run (serialized) leaves the queue and fails without starting; onComplete and onCleanup hear of it, the queue goes on", async () => {
    fakeClock();
    const h = await start();
    const holding = deferred();
    const completed: RunResult[] = [];
    const cleaned: RunInfo[] = [];
    const dispatched: DispatchResult[] = [];
    const ran: string[] = [];
    const workflow = defineWorkflow({
      id: "ledger",
      triggers: { entry: { event: "ledger.entry", pipeline: "post" } },
      pipelines: {
        post: {
          stages: [{ id: "post", steps: [{ id: "post", action: (ctx) => void ran.push(ctx.runId) }] }],
        },
      },
    });
    let calls = 0;
    await h.runtime.register(workflow, {
      mode: { type: "serialized" },
      runTimeoutMs: 5_000,
      hookTimeoutMs: 60_000,
      // the first run holds the one slot in its onComplete (its result decided: no deadline holds it)
      onComplete: (result) => {
        completed.push(result);
        return ++calls === 1 ? holding.promise : undefined;
      },
      onCleanup: (info) => void cleaned.push(info),
      onDispatch: (d) => void dispatched.push(d),
    });
    h.bus.emit("ledger.entry", {});
    await vi.advanceTimersByTimeAsync(1_000);
    h.bus.emit("ledger.entry", {});
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    const queued = dispatched[1]!.runId!;
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.runtime.watch("ledger", queued)?.status).toBe("queued");
    await vi.advanceTimersByTimeAsync(1);
    const error = timedOut(completed[1]);
    expect(error.message).toContain("the deadline passed while it was queued (it never started)");
    expect(completed[1]!.metadata).toMatchObject({ runId: queued, durationMs: 5_000 });
    expect(cleaned.map((info) => [info.runId, info.status, info.error?.code])).toEqual([
      [queued, "failed", "TIMEOUT"],
    ]);
    expect(ran).toHaveLength(1);
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    const events = await eventsOf(h, queued);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      seq: 1,
      type: "run.failed",
      source: "runtime",
      data: { neverStarted: true, error: { code: "TIMEOUT" } },
    });
    // the slot frees; nothing was left queued, and the next event starts at once
    holding.resolve();
    await vi.advanceTimersByTimeAsync(0);
    h.bus.emit("ledger.entry", {});
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "started"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(ran).toHaveLength(2);
  });

  it("a queued run whose deadline passed before its slot freed fails without starting, not once its steps have run", async () => {
    fakeClock();
    const h = await start();
    const charged: string[] = [];
    const dispatched: DispatchResult[] = [];
    const workflow = defineWorkflow<{ id: string }>({
      id: "pay",
      triggers: { go: { event: "pay.go", pipeline: "charge" } },
      pipelines: {
        charge: {
          stages: [
            {
              id: "charge",
              steps: [
                {
                  id: "charge",
                  action: async (ctx) => {
                    charged.push(ctx.state().id);
                    if (ctx.state().id !== "a") return;
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({ event: "pay.never" });
                  },
                },
              ],
            },
            { id: "ship", steps: [{ id: "ship", action: () => ({}) }] },
          ],
        },
      },
    });
    // exclusive: run "a" holds the slot while paused; "b", made in the same ms, waits for it, so
    // both deadlines pass in one turn, and a's failure hands b the slot in that turn
    await h.runtime.register(workflow, {
      mode: { type: "exclusive", onBusy: "queue_single" },
      runTimeoutMs: 5_000,
      onDispatch: (d) => void dispatched.push(d),
    });
    h.bus.emit("pay.go", { id: "a" });
    await vi.advanceTimersByTimeAsync(0);
    h.bus.emit("pay.go", { id: "b" });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    const [a, b] = dispatched.map((d) => d.runId!);
    const endedA = h.runtime.result(a!);
    const endedB = h.runtime.result(b!);
    await vi.advanceTimersByTimeAsync(5_000);
    timedOut(await endedA);
    const error = timedOut(await endedB);
    expect(error.message).toContain("the deadline passed while it was queued (it never started)");
    expect(charged).toEqual(["a"]);
    const events = await eventsOf(h, b!);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({ seq: 1, type: "run.failed", data: { neverStarted: true } });
    // the slot went on: the next event starts a run at once
    h.bus.emit("pay.go", { id: "c" });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "started"]);
    await vi.advanceTimersByTimeAsync(0);
    expect(charged).toEqual(["a", "c"]);
  });

  it("a running run whose deadline passed before its timer fired starts no further stage or step: it fails there", async () => {
    fakeClock();
    const h = await start();
    const charged: number[] = [];
    const workflow = defineWorkflow({
      id: "pay",
      triggers: { go: { event: "pay.go", pipeline: "charge" } },
      pipelines: {
        charge: {
          stages: [
            // a call that answers just as the deadline passes, ahead of the deadline's timer
            { id: "quote", steps: [{ id: "quote", action: () => new Promise((r) => setTimeout(r, 5_000)) }] },
            { id: "charge", steps: [{ id: "charge", action: () => void charged.push(Date.now()) }] },
          ],
        },
      },
    });
    // the deadlines' timer, armed for the parked run's deadline, is re-armed for pay's at that
    // deadline: after quote's timer, which then fires first (as a timer late under load would let it)
    await parked(h);
    await vi.advanceTimersByTimeAsync(1_000);
    await h.runtime.register(workflow, { runTimeoutMs: 5_000 });
    const pending = h.runtime.invoke("pay", "go", {});
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await pending;
    const error = timedOut(result);
    expect(charged).toEqual([]);
    expect(error.details).toMatchObject({ status: "running", stage: "charge" });
    expect((await eventsOf(h, result.metadata.runId!)).slice(-2).map((e) => [e.type, e.stage])).toEqual([
      ["stage.started", "charge"],
      ["run.failed", "charge"],
    ]);
  });

  it("a run that pauses once its deadline has passed, before its timer fired, fails there: no onPause, not parked", async () => {
    fakeClock();
    const h = await start();
    const paused: string[] = [];
    const workflow = defineWorkflow({
      id: "ask",
      triggers: { go: { event: "ask.go", pipeline: "approve" } },
      pipelines: {
        approve: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "ask",
                  // a call that answers just as the deadline passes, ahead of the deadline's timer
                  action: async (ctx) => {
                    await new Promise((r) => setTimeout(r, 5_000));
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({ event: "ask.answered" });
                  },
                },
              ],
            },
            { id: "done", steps: [{ id: "done", action: () => ({}) }] },
          ],
        },
      },
    });
    // as above: the deadlines' timer is re-armed for this run's deadline after the step's timer
    await parked(h);
    await vi.advanceTimersByTimeAsync(1_000);
    await h.runtime.register(workflow, {
      runTimeoutMs: 5_000,
      // (an approval request sent past the deadline, for a run that fails at once)
      onPause: (ctx) => void paused.push(ctx.runId),
    });
    const pending = h.runtime.invoke("ask", "go", {});
    await vi.advanceTimersByTimeAsync(5_000);
    const result = await pending;
    const error = timedOut(result);
    expect(error.message).toContain('the deadline passed while it was paused before stage "done"');
    expect(paused).toEqual([]);
    expect((await eventsOf(h, result.metadata.runId!)).slice(-2).map((e) => e.type)).toEqual([
      "run.paused",
      "run.failed",
    ]);
  });

  it("onComplete gets the TIMEOUT failure (with the state to compensate from), then bookkeeping, then onCleanup", async () => {
    fakeClock();
    const h = await start();
    const order: string[] = [];
    const runId = await parked(h, {
      onComplete: (result) => {
        order.push(`onComplete ${result.ok ? "ok" : result.error.code}`);
        if (!result.ok) order.push(`compensate ${result.metadata.state?.orderId}`);
        order.push(`registry ${h.runtime.watch("orders", result.metadata.runId!)?.status}`);
      },
      onCleanup: (info) => void order.push(`onCleanup ${info.status} ${info.error?.code}`),
    });
    await vi.advanceTimersByTimeAsync(5_000);
    await h.runtime.flushTimeline();
    expect(order).toEqual([
      "onComplete TIMEOUT",
      "compensate o1",
      "registry paused",
      "onCleanup failed TIMEOUT",
    ]);
    expect(h.runtime.watch("orders", runId)?.status).toBe("failed");
  });

  it("a run that ends before its deadline is untouched: the deadline passing later does nothing, and leaves no timer", async () => {
    fakeClock();
    const h = await start();
    const completed: RunResult[] = [];
    await h.runtime.register(approvalWorkflow(), {
      runTimeoutMs: 5_000,
      pauseWindowMs: Infinity,
      onComplete: (r) => void completed.push(r),
    });
    const result = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    await vi.advanceTimersByTimeAsync(1_000);
    h.bus.emit("order.approved", { orderId: "o1" });
    await vi.advanceTimersByTimeAsync(0);
    expect(completed.map((r) => r.ok && r.value.status)).toEqual(["completed"]);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(completed).toHaveLength(1);
    expect(h.runtime.watch("orders", result.metadata.runId!)?.status).toBe("completed");
    await h.runtime.flushTimeline();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it("the deadline's timer keeps Node alive while a run has a deadline, as a wait's deadline does, and nothing once none has", async () => {
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const h = await start();
    await h.runtime.flushTimeline();
    const before = timers();
    const runId = await parked(h, { runTimeoutMs: 3_600_000, pauseWindowMs: Infinity });
    await h.runtime.flushTimeline();
    expect(timers()).toBe(before + 1);
    // the run ends: the timer stays armed for its deadline, but keeps nothing alive
    const ended = h.runtime.result(runId);
    h.bus.emit("order.approved", { orderId: "o1" });
    expect((await ended).ok).toBe(true);
    await h.runtime.flushTimeline();
    expect(timers()).toBe(before);
    // a new run with a deadline: alive again
    await h.runtime.invoke("orders", "placed", { orderId: "o2" });
    await h.runtime.flushTimeline();
    expect(timers()).toBe(before + 1);
    await h.runtime.stop();
    expect(timers()).toBe(before);
  });

  it("deregister() and stop() clear the deadline's timer", async () => {
    fakeClock();
    const h = await start();
    await parked(h, { pauseWindowMs: Infinity, runTimeoutMs: 3_600_000 });
    await h.runtime.flushTimeline();
    expect(vi.getTimerCount()).toBe(1);
    expect(await h.runtime.deregister("orders")).toBe(true);
    await h.runtime.flushTimeline();
    // past the hook watchdog's timer (hookTimeoutMs, armed by the workflow's services' disposal), far
    // short of the deadline: a deadline timer left armed would still be there
    await vi.advanceTimersByTimeAsync(60_000);
    expect(vi.getTimerCount()).toBe(0);
    await parked(h, { pauseWindowMs: Infinity });
    await h.runtime.stop();
    expect(vi.getTimerCount()).toBe(0);
    expect(h.errors).toEqual([]);
  });

  it("a fault of the runtime's while it fails a run at its deadline is reported, not thrown into the timer; the other runs still fail on time", async () => {
    fakeClock();
    // a host registry whose store of order o1 throws as it is disposed (at the run's end)
    class BrittleRegistry extends StoreRegistry {
      override create<S extends object>(id: string, initial: S, options?: StoreCreateOptions): StateStore<S> {
        const store = super.create(id, initial, options);
        if ((initial as ApprovalState).orderId !== "o1") return store;
        const dispose = store.dispose.bind(store);
        store.dispose = () => {
          dispose();
          throw new Error("disk gone");
        };
        return store;
      }
    }
    const h = await harness({ storeRegistry: new BrittleRegistry() });
    harnesses.push(h);
    await h.runtime.register(approvalWorkflow(), { runTimeoutMs: 5_000, pauseWindowMs: Infinity });
    await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    const second = await h.runtime.invoke("orders", "placed", { orderId: "o2" });
    await vi.advanceTimersByTimeAsync(5_000);
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      [
        "INVALID_STATE",
        expect.stringMatching(/passed its deadline, and failing it failed inside the runtime: .*disk gone/),
      ],
    ]);
    expect(h.runtime.watch("orders", second.metadata.runId!)).toMatchObject({
      status: "failed",
      error: { code: "TIMEOUT" },
    });
  });

  it("a deadline past the longest timer (2^31-1 ms) does not fire early", async () => {
    fakeClock();
    const h = await start();
    const runTimeoutMs = MAX_TIMER_MS + 5_000;
    const runId = await parked(h, { runTimeoutMs });
    await vi.advanceTimersByTimeAsync(MAX_TIMER_MS);
    expect(h.runtime.watch("orders", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(4_999);
    expect(h.runtime.watch("orders", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(1);
    expect(h.runtime.watch("orders", runId)).toMatchObject({ status: "failed", error: { code: "TIMEOUT" } });
  });

  it("refuses a runTimeoutMs that is not a positive, finite number with INVALID_DEFINITION naming the option", async () => {
    const h = await start();
    for (const bad of [0, -1, Number.NaN, Number.POSITIVE_INFINITY, "5000", null]) {
      const refused = await h.runtime.register(approvalWorkflow(), { runTimeoutMs: bad as number }).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(SystemError.is(refused, "INVALID_DEFINITION")).toBe(true);
      expect((refused as SystemError).message).toMatch(
        /^options\.runTimeoutMs: must be a positive, finite number of milliseconds/,
      );
      expect((refused as SystemError).details).toEqual({ path: "options.runTimeoutMs" });
      expect(h.runtime.hasWorkflow("orders")).toBe(false);
    }
    await h.runtime.register(approvalWorkflow(), { runTimeoutMs: 0.5 });
    expect(h.runtime.hasWorkflow("orders")).toBe(true);
  });
});

describe("runTimeoutMs: the deadline travels in the checkpoint", () => {
  it("checkpoint() and detach() carry it as runDeadline (epoch ms); a run without one has no such field", async () => {
    fakeClock();
    const h = await start();
    const runId = await parked(h);
    const info = h.runtime.watch("orders", runId)!;
    expect(h.runtime.checkpoint(runId)?.runDeadline).toBe(info.startedAt + 5_000);
    const detached = await h.runtime.detach(runId);
    expect(detached.runDeadline).toBe(START + 5_000);
    expect(JSON.parse(JSON.stringify(detached))).toEqual(detached);
    // detached: no longer timed here
    await vi.advanceTimersByTimeAsync(10_000);
    expect(h.errors).toEqual([]);

    const plain = await start();
    await plain.runtime.register(approvalWorkflow());
    const result = await plain.runtime.invoke("orders", "placed", { orderId: "o2" });
    expect(Object.hasOwn(plain.runtime.checkpoint(result.metadata.runId!)!, "runDeadline")).toBe(false);
  });

  it("adopted before its deadline, the run fails at that deadline in the new runtime, whatever runTimeoutMs the workflow has there", async () => {
    fakeClock();
    const first = await start();
    const runId = await parked(first);
    await vi.advanceTimersByTimeAsync(2_000);
    const checkpoint = await first.runtime.detach(runId);
    const second = await start();
    const completed: RunResult[] = [];
    await second.runtime.register(approvalWorkflow(), {
      runTimeoutMs: 60_000,
      onComplete: (r) => void completed.push(r),
    });
    expect(second.runtime.adopt(checkpoint).status).toBe("paused");
    expect(second.runtime.checkpoint(runId)?.runDeadline).toBe(START + 5_000);
    await vi.advanceTimersByTimeAsync(2_999);
    expect(second.runtime.watch("orders", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(1);
    const error = timedOut(completed[0]);
    expect(error.details).toMatchObject({ runTimeoutMs: 5_000, deadline: START + 5_000 });
    expect(completed[0]!.metadata.durationMs).toBe(5_000);
    // the timeline goes on from the checkpoint's run.paused
    expect((await eventsOf(second, runId)).map((e) => [e.seq, e.type])).toEqual([
      [checkpoint.seq + 1, "run.failed"],
    ]);
  });

  it("adopted after its deadline, the run fails at once, before an event, resume() or a wait's deadline can resume it", async () => {
    fakeClock();
    const first = await start();
    const runId = await parked(first);
    const checkpoint = await first.runtime.detach(runId);
    await vi.advanceTimersByTimeAsync(60_000);

    const second = await start();
    const resumed: string[] = [];
    await second.runtime.register(approvalWorkflow(), { onResume: (ctx) => void resumed.push(ctx.runId) });
    expect(second.runtime.adopt(checkpoint).status).toBe("paused");
    const ended = second.runtime.result(runId);
    // in the same turn: the approval reaches a run already past its deadline
    second.bus.emit("order.approved", { orderId: "o1" });
    const result = await ended;
    timedOut(result);
    expect(result.metadata.durationMs).toBe(60_000);
    expect(resumed).toEqual([]);

    // and a host's resume() of one adopted late resolves with the failure
    const third = await start();
    await third.runtime.register(approvalWorkflow());
    third.runtime.adopt(checkpoint);
    timedOut(await third.runtime.resume(runId, { approved: true }));

    // left alone, the timer fails it on the next turn
    const fourth = await start();
    await fourth.runtime.register(approvalWorkflow());
    fourth.runtime.adopt(checkpoint);
    await vi.advanceTimersByTimeAsync(0);
    expect(fourth.runtime.watch("orders", runId)).toMatchObject({
      status: "failed",
      error: { code: "TIMEOUT" },
    });
  });

  it("recover() keeps the deadline as adopt() does: before it the run fails on time, after it at once", async () => {
    fakeClock();
    const first = await start();
    const saved = new Map<string, RunCheckpoint>();
    const runId = await parked(first, {
      onPause: (ctx) => void saved.set(ctx.runId, first.runtime.checkpoint(ctx.runId)!),
    });
    await first.runtime.flushTimeline();
    const checkpoint = saved.get(runId)!;
    expect(checkpoint.runDeadline).toBe(START + 5_000);

    // a new process on the same timeline store, before the deadline
    const second = await harness({ timelineStore: first.timeline });
    harnesses.push(second);
    await second.runtime.register(approvalWorkflow());
    await vi.advanceTimersByTimeAsync(1_000);
    await second.runtime.recover(checkpoint);
    await vi.advanceTimersByTimeAsync(3_999);
    expect(second.runtime.watch("orders", runId)?.status).toBe("paused");
    await vi.advanceTimersByTimeAsync(1);
    expect(second.runtime.watch("orders", runId)).toMatchObject({
      status: "failed",
      error: { code: "TIMEOUT" },
    });
    await second.runtime.flushTimeline();
    const events = (await first.timeline.query({ runId })).events;
    expect(events.at(-1)).toMatchObject({ type: "run.failed", data: { error: { code: "TIMEOUT" } } });

    // and after it
    const third = await start();
    await third.runtime.register(approvalWorkflow());
    const late = { ...checkpoint, runId: "late-run" };
    const info = await third.runtime.recover(late);
    expect(info.status).toBe("paused");
    const ended = third.runtime.result("late-run");
    await vi.advanceTimersByTimeAsync(0);
    timedOut(await ended);
  });

  it("adopt() and recover() refuse a runDeadline that is not an epoch time with INVALID_INPUT naming the field", async () => {
    fakeClock();
    const first = await start();
    const checkpoint = await first.runtime.detach(await parked(first));
    const second = await start();
    await second.runtime.register(approvalWorkflow());
    for (const bad of ["soon", -1, Number.NaN, Number.POSITIVE_INFINITY, null]) {
      const value = { ...checkpoint, runDeadline: bad };
      expect(() => second.runtime.adopt(value as RunCheckpoint)).toThrow(
        expect.objectContaining({
          code: "INVALID_INPUT",
          message: expect.stringMatching(
            /^adopt\(checkpoint\): checkpoint\.runDeadline must be an epoch time in ms/,
          ),
          details: { field: "runDeadline" },
        }),
      );
      await expect(second.runtime.recover(value as RunCheckpoint)).rejects.toMatchObject({
        code: "INVALID_INPUT",
        message: expect.stringMatching(/^recover\(checkpoint\): checkpoint\.runDeadline/),
      });
    }
    expect(second.runtime.listAllRuns()).toEqual([]);
    // absent: a run without a deadline, whatever runTimeoutMs the workflow has here
    const { runDeadline: _, ...without } = checkpoint;
    const third = await start();
    await third.runtime.register(approvalWorkflow(), { runTimeoutMs: 1_000 });
    third.runtime.adopt(without);
    await vi.advanceTimersByTimeAsync(10_000);
    expect(third.runtime.watch("orders", checkpoint.runId)?.status).toBe("paused");
  });
});
