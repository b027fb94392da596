import { SystemError } from "@sluice/errors";
import { createEventBus, type EventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import type { TimelineStore } from "@sluice/timeline";
import { createMemoryTimelineStore } from "@sluice/timeline-memory";
import { afterEach, describe, expect, it } from "vitest";
import {
  type PauseService,
  type RegisterOptions,
  type RunCheckpoint,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";

// A new version of a workflow deployed while runs wait: the runs its old version parked continue
// at the stage they wait to run, by its id, wherever the new version puts it.

type S = { ran?: string[] };

/**
 * Version of "orders" with `stages` in order: "wait" waits for `resume()`, every stage adds its id
 * to `state.ran`. `trigger` and `pipeline` name its trigger and pipeline.
 */
function version(
  stages: string[],
  { trigger = "placed", pipeline = "fulfil" }: { trigger?: string; pipeline?: string } = {},
): Workflow<S> {
  return {
    id: "orders",
    triggers: { [trigger]: { event: "order.placed", pipeline } },
    pipelines: {
      [pipeline]: {
        stages: stages.map((id) => ({
          id,
          steps: [
            {
              id,
              action: async (ctx) => {
                if (id === "wait") {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({});
                }
                return { ran: [...(ctx.state().ran ?? []), id] };
              },
            },
          ],
        })),
      },
    },
  };
}

const runtimes: WorkflowRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
});

async function deploy<T extends object = S>(
  definition: Workflow<T>,
  options: {
    timelineStore?: TimelineStore;
    storeRegistry?: StoreRegistry;
    register?: RegisterOptions<T>;
    bus?: EventBus<any>;
  } = {},
): Promise<WorkflowRuntime> {
  const runtime = new WorkflowRuntime({
    bus: options.bus ?? createEventBus<any>(),
    storeRegistry: options.storeRegistry ?? new StoreRegistry(),
    ...(options.timelineStore === undefined ? {} : { timelineStore: options.timelineStore }),
  });
  runtimes.push(runtime);
  await runtime.register(definition, options.register);
  return runtime;
}

/** A run of `old`'s version, parked, detached and kept as JSON text, parsed back. */
async function parkedBy(old: WorkflowRuntime): Promise<RunCheckpoint<S>> {
  const result = await old.invoke("orders", "placed", {});
  expect(result.ok && result.value.status).toBe("paused");
  return JSON.parse(JSON.stringify(await old.detach(result.metadata.runId!)));
}

/** Resumes the run and gives the stages it ran, in order, from its start. */
async function finish(runtime: WorkflowRuntime, runId: string): Promise<string[] | undefined> {
  const result = await runtime.resume(runId);
  expect(result.ok && result.value.status).toBe("completed");
  return result.ok ? (result.value.state as S).ran : undefined;
}

function refusal(fn: () => unknown): SystemError {
  try {
    fn();
  } catch (error) {
    expect(SystemError.is(error, "INVALID_INPUT"), String(error)).toBe(true);
    return error as SystemError;
  }
  throw new Error("adopted");
}

const V1 = ["first", "wait", "ship", "invoice"];

describe("adopt(): a new version takes a parked run at the stage it waits to run, by its id", () => {
  it.each([
    ["a stage inserted before it", ["first", "audit", "wait", "ship", "invoice"], 3, ["ship", "invoice"]],
    ["a stage removed before it", ["wait", "ship", "invoice"], 1, ["ship", "invoice"]],
    ["the stages reordered (it now last)", ["first", "wait", "invoice", "ship"], 3, ["ship"]],
    ["a stage appended", [...V1, "archive"], 2, ["ship", "invoice", "archive"]],
  ])("%s: it runs there, then what follows it in the new version", async (_, stages, index, after) => {
    const checkpoint = await parkedBy(await deploy(version(V1)));
    expect(checkpoint).toMatchObject({ nextStage: 2, nextStageId: "ship" });
    const v2 = await deploy(version(stages));
    expect(v2.adopt(checkpoint)).toMatchObject({ status: "paused", stage: "ship" });
    // its checkpoint here says where the stage now is
    expect(v2.checkpoint(checkpoint.runId)).toMatchObject({ nextStage: index, nextStageId: "ship" });
    expect(await finish(v2, checkpoint.runId)).toEqual(["first", "wait", ...after]);
  });

  it.each([
    ["renamed", ["first", "wait", "dispatch", "invoice"]],
    ["removed", ["first", "wait", "invoice"]],
  ])(
    "the next stage %s: refused, naming the stage it waits for and the stages there are; a host's migration takes it",
    async (_, stages) => {
      const checkpoint = await parkedBy(await deploy(version(V1)));
      const v2 = await deploy(version(stages));
      const error = refusal(() => v2.adopt(checkpoint));
      expect(error.message).toBe(
        `checkpoint.nextStageId: pipeline "fulfil" has no stage "ship" (stages: ${stages.join(", ")}), which the run waits to run: the pipeline's stages changed since the run paused, and no other stage is run in its place. Continue the run with a version of the pipeline that has stage "ship", or set the checkpoint's nextStageId to the stage it should continue at (the checkpoint is plain JSON)`,
      );
      expect(error.details).toEqual({ field: "nextStageId", nextStageId: "ship", stageIds: stages });
      await expect(v2.recover(checkpoint)).rejects.toThrow(error.message);
      expect(v2.listAllRuns()).toEqual([]);
      // the host decides where the run goes on: "invoice" (nextStage, where the stage was, may stay)
      v2.adopt({ ...checkpoint, nextStageId: "invoice" });
      expect(await finish(v2, checkpoint.runId)).toEqual(["first", "wait", "invoice"]);
    },
  );

  it.each([
    ["a stage inserted before", ["audit", "first", "wait"]],
    ["a stage removed", ["wait"]],
  ])(
    "a run that paused in its last stage (nextStageId null), %s, that stage still last: adopted, and completes without running a stage",
    async (_, stages) => {
      const checkpoint = await parkedBy(await deploy(version(["first", "wait"])));
      expect(checkpoint).toMatchObject({ nextStage: 2, nextStageId: null, pausedAfterStageId: "wait" });
      const v2 = await deploy(version(stages));
      expect(v2.adopt(checkpoint)).toMatchObject({ status: "paused" });
      expect(v2.checkpoint(checkpoint.runId)).toMatchObject({ nextStage: stages.length, nextStageId: null });
      expect(await finish(v2, checkpoint.runId)).toEqual(["first", "wait"]);
    },
  );

  it("a renamed trigger: adopted, the run keeps the id of the trigger that started it", async () => {
    const checkpoint = await parkedBy(await deploy(version(V1)));
    const seen: string[] = [];
    const v2 = await deploy(version(V1, { trigger: "orderPlaced" }), {
      register: { onResume: (ctx) => void seen.push(ctx.triggerId) },
    });
    expect(v2.adopt(checkpoint)).toMatchObject({ status: "paused", triggerId: "placed", stage: "ship" });
    const result = await v2.resume(checkpoint.runId);
    expect(result.ok && result.value.state).toEqual({ ran: V1 });
    expect(result.metadata.triggerId).toBe("placed");
    expect(seen).toEqual(["placed"]);
    expect(v2.checkpoint(checkpoint.runId)).toBeUndefined();
  });

  it("a renamed pipeline: refused, saying which field to set; the checkpoint with the new id is taken", async () => {
    const checkpoint = await parkedBy(await deploy(version(V1)));
    const v2 = await deploy(version(V1, { pipeline: "fulfilment" }));
    const error = refusal(() => v2.adopt(checkpoint));
    expect(error.message).toBe(
      'adopt(checkpoint): workflow "orders" has no pipeline "fulfil" (pipelines: fulfilment); the checkpoint was made by another definition of it. A run continues in the pipeline its checkpoint names: if the pipeline was renamed, set checkpoint.pipelineId to its new id',
    );
    expect(error.details).toEqual({ workflowId: "orders", pipelineId: "fulfil" });
    v2.adopt({ ...checkpoint, pipelineId: "fulfilment" });
    expect(await finish(v2, checkpoint.runId)).toEqual(V1);
  });

  it("recover(): the same, and run.resumed names the stage it went on at", async () => {
    const timelineStore = await createMemoryTimelineStore();
    const v1 = await deploy(version(V1), { timelineStore });
    const checkpoint = await parkedBy(v1);
    await v1.flushTimeline();
    const v2 = await deploy(version(["first", "audit", "wait", "ship", "invoice"]), { timelineStore });
    expect(await v2.recover(checkpoint)).toMatchObject({ status: "paused", stage: "ship" });
    expect(await finish(v2, checkpoint.runId)).toEqual(["first", "wait", "ship", "invoice"]);
    await v2.flushTimeline();
    const { events } = await timelineStore.query({ runId: checkpoint.runId, limit: 100 });
    expect(events.find((e) => e.type === "run.resumed")?.data).toEqual({ nextStage: "ship", by: "resume" });
    expect(events.filter((e) => e.type === "stage.started").map((e) => e.stage)).toEqual([
      "first",
      "wait",
      "ship",
      "invoice",
    ]);
  });
});

describe("a new version in the same runtime", () => {
  it("deregister() aborts the runs its workflow parked, released ones too: re-registering does not bring them back", async () => {
    const storeRegistry = new StoreRegistry();
    const ended: string[] = [];
    const runtime = await deploy(version(V1), {
      storeRegistry,
      register: { pauseWindowMs: 0, onCleanup: (info) => void ended.push(info.status) },
    });
    const result = await runtime.invoke("orders", "placed", {});
    const runId = result.metadata.runId!;
    // the pause window (0 ms) releases the run's live context: its state store goes
    await expect.poll(() => storeRegistry.has(runId)).toBe(false);
    await runtime.deregister("orders");
    expect(ended).toEqual(["aborted"]);
    await runtime.register(version(["first", "audit", "wait", "ship", "invoice"]));
    expect(runtime.listAllRuns()).toEqual([]);
    const resumed = await runtime.resume(runId);
    expect(!resumed.ok && resumed.error.code).toBe("NOT_FOUND");
  });

  it("detach() before deregister(), adopt() after register(): runs released past their pause window go on at their stage in the new version", async () => {
    const storeRegistry = new StoreRegistry();
    const runtime = await deploy(version(V1), { storeRegistry, register: { pauseWindowMs: 0 } });
    const runIds: string[] = [];
    for (let i = 0; i < 2; i++) runIds.push((await runtime.invoke("orders", "placed", {})).metadata.runId!);
    await expect.poll(() => runIds.some((runId) => storeRegistry.has(runId))).toBe(false);
    const kept = await Promise.all(runIds.map((runId) => runtime.detach(runId)));
    await runtime.deregister("orders");
    await runtime.register(version(["first", "audit", "wait", "ship", "invoice"]), { pauseWindowMs: 0 });
    for (const checkpoint of kept) runtime.adopt(checkpoint);
    for (const runId of runIds)
      expect(await finish(runtime, runId)).toEqual(["first", "wait", "ship", "invoice"]);
  });
});

type Order = { orderId: string; ran?: string[]; approvedBy?: string; notified?: boolean };

/**
 * Version of "orders" with `stages` in order: "approval" waits for `order.approved` of its order
 * (the event's payload is the resume patch), "notify" sets `notified`, every stage adds its id to
 * `state.ran`.
 */
function approvalVersion(stages: string[]): Workflow<Order> {
  return {
    id: "orders",
    triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
    pipelines: {
      fulfil: {
        stages: stages.map((id) => ({
          id,
          steps: [
            {
              id,
              action: async (ctx) => {
                if (id === "approval") {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({
                    event: "order.approved",
                    conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                  });
                }
                const ran = [...(ctx.state().ran ?? []), id];
                return id === "notify" ? { ran, notified: true } : { ran };
              },
            },
          ],
        })),
      },
    },
  };
}

describe("a run that paused in its last stage goes on after that stage in the new version (pausedAfterStageId)", () => {
  /** An order's run of `stages`, parked at approval by a runtime that then detached it, as JSON. */
  async function parkedAtApproval(
    stages: string[],
    register: RegisterOptions<Order> = {},
  ): Promise<RunCheckpoint<Order>> {
    const old = await deploy(approvalVersion(stages), { register });
    const result = await old.invoke("orders", "placed", { orderId: "o1" });
    expect(result.ok && result.value.status).toBe("paused");
    return JSON.parse(JSON.stringify(await old.detach(result.metadata.runId!)));
  }

  /** A runtime of `stages` on its own bus, with `take` given it the checkpoint; approves the order. */
  async function approvedIn(
    stages: string[],
    take: (runtime: WorkflowRuntime) => unknown,
    options: { timelineStore?: TimelineStore; register?: RegisterOptions<Order> } = {},
  ) {
    const bus = createEventBus<any>();
    const runtime = await deploy(approvalVersion(stages), { ...options, bus });
    const info = await take(runtime);
    const runId = (info as { runId: string }).runId;
    const checkpoint = runtime.checkpoint(runId);
    const done = runtime.result(runId);
    bus.emit("order.approved", { orderId: "o1", approvedBy: "ann" });
    return { info, checkpoint, ended: await done, runtime, runId };
  }

  it.each([
    ["its pause window open", {}],
    ["released past its pause window", { pauseWindowMs: 0 }],
  ])(
    "adopt() (the old runtime's run %s): an appended stage runs when the run's event resumes it",
    async (_, register) => {
      const checkpoint = await parkedAtApproval(["review", "approval"], register);
      expect(checkpoint).toMatchObject({ nextStage: 2, nextStageId: null, pausedAfterStageId: "approval" });
      const resumedAt: (string | null)[] = [];
      const {
        info,
        checkpoint: here,
        ended,
      } = await approvedIn(["review", "approval", "notify"], (v2) => v2.adopt(checkpoint), {
        register: { onResume: (ctx) => void resumedAt.push(ctx.nextStage) },
      });
      // it waits to run "notify" here, and its checkpoint here says so
      expect(info).toMatchObject({ status: "paused", stage: "notify" });
      expect(here).toMatchObject({ nextStage: 2, nextStageId: "notify", pausedAfterStageId: "approval" });
      expect(ended.ok && ended.value).toEqual({
        status: "completed",
        state: { orderId: "o1", approvedBy: "ann", ran: ["review", "approval", "notify"], notified: true },
      });
      expect(resumedAt).toEqual(["notify"]);
    },
  );

  it("recover(): the same, and run.resumed names the appended stage", async () => {
    const checkpoint = await parkedAtApproval(["review", "approval"]);
    const timelineStore = await createMemoryTimelineStore();
    const { info, ended, runtime, runId } = await approvedIn(
      ["review", "approval", "notify", "archive"],
      (v2) => v2.recover(checkpoint),
      { timelineStore },
    );
    expect(info).toMatchObject({ status: "paused", stage: "notify" });
    expect(ended.ok && ended.value.state).toMatchObject({
      ran: ["review", "approval", "notify", "archive"],
      notified: true,
    });
    await runtime.flushTimeline();
    const { events } = await timelineStore.query({ runId, limit: 100 });
    expect(events.find((e) => e.type === "run.resumed")?.data).toMatchObject({
      nextStage: "notify",
      by: "event",
    });
  });

  it("a checkpoint without it (made by an older version): completes without running the appended stage, as before", async () => {
    const { pausedAfterStageId: _dropped, ...old } = await parkedAtApproval(["review", "approval"]);
    const { info, checkpoint, ended } = await approvedIn(["review", "approval", "notify"], (v2) =>
      v2.adopt(old),
    );
    expect(info).toMatchObject({ status: "paused" });
    expect((info as { stage?: string }).stage).toBeUndefined();
    expect(checkpoint).toMatchObject({ nextStage: 3, nextStageId: null });
    expect(checkpoint && "pausedAfterStageId" in checkpoint).toBe(false);
    expect(ended.ok && ended.value.state).toEqual({
      orderId: "o1",
      approvedBy: "ann",
      ran: ["review", "approval"],
    });
  });

  it("the stage it paused in renamed: refused by adopt() and recover(), naming it; a host's migration takes it", async () => {
    const checkpoint = await parkedAtApproval(["review", "approval"]);
    const stages = ["review", "approve", "notify"];
    const v2 = await deploy(approvalVersion(stages));
    const error = refusal(() => v2.adopt(checkpoint));
    expect(error.message).toBe(
      `checkpoint.pausedAfterStageId: pipeline "fulfil" has no stage "approval" (stages: review, approve, notify), which the run paused in and has no next stage after (nextStageId is null): the pipeline's stages changed since the run paused, so which of them follow it is not known, and the run is neither continued at another stage nor completed. Continue the run with a version of the pipeline that has stage "approval", set the checkpoint's nextStageId to the stage it should continue at, or delete its pausedAfterStageId to complete it without running a stage (the checkpoint is plain JSON)`,
    );
    expect(error.details).toEqual({
      field: "pausedAfterStageId",
      pausedAfterStageId: "approval",
      stageIds: stages,
    });
    await expect(v2.recover(checkpoint)).rejects.toThrow(error.message);
    expect(v2.listAllRuns()).toEqual([]);
    expect(v2.adopt({ ...checkpoint, pausedAfterStageId: "approve" })).toMatchObject({ stage: "notify" });
  });

  it("refuses a pausedAfterStageId that is not a non-empty string", async () => {
    const checkpoint = await parkedAtApproval(["review", "approval"]);
    const v2 = await deploy(approvalVersion(["review", "approval", "notify"]));
    for (const pausedAfterStageId of ["", 7, null]) {
      const error = refusal(() =>
        v2.adopt({ ...checkpoint, pausedAfterStageId } as unknown as RunCheckpoint),
      );
      expect(error.message).toBe(
        `checkpoint.pausedAfterStageId: must be the id of the stage the run paused in, or absent (got ${JSON.stringify(pausedAfterStageId)})`,
      );
      expect(error.details).toMatchObject({ field: "pausedAfterStageId" });
    }
    expect(v2.listAllRuns()).toEqual([]);
  });
});
