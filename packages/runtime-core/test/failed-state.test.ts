import { createEventBus } from "@sluice/events";
import type { PauseService } from "@sluice/pause";
import { type StateStore, type StoreCreateOptions, StoreRegistry } from "@sluice/store";
import { describe, expect, it } from "vitest";
import { defineWorkflow, type RunResult, WorkflowRuntime } from "../src/index.js";
import { deferred, harness, tick } from "./helpers.js";

interface Order {
  orderId: string;
  chargeId?: string;
  reserved?: boolean;
  shipped?: boolean;
}

// A saga's usual shape: the charge succeeds, shipping fails, and whoever handles the failure
// must refund the charge whose id a step wrote into the state.
const checkout = defineWorkflow<Order>({
  id: "checkout",
  triggers: { placed: { event: "order.placed", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "pay",
          steps: [{ id: "charge", action: (ctx) => ({ chargeId: `ch-${ctx.state().orderId}` }) }],
        },
        {
          id: "ship",
          steps: [
            {
              id: "ship",
              action: async () => {
                throw new Error("carrier down");
              },
            },
          ],
        },
      ],
    },
  },
});

describe("a failed run's result", () => {
  it("gives the state the run failed with in metadata.state, to invoke, onComplete and result()", async () => {
    const { runtime } = await harness();
    const seen: RunResult<Order>[] = [];
    await runtime.register(checkout, { onComplete: (result) => seen.push(result) });
    const result = await runtime.invoke("checkout", "placed", { orderId: "o1" });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("STEP_FAILED");
    // the completed step's patch: what a refund needs
    expect(result.metadata.state).toEqual({ orderId: "o1", chargeId: "ch-o1" });
    expect(result.metadata).toMatchObject({ runId: expect.any(String), stage: "ship" });
    expect(Object.isFrozen(result.metadata.state)).toBe(true);
    expect(seen).toEqual([result]);
    await runtime.stop();
  });

  it("after onPrepare failed, has what onPrepare set", async () => {
    const { runtime } = await harness();
    await runtime.register(checkout, {
      onPrepare: (ctx) => {
        ctx.set({ reserved: false });
        throw new Error("no stock");
      },
    });
    const result = await runtime.invoke("checkout", "placed", { orderId: "o2" });
    expect(!result.ok && result.error.code).toBe("HOOK_FAILED");
    expect(!result.ok && result.metadata.state).toEqual({ orderId: "o2", reserved: false });
    await runtime.stop();
  });

  it("of a queued run that never started, has its initial state", async () => {
    const { runtime, bus } = await harness();
    const gate = deferred();
    const held = defineWorkflow<Order>({
      id: "held",
      triggers: { placed: { event: "order.placed", pipeline: "p" } },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "wait", action: () => gate.promise }] }] } },
    });
    const queued: string[] = [];
    await runtime.register(held, {
      mode: { type: "serialized" },
      onDispatch: (r) => {
        if (r.outcome === "queued") queued.push(r.runId);
      },
    });
    bus.emit("order.placed", { orderId: "first" });
    bus.emit("order.placed", { orderId: "second" });
    const outcome = runtime.result<Order>(queued[0]!);
    const stopping = runtime.stop();
    gate.resolve();
    await stopping;
    const result = await outcome;
    expect(!result.ok && result.error.code).toBe("ABORTED");
    expect(!result.ok && result.metadata.state).toEqual({ orderId: "second" });
  });

  it("of a run released past its pause window whose state store cannot be made again, has the state it paused with", async () => {
    let full = false;
    // a host's registry whose storage has run out by the time the run resumes
    class FullRegistry extends StoreRegistry {
      override create<S extends object>(id: string, initial: S, options?: StoreCreateOptions): StateStore<S> {
        if (full) throw new Error("quota exceeded");
        return super.create(id, initial, options);
      }
    }
    const runtime = new WorkflowRuntime({
      bus: createEventBus(),
      storeRegistry: new FullRegistry(),
      onError: () => {},
    });
    const approval = defineWorkflow<Order>({
      id: "approval",
      triggers: { placed: { event: "order.placed", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "pay",
              steps: [
                {
                  id: "charge",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                    pause.register({ event: "order.approved" });
                    return { chargeId: "ch-o3" };
                  },
                },
              ],
            },
            { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
          ],
        },
      },
    });
    await runtime.register(approval, { pauseWindowMs: 0 });
    const paused = await runtime.invoke("approval", "placed", { orderId: "o3" });
    const runId = paused.metadata.runId!;
    await tick(); // released as it parked (pauseWindowMs: 0), its store disposed
    full = true;
    const result = await runtime.resume(runId, { reserved: true });
    expect(!result.ok && result.error.message).toContain("quota exceeded");
    // not {}: the charge to refund is in the state the checkpoint kept (the resume patch never landed)
    expect(!result.ok && result.metadata.state).toEqual({ orderId: "o3", chargeId: "ch-o3" });
    expect(runtime.watch("approval", runId)?.status).toBe("failed");
    await runtime.stop();
  });
});
