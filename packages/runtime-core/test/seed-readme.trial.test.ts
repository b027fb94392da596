// The seed README's and SPEC's stated behaviours that no other test file pins, run as a user
// migrating from @asaidimu/runtime would rely on them (their code blocks compile: seed-readme.test-d.ts).

import { afterEach, describe, expect, it } from "vitest";
import { ControlEvent, type RunResult, type Workflow } from "../src/index.js";
import { type Harness, harness } from "./helpers.js";
import { orders } from "./seed-readme.test-d.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("SPEC's orders workflow, through the bus", () => {
  it("two triggers on one event both start a run; the approval resumes only its order; the ship step's log is on the timeline", async () => {
    h = await harness();
    const done: RunResult[] = [];
    const dispatched: string[] = [];
    await h.runtime.register(orders, {
      onDispatch: (d) => void dispatched.push(`${d.triggerId}:${d.outcome}`),
      onComplete: (r) => void done.push(r),
    });
    h.bus.emit("order.placed", { orderId: "o1", tier: "vip" });
    h.bus.emit("order.placed", { orderId: "o2" });
    expect(dispatched).toEqual(["placed:started", "vip:started", "placed:started"]);
    await expect.poll(() => h.runtime.listAllRuns().filter((r) => r.status === "paused").length).toBe(3);
    for (const info of h.runtime.listAllRuns()) {
      expect(Object.keys(info).sort()).toEqual(
        [
          "pipelineId",
          "runId",
          "stage",
          "startedAt",
          "status",
          "triggerId",
          "updatedAt",
          "workflowId",
        ].sort(),
      );
      expect(info.stage).toBe("ship");
    }

    h.bus.emit("order.approved", { orderId: "o2" });
    await expect.poll(() => done.length).toBe(1);
    const [shipped] = done;
    expect(shipped!.ok && shipped!.value).toEqual({
      status: "completed",
      state: { orderId: "o2", valid: true, shipped: true },
    });
    expect(h.runtime.listAllRuns().filter((r) => r.status === "paused")).toHaveLength(2);
    await h.runtime.flushTimeline();
    const { events } = await h.timeline.query({ runId: shipped!.metadata.runId! });
    expect(events.filter((e) => e.source === "logger")).toEqual([
      expect.objectContaining({
        workflowId: "orders",
        type: "log",
        stage: "ship",
        step: "ship",
        level: "info",
        message: "shipping",
        data: { orderId: "o2" },
      }),
    ]);
  });
});

const approval: Workflow = {
  id: "approval",
  triggers: { asked: { event: "approval.asked", pipeline: "p" } },
  pipelines: {
    p: {
      stages: [
        {
          id: "ask",
          steps: [
            {
              id: "ask",
              action: async (ctx) =>
                void (await ctx.use((d) => d.require("__pause_service__"))).register({
                  event: "approval.given",
                }),
            },
          ],
        },
        { id: "close", steps: [{ id: "close", action: () => ({ closed: true }) }] },
      ],
    },
  },
};

describe("the seed's hooks over a whole run", () => {
  it("onDispatch, onPrepare, onPause, onResume, onComplete, onCleanup: in that order, each with its documented argument", async () => {
    h = await harness();
    const calls: Array<[string, unknown]> = [];
    await h.runtime.register(approval, {
      onDispatch: (result) => void calls.push(["onDispatch", result]),
      onPrepare: (ctx) =>
        void calls.push([
          "onPrepare",
          { keys: Object.keys(ctx).sort(), state: ctx.state(), event: ctx.event },
        ]),
      onPause: (ctx) => void calls.push(["onPause", { nextStage: ctx.nextStage, waits: ctx.waits.length }]),
      onResume: (ctx) =>
        void calls.push([
          "onResume",
          { restored: ctx.restored, nextStage: ctx.nextStage, by: ctx.resumedBy },
        ]),
      onComplete: (result) => void calls.push(["onComplete", result]),
      onCleanup: (...args) => void calls.push(["onCleanup", args]),
    });
    h.bus.emit("approval.asked", { id: "a1" });
    await expect.poll(() => calls.length).toBe(3);
    h.bus.emit("approval.given", { by: "ann" });
    await expect.poll(() => calls.length).toBe(6);

    const runId = (calls[0]![1] as { runId: string }).runId;
    const ids = { runId, workflowId: "approval", pipelineId: "p", triggerId: "asked" };
    expect(calls).toEqual([
      [
        "onDispatch",
        {
          outcome: "started",
          workflowId: "approval",
          triggerId: "asked",
          event: "approval.asked",
          payload: { id: "a1" },
          runId,
        },
      ],
      [
        "onPrepare",
        {
          keys: ["event", "pipelineId", "runId", "set", "signal", "state", "triggerId", "use", "workflowId"],
          state: { id: "a1" },
          event: { id: "a1" },
        },
      ],
      ["onPause", { nextStage: "close", waits: 1 }],
      ["onResume", { restored: false, nextStage: "close", by: expect.objectContaining({ by: "event" }) }],
      [
        "onComplete",
        {
          ok: true,
          value: { status: "completed", state: { id: "a1", by: "ann", closed: true } },
          metadata: { ...ids, durationMs: expect.any(Number) },
        },
      ],
      [
        "onCleanup",
        [
          {
            ...ids,
            status: "completed",
            stage: "close",
            startedAt: expect.any(Number),
            updatedAt: expect.any(Number),
          },
        ],
      ],
    ]);
  });
});

describe("what the migration guide says differs", () => {
  it("the global container's __pause_service__ is a stub: register() from a global service throws INVALID_STATE", async () => {
    h = await harness({
      services: [{ id: "pauser", factory: (ctx) => ctx.use((d) => d.require("__pause_service__")) }],
    });
    const thrown: unknown[] = [];
    await h.runtime.register({
      ...approval,
      id: "stub",
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "s",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<{ register(r: object): void }>("pauser"));
                    expect(() => pause.register({})).toThrow(
                      expect.objectContaining({
                        code: "INVALID_STATE",
                        message: expect.stringContaining("outside a run"),
                      }),
                    );
                    thrown.push("INVALID_STATE");
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("stub", "asked", {});
    expect(result.ok && result.value.status).toBe("completed");
    expect(thrown).toEqual(["INVALID_STATE"]);
  });

  it("a global service is built for no run: the seed's `new RequestContext(ctx.runId)` gets undefined", async () => {
    h = await harness({ services: [{ id: "my-context", factory: (ctx) => ({ runId: ctx.runId }) }] });
    await h.runtime.register({
      ...approval,
      id: "ctx",
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                { id: "s", action: (ctx) => ctx.use(async (d) => ({ seen: await d.require("my-context") })) },
              ],
            },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("ctx", "asked", {});
    expect(result.ok && result.value.state.seen).toEqual({ runId: undefined });
  });

  it.each(Object.values(ControlEvent))(
    "a trigger on the control event %s is INVALID_DEFINITION",
    async (event) => {
      h = await harness();
      await expect(
        h.runtime.register({ ...approval, triggers: { asked: { event, pipeline: "p" } } }),
      ).rejects.toMatchObject({
        code: "INVALID_DEFINITION",
        message: expect.stringContaining(`triggers.asked.event: "${event}" is a runtime control event`),
      });
    },
  );
});
