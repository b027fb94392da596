import { afterEach, describe, expect, it } from "vitest";
import type { DispatchResult, ExecutionMode, PauseService, RunResult, Workflow } from "../src/index.js";
import { gated, registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

async function setup(mode: ExecutionMode) {
  h = await harness();
  return registerGated(h, mode);
}

describe("transient", () => {
  it("runs up to `concurrency` at once, queues up to `capacity`, drops the rest", async () => {
    const t = await setup({ type: "transient", concurrency: 2, capacity: 1 });
    for (const id of ["a", "b", "c", "d"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "started", "queued", "dropped"]);
    expect(t.dispatched[3]?.reason).toContain("capacity");
    await expect.poll(() => t.started).toEqual(["a", "b"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "b", "c"]);
    t.open("b");
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(3);
    expect(t.dispatched[2]?.runId).toBe(
      t.completed.find((r) => r.ok && r.value.state.id === "c")?.metadata.runId,
    );
  });
});

describe("serialized", () => {
  it("runs one at a time in FIFO order", async () => {
    const t = await setup({ type: "serialized" });
    for (const id of ["a", "b", "c"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued"]);
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "b"]);
    t.open("b");
    await expect.poll(() => t.started).toEqual(["a", "b", "c"]);
    t.open("c");
    await expect.poll(() => t.completed.map((r) => r.ok && r.value.state.id)).toEqual(["a", "b", "c"]);
  });
});

describe("singleton_loop", () => {
  it("drop: ignores events while a run is active", async () => {
    const t = await setup({ type: "singleton_loop", onBusy: "drop" });
    t.emit("a");
    t.emit("b");
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "dropped"]);
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.completed.length).toBe(1);
    t.emit("c");
    expect(t.dispatched[2]?.outcome).toBe("started");
    await expect.poll(() => t.started).toEqual(["a", "c"]);
    t.open("c");
  });

  it("signal: merges the event into the active run's state", async () => {
    const t = await setup({ type: "singleton_loop", onBusy: "signal" });
    t.emit("a");
    await expect.poll(() => t.started).toEqual(["a"]);
    t.emit("ignored-id", "from-signal");
    expect(t.dispatched[1]).toMatchObject({ outcome: "signalled", runId: t.dispatched[0]?.runId });
    t.open("a");
    await expect.poll(() => t.completed.length).toBe(1);
    const r = t.completed[0]!;
    expect(r.ok && r.value.state.result).toBe("done:ignored-id:from-signal");
  });

  it("replace: aborts the active run and starts a new one", async () => {
    const t = await setup({ type: "singleton_loop", onBusy: "replace" });
    t.emit("a");
    await expect.poll(() => t.started).toEqual(["a"]);
    t.emit("b");
    expect(t.dispatched[1]).toMatchObject({ outcome: "replaced", replacedRunId: t.dispatched[0]?.runId });
    await expect.poll(() => t.started).toEqual(["a", "b"]);
    await expect.poll(() => t.completed.length).toBe(1);
    expect(t.completed[0]?.metadata.runId).toBe(t.dispatched[0]?.runId);
    expect(h.runtime.watch("gated", t.dispatched[0]!.runId!)?.status).toBe("aborted");
    t.open("b");
    await expect.poll(() => t.completed.length).toBe(2);
  });
});

describe("exclusive", () => {
  it("reject: refuses events while a run is active", async () => {
    const t = await setup({ type: "exclusive", onBusy: "reject" });
    t.emit("a");
    t.emit("b");
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "rejected"]);
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.completed.length).toBe(1);
  });

  it("queue_single: keeps only the latest pending event (latest wins)", async () => {
    const t = await setup({ type: "exclusive", onBusy: "queue_single" });
    t.emit("a");
    t.emit("b");
    t.emit("c");
    // c supersedes b: b's drop is reported as it happens, then c's queueing
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "dropped", "queued"]);
    expect(t.dispatched[2]).toMatchObject({
      runId: t.dispatched[1]?.runId,
      reason: expect.stringContaining("superseded"),
    });
    await expect.poll(() => t.started).toEqual(["a"]);
    t.open("a");
    await expect.poll(() => t.started).toEqual(["a", "c"]);
    t.open("c");
    await expect.poll(() => t.completed.length).toBe(2);
    expect(h.runtime.watch("gated", t.dispatched[1]!.runId!)?.status).toBe("aborted");
  });
});

describe("trigger conditions", () => {
  it("only dispatches events whose payload meets every `when` condition", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "vip",
        triggers: {
          vip: {
            event: "order",
            pipeline: "p",
            when: [
              { path: "tier", op: "==", value: "vip" },
              { path: "total", op: ">", value: 100 },
            ],
          },
        },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }] } },
      },
      { onDispatch: (r) => dispatched.push(r) },
    );
    h.bus.emit("order", { tier: "vip", total: 50 });
    h.bus.emit("order", { tier: "std", total: 500 });
    h.bus.emit("order", { tier: "vip", total: 500 });
    expect(dispatched.map((d) => d.outcome)).toEqual(["started"]);
  });

  it("rejects bus events whose payload cannot become state, via onDispatch", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(
      {
        id: "plain",
        triggers: { go: { event: "plain", pipeline: "p" } },
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }] } },
      },
      { onDispatch: (r) => dispatched.push(r) },
    );
    h.bus.emit("plain", "not an object");
    expect(dispatched[0]).toMatchObject({
      outcome: "rejected",
      reason: expect.stringContaining("plain object"),
    });
  });
});

describe("deregister", () => {
  it("reports queued runs as dropped and aborts the active one", async () => {
    const t = await setup({ type: "serialized" });
    t.emit("a");
    t.emit("b");
    await expect.poll(() => t.started).toEqual(["a"]);
    await h.runtime.deregister("gated");
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "dropped"]);
    expect(t.dispatched[2]).toMatchObject({
      runId: t.dispatched[1]?.runId,
      reason: expect.stringContaining("deregistered"),
    });
    expect(t.completed.map((r) => r.ok && r.value.status)).toEqual(["aborted"]);
  });
});

describe("a paused run and the modes", () => {
  /** A workflow whose runs park at their first stage boundary until "pausing.ok" (or a resume). */
  const pausing: Workflow = {
    id: "pausing",
    triggers: { go: { event: "pausing.go", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "ask",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({ event: "pausing.ok" });
                },
              },
            ],
          },
          { id: "end", steps: [{ id: "done", action: () => ({ done: true }) }] },
        ],
      },
    },
  };

  async function twoEvents(mode: ExecutionMode) {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(pausing, { mode, onDispatch: (r) => dispatched.push(r) });
    h.bus.emit("pausing.go", { n: 1 });
    await expect.poll(() => h.runtime.listAllRuns().map((r) => r.status)).toEqual(["paused"]);
    h.bus.emit("pausing.go", { n: 2 });
    return dispatched.map((d) => d.outcome);
  }

  // The seed and SPEC: "A paused run still counts as active for singleton_loop and exclusive".
  it.each([
    [{ type: "singleton_loop", onBusy: "drop" }, "dropped"],
    [{ type: "singleton_loop", onBusy: "signal" }, "signalled"],
    [{ type: "singleton_loop", onBusy: "replace" }, "replaced"],
    [{ type: "exclusive", onBusy: "reject" }, "rejected"],
    [{ type: "exclusive", onBusy: "queue_single" }, "queued"],
  ] as Array<[ExecutionMode, string]>)(
    "%o: a paused run is active, the next event is %s",
    async (mode, outcome) => {
      expect(await twoEvents(mode)).toEqual(["started", outcome]);
      const statuses = h.runtime.listAllRuns().map((r) => r.status);
      // never a second active run alongside the paused one
      expect(statuses.filter((s) => s === "running" || s === "paused")).toHaveLength(1);
    },
  );

  it("signal merges the event into the paused run's state without resuming it", async () => {
    expect(await twoEvents({ type: "singleton_loop", onBusy: "signal" })).toEqual(["started", "signalled"]);
    const [run] = h.runtime.listAllRuns();
    expect(run?.status).toBe("paused");
    expect(h.runtime.checkpoint(run!.runId)?.state).toMatchObject({ n: 2 });
  });

  it.each([
    { type: "transient", concurrency: 1, capacity: 0 },
    { type: "serialized", capacity: 0 },
  ] as ExecutionMode[])("%o: a pausing run gives its slot back, the next event starts", async (mode) => {
    expect(await twoEvents(mode)).toEqual(["started", "started"]);
  });
});

describe("the default mode", () => {
  it('is { type: "transient", concurrency: 10 }: ten runs at once, the eleventh queued', async () => {
    const t = await setupDefault();
    for (let i = 0; i < 11; i++) t.emit(`r${i}`);
    expect(t.dispatched.map((d) => d.outcome)).toEqual([...Array(10).fill("started"), "queued"]);
    await expect.poll(() => t.started.length).toBe(10);
    t.open("r0");
    await expect.poll(() => t.started).toContain("r10");
    for (let i = 1; i <= 10; i++) t.open(`r${i}`);
    await expect.poll(() => t.completed.length).toBe(11);
  });

  async function setupDefault() {
    h = await harness();
    const g = gated();
    const dispatched: DispatchResult[] = [];
    const completed: RunResult[] = [];
    await h.runtime.register(g.workflow, {
      onDispatch: (r) => dispatched.push(r),
      onComplete: (r) => void completed.push(r),
    });
    return { ...g, dispatched, completed, emit: (id: string) => h.bus.emit("job", { id }) };
  }
});
