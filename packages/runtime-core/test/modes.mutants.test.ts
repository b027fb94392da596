import { afterEach, describe, expect, it } from "vitest";
import type { ExecutionMode } from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

// Execution-mode behaviour that the mode tests in modes.test.ts leave open: slots and queue places
// coming back after aborts and ends, and the documented default capacity.

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function setup(mode: ExecutionMode) {
  h = await harness();
  return registerGated(h, mode);
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
