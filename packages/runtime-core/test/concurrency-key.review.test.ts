import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, PauseService, RunState, Workflow } from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

const customer = (input: Readonly<RunState>) => String(input.id).split("-")[0]!;

/** The keyed policy's internals (wf.policy is internal): what it still holds. */
function held(workflowId: string) {
  const policy = (h.runtime as any).workflows.get(workflowId).policy;
  return {
    lines: policy.lines.size as number,
    ready: policy.ready.lines.length as number,
    running: policy.running.size as number,
    queued: policy.queuedIn.size as number,
  };
}

async function setup(mode: ExecutionMode) {
  h = await harness();
  return registerGated(h, mode);
}

describe("the idempotency key against the mode's key()", () => {
  it("refuses as a duplicate an event whose idempotency key a run started by its mode key() took", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    let nested = false;
    const workflow: Workflow = {
      id: "w",
      triggers: { go: { event: "go", pipeline: "p", key: (p: { order: string }) => p.order } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => new Promise(() => {}) }] }] } },
    };
    await h.runtime.register(workflow, {
      mode: {
        type: "transient",
        concurrency: 5,
        key: (input) => {
          if (!nested) {
            nested = true;
            h.bus.emit("go", { order: input.order, c: "c2" });
          }
          return String(input.c);
        },
      },
      onDispatch: (r) => dispatched.push(r),
    });
    h.bus.emit("go", { order: "o1", c: "c1" });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started", "duplicate"]);
    expect(h.runtime.listAllRuns().length).toBe(1);
  });
});

describe("the ready lines after many queued runs are forgotten", () => {
  it("keeps no entry per queued run forgotten while every slot stays taken (10k keys)", async () => {
    const t = await setup({ type: "transient", concurrency: 1, key: customer });
    t.emit("x-a");
    for (let i = 0; i < 10_000; i++) t.emit(`k${i}-a`);
    await expect.poll(() => t.started.length).toBe(1);
    for (let i = 1; i <= 10_000; i++) await h.runtime.abort(t.dispatched[i]!.runId!);
    // the heap of ready lines does not keep an entry per run forgotten while the slot stays taken
    expect(held("gated")).toEqual({ lines: 1, ready: expect.any(Number), running: 1, queued: 0 });
    expect(held("gated").ready).toBeLessThanOrEqual(33);
    t.open("x-a");
    await expect.poll(() => t.completed.length).toBe(1);
    expect(held("gated")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  }, 60_000);
  it("keep the lines still waiting, in order: the survivors start as the rule says", async () => {
    const t = await setup({ type: "transient", concurrency: 1, key: customer });
    t.emit("x-0");
    const survivors = ["k0-a", "k1-a", "k0-b", "k2-a"];
    // a key of its own each: a forgotten run's line leaves the ready lines a stale entry
    const forgotten = Array.from({ length: 300 }, (_, i) => `once${i}-a`);
    for (const id of [survivors[0]!, survivors[1]!, ...forgotten, survivors[2]!, survivors[3]!]) t.emit(id);
    await expect.poll(() => t.started).toEqual(["x-0"]);
    const runIdOf = new Map(t.dispatched.map((d) => [(d.payload as { id: string }).id, d.runId!]));
    for (const id of forgotten) await h.runtime.abort(runIdOf.get(id)!);
    expect(held("gated")).toEqual({ lines: 4, ready: expect.any(Number), running: 1, queued: 4 });
    expect(held("gated").ready).toBeLessThanOrEqual(2 * 4 + 32);
    let last = "x-0";
    for (const id of ["k0-a", "k1-a", "k0-b", "k2-a"]) {
      t.open(last);
      await expect.poll(() => t.started.at(-1)).toBe(id);
      last = id;
    }
    t.open(last);
    await expect.poll(() => t.completed.length).toBe(5);
    expect(held("gated")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  });
});
