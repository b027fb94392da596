import { describe, expect, it } from "vitest";
import {
  type DispatchResult,
  defineWorkflow,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type Workflow,
} from "../src/index.js";
import { approvalWorkflow } from "./approval-workflow.js";
import { harness } from "./helpers.js";

type StepState = { n: number; fail?: boolean; wait?: boolean; done?: boolean };

/** One stage: waits for "never" when `wait`, throws when `fail`, else completes with `done`. */
const steps: Workflow<StepState> = defineWorkflow<StepState>({
  id: "steps",
  triggers: { go: { event: "steps.go", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "work",
          steps: [
            {
              id: "work",
              action: async (ctx) => {
                if (ctx.state().fail) throw new Error("kaput");
                if (ctx.state().wait) {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({ event: "never" });
                  return {};
                }
                return { done: true };
              },
            },
          ],
        },
        { id: "after", steps: [{ id: "after", action: () => ({}) }] },
      ],
    },
  },
});

async function withSteps(options: RegisterOptions<StepState>) {
  const h = await harness();
  await h.runtime.register(steps, options);
  const run = async (state: StepState) => {
    const result = await h.runtime.invoke<StepState>("steps", "go", state);
    return { result, runId: result.metadata.runId! };
  };
  return { ...h, run };
}

describe("register option keepResults", () => {
  it("keeps a completed run's result: result() resolves at once with the object invoke and onComplete got", async () => {
    const completed: RunResult[] = [];
    const { runtime, run } = await withSteps({ keepResults: 5, onComplete: (r) => completed.push(r) });
    const { result, runId } = await run({ n: 1 });
    const kept = await runtime.result(runId);
    expect(kept).toBe(result);
    expect(kept).toBe(completed[0]);
    expect(kept.ok && kept.value).toEqual({ status: "completed", state: { n: 1, done: true } });
    expect(runtime.result(runId)).not.toBe(runtime.result(runId)); // nothing waits: a settled answer each time
    await runtime.stop();
  });

  it("keeps a failed run's result, its state in metadata.state", async () => {
    const { runtime, run } = await withSteps({ keepResults: 5 });
    const { result, runId } = await run({ n: 2, fail: true });
    const kept = await runtime.result(runId);
    expect(kept).toBe(result);
    expect(!kept.ok && kept.error.code).toBe("STEP_FAILED");
    expect(!kept.ok && kept.metadata).toMatchObject({
      runId,
      workflowId: "steps",
      state: { n: 2, fail: true },
    });
    await runtime.stop();
  });

  it("keeps an aborted run's result (a parked run the host aborted)", async () => {
    const completed: RunResult[] = [];
    const { runtime, run } = await withSteps({ keepResults: 5, onComplete: (r) => completed.push(r) });
    const { result, runId } = await run({ n: 3, wait: true });
    expect(result.ok && result.value.status).toBe("paused");
    await runtime.abort(runId);
    const kept = await runtime.result(runId);
    expect(kept).toBe(completed[0]);
    expect(kept.ok && kept.value).toEqual({ status: "aborted", state: { n: 3, wait: true } });
    await runtime.stop();
  });

  it("keeps a queued run's never-started ABORTED result", async () => {
    const { runtime, bus } = await harness();
    const reports: DispatchResult[] = [];
    await runtime.register(approvalWorkflow("approval"), {
      keepResults: 5,
      mode: { type: "exclusive", onBusy: "queue_single" },
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("order.placed", { orderId: "a" });
    bus.emit("order.placed", { orderId: "b" });
    const queued = reports.find((r) => r.outcome === "queued")!.runId!;
    bus.emit("order.placed", { orderId: "c" }); // supersedes the queued run: it never starts
    const kept = await runtime.result(queued);
    expect(!kept.ok && kept.error.code).toBe("ABORTED");
    expect(!kept.ok && kept.error.message).toContain("never started");
    await runtime.stop();
  });

  it("keeps the last N only: the oldest is evicted, and result() says it is no longer kept", async () => {
    const { runtime, run } = await withSteps({ keepResults: 2 });
    const ids: string[] = [];
    for (let n = 0; n < 4; n++) ids.push((await run({ n })).runId);
    for (const runId of ids.slice(0, 2)) {
      const gone = await runtime.result(runId);
      expect(!gone.ok && gone.error.code).toBe("NOT_FOUND");
      expect(!gone.ok && gone.error.message).toContain(
        "its result is no longer kept (keepResults: 2 keeps the results of the workflow's last 2 ended runs)",
      );
    }
    for (const [n, runId] of ids.slice(2).entries()) {
      const kept = await runtime.result<StepState>(runId);
      expect(kept.ok && kept.value.state.n).toBe(n + 2);
    }
    await runtime.stop();
  });

  it("keeps results apart from the registry's retention: a result outlives its RunInfo in the registry", async () => {
    const { runtime, run } = await withSteps({ keepResults: 3, retention: { maxFinished: 0 } });
    const { result, runId } = await run({ n: 4 });
    expect(runtime.registry("steps")!.get(runId)).toBeUndefined();
    expect(runtime.listAllRuns()).toEqual([]);
    expect(await runtime.result(runId)).toBe(result);
    await runtime.stop();
  });

  it("findRun() and watch() answer for a kept run the registry's retention dropped: the RunInfo it ended with", async () => {
    // retention keeps one finished run: each run's RunInfo is read while the registry has it, then
    // again once the next run's end has dropped it from there
    const { runtime, run } = await withSteps({ keepResults: 4, retention: { maxFinished: 1 } });
    const ended: { runId: string; info: unknown }[] = [];
    const note = (runId: string) => ended.push({ runId, info: runtime.findRun(runId) });
    note((await run({ n: 1 })).runId);
    note((await run({ n: 2, fail: true })).runId);
    const paused = (await run({ n: 3, wait: true })).runId;
    await runtime.abort(paused);
    note(paused);
    await run({ n: 4 });
    expect(ended.map((e) => e.info)).toEqual([
      expect.objectContaining({ status: "completed", stage: "after", workflowId: "steps", pipelineId: "p" }),
      expect.objectContaining({
        status: "failed",
        stage: "work",
        error: expect.objectContaining({ code: "STEP_FAILED" }),
      }),
      expect.objectContaining({ status: "aborted", stage: "after", triggerId: "go" }),
    ]);
    for (const { runId, info } of ended) {
      expect(runtime.registry("steps")!.get(runId)).toBeUndefined();
      expect(runtime.findRun(runId)).toEqual(info);
      expect(runtime.watch("steps", runId)).toEqual(info);
      expect(runtime.watch("other", runId)).toBeUndefined();
    }
    // a copy each time, as every RunInfo handed out
    const first = runtime.findRun(ended[1]!.runId)!;
    first.status = "completed";
    first.error!.code = "changed";
    expect(runtime.findRun(ended[1]!.runId)).toEqual(ended[1]!.info);
    // past keepResults, and once the workflow is gone, nothing answers
    await run({ n: 5 });
    expect(runtime.findRun(ended[0]!.runId)).toBeUndefined();
    await runtime.deregister("steps");
    expect(runtime.findRun(ended[1]!.runId)).toBeUndefined();
    await runtime.stop();
  });

  it("findRun() answers for a kept queued run that never started, as its RunInfo said", async () => {
    const { runtime, bus } = await harness();
    const reports: DispatchResult[] = [];
    await runtime.register(approvalWorkflow("approval"), {
      keepResults: 5,
      retention: { maxFinished: 0 },
      mode: { type: "exclusive", onBusy: "queue_single" },
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("order.placed", { orderId: "a" });
    bus.emit("order.placed", { orderId: "b" });
    const queued = reports.find((r) => r.outcome === "queued")!.runId!;
    bus.emit("order.placed", { orderId: "c" }); // supersedes the queued run: it never starts
    expect(runtime.findRun(queued)).toMatchObject({
      runId: queued,
      workflowId: "orders",
      status: "aborted",
      error: { code: "ABORTED", message: expect.stringContaining("never started") },
    });
    await runtime.stop();
  });

  it("keeps nothing by default (0): an ended run's result() is NOT_FOUND, pointing at keepResults", async () => {
    for (const options of [{}, { keepResults: 0 }]) {
      const { runtime, run } = await withSteps(options);
      const { runId } = await run({ n: 5 });
      const ended = await runtime.result(runId);
      expect(!ended.ok && ended.error.code).toBe("NOT_FOUND");
      expect(!ended.ok && ended.error.message).toContain("has ended (completed) and its result is not kept");
      expect(!ended.ok && ended.error.message).toContain("register the workflow with keepResults");
      await runtime.stop();
    }
  });

  it("drops the kept results when the workflow is deregistered (registering it again brings none back)", async () => {
    const { runtime, run } = await withSteps({ keepResults: 5 });
    const { runId } = await run({ n: 6 });
    expect((await runtime.result(runId)).ok).toBe(true);
    await runtime.deregister("steps");
    const gone = await runtime.result(runId);
    expect(!gone.ok && gone.error.code).toBe("NOT_FOUND");
    await runtime.register(steps, { keepResults: 5 });
    const still = await runtime.result(runId);
    expect(!still.ok && still.error.code).toBe("NOT_FOUND");
    await runtime.stop();
  });

  it("drops the kept results at stop()", async () => {
    const { runtime, run } = await withSteps({ keepResults: 5 });
    const { runId } = await run({ n: 7 });
    await runtime.stop();
    const gone = await runtime.result(runId);
    expect(!gone.ok && gone.error.message).toContain("this runtime has been stopped and holds no runs");
  });

  it("refuses a keepResults that is not an integer ≥ 0 with INVALID_DEFINITION, saying what to give", async () => {
    const { runtime } = await harness();
    for (const bad of [-1, 1.5, Number.NaN, Infinity, "10", null, 2 ** 53]) {
      const error = await runtime.register(steps, { keepResults: bad as number }).then(
        () => undefined,
        (e: unknown) => e as { code: string; message: string; details: unknown },
      );
      expect(error?.code, String(bad)).toBe("INVALID_DEFINITION");
      expect(error?.message).toMatch(
        /^options\.keepResults: must be an integer ≥ 0 \(how many ended runs' results result\(\) keeps; 0 keeps none\), got /,
      );
      expect(error?.details).toEqual({ path: "options.keepResults" });
    }
    expect(runtime.listWorkflows()).toEqual([]);
    await runtime.stop();
  });
});
