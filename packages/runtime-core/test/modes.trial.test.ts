import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, PauseService, RunResult, Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

// Execution modes and onDispatch under re-entrant host code: hooks and onDispatch that emit,
// register or deregister while a dispatch decision is being taken.

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** One stage whose step records that it ran. */
function job(id: string): Workflow {
  return {
    id,
    triggers: { go: { event: "job", pipeline: "p" } },
    pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => ({ ran: true }) }] }] } },
  };
}

/** Runs that park at their first stage boundary until "never" (so until aborted). */
const parking: Workflow = {
  id: "parking",
  triggers: { go: { event: "job", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "wait",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                pause.register({ event: "never" });
              },
            },
          ],
        },
        { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
      ],
    },
  },
};

describe("singleton_loop replace: onDispatch hears of the replacement before the replaced run ends", () => {
  it("the replaced run's onComplete (run at once for a paused run) emitting the next event: each run is reported before it is replaced", async () => {
    h = await harness();
    const log: string[] = [];
    const names = new Map<string, string>();
    const name = (runId: string | undefined) => {
      if (runId === undefined) return "-";
      if (!names.has(runId)) names.set(runId, `r${names.size + 1}`);
      return names.get(runId)!;
    };
    const results: Promise<RunResult>[] = [];
    let emitted = false;
    await h.runtime.register(parking, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => {
        log.push(
          `${d.outcome} ${name(d.runId)}${d.replacedRunId ? ` (aborts ${name(d.replacedRunId)})` : ""}`,
        );
        // asked from onDispatch, where the run cannot have ended yet (result()'s TSDoc)
        results.push(h.runtime.result(d.runId!) as Promise<RunResult>);
      },
      onComplete: (r) => {
        log.push(`onComplete ${name(r.metadata.runId)}`);
        // the documented loop: the run emits its next event from onComplete
        if (!emitted) {
          emitted = true;
          h.bus.emit("job", { n: 3 });
        }
      },
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("job", { n: 2 });
    expect(log).toEqual([
      "started r1",
      "replaced r2 (aborts r1)",
      "onComplete r1",
      "replaced r3 (aborts r2)",
    ]);
    const ended = await Promise.all(results.slice(0, 2));
    expect(ended.map((r) => r.ok && r.value.status)).toEqual(["aborted", "aborted"]);
    await expect.poll(() => h.runtime.listAllRuns().filter((r) => r.status === "paused")).toHaveLength(1);
  });

  it("the replaced run's onComplete deregistering the workflow: the replacement is reported replaced, then dropped", async () => {
    h = await harness();
    const reports: DispatchResult[] = [];
    await h.runtime.register(parking, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => void reports.push(d),
      onComplete: () => void h.runtime.deregister("parking"),
    });
    h.bus.emit("job", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("job", { n: 2 });
    const replacement = reports[1]!.runId;
    expect(reports.map((d) => [d.outcome, d.runId, d.reason])).toEqual([
      ["started", reports[0]!.runId, undefined],
      ["replaced", replacement, undefined],
      ["dropped", replacement, "the workflow was deregistered"],
    ]);
  });
});

describe("a workflow registered while a bus event is being dispatched", () => {
  it("is not handed that event: it was emitted before the workflow existed", async () => {
    h = await harness();
    const reports: string[] = [];
    const record = (d: DispatchResult) =>
      void reports.push(`${d.workflowId} n${(d.payload as { n: number }).n}`);
    await h.runtime.register(job("a"), {
      onDispatch: (d) => {
        record(d);
        if (!h.runtime.hasWorkflow("late")) void h.runtime.register(job("late"), { onDispatch: record });
      },
    });
    await h.runtime.register(job("b"), { onDispatch: record });
    h.bus.emit("job", { n: 1 });
    expect(reports).toEqual(["a n1", "b n1"]);
    h.bus.emit("job", { n: 2 });
    expect(reports).toEqual(["a n1", "b n1", "a n2", "b n2", "late n2"]);
    await tick();
  });
});
