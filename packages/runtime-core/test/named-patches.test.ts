import { SystemError } from "@sluice/errors";
import { createEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it } from "vitest";
import { type RunCheckpoint, type RunResult, type Workflow, WorkflowRuntime } from "../src/index.js";
import { type ApprovalState, approval, approvalWorkflow } from "./approval-workflow.js";
import { tick } from "./helpers.js";

// A wait's patch mapper given as a function lives in memory only; one named from the workflow's
// `patches` goes into the checkpoint, so a run adopted elsewhere still resumes through it.

type OrderState = ApprovalState;
const orders = approvalWorkflow;

const runtimes: WorkflowRuntime[] = [];
afterEach(async () => {
  for (const runtime of runtimes.splice(0)) await runtime.stop();
});

async function node(workflow: Workflow<OrderState>, pauseWindowMs?: number) {
  const bus = createEventBus<any>();
  const errors: SystemError[] = [];
  const completed: RunResult<OrderState>[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    onError: (e) => errors.push(e),
  });
  runtimes.push(runtime);
  await runtime.register(workflow, {
    ...(pauseWindowMs === undefined ? {} : { pauseWindowMs }),
    onComplete: (r) => {
      completed.push(r as RunResult<OrderState>);
    },
  });
  return { runtime, bus, errors, completed };
}

async function parked(n: Awaited<ReturnType<typeof node>>, orderId: string): Promise<string> {
  const result = await n.runtime.invoke("orders", "placed", { orderId });
  expect(result.ok && result.value.status).toBe("paused");
  return result.metadata.runId!;
}

describe("named patch mappers (Workflow.patches)", () => {
  it("a wait names its mapper: the checkpoint carries the name, and the resuming event goes through it", async () => {
    const n = await node(orders("approval"));
    const runId = await parked(n, "o1");
    expect(n.runtime.checkpoint(runId)?.pause).toEqual([
      expect.objectContaining({ event: "order.approved", patch: "approval" }),
    ]);
    n.bus.emit("order.approved", { orderId: "o1", by: "kim" });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state).toEqual({
      orderId: "o1",
      approved: true,
      approvedBy: "kim",
      shipped: true,
    });
  });

  it("a mapper whose return type is an interface type-checks and resumes the run", async () => {
    interface Approval {
      approved: boolean;
      approvedBy: string;
    }
    const typed = (payload: { by: string }): Approval => ({ approved: true, approvedBy: payload.by });
    const n = await node(orders("approval", { approval: typed }));
    await parked(n, "o1");
    n.bus.emit("order.approved", { orderId: "o1", by: "lee" });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state.approvedBy).toBe("lee");
  });

  it("a run rebuilt after its pause window resumes through the named mapper", async () => {
    const n = await node(orders("approval"), 0);
    const runId = await parked(n, "o1");
    await tick(5);
    expect(n.runtime.registry("orders")?.get(runId)?.status).toBe("paused");
    n.bus.emit("order.approved", { orderId: "o1", by: "kim" });
    await expect.poll(() => n.completed.length).toBe(1);
    expect(n.completed[0]!.ok && n.completed[0]!.value.state.approvedBy).toBe("kim");
  });

  it("a run detached from one runtime and adopted by another resumes through the mapper the name refers to there", async () => {
    const a = await node(orders("approval"));
    const b = await node(orders("approval"));
    const runId = await parked(a, "o1");
    const checkpoint: RunCheckpoint = JSON.parse(JSON.stringify(await a.runtime.detach(runId)));
    expect(a.errors).toEqual([]);
    b.runtime.adopt(checkpoint);
    b.bus.emit("order.approved", { orderId: "o1", by: "ann" });
    await expect.poll(() => b.completed.length).toBe(1);
    expect(b.completed[0]!.ok && b.completed[0]!.value.state).toEqual({
      orderId: "o1",
      approved: true,
      approvedBy: "ann",
      shipped: true,
    });
  });

  it("a function mapper does not travel: the adopted run resumes with the payload itself as its patch", async () => {
    const a = await node(orders(approval));
    const b = await node(orders(approval));
    const runId = await parked(a, "o1");
    const checkpoint: RunCheckpoint = JSON.parse(JSON.stringify(await a.runtime.detach(runId)));
    expect(checkpoint.pause[0]).not.toHaveProperty("patch");
    // detach says so: the checkpoint is returned, and the loss is reported
    const waitId = checkpoint.pause[0]!.id;
    expect(a.errors.map((e) => [e.code, e.details])).toEqual([["INVALID_STATE", { runId, waits: [waitId] }]]);
    expect(a.errors[0]!.message).toBe(
      `detach(${runId}): the patch mapper of wait "${waitId}" is a function, which a checkpoint cannot carry: where the run is adopted, the resuming payload itself will be the patch. Declare the mapper in the workflow's patches and register the wait with patch: "<name>" to keep it`,
    );
    b.runtime.adopt(checkpoint);
    b.bus.emit("order.approved", { orderId: "o1", by: "ann" });
    await expect.poll(() => b.completed.length).toBe(1);
    expect(b.completed[0]!.ok && b.completed[0]!.value.state).toEqual({
      orderId: "o1",
      by: "ann",
      shipped: false,
    });
  });

  it("adopt() refuses a checkpoint whose wait names a mapper the adopting workflow does not declare", async () => {
    const a = await node(orders("approval"));
    const b = await node(orders(approval, { other: approval }));
    const runId = await parked(a, "o1");
    const checkpoint = await a.runtime.detach(runId);
    let refused: unknown;
    try {
      b.runtime.adopt(checkpoint);
    } catch (error) {
      refused = error;
    }
    expect(SystemError.is(refused, "INVALID_INPUT")).toBe(true);
    expect((refused as SystemError).message).toBe(
      'adopt(checkpoint): checkpoint.pause[0].patch names patch mapper "approval", which workflow "orders" does not declare (patches: other); the checkpoint was made by another definition of it',
    );
    expect(b.runtime.listAllRuns()).toEqual([]);
  });

  it("a step that names an undeclared mapper fails, saying which are declared", async () => {
    const n = await node(orders("nope"));
    const result = await n.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(result.ok).toBe(false);
    const error = !result.ok ? result.error : undefined;
    expect(error?.code).toBe("STEP_FAILED");
    expect(String((error?.cause as Error | undefined)?.message)).toBe(
      'pause.register: registration.patch names patch mapper "nope", which is not declared (patches: approval)',
    );
  });

  it("register() refuses patches that are not functions", async () => {
    const runtime = new WorkflowRuntime({ bus: createEventBus(), storeRegistry: new StoreRegistry() });
    runtimes.push(runtime);
    await expect(runtime.register(orders("approval", { approval: 42 as never }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("patches.approval: must be a function (payload) => state patch"),
    });
    await expect(runtime.register(orders("approval", { "": approval }))).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining('patches: a patch mapper needs a name ("" is not one)'),
    });
    await expect(runtime.register({ ...orders("approval"), patches: [] as never })).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining("patches: must be an object of patch mappers by name"),
    });
  });
});
