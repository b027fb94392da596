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
