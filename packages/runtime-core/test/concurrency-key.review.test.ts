import { afterEach, describe, expect, it, vi } from "vitest";
import type { DispatchResult, ExecutionMode, PauseService, RunState, Workflow } from "../src/index.js";
import { registerGated } from "./gated-workflow.js";
import { type Harness, harness } from "./helpers.js";

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

const customer = (input: Readonly<RunState>) => String(input.id).split("-")[0]!;

/** The keyed policy's internals (wf.policy is internal): what it still holds. */
/** How many resumed runs wait in the workflow's policy for a slot. */
function resumingHeld(workflowId: string): number {
  return (h.runtime as any).workflows.get(workflowId).policy.resumingIn.size;
}

function held(workflowId: string) {
  const policy = (h.runtime as any).workflows.get(workflowId).policy;
  return {
    lines: policy.lines.size as number,
    ready: policy.ready.size as number,
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

describe("one concurrency key for all, with the trigger's idempotency key", () => {
  it("a queued run holds its idempotency key until it starts, is aborted or fails", async () => {
    h = await harness();
    const dispatched: DispatchResult[] = [];
    const gates = new Map<string, () => void>();
    await h.runtime.register(
      {
        id: "orders",
        triggers: { go: { event: "order", pipeline: "p", key: (p: { order: string }) => p.order } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: (ctx) =>
                      new Promise<void>((resolve) => gates.set(ctx.state().order as string, resolve)),
                  },
                ],
              },
            ],
          },
        },
      },
      { mode: { type: "serialized", key: () => "all" }, onDispatch: (r) => dispatched.push(r) },
    );
    const emit = (order: string) => h.bus.emit("order", { order });
    for (const order of ["o1", "o2", "o2", "o1", "o3"]) emit(order);
    expect(dispatched.map((d) => d.outcome)).toEqual([
      "started",
      "queued",
      "duplicate",
      "duplicate",
      "queued",
    ]);
    expect(dispatched[2]!.runId).toBe(dispatched[1]!.runId);
    await h.runtime.abort(dispatched[1]!.runId!);
    emit("o2"); // its key is free again: queued behind o3
    expect(dispatched.at(-1)?.outcome).toBe("queued");
    gates.get("o1")!();
    await until(() => gates.has("o3"));
    gates.get("o3")!();
    await until(() => gates.has("o2"));
    gates.get("o2")!();
    await until(() => h.runtime.listAllRuns().every((r) => r.status !== "running"));
    expect(held("orders")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
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

describe("what the policy holds after many keys", () => {
  it("holds nothing once the runs of 10k keys have ended", async () => {
    const t = await setup({ type: "serialized", key: customer });
    for (let i = 0; i < 10_000; i++) t.emit(`k${i}-a`);
    for (let i = 0; i < 10_000; i++) t.emit(`k${i}-b`);
    await expect.poll(() => t.started.length).toBe(10_000);
    for (let i = 0; i < 10_000; i++) t.open(`k${i}-a`);
    await expect.poll(() => t.started.length).toBe(20_000);
    for (let i = 0; i < 10_000; i++) t.open(`k${i}-b`);
    await expect.poll(() => t.completed.length).toBe(20_000);
    expect(held("gated")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  }, 60_000);
});

/**
 * A workflow whose first step waits for the test to say, per run, "end", "pause" (it waits for a
 * `resume` event after) or "pauseBuffered" (the `resume` event arrives before it has paused).
 */
async function registerPausing(mode: ExecutionMode) {
  h = await harness();
  const gates = new Map<string, (how: string) => void>();
  const started: string[] = [];
  const ended: string[] = [];
  const runIds = new Map<string, string>();
  const dispatched: DispatchResult[] = [];
  const workflow: Workflow = {
    id: "pausing",
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  const id = ctx.state().id as string;
                  started.push(id);
                  const how = await new Promise<string>((resolve, reject) => {
                    gates.set(id, resolve);
                    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                  });
                  if (how === "end") return;
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({ event: "resume", conditions: [{ path: "id", op: "==", value: id }] });
                  if (how === "pauseBuffered") h.bus.emit("resume", { id });
                },
              },
            ],
          },
          { id: "after", steps: [{ id: "after", action: () => ({ after: true }) }] },
        ],
      },
    },
  };
  await h.runtime.register(workflow, {
    mode,
    onDispatch: (r) => {
      dispatched.push(r);
      if (r.runId !== undefined) runIds.set((r.payload as { id: string }).id, r.runId);
    },
  });
  return {
    started,
    /** Resumed runs whose result has come, in that order. */
    ended,
    dispatched,
    runIds,
    emit: (id: string) => h.bus.emit("job", { id }),
    gate: (id: string, how: string) => gates.get(id)!(how),
  };
}

/** Waits, without a clock, until `check` holds (each turn a macrotask, so runs get to go on). */
async function until(check: () => boolean) {
  for (let i = 0; i < 10_000 && !check(); i++) await new Promise((resolve) => setImmediate(resolve));
  expect(check()).toBe(true);
}

describe("the concurrency key against a model, with pauses, aborts and keyConcurrency", () => {
  // A resumed run takes a slot (its key's and an overall one) before its next stage, ahead of
  // every queued run; its next stage is instant here, so once it has one it ends at once.
  function model(concurrency: number, keyConcurrency: number) {
    const running: string[] = [];
    const waiting: string[] = [];
    const resuming: string[] = [];
    const started: string[] = [];
    const resumed: string[] = [];
    const busy = (key: string) => running.filter((id) => id.split("-")[0] === key).length;
    const fill = () => {
      for (let i = 0; i < resuming.length && running.length < concurrency; ) {
        const id = resuming[i]!;
        if (busy(id.split("-")[0]!) < keyConcurrency) {
          resuming.splice(i, 1);
          resumed.push(id);
          i = 0; // it ended at once: a resumed run passed over before may fit now
        } else i++;
      }
      for (let i = 0; i < waiting.length && running.length < concurrency; ) {
        const id = waiting[i]!;
        if (busy(id.split("-")[0]!) < keyConcurrency) {
          waiting.splice(i, 1);
          running.push(id);
          started.push(id);
        } else i++;
      }
    };
    return {
      running,
      waiting,
      resuming,
      started,
      resumed,
      resume(id: string) {
        resuming.push(id);
        fill();
      },
      emit(id: string) {
        waiting.push(id);
        fill();
      },
      leave(id: string) {
        running.splice(running.indexOf(id), 1);
        fill();
      },
      forget(id: string) {
        waiting.splice(waiting.indexOf(id), 1);
        fill();
      },
    };
  }

  it.each([
    ["transient", 2, 1, 21],
    ["transient", 3, 2, 22],
    ["transient", 4, 3, 23],
    ["serialized", Infinity, 1, 24],
    ["serialized", Infinity, 1, 25],
  ] as const)(
    "%s, concurrency %s, keyConcurrency %i (seed %i)",
    async (type, concurrency, keyConcurrency, seed) => {
      let s = seed;
      const random = () => {
        s = (s * 1103515245 + 12345) % 2 ** 31;
        return s / 2 ** 31;
      };
      const mode: ExecutionMode =
        type === "serialized"
          ? { type, key: customer, capacity: Infinity }
          : { type, concurrency, keyConcurrency, key: customer, capacity: Infinity };
      const t = await registerPausing(mode);
      const m = model(concurrency, keyConcurrency);
      const paused: string[] = [];
      for (let op = 0; op < 200; op++) {
        const r = random();
        if (m.running.length === 0 || r < 0.45) {
          const id = `k${Math.floor(random() * 5)}-${op}`;
          t.emit(id);
          m.emit(id);
        } else if (r < 0.55 && m.waiting.length > 0) {
          // the host aborts a queued run: the first, one in the middle, or the last of its line
          const id = m.waiting[Math.floor(random() * m.waiting.length)]!;
          await h.runtime.abort(t.runIds.get(id)!);
          m.forget(id);
        } else if (r < 0.6 && paused.length > 0) {
          const id = paused.splice(Math.floor(random() * paused.length), 1)[0]!;
          void h.runtime.result(t.runIds.get(id)!).then(() => t.ended.push(id));
          h.bus.emit("resume", { id });
          m.resume(id);
        } else {
          const id = m.running[Math.floor(random() * m.running.length)]!;
          const runId = t.runIds.get(id)!;
          const how = random();
          if (how < 0.5) {
            const done = h.runtime.result(runId);
            t.gate(id, "end");
            await done;
          } else if (how < 0.65) {
            await h.runtime.abort(runId);
          } else if (how < 0.8) {
            const done = h.runtime.result(runId);
            t.gate(id, "pauseBuffered");
            await done;
          } else {
            t.gate(id, "pause");
            await until(() => h.runtime.findRun(runId)?.status === "paused");
            paused.push(id);
          }
          m.leave(id);
        }
        await until(() => t.started.length >= m.started.length && t.ended.length >= m.resumed.length);
        expect(t.started).toEqual(m.started);
        // (a resumed run's result comes a few microtasks after its slot: its order may differ)
        expect([...t.ended].sort()).toEqual([...m.resumed].sort());
      }
      expect(resumingHeld("pausing")).toBe(m.resuming.length);
      expect(held("pausing")).toEqual({
        lines: expect.any(Number),
        ready: expect.any(Number),
        running: m.running.length,
        queued: m.waiting.length,
      });
      // everything ends: the policy holds nothing
      while (m.running.length > 0 || paused.length > 0) {
        for (const id of paused.splice(0)) {
          void h.runtime.result(t.runIds.get(id)!).then(() => t.ended.push(id));
          h.bus.emit("resume", { id });
          m.resume(id);
        }
        for (const id of m.running.slice()) {
          const done = h.runtime.result(t.runIds.get(id)!);
          t.gate(id, "end");
          await done;
          m.leave(id);
          // a resumed run its slot went to ends before the next slot frees, as in the model
          await until(() => t.ended.length >= m.resumed.length);
        }
        await until(() => t.started.length >= m.started.length && t.ended.length >= m.resumed.length);
      }
      expect(t.started).toEqual(m.started);
      expect(m.resuming).toEqual([]);
      expect([...t.ended].sort()).toEqual([...m.resumed].sort());
      expect(resumingHeld("pausing")).toBe(0);
      expect(held("pausing")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
    },
    60_000,
  );
});

describe("re-entrancy, deadlines, odd keys", () => {
  /** A workflow whose step, as it starts, does what the test put under its id in `onStart`, then waits for its gate. */
  async function registerHooked(mode: ExecutionMode, options: { runTimeoutMs?: number } = {}) {
    h = await harness();
    const gates = new Map<string, () => void>();
    const started: string[] = [];
    const onStart = new Map<string, () => void>();
    const runIds = new Map<string, string>();
    const dispatched: DispatchResult[] = [];
    const onDispatch = new Map<string, (r: DispatchResult) => void>();
    await h.runtime.register(
      {
        id: "hooked",
        triggers: { go: { event: "job", pipeline: "main" } },
        pipelines: {
          main: {
            stages: [
              {
                id: "work",
                steps: [
                  {
                    id: "wait",
                    action: (ctx) => {
                      const id = ctx.state().id as string;
                      started.push(id);
                      onStart.get(id)?.();
                      return new Promise<void>((resolve, reject) => {
                        gates.set(id, resolve);
                        ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                      });
                    },
                  },
                ],
              },
            ],
          },
        },
      },
      {
        mode,
        ...options,
        onDispatch: (r) => {
          dispatched.push(r);
          const id = (r.payload as { id: string }).id;
          if (r.runId !== undefined) runIds.set(id, r.runId);
          onDispatch.get(id)?.(r);
        },
      },
    );
    const end = async (id: string) => {
      const done = h.runtime.result(runIds.get(id)!);
      gates.get(id)!();
      await done;
    };
    return {
      started,
      onStart,
      onDispatch,
      runIds,
      dispatched,
      emit: (id: string) => h.bus.emit("job", { id }),
      end,
    };
  }

  it("a run launched as a slot frees emits events and aborts a queued run as it starts: the rule holds", async () => {
    const t = await registerHooked({ type: "transient", concurrency: 2, key: customer });
    for (const id of ["a-1", "b-1", "c-1", "d-1", "a-2"]) t.emit(id);
    await until(() => t.started.length === 2);
    t.onStart.set("c-1", () => {
      void h.runtime.abort(t.runIds.get("d-1")!);
      t.emit("e-1");
      t.emit("c-2");
    });
    await t.end("a-1"); // c-1 waited longest (a-2 arrived later)
    expect(t.started).toEqual(["a-1", "b-1", "c-1"]);
    await t.end("b-1"); // d-1 is gone: a-2, then e-1
    expect(t.started).toEqual(["a-1", "b-1", "c-1", "a-2"]);
    await t.end("a-2");
    expect(t.started).toEqual(["a-1", "b-1", "c-1", "a-2", "e-1"]);
    await t.end("c-1");
    await t.end("e-1");
    await t.end("c-2");
    expect(t.started).toEqual(["a-1", "b-1", "c-1", "a-2", "e-1", "c-2"]);
    expect(held("hooked")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  });

  it("onDispatch aborts the run it is told started, and one it is told queued", async () => {
    const t = await registerHooked({ type: "serialized", key: customer });
    t.onDispatch.set("a-1", (r) => {
      void h.runtime.abort(r.runId!);
      t.emit("a-2");
    });
    t.onDispatch.set("a-3", (r) => void h.runtime.abort(r.runId!));
    t.emit("a-1");
    t.emit("a-3");
    await until(() => t.started.length === 1);
    expect(t.started).toEqual(["a-2"]);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued"]);
    t.emit("a-4");
    await t.end("a-2");
    expect(t.started).toEqual(["a-2", "a-4"]);
    await t.end("a-4");
    expect(held("hooked")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  });

  it("keys named like Object.prototype members are keys like any other", async () => {
    const t = await registerHooked({ type: "serialized", key: customer });
    for (const id of ["__proto__-1", "constructor-1", "__proto__-2", "hasOwnProperty-1", "constructor-2"])
      t.emit(id);
    expect(t.dispatched.map((d) => d.outcome)).toEqual(["started", "started", "queued", "started", "queued"]);
    await t.end("__proto__-1");
    await t.end("constructor-1");
    expect(t.started).toEqual([
      "__proto__-1",
      "constructor-1",
      "hasOwnProperty-1",
      "__proto__-2",
      "constructor-2",
    ]);
    for (const id of ["hasOwnProperty-1", "__proto__-2", "constructor-2"]) await t.end(id);
    expect(held("hooked")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
  });

  it("runs whose deadline passed as they are launched fail, never started, and hand their slots on", async () => {
    const t = await registerHooked(
      { type: "transient", concurrency: 2, key: customer },
      { runTimeoutMs: 60_000 },
    );
    for (const id of ["a-1", "b-1", "a-2", "c-1", "b-2", "a-3"]) t.emit(id);
    expect(t.started).toEqual(["a-1", "b-1"]);
    // every deadline has passed by the clock launch() reads, none by the timers that fail runs
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 120_000);
      // a-1's slot goes to a-2, failed as launched, so to c-1, then a-3; b-2 waits for b-1
      const failed = ["a-2", "c-1", "a-3"].map((id) => h.runtime.result(t.runIds.get(id)!));
      await t.end("a-1");
      expect((await Promise.all(failed)).map((r) => !r.ok && r.error.code)).toEqual([
        "TIMEOUT",
        "TIMEOUT",
        "TIMEOUT",
      ]);
      expect(held("hooked")).toEqual({ lines: 1, ready: 0, running: 1, queued: 1 });
      const b2 = h.runtime.result(t.runIds.get("b-2")!);
      await t.end("b-1");
      const ended = await b2;
      expect(!ended.ok && ended.error.code).toBe("TIMEOUT");
      expect(t.started).toEqual(["a-1", "b-1"]);
      expect(held("hooked")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
    } finally {
      vi.useRealTimers();
    }
  });

  it("runs failing at their deadline while queued leave nothing behind", async () => {
    const t = await registerHooked(
      { type: "transient", concurrency: 1, key: customer },
      { runTimeoutMs: 30 },
    );
    for (const id of ["a-1", "b-1", "a-2", "c-1", "b-2"]) t.emit(id);
    const results = await Promise.all([...t.runIds.values()].map((id) => h.runtime.result(id)));
    expect(results.map((r) => !r.ok && r.error.code)).toEqual([
      "TIMEOUT",
      "TIMEOUT",
      "TIMEOUT",
      "TIMEOUT",
      "TIMEOUT",
    ]);
    expect(held("hooked")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
    t.emit("a-3");
    expect(t.dispatched.at(-1)?.outcome).toBe("started");
  });
});

/** A workflow whose step waits for its gate: "end" ends it, "pause" makes it wait for a `resume` event. */
function gatedPausing(started: string[], gates: Map<string, (how: string) => void>): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "job", pipeline: "main" } },
    pipelines: {
      main: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  const id = ctx.state().id as string;
                  started.push(id);
                  const how = await new Promise<string>((resolve, reject) => {
                    gates.set(id, resolve);
                    ctx.signal.addEventListener("abort", () => reject(ctx.signal.reason));
                  });
                  if (how === "end") return;
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  pause.register({ event: "resume", conditions: [{ path: "id", op: "==", value: id }] });
                },
              },
            ],
          },
          { id: "after", steps: [{ id: "after", action: () => ({ after: true }) }] },
        ],
      },
    },
  };
}

describe("hooks, stop(), detach and adopt", () => {
  it("onPrepare and onComplete that emit events of the same keys and abort a queued run: the rule holds", async () => {
    h = await harness();
    const started: string[] = [];
    const gates = new Map<string, (how: string) => void>();
    const dispatched: DispatchResult[] = [];
    const ids = new Map<string, string>();
    await h.runtime.register(gatedPausing(started, gates), {
      mode: { type: "transient", concurrency: 2, key: customer },
      onDispatch: (r) => {
        dispatched.push(r);
        if (r.runId) ids.set((r.payload as any).id, r.runId);
      },
      onPrepare: (ctx) => {
        const id = ctx.state().id as string;
        if (id === "a-2") {
          h.bus.emit("job", { id: "a-3" });
          h.bus.emit("job", { id: "b-2" });
          void h.runtime.abort(ids.get("c-1")!);
        }
      },
      onComplete: (r) => {
        if (r.ok && r.value.state.id === "a-1") h.bus.emit("job", { id: "a-4" });
      },
    });
    for (const id of ["a-1", "b-1", "a-2", "c-1", "d-1"]) h.bus.emit("job", { id });
    await until(() => started.length === 2);
    gates.get("a-1")!("end");
    await until(() => started.length === 3);
    expect(started).toEqual(["a-1", "b-1", "a-2"]);
    gates.get("b-1")!("end");
    await until(() => started.length === 4);
    expect(started).toEqual(["a-1", "b-1", "a-2", "d-1"]);
    gates.get("d-1")!("end");
    await until(() => started.length === 5);
    expect(started).toEqual(["a-1", "b-1", "a-2", "d-1", "b-2"]);
    gates.get("a-2")!("end");
    await until(() => started.length === 6);
    expect(started).toEqual(["a-1", "b-1", "a-2", "d-1", "b-2", "a-4"]); // a-1's onComplete emitted a-4 before a-2's onPrepare emitted a-3
  });

  it("stop() drops every key's queued runs in arrival order", async () => {
    h = await harness();
    const started: string[] = [];
    const gates = new Map<string, (how: string) => void>();
    const dispatched: DispatchResult[] = [];
    await h.runtime.register(gatedPausing(started, gates), {
      mode: { type: "transient", concurrency: 1, key: customer },
      onDispatch: (r) => dispatched.push(r),
    });
    for (const id of ["a-1", "b-1", "a-2", "c-1", "b-2"]) h.bus.emit("job", { id });
    await h.runtime.stop();
    expect(dispatched.filter((d) => d.outcome === "dropped").map((d) => (d.payload as any).id)).toEqual([
      "b-1",
      "a-2",
      "c-1",
      "b-2",
    ]);
  });

  it("a paused run detached and adopted again holds no slot while parked; resumed, it waits for its key's slot ahead of the queue", async () => {
    h = await harness();
    const started: string[] = [];
    const gates = new Map<string, (how: string) => void>();
    const ids = new Map<string, string>();
    await h.runtime.register(gatedPausing(started, gates), {
      mode: { type: "serialized", key: customer },
      onDispatch: (r) => void (r.runId && ids.set((r.payload as any).id, r.runId)),
    });
    for (const id of ["a-1", "a-2", "a-3", "b-1"]) h.bus.emit("job", { id });
    gates.get("a-1")!("pause");
    await until(() => started.length === 3);
    expect(started).toEqual(["a-1", "b-1", "a-2"]);
    const cp = await h.runtime.detach(ids.get("a-1")!);
    expect(cp.concurrencyKey).toBe("a");
    expect(held("w")).toEqual({ lines: 2, ready: 0, running: 2, queued: 1 });
    await h.runtime.adopt(JSON.parse(JSON.stringify(cp)));
    expect(held("w")).toEqual({ lines: 2, ready: 0, running: 2, queued: 1 });
    let resumed = false;
    void h.runtime.result(ids.get("a-1")!).then((r) => {
      expect(r.ok).toBe(true);
      resumed = true;
    });
    h.bus.emit("resume", { id: "a-1" });
    await until(() => resumingHeld("w") === 1);
    // key b's slot is free, but a-1 waits for key a's, which a-2 holds
    gates.get("b-1")!("end");
    await until(() => held("w").running === 1);
    expect(resumed).toBe(false);
    gates.get("a-2")!("end");
    // a-1 goes on before a-3, which waited longer but had not started (a-3, gated, would hold the
    // key's slot and a-1 would not end)
    await until(() => resumed);
    await until(() => started.length === 4);
    expect(started.at(-1)).toBe("a-3");
    gates.get("a-3")!("end");
    await until(() => held("w").running === 0);
    expect(held("w")).toEqual({ lines: 0, ready: 0, running: 0, queued: 0 });
    expect(resumingHeld("w")).toBe(0);
  });
});

describe("a long line of queued runs whose deadlines passed before a slot freed", () => {
  it.each([
    ["serialized", { type: "serialized", capacity: Infinity }],
    ["serialized with a key", { type: "serialized", key: () => "one", capacity: Infinity }],
    ["transient with a key", { type: "transient", concurrency: 2, key: customer, capacity: Infinity }],
  ] as const)("%s: every one fails as launched, none overflows the stack", async (_, mode) => {
    h = await harness();
    let release!: () => void;
    await h.runtime.register(
      {
        id: "late",
        triggers: { go: { event: "go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "s",
                steps: [
                  {
                    id: "s",
                    action: (ctx) =>
                      ctx.state().id === "k0-first" ? new Promise<void>((r) => (release = r)) : undefined,
                  },
                ],
              },
            ],
          },
        },
      },
      { mode: mode as ExecutionMode, runTimeoutMs: 60_000 },
    );
    h.bus.emit("go", { id: "k0-first" });
    for (let n = 0; n < 3000; n++) h.bus.emit("go", { id: `k${n % 2}-${n}` });
    // every deadline has passed by the clock launch() reads (a stalled event loop, a throttled
    // background tab), none by the timers that fail runs
    vi.useFakeTimers({ toFake: ["Date"] });
    try {
      vi.setSystemTime(Date.now() + 120_000);
      release();
      await until(() => h.runtime.listAllRuns().every((r) => r.status !== "queued"));
      expect(h.errors).toEqual([]);
      const statuses = new Set(h.runtime.listAllRuns().map((r) => r.status));
      expect([...statuses]).toEqual(["failed"]);
    } finally {
      vi.useRealTimers();
    }
  });
});
