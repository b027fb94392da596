import { describe, expect, it, vi } from "vitest";
import { type DispatchResult, defineWorkflow } from "../src/index.js";
import { approvalWorkflow } from "./approval-workflow.js";
import { deferred, harness, tick } from "./helpers.js";

/** "held": one stage whose step waits for the test's gate; "done", one that completes at once. */
function workflows(gate: Promise<void>) {
  const held = defineWorkflow({
    id: "held",
    triggers: { go: { event: "held.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          { id: "first", steps: [{ id: "a", action: () => ({}) }] },
          { id: "waiting", steps: [{ id: "b", action: () => gate }] },
        ],
      },
    },
  });
  const done = defineWorkflow({
    id: "done",
    triggers: { go: { event: "done.go", pipeline: "p" } },
    pipelines: { p: { stages: [{ id: "only", steps: [{ id: "a", action: () => ({ x: 1 }) }] }] } },
  });
  return { held, done };
}

describe("findRun(runId)", () => {
  it("gives a run's RunInfo by its id alone, as watch(workflowId, runId) does: running (live stage), paused, finished", async () => {
    const gate = deferred();
    const { runtime, bus } = await harness();
    const { held, done } = workflows(gate.promise);
    const reports: DispatchResult[] = [];
    await runtime.register(held, { onDispatch: (r) => reports.push(r) });
    await runtime.register(done);
    await runtime.register(approvalWorkflow("approval"));
    bus.emit("held.go", {});
    const running = reports[0]!.runId!;
    await tick(5);
    expect(runtime.findRun(running)).toEqual(runtime.watch("held", running));
    expect(runtime.findRun(running)).toMatchObject({
      workflowId: "held",
      status: "running",
      stage: "waiting",
    });

    const paused = (await runtime.invoke("orders", "placed", { orderId: "o1" })).metadata.runId!;
    expect(runtime.findRun(paused)).toMatchObject({ workflowId: "orders", status: "paused", stage: "ship" });

    const finished = (await runtime.invoke("done", "go", {})).metadata.runId!;
    expect(runtime.findRun(finished)).toEqual(runtime.watch("done", finished));
    expect(runtime.findRun(finished)).toMatchObject({
      workflowId: "done",
      status: "completed",
      stage: "only",
    });

    gate.resolve();
    await runtime.stop();
  });

  it("gives a queued run's RunInfo", async () => {
    const gate = deferred();
    const { runtime, bus } = await harness();
    const reports: DispatchResult[] = [];
    await runtime.register(workflows(gate.promise).held, {
      mode: { type: "serialized" },
      onDispatch: (r) => reports.push(r),
    });
    bus.emit("held.go", {});
    bus.emit("held.go", {});
    const queued = reports.find((r) => r.outcome === "queued")!.runId!;
    expect(runtime.findRun(queued)).toMatchObject({ runId: queued, workflowId: "held", status: "queued" });
    gate.resolve();
    await runtime.stop();
  });

  it("answers an unfinished run from its own record: no workflow's registry is searched", async () => {
    const { runtime } = await harness();
    const { done } = workflows(Promise.resolve());
    for (let i = 0; i < 3; i++) await runtime.register({ ...done, id: `other-${i}` });
    await runtime.register(approvalWorkflow("approval"));
    const paused = (await runtime.invoke("orders", "placed", { orderId: "o1" })).metadata.runId!;
    const searched = [0, 1, 2].flatMap((i) => {
      const registry = runtime.registry(`other-${i}`)!;
      return [vi.spyOn(registry, "has"), vi.spyOn(registry, "get")];
    });
    expect(runtime.findRun(paused)?.status).toBe("paused");
    for (const spy of searched) expect(spy).not.toHaveBeenCalled();
    await runtime.stop();
  });

  it("is undefined for a run it does not know: never known, not a string, dropped by retention, detached, its workflow deregistered", async () => {
    const { runtime } = await harness();
    const { done } = workflows(Promise.resolve());
    await runtime.register(done, { retention: { maxFinished: 0 } });
    await runtime.register(approvalWorkflow("approval"));
    expect(runtime.findRun("nope")).toBeUndefined();
    expect(runtime.findRun(42 as unknown as string)).toBeUndefined();
    const dropped = (await runtime.invoke("done", "go", {})).metadata.runId!;
    expect(runtime.findRun(dropped)).toBeUndefined();
    const detached = (await runtime.invoke("orders", "placed", { orderId: "o1" })).metadata.runId!;
    await runtime.detach(detached);
    expect(runtime.findRun(detached)).toBeUndefined();
    const aborted = (await runtime.invoke("orders", "placed", { orderId: "o2" })).metadata.runId!;
    await runtime.deregister("orders");
    expect(runtime.findRun(aborted)).toBeUndefined();
    await runtime.stop();
  });
});
