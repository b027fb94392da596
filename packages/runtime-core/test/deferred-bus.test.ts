import type { SystemError } from "@sluice/errors";
import { createDeferredEventBus } from "@sluice/events";
import { StoreRegistry } from "@sluice/store";
import { describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, RunResult } from "../src/index.js";
import { WorkflowRuntime } from "../src/index.js";
import { approval, approvalWorkflow } from "./approval-workflow.js";

// The runtime on a bus that delivers as a broker does (a macrotask after emit, JSON copies): what
// a Redis or NATS bus would give it. Nothing in these flows may rely on delivery inside emit.

// its wait maps the approval with a function: a bus-level test, nothing moves between runtimes
const orders = approvalWorkflow(approval);

async function setUp(mode: ExecutionMode) {
  const bus = createDeferredEventBus<any>();
  const errors: unknown[] = [];
  const runtime = new WorkflowRuntime({
    bus,
    storeRegistry: new StoreRegistry(),
    onError: (e) => errors.push(e),
  });
  const dispatched: DispatchResult[] = [];
  const completed: RunResult[] = [];
  await runtime.register(orders, {
    mode,
    onDispatch: (r) => dispatched.push(r),
    onComplete: (r) => {
      completed.push(r);
    },
  });
  const statusOf = (orderId: string) => {
    const run = dispatched.find((d) => (d.payload as { orderId: string }).orderId === orderId && d.runId);
    return run?.runId === undefined ? undefined : runtime.registry("orders")?.get(run.runId)?.status;
  };
  return { bus, runtime, dispatched, completed, errors, statusOf };
}

describe("the runtime on a deferred (broker-like) bus", () => {
  it("starts runs from delivered events, parks them and resumes them with a later matching event", async () => {
    const { bus, runtime, completed, errors, statusOf } = await setUp({ type: "transient", concurrency: 10 });
    bus.emit("order.placed", { orderId: "A" });
    bus.emit("order.placed", { orderId: "B" });
    expect(runtime.listAllRuns()).toEqual([]);
    await bus.delivered();
    expect([statusOf("A"), statusOf("B")]).toEqual(["paused", "paused"]);
    bus.emit("order.approved", { orderId: "B", by: "kim" });
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([statusOf("A"), statusOf("B")]).toEqual(["paused", "completed"]);
    expect(completed.map((r) => r.ok && r.value.state)).toEqual([
      { orderId: "B", approved: true, approvedBy: "kim", shipped: true },
    ]);
    await runtime.stop();
    expect(bus.listenerCount()).toBe(0);
    expect(errors).toEqual([]);
  });

  it("keeps exclusive queue_single's latest-wins order: one parked, the latest pending one kept", async () => {
    const { bus, runtime, dispatched, completed, statusOf } = await setUp({
      type: "exclusive",
      onBusy: "queue_single",
    });
    bus.emit("order.placed", { orderId: "A" });
    bus.emit("order.placed", { orderId: "B" });
    bus.emit("order.placed", { orderId: "C" });
    await bus.delivered();
    expect(dispatched.map((d) => `${d.outcome} ${(d.payload as { orderId: string }).orderId}`)).toEqual([
      "started A",
      "queued B",
      "dropped B",
      "queued C",
    ]);
    bus.emit("order.approved", { orderId: "A", by: "kim" });
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect([statusOf("A"), statusOf("C")]).toEqual(["completed", "paused"]);
    expect(completed.map((r) => r.ok && r.value.state.orderId)).toEqual(["A"]);
    await runtime.stop();
  });

  it("takes abort and signal control events from the bus", async () => {
    const { bus, runtime, dispatched, completed, statusOf } = await setUp({
      type: "transient",
      concurrency: 10,
    });
    bus.emit("order.placed", { orderId: "A" });
    bus.emit("order.placed", { orderId: "B" });
    await bus.delivered();
    const runOf = (orderId: string) =>
      dispatched.find((d) => (d.payload as { orderId: string }).orderId === orderId)!.runId!;
    bus.emit("sluice.run.abort", { runId: runOf("A") });
    bus.emit("sluice.run.signal", { runId: runOf("B"), patch: { priority: "high" } });
    await bus.delivered();
    expect([statusOf("A"), statusOf("B")]).toEqual(["aborted", "paused"]);
    bus.emit("order.approved", { orderId: "B", by: "kim" });
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(completed.map((r) => r.ok && r.value)).toEqual([
      { status: "aborted", state: { orderId: "A" } },
      {
        status: "completed",
        state: { orderId: "B", priority: "high", approved: true, approvedBy: "kim", shipped: true },
      },
    ]);
    await runtime.stop();
  });

  it('with controlEvents.onUnknownRun "ignore", a runtime sharing the bus reports nothing for another\'s run; the holder acts, and malformed control events are still reported by both', async () => {
    const bus = createDeferredEventBus<any>();
    const make = async () => {
      const errors: SystemError[] = [];
      const dispatched: DispatchResult[] = [];
      const runtime = new WorkflowRuntime({
        bus,
        storeRegistry: new StoreRegistry(),
        onError: (e) => errors.push(e),
        controlEvents: { onUnknownRun: "ignore" },
      });
      await runtime.register(orders, { onDispatch: (r) => dispatched.push(r) });
      return { runtime, errors, dispatched };
    };
    const a = await make();
    const b = await make();
    bus.emit("order.placed", { orderId: "A" });
    await bus.delivered();
    const runInA = a.dispatched[0]!.runId!;
    const runInB = b.dispatched[0]!.runId!;
    bus.emit("sluice.run.signal", { runId: runInA, patch: { priority: "high" } });
    bus.emit("sluice.run.resume", { runId: runInA, patch: { approved: true } });
    bus.emit("sluice.run.abort", { runId: runInB });
    bus.emit("sluice.run.abort", { runId: "no-such-run" });
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(a.errors).toEqual([]);
    expect(b.errors).toEqual([]);
    // each holder acted on the events for its own run
    expect(a.runtime.registry("orders")?.get(runInA)?.status).toBe("completed");
    expect(b.runtime.registry("orders")?.get(runInB)?.status).toBe("aborted");
    bus.emit("sluice.run.abort", {});
    await bus.delivered();
    for (const { errors } of [a, b]) expect(errors.map((e) => e.code)).toEqual(["INVALID_INPUT"]);
    await Promise.all([a.runtime.stop(), b.runtime.stop()]);
  });

  it("with two runtimes on one bus: a trigger event starts a run in each, a resume event resumes only the run its runtime holds, a control event is reported NOT_FOUND with its event by the other", async () => {
    const bus = createDeferredEventBus<any>();
    const make = async () => {
      const errors: SystemError[] = [];
      const completed: RunResult[] = [];
      const dispatched: DispatchResult[] = [];
      const runtime = new WorkflowRuntime({
        bus,
        storeRegistry: new StoreRegistry(),
        onError: (e) => errors.push(e),
      });
      await runtime.register(orders, {
        onDispatch: (r) => dispatched.push(r),
        onComplete: (r) => {
          completed.push(r);
        },
      });
      return { runtime, errors, completed, dispatched };
    };
    const a = await make();
    const b = await make();
    bus.emit("order.placed", { orderId: "A" });
    await bus.delivered();
    expect([a.dispatched.length, b.dispatched.length]).toEqual([1, 1]);
    const runInA = a.dispatched[0]!.runId!;
    bus.emit("sluice.run.signal", { runId: runInA, patch: { priority: "high" } });
    await bus.delivered();
    expect(a.errors).toEqual([]);
    expect(b.errors.map((e) => [e.code, e.details])).toEqual([
      ["NOT_FOUND", { runId: runInA, event: "sluice.run.signal" }],
    ]);
    expect(b.errors[0]!.message).toBe(
      `control event "sluice.run.signal" for run ${runInA}: no active run "${runInA}" (it never existed, or it has finished) (on a bus shared by several runtimes, another one may hold it)`,
    );
    bus.emit("order.approved", { orderId: "A", by: "kim" });
    await bus.delivered();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(a.completed.map((r) => r.ok && r.value.state)).toEqual([
      { orderId: "A", priority: "high", approved: true, approvedBy: "kim", shipped: true },
    ]);
    expect(b.completed.map((r) => r.ok && r.value.state)).toEqual([
      { orderId: "A", approved: true, approvedBy: "kim", shipped: true },
    ]);
    await a.runtime.stop();
    await b.runtime.stop();
    expect(bus.listenerCount()).toBe(0);
  });
});
