import { afterEach, describe, expect, it } from "vitest";
import type { ExecutionMode, RunState } from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** The priority in a run id such as `c1-a-5` (its last part); 0 without one. */
const priority = (input: Readonly<RunState>) => Number(String(input.id).split("-")[2] ?? 0);
/** The customer of a run id such as `c1-a-5`. */
const customer = (input: Readonly<RunState>) => String(input.id).split("-")[0]!;

async function setup(mode: ExecutionMode) {
  h = await harness();
  return registerGated(h, mode);
}

describe("a mode's priority", () => {
  it.each([
    { type: "transient", concurrency: 1, priority },
    { type: "serialized", priority },
  ] as const)(
    "%o: a freed slot goes to the queued run of highest priority, equal priorities in arrival order",
    async (mode) => {
      const t = await setup(mode);
      for (const id of ["x-a-0", "x-b-0", "x-c-5", "x-d-5", "x-e-1", "x-f--2"]) t.emit(id);
      expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", ...Array(5).fill("queued")]);
      const order = ["x-a-0", "x-c-5", "x-d-5", "x-e-1", "x-b-0", "x-f--2"];
      for (let i = 0; i < order.length; i++) {
        await expect.poll(() => t.started).toEqual(order.slice(0, i + 1));
        t.open(order[i]!);
      }
      await expect.poll(() => t.completed.length).toBe(6);
    },
  );

  it("orders a key's runs by priority under serialized with a key, each key on its own", async () => {
    const t = await setup({ type: "serialized", key: customer, priority });
    for (const id of ["c1-a-0", "c2-a-0", "c1-b-0", "c1-c-3", "c2-b-0", "c2-c-9"]) t.emit(id);
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0"]);
    t.open("c1-a-0");
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0", "c1-c-3"]);
    t.open("c2-a-0");
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0", "c1-c-3", "c2-c-9"]);
  });

  it("under transient with a key, a freed slot goes to the highest-priority run among the keys with room", async () => {
    const t = await setup({ type: "transient", concurrency: 2, key: customer, priority });
    // c1 and c2 run; c1-b (0) waits for c1, c3-a (1) and c3-b (4) for the overall limit
    for (const id of ["c1-a-0", "c2-a-0", "c1-b-7", "c3-a-1", "c3-b-4"]) t.emit(id);
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0"]);
    // c2's slot frees: c1-b has the highest priority but c1 is busy, so c3's best, c3-b, goes
    t.open("c2-a-0");
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0", "c3-b-4"]);
    // c1's slot frees: c1-b (7) before c3-a (1), though it is c3 whose key has room either way
    t.open("c1-a-0");
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0", "c3-b-4", "c1-b-7"]);
    t.open("c3-b-4");
    await expect.poll(() => t.started).toEqual(["c1-a-0", "c2-a-0", "c3-b-4", "c1-b-7", "c3-a-1"]);
  });

  it("skips a queued run aborted before its turn: the next highest starts", async () => {
    const t = await setup({ type: "transient", concurrency: 1, priority });
    for (const id of ["x-a-0", "x-b-1", "x-c-9", "x-d-5"]) t.emit(id);
    h.runtime.abort(t.dispatched[2]!.runId!);
    t.open("x-a-0");
    await expect.poll(() => t.started).toEqual(["x-a-0", "x-d-5"]);
    t.open("x-d-5");
    await expect.poll(() => t.started).toEqual(["x-a-0", "x-d-5", "x-b-1"]);
  });

  it("a full queue drops a newcomer whatever its priority", async () => {
    const t = await setup({ type: "transient", concurrency: 1, capacity: 1, priority });
    for (const id of ["x-a-0", "x-b-0", "x-c-9"]) t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "dropped"]);
  });

  it("deregister() drops the queued runs, reported in arrival order", async () => {
    const t = await setup({ type: "transient", concurrency: 1, priority });
    for (const id of ["x-a-0", "x-b-0", "x-c-9", "x-d-5"]) t.emit(id);
    const queued = t.dispatched.slice(1).map((d) => d.runId);
    await h.runtime.deregister("gated");
    expect(t.dispatched.slice(4).map((d) => [d.outcome, d.runId])).toEqual(
      queued.map((runId) => ["dropped", runId]),
    );
  });

  it.each([
    [
      () => Number.NaN,
      "must return a finite number (the run's place in the queue: higher starts first), got NaN",
    ],
    [() => "1", 'must return a finite number (the run\'s place in the queue: higher starts first), got "1"'],
    [
      () => {
        throw new Error("no plan");
      },
      "threw: no plan",
    ],
  ])(
    "refuses an event whose priority cannot be read: rejected, naming the workflow and the trigger",
    async (bad, problem) => {
      const t = await setup({ type: "transient", concurrency: 1, priority: bad as never });
      t.emit("x-a");
      expect(t.dispatched.map((d) => [d.outcome, d.reason])).toEqual([
        ["rejected", `workflow "gated" mode.priority() (an event of trigger "go") ${problem}`],
      ]);
      expect(h.runtime.listAllRuns()).toEqual([]);
    },
  );

  it("is not what invoke() goes by: invoke bypasses the mode", async () => {
    let called = 0;
    const t = await setup({
      type: "transient",
      concurrency: 1,
      priority: () => {
        called++;
        return 0;
      },
    });
    const run = h.runtime.invoke("gated", "go", { id: "x-a" });
    await expect.poll(() => t.started).toEqual(["x-a"]);
    t.open("x-a");
    expect((await run).ok).toBe(true);
    expect(called).toBe(0);
  });

  it.each([
    [{ type: "transient", concurrency: 1, priority: 5 }, "options.mode.priority: must be a function"],
    [{ type: "serialized", priority: "high" }, "options.mode.priority: must be a function"],
    [{ type: "singleton_loop", onBusy: "drop", priority }, "options.mode.priority: is not an option here"],
    [{ type: "exclusive", onBusy: "reject", priority }, "options.mode.priority: is not an option here"],
  ])("register refuses mode %o: INVALID_DEFINITION", async (mode, message) => {
    h = await harness();
    await expect(registerGated(h, mode as never)).rejects.toMatchObject({
      code: "INVALID_DEFINITION",
      message: expect.stringContaining(message),
    });
  });
});

/** The keyed policy's internals (wf.policy is internal): what it still holds. */
function held(workflowId: string) {
  const policy = (h.runtime as any).workflows.get(workflowId).policy;
  return {
    lines: policy.lines.size as number,
    ready: policy.ready.size as number,
    running: policy.running.size as number,
    queued: policy.queuedIn.size as number,
  };
}

describe("the ready lines of a keyed mode with priority", () => {
  it("keep no entry per higher-priority run that joined a line and was forgotten while every slot stays taken", async () => {
    const t = await setup({ type: "transient", concurrency: 1, key: customer, priority });
    t.emit("x-a-0");
    t.emit("c1-a-0");
    await expect.poll(() => t.started).toEqual(["x-a-0"]);
    // each newcomer goes before c1-a in its line, then leaves: c1-a is the line's first again
    for (let i = 0; i < 3000; i++) {
      t.emit(`c1-h${i}-5`);
      await h.runtime.abort(t.dispatched.at(-1)!.runId!);
    }
    expect(held("gated")).toEqual({ lines: 2, ready: expect.any(Number), running: 1, queued: 1 });
    expect(held("gated").ready).toBeLessThanOrEqual(2 * 1 + 32);
    t.open("x-a-0");
    await expect.poll(() => t.started).toEqual(["x-a-0", "c1-a-0"]);
    t.open("c1-a-0");
    await expect.poll(() => t.completed.length).toBe(2);
    expect(held("gated")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  }, 60_000);
});
