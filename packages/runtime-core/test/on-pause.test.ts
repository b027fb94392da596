import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it } from "vitest";
import type { PauseContext, RunCheckpoint, RunResult, Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** validate → waits for this order's approval → ship. */
const approval: Workflow = {
  id: "orders",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  pipelines: {
    fulfil: {
      stages: [
        {
          id: "approval",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await pauseOf(ctx);
                pause.register({
                  id: "approval",
                  event: "order.approved",
                  conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                });
                return { asked: true };
              },
            },
          ],
        },
        { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
      ],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("onPause", () => {
  it("fires once a run has parked, with where it goes on, what it waits for and its state; its checkpoint is there", async () => {
    h = await harness();
    const seen: Array<{
      ctx: PauseContext;
      checkpoint: RunCheckpoint | undefined;
      status: string | undefined;
    }> = [];
    await h.runtime.register(approval, {
      onPause: (ctx) => {
        seen.push({
          ctx,
          checkpoint: h.runtime.checkpoint(ctx.runId),
          status: h.runtime.watch("orders", ctx.runId)?.status,
        });
      },
    });
    const result = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    const runId = result.metadata.runId!;
    expect(seen).toHaveLength(1);
    const [{ ctx, checkpoint, status }] = seen as [(typeof seen)[0]];
    expect(ctx).toMatchObject({
      runId,
      workflowId: "orders",
      triggerId: "placed",
      pipelineId: "fulfil",
      nextStage: "ship",
    });
    expect(ctx.waits).toEqual([
      { id: "approval", event: "order.approved", conditions: [{ path: "orderId", op: "==", value: "o1" }] },
    ]);
    expect(ctx.state()).toEqual({ orderId: "o1", asked: true });
    expect(status).toBe("paused");
    expect(checkpoint).toMatchObject({ runId, nextStageId: "ship", state: { orderId: "o1", asked: true } });
    h.bus.emit("order.approved", { orderId: "o1" });
    await expect.poll(() => h.runtime.watch("orders", runId)?.status).toBe("completed");
    expect(seen).toHaveLength(1);
  });

  it("tells of bus-started runs too, and reads the state of a run whose pause window released it at once", async () => {
    h = await harness();
    const states: unknown[] = [];
    await h.runtime.register(approval, {
      pauseWindowMs: 0,
      onPause: (ctx) => void states.push(ctx.state()),
    });
    h.bus.emit("order.placed", { orderId: "o7" });
    await expect.poll(() => states).toEqual([{ orderId: "o7", asked: true }]);
  });

  it("does not fire when an event buffered for the run resumes it at once (it never parked)", async () => {
    h = await harness();
    const paused: string[] = [];
    await h.runtime.register(
      {
        ...approval,
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "approval",
                steps: [
                  {
                    id: "wait",
                    action: async (ctx) => {
                      const pause = await pauseOf(ctx);
                      pause.register({ event: "order.approved" });
                      // the approval arrives before the stage ends: it is buffered
                      h.bus.emit("order.approved", { approvedBy: "ann" });
                    },
                  },
                ],
              },
              { id: "ship", steps: [{ id: "ship", action: () => ({ shipped: true }) }] },
            ],
          },
        },
      },
      { onPause: (ctx) => void paused.push(ctx.runId) },
    );
    const result = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(result.ok && result.value).toMatchObject({
      status: "completed",
      state: { approvedBy: "ann", shipped: true },
    });
    expect(paused).toEqual([]);
  });

  it("a resume waits for it: onResume and the next stage run once the hook has settled", async () => {
    h = await harness();
    const log: string[] = [];
    const saving = deferred();
    await h.runtime.register(approval, {
      onPause: async () => {
        log.push("onPause start");
        await saving.promise;
        log.push("onPause end");
      },
      onResume: () => void log.push("onResume"),
      onComplete: () => void log.push("onComplete"),
    });
    const runId = (await h.runtime.invoke("orders", "placed", { orderId: "o1" })).metadata.runId!;
    const resumed = h.runtime.resume(runId, { approvedBy: "ann" });
    await tick(20);
    expect(log).toEqual(["onPause start"]);
    // the resume has begun: the run is no longer parked, and a second resume is refused
    expect(h.runtime.watch("orders", runId)?.status).toBe("running");
    expect((await h.runtime.resume(runId)).ok).toBe(false);
    saving.resolve();
    const result = await resumed;
    expect(result.ok && result.value.status).toBe("completed");
    expect(log).toEqual(["onPause start", "onPause end", "onResume", "onComplete"]);
  });

  it("an abort does not wait for it, as during onPrepare: a hook awaiting its run's abort does not hang", async () => {
    h = await harness();
    const log: string[] = [];
    await h.runtime.register(approval, {
      onPause: async (ctx) => {
        log.push("onPause");
        await tick();
        await h.runtime.abort(ctx.runId);
        log.push("aborted");
      },
      onComplete: (result) => void log.push(`onComplete ${result.ok && result.value.status}`),
    });
    await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    await expect.poll(() => log).toEqual(["onPause", "onComplete aborted", "aborted"]);
  });

  it("a throwing onPause is reported HOOK_FAILED and the run goes on; one past hookTimeoutMs is reported TIMEOUT and no longer waited for", async () => {
    h = await harness();
    await h.runtime.register(approval, {
      hookTimeoutMs: 50,
      onPause: (ctx) => {
        if (ctx.state().orderId === "o1") throw new Error("the store is down");
        return new Promise<void>(() => {});
      },
    });
    const first = (await h.runtime.invoke("orders", "placed", { orderId: "o1" })).metadata.runId!;
    expect(h.errors.map((e) => [e.code, e.message])).toEqual([
      ["HOOK_FAILED", expect.stringContaining(`onPause of run ${first} threw: the store is down`)],
    ]);
    const done = await h.runtime.resume(first, {});
    expect(done.ok && done.value.status).toBe("completed");

    const second = (await h.runtime.invoke("orders", "placed", { orderId: "o2" })).metadata.runId!;
    const resumed: RunResult = await h.runtime.resume(second, {});
    expect(resumed.ok && resumed.value.status).toBe("completed");
    expect(h.errors.map((e) => e.code)).toEqual(["HOOK_FAILED", "TIMEOUT"]);
  });

  it("is refused at register() when it is not a function", async () => {
    h = await harness();
    await expect(h.runtime.register(approval, { onPause: "save" as never })).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
    });
  });
});
