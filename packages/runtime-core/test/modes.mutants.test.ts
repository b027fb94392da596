import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, RunResult, Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";

// Execution-mode behaviour that the mode tests in modes.test.ts leave open: slots and queue places
// coming back after aborts and ends, and the documented default capacity.

/** A workflow whose single step waits until the test releases it (by event payload id). */
function gated() {
  const gates = new Map<string, () => void>();
  const started: string[] = [];
  const workflow: Workflow = {
    id: "gated",
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "wait",
                action: (ctx) => {
                  const runKey = ctx.state().id as string;
                  started.push(runKey);
                  return new Promise<{ result: string }>((resolve, reject) => {
                    gates.set(runKey, () => resolve({ result: `done:${runKey}` }));
                    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                  });
                },
              },
            ],
          },
        ],
      },
    },
  };
  const open = (runKey: string) => {
    const g = gates.get(runKey);
    if (!g) throw new Error(`run ${runKey} has not started`);
    g();
  };
  return { workflow, started, open };
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function setup(mode: ExecutionMode) {
  h = await harness();
  const g = gated();
  const dispatched: DispatchResult[] = [];
  const completed: RunResult[] = [];
  await h.runtime.register(g.workflow, {
    mode,
    onDispatch: (r) => dispatched.push(r),
    onComplete: (r) => {
      completed.push(r);
    },
  });
  const emit = (id: string) => h.bus.emit("job", { id });
  return { ...g, dispatched, completed, emit };
}

describe("transient and serialized queues", () => {
  it("transient without a capacity queues up to 10 000 waiting runs (the documented default), then drops", async () => {
    const t = await setup({ type: "transient", concurrency: 1 });
    for (let i = 0; i <= 10_001; i++) t.emit(`r${i}`);
    const outcomes = t.dispatched.map((d) => d.outcome);
    expect(outcomes[0]).toBe("started");
    expect(outcomes.filter((o) => o === "queued")).toHaveLength(10_000);
    expect(outcomes.at(-1)).toBe("dropped");
    expect(t.dispatched.at(-1)?.reason).toContain("10000");
  }, 30_000);

  it("serialized: a queued run the host aborts gives its place in the queue back", async () => {
    const t = await setup({ type: "serialized", capacity: 1 });
    t.emit("a");
    t.emit("b");
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    await h.runtime.abort(t.dispatched[1]!.runId!);
    t.emit("c");
    // the queue holds nothing any more: c waits in b's place instead of being dropped
    expect(t.dispatched[2]).toMatchObject({ outcome: "queued" });
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "c"]);
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(2);
    expect(t.completed.map((r) => r.ok && r.value.state.id)).toEqual(["a", "c"]);
    expect(h.runtime.watch("gated", t.dispatched[1]!.runId!)?.status).toBe("aborted");
  });
});

describe("single-slot modes free their slot for good", () => {
  it("singleton_loop replace: once the replaced run has ended, a further event replaces the current run", async () => {
    const t = await setup({ type: "singleton_loop", onBusy: "replace" });
    t.emit("a");
    await expect.poll(() => t.started).toEqual(["a"]);
    t.emit("b");
    // a's abort has completed, so its end is behind us while b runs
    await expect.poll(() => t.completed.length).toBe(1);
    await expect.poll(() => t.started).toEqual(["a", "b"]);
    t.emit("c");
    expect(t.dispatched[2]).toMatchObject({ outcome: "replaced", replacedRunId: t.dispatched[1]?.runId });
    await expect.poll(() => t.started).toEqual(["a", "b", "c"]);
    await expect.poll(() => t.completed.length).toBe(2);
    expect(h.runtime.watch("gated", t.dispatched[1]!.runId!)?.status).toBe("aborted");
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(3);
  });

  it("exclusive queue_single: after the queued run has run and ended, the next event starts a run", async () => {
    const t = await setup({ type: "exclusive", onBusy: "queue_single" });
    t.emit("a");
    t.emit("b");
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "b"]);
    t.open("b");
    await expect.poll(() => t.completed.length).toBe(2);
    t.emit("c");
    expect(t.dispatched[2]).toMatchObject({ outcome: "started" });
    await expect.poll(() => t.started).toEqual(["a", "b", "c"]);
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(3);
  });
});
