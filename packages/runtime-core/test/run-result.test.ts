import { describe, expect, it } from "vitest";
import { type DispatchResult, defineWorkflow, type PauseService, type RunResult } from "../src/index.js";
import { type ApprovalState, approvalWorkflow } from "./approval-workflow.js";
import { deferred, harness, tick } from "./helpers.js";

/** The id of the one run `onDispatch` reported started, for a host that started it by a bus event. */
function startedRunIds(reports: DispatchResult[]): string[] {
  return reports.filter((r) => r.outcome === "started").map((r) => r.runId!);
}

describe("result(runId)", () => {
  it("resolves a bus-started run's result once it completes, through its pause, past its pause window", async () => {
    const { runtime, bus } = await harness();
    const reports: DispatchResult[] = [];
    await runtime.register(approvalWorkflow("approval"), {
      pauseWindowMs: 0,
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("order.placed", { orderId: "o1" });
    const [runId] = startedRunIds(reports);
    const outcome = runtime.result<ApprovalState>(runId!);
    await tick(5);
    expect(runtime.watch("orders", runId!)?.status).toBe("paused");
    bus.emit("order.approved", { orderId: "o1", by: "ann" });
    const result = await outcome;
    expect(result.ok && result.value).toEqual({
      status: "completed",
      state: { orderId: "o1", approved: true, approvedBy: "ann", shipped: true },
    });
    expect(result.metadata).toMatchObject({ runId, workflowId: "orders", triggerId: "placed" });
    await runtime.stop();
  });

  it("after invoke resolves paused, gives the result the run ends with later (several callers alike)", async () => {
    const { runtime, bus } = await harness();
    await runtime.register(approvalWorkflow("approval"), {});
    const paused = await runtime.invoke("orders", "placed", { orderId: "o2" });
    expect(paused.ok && paused.value.status).toBe("paused");
    const runId = paused.metadata.runId!;
    const first = runtime.result(runId);
    const second = runtime.result(runId);
    bus.emit("order.approved", { orderId: "o2", by: "bo" });
    // one answer per run, however often it is asked (a host polling a parked run piles nothing up)
    expect(second).toBe(first);
    const a = await first;
    expect(a.ok && a.value.status).toBe("completed");
    await runtime.stop();
  });

  it("gives a failed run's error and an aborted parked run's state", async () => {
    const { runtime } = await harness();
    await runtime.register(
      defineWorkflow({
        id: "fails",
        triggers: { go: { event: "fails.go", pipeline: "p" } },
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
                      pause.register({ event: "never" });
                    },
                  },
                ],
              },
              {
                id: "boom",
                steps: [
                  {
                    id: "b",
                    action: () => {
                      throw new Error("kaput");
                    },
                  },
                ],
              },
            ],
          },
        },
      }),
      {},
    );
    const one = (await runtime.invoke("fails", "go", { n: 1 })).metadata.runId!;
    const two = (await runtime.invoke("fails", "go", { n: 2 })).metadata.runId!;
    const failed = runtime.result(one);
    const aborted = runtime.result(two);
    await runtime.resume(one);
    await runtime.abort(two);
    const f = await failed;
    expect(!f.ok && f.error.code).toBe("STEP_FAILED");
    expect(f.metadata).toMatchObject({ runId: one, stage: "boom" });
    const a = await aborted;
    expect(a.ok && a.value).toEqual({ status: "aborted", state: { n: 2 } });
    await runtime.stop();
  });

  it("resolves after onCleanup, as invoke does", async () => {
    const order: string[] = [];
    const cleanup = deferred();
    const { runtime, bus } = await harness();
    await runtime.register(approvalWorkflow("approval"), {
      onComplete: () => {
        order.push("onComplete");
      },
      onCleanup: async () => {
        await cleanup.promise;
        order.push("onCleanup");
      },
    });
    const runId = (await runtime.invoke("orders", "placed", { orderId: "o3" })).metadata.runId!;
    const outcome = runtime.result(runId).then((r) => {
      order.push("result");
      return r;
    });
    bus.emit("order.approved", { orderId: "o3", by: "cy" });
    await tick(5);
    expect(order).toEqual(["onComplete"]);
    cleanup.resolve();
    await outcome;
    expect(order).toEqual(["onComplete", "onCleanup", "result"]);
    await runtime.stop();
  });

  it("asked from the run's own onComplete or onCleanup, answers at once with the decided result", async () => {
    const { runtime } = await harness();
    const seen: Array<[string, RunResult, RunResult]> = [];
    await runtime.register(
      defineWorkflow({
        id: "self",
        triggers: { go: { event: "self.go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ done: true }) }] }] } },
      }),
      {
        onComplete: async (result) => {
          seen.push(["onComplete", result, await runtime.result(result.metadata.runId!)]);
        },
        onCleanup: async (info) => {
          const own = await runtime.result(info.runId);
          seen.push(["onCleanup", own, own]);
        },
      },
    );
    const started = Date.now();
    const result = await runtime.invoke("self", "go", {});
    expect(Date.now() - started).toBeLessThan(1_000); // not the 30 s hook limit
    expect(seen.map(([hook]) => hook)).toEqual(["onComplete", "onCleanup"]);
    expect(seen[0]![2]).toBe(seen[0]![1]);
    expect(seen[1]![1]).toBe(seen[0]![1]);
    expect(result.ok && result.value).toEqual({ status: "completed", state: { done: true } });
    await runtime.stop();
  });

  it("says NOT_FOUND, never rejecting, for a run that has ended, one never known and a non-string id", async () => {
    const { runtime } = await harness();
    await runtime.register(
      defineWorkflow({
        id: "quick",
        triggers: { go: { event: "quick.go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ x: 1 }) }] }] } },
      }),
      {},
    );
    const runId = (await runtime.invoke("quick", "go", {})).metadata.runId!;
    const ended = await runtime.result(runId);
    expect(!ended.ok && ended.error.code).toBe("NOT_FOUND");
    expect(!ended.ok && ended.error.message).toContain("has ended (completed) and its result is not kept");
    expect(!ended.ok && ended.error.details).toEqual({ runId, workflowId: "quick", status: "completed" });
    const unknown = await runtime.result("nope");
    expect(!unknown.ok && unknown.error.message).toBe(
      'result("nope"): no such run in this runtime (it never existed here, it was detached from it, or it ended and retention has dropped it)',
    );
    const notString = await runtime.result(42 as unknown as string);
    expect(!notString.ok && notString.error.code).toBe("NOT_FOUND");
    expect(!notString.ok && notString.error.message).toContain("42 (not a string)");
    await runtime.stop();
  });

  it("says NOT_FOUND (detached) for a run detached before it ended; the adopting runtime gives its result", async () => {
    const a = await harness();
    const b = await harness();
    for (const h of [a, b]) await h.runtime.register(approvalWorkflow("approval"), {});
    const runId = (await a.runtime.invoke("orders", "placed", { orderId: "o4" })).metadata.runId!;
    const here = a.runtime.result(runId);
    const checkpoint = await a.runtime.detach(runId);
    const gone = await here;
    expect(!gone.ok && gone.error.code).toBe("NOT_FOUND");
    expect(!gone.ok && gone.error.details).toEqual({ runId, detached: true });
    const after = await a.runtime.result(runId);
    expect(!after.ok && after.error.message).toContain("it was detached from it");
    b.runtime.adopt(checkpoint);
    const there = b.runtime.result<ApprovalState>(runId);
    b.bus.emit("order.approved", { orderId: "o4", by: "di" });
    const result = await there;
    expect(result.ok && result.value.state.shipped).toBe(true);
    await a.runtime.stop();
    await b.runtime.stop();
  });

  it("gives a queued run that never starts its ABORTED result (superseded in exclusive queue_single)", async () => {
    const { runtime, bus } = await harness();
    const reports: DispatchResult[] = [];
    await runtime.register(approvalWorkflow("approval"), {
      mode: { type: "exclusive", onBusy: "queue_single" },
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("order.placed", { orderId: "a" });
    bus.emit("order.placed", { orderId: "b" });
    const queued = reports.find((r) => r.outcome === "queued")!.runId!;
    const outcome = runtime.result(queued);
    bus.emit("order.placed", { orderId: "c" });
    const result = await outcome;
    expect(!result.ok && result.error.code).toBe("ABORTED");
    expect(!result.ok && result.error.message).toContain("never started");
    await runtime.stop();
  });

  it("gives a parked run's aborted result when stop() ends it", async () => {
    const { runtime } = await harness();
    await runtime.register(approvalWorkflow("approval"), {});
    const runId = (await runtime.invoke("orders", "placed", { orderId: "o5" })).metadata.runId!;
    const outcome = runtime.result(runId);
    await runtime.stop();
    const result = await outcome;
    expect(result.ok && result.value).toEqual({ status: "aborted", state: { orderId: "o5" } });
  });

  it("says in metadata.abortReason why the runtime aborted a run, running or parked; other results have none", async () => {
    const { runtime, bus } = await harness();
    const release = deferred();
    await runtime.register(
      defineWorkflow({
        id: "slow",
        triggers: { go: { event: "slow.go", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "wait", action: () => release.promise }] }] } },
      }),
      { mode: { type: "singleton_loop", onBusy: "replace" } },
    );
    await runtime.register(approvalWorkflow("approval"), {});

    const running = runtime.invoke("slow", "go", {});
    await tick();
    const runningId = runtime.listAllRuns().find((r) => r.workflowId === "slow")!.runId;
    await runtime.abort(runningId);
    expect((await running).metadata.abortReason).toBe("aborted by the host");

    bus.emit("slow.go", {});
    await tick();
    const first = runtime.listAllRuns().find((r) => r.workflowId === "slow" && r.status === "running")!;
    const replaced = runtime.result(first.runId);
    bus.emit("slow.go", {});
    const replacedResult = await replaced;
    expect(replacedResult.ok && replacedResult.value.status).toBe("aborted");
    expect(replacedResult.metadata.abortReason).toBe("replaced by a newer run");

    const parked = await runtime.invoke("orders", "placed", { orderId: "o7" });
    const parkedEnd = runtime.result(parked.metadata.runId!);
    await runtime.deregister("orders");
    expect((await parkedEnd).metadata.abortReason).toBe("the workflow was deregistered");

    release.resolve();
    await runtime.register(approvalWorkflow("approval"), {});
    const paused = await runtime.invoke("orders", "placed", { orderId: "o8" });
    expect(paused.metadata).not.toHaveProperty("abortReason");
    const done = runtime.result(paused.metadata.runId!);
    bus.emit("order.approved", { orderId: "o8", by: "al" });
    const completed = await done;
    expect(completed.ok && completed.value.status).toBe("completed");
    expect(completed.metadata).not.toHaveProperty("abortReason");
    await runtime.stop();
  });

  it("waits for onComplete and onCleanup of a run whose end waits for its onPause", async () => {
    // A resume whose rebuild fails ends the run while its onPause still runs: the end (onComplete,
    // onCleanup) waits for the hook, and so must result().
    const order: string[] = [];
    const hook = deferred();
    const { runtime, storeRegistry } = await harness();
    await runtime.register(approvalWorkflow("approval"), {
      pauseWindowMs: 0,
      onPause: () => hook.promise,
      onComplete: () => {
        order.push("onComplete");
      },
      onCleanup: () => {
        order.push("onCleanup");
      },
    });
    const runId = (await runtime.invoke("orders", "placed", { orderId: "o6" })).metadata.runId!;
    await tick(1);
    storeRegistry.create(runId, {}); // the run's store id is taken: rebuilding it fails
    const resumed = runtime.resume(runId);
    await tick(5);
    const outcome = runtime.result(runId).then((r) => {
      order.push("result");
      return r;
    });
    await tick(5);
    expect(order).toEqual([]);
    hook.resolve();
    const result = await outcome;
    expect(order).toEqual(["onComplete", "onCleanup", "result"]);
    expect(result).toBe(await resumed);
    expect(!result.ok && result.error.code).toBe("DUPLICATE_KEY");
    await runtime.stop();
  });

  it("after stop() says the runtime has been stopped", async () => {
    const { runtime } = await harness();
    await runtime.register(approvalWorkflow("approval"), {});
    const runId = (await runtime.invoke("orders", "placed", { orderId: "o7" })).metadata.runId!;
    await runtime.stop();
    const result = await runtime.result(runId);
    expect(!result.ok && result.error.message).toBe(
      `result("${runId}"): this runtime has been stopped and holds no runs (ask before stop(): each waiting call then gets its run's end)`,
    );
  });
});
