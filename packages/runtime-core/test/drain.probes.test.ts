import { afterEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  type DispatchResult,
  type DrainReport,
  type ExecutionMode,
  type PauseService,
  type RegisterOptions,
  type RunResult,
  type Workflow,
  type WorkflowRuntime,
} from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

/**
 * An adversarial review's probes of WorkflowRuntime.drain(): each `it` states what the contract
 * says should happen, across modes, pauses, hooks and teardown.
 */

type S = {
  id: string;
  /** wait at the "work" step until the test opens gate `work:<id>` */
  gate?: boolean;
  /** register a wait on "go" for this id in stage "ask" (the run parks) */
  park?: boolean;
  /** the wait's timeoutMs */
  deadlineMs?: number;
  /** emit "go" for this id from the "ask" step itself, right after registering (buffered) */
  selfEmit?: boolean;
  /** after resuming, wait at the "after" step until gate `after:<id>` opens */
  after?: boolean;
  /** fail the "work" step this many times first (with retry) */
  fails?: number;
  n?: number;
  pauseTimedOut?: boolean;
  worked?: boolean;
  done?: boolean;
};

/** Gates a step can wait on and a test opens, in either order. */
class Gates {
  private readonly waiting = new Map<string, () => void>();
  private readonly opened = new Set<string>();
  wait(key: string, signal: AbortSignal): Promise<void> {
    if (this.opened.delete(key)) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      this.waiting.set(key, resolve);
      signal.addEventListener("abort", () => reject(signal.reason));
    });
  }
  open(key: string): void {
    const resolve = this.waiting.get(key);
    if (resolve === undefined) this.opened.add(key);
    else {
      this.waiting.delete(key);
      resolve();
    }
  }
  isWaiting(key: string): boolean {
    return this.waiting.has(key);
  }
}

interface FlowOptions {
  /** the wait's patch mapper */
  patch?: (runId: string, payload: { id: string; n?: number }) => Partial<S>;
  bus?: () => Harness["bus"];
}

function flow(gates: Gates, started: string[], options: FlowOptions = {}): Workflow<S> {
  const tries = new Map<string, number>();
  return {
    id: "w",
    triggers: { go: { event: "job", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          {
            id: "work",
            steps: [
              {
                id: "work",
                retry: { attempts: 5, backoffMs: 20, factor: 1 },
                action: async (ctx) => {
                  const s = ctx.state();
                  const n = (tries.get(s.id) ?? 0) + 1;
                  tries.set(s.id, n);
                  if (n === 1) started.push(s.id);
                  if (s.fails !== undefined && n <= s.fails) throw new Error(`try ${n} fails`);
                  if (s.gate === true) await gates.wait(`work:${s.id}`, ctx.signal);
                  return { worked: true };
                },
              },
            ],
          },
          {
            id: "ask",
            steps: [
              {
                id: "ask",
                action: async (ctx) => {
                  const s = ctx.state();
                  if (s.park !== true) return;
                  const pause = await ctx.use((d) => d.require<PauseService>("__pause_service__"));
                  const patch = options.patch;
                  pause.register({
                    event: "go",
                    conditions: [{ path: "id", op: "==", value: s.id }],
                    ...(s.deadlineMs === undefined ? {} : { timeoutMs: s.deadlineMs }),
                    ...(patch === undefined
                      ? {}
                      : { patch: (payload: { id: string; n?: number }) => patch(ctx.runId, payload) }),
                  });
                  if (s.selfEmit === true) options.bus!().emit("go", { id: s.id, n: 1 });
                },
              },
            ],
          },
          {
            id: "after",
            steps: [
              {
                id: "after",
                action: async (ctx) => {
                  const s = ctx.state();
                  if (s.after === true) await gates.wait(`after:${s.id}`, ctx.signal);
                },
              },
            ],
          },
          { id: "finish", steps: [{ id: "finish", action: () => ({ done: true }) }] },
        ],
      },
    },
  };
}

interface Setup {
  h: Harness;
  gates: Gates;
  started: string[];
  dispatched: DispatchResult[];
  completed: RunResult<S>[];
  /** run id by job id (from onDispatch or invoke) */
  ids: Map<string, string>;
}

const current: Harness[] = [];
afterEach(async () => {
  for (const h of current.splice(0)) await h.runtime.stop().catch(() => undefined);
});

async function setup(
  mode: ExecutionMode = { type: "transient", concurrency: 10 },
  register: RegisterOptions<S> = {},
  flowOptions: FlowOptions = {},
  runtimeOptions: Parameters<typeof harness>[0] = {},
): Promise<Setup> {
  const h = await harness(runtimeOptions);
  current.push(h);
  const gates = new Gates();
  const started: string[] = [];
  const dispatched: DispatchResult[] = [];
  const completed: RunResult<S>[] = [];
  const ids = new Map<string, string>();
  await h.runtime.register(flow(gates, started, { bus: () => h.bus, ...flowOptions }), {
    mode,
    ...register,
    onDispatch: (d) => {
      dispatched.push(d);
      register.onDispatch?.(d);
    },
    onComplete: async (r) => {
      await register.onComplete?.(r);
      completed.push(r);
    },
  });
  return { h, gates, started, dispatched, completed, ids };
}

/** Emits a job and returns its run id (from the dispatch report). */
function emitJob(s: Setup, state: S): string | undefined {
  const before = s.dispatched.length;
  s.h.bus.emit("job", state);
  const runId = s.dispatched.slice(before).find((d) => d.runId !== undefined)?.runId;
  if (runId !== undefined) s.ids.set(state.id, runId);
  return runId;
}

async function until(condition: () => boolean, ms = 2000): Promise<void> {
  for (let waited = 0; waited < ms && !condition(); waited += 5) await tick(5);
  expect(condition()).toBe(true);
}

/** The drain's report if it resolved within `ms`, else "pending". */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | "pending"> {
  return Promise.race([promise, tick(ms).then(() => "pending" as const)]);
}

function statusOf(s: Setup, id: string): string | undefined {
  return s.h.runtime.watch("w", s.ids.get(id)!)?.status;
}

describe("drain(): faults found in review (each test failed before its fix)", () => {
  it("timeoutMs past the longest timer (2**31 ms) still waits instead of giving up at once", async () => {
    const s = await setup();
    emitJob(s, { id: "a", gate: true });
    await until(() => s.started.length === 1);
    // 2**31 ms is ~24.9 days: a valid, finite limit by the contract
    const report = await within(s.h.runtime.drain({ timeoutMs: 2 ** 31 }), 100);
    // before the fix: { drained: false, active: [a] } after ~1 ms (setTimeout overflow)
    expect(report).toBe("pending");
    s.gates.open("work:a");
    await until(() => s.completed.length === 1);
  });

  it("a run detached by its wait's patch mapper as it pauses does not leave drain waiting", async () => {
    let detaching: Promise<unknown> | undefined;
    let s!: Setup;
    s = await setup(undefined, undefined, {
      patch: (runId, payload) => {
        detaching = s.h.runtime.detach(runId);
        return { n: payload.n ?? 0 };
      },
    });
    emitJob(s, { id: "a", gate: true, park: true, selfEmit: true });
    await until(() => s.started.length === 1);
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    s.gates.open("work:a");
    await until(() => detaching !== undefined);
    await detaching;
    expect(s.h.runtime.listAllRuns()).toEqual([]);
    // nothing is busy any more: the last busy run left the table while pausing
    // before the fix: never resolves (no notify from RunTransfer.takeOut)
    expect(await within(draining, 200)).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("a parked run whose onPause is still running counts as busy (the recipe would detach it mid-hook)", async () => {
    const hook = deferred();
    const saved: unknown[] = [];
    let s!: Setup;
    s = await setup(undefined, {
      onPause: async (ctx) => {
        // e.g. persisting the run's state somewhere: reads the state after an await
        await hook.promise;
        saved.push(ctx.state());
      },
    });
    emitJob(s, { id: "a", park: true });
    await until(() => statusOf(s, "a") === "paused");
    const draining = s.h.runtime.drain({ timeoutMs: 1_000 });
    // before the fix: resolves at once, { drained: true, paused: [a] }; the recipe (detach the
    // `paused`, stop()) then runs while the hook is mid-flight, which later reads {} (the detached
    // run's state is gone) after stop() resolved
    expect(await within(draining, 50)).toBe("pending");
    hook.resolve();
    const report = await draining;
    expect(report).toEqual({ drained: true, active: [], paused: [s.ids.get("a")], dropped: [] });
    await s.h.runtime.detach(report.paused[0]!);
    expect(saved).toEqual([expect.objectContaining({ id: "a", worked: true })]);
  });

  it("exclusive queue_single: a run queued behind a parked run is dropped once the rest are at rest, so detaching the parked run starts nothing", async () => {
    const s = await setup({ type: "exclusive", onBusy: "queue_single" });
    emitJob(s, { id: "a", park: true });
    await until(() => statusOf(s, "a") === "paused");
    emitJob(s, { id: "b", gate: true });
    expect(s.dispatched.at(-1)?.outcome).toBe("queued");
    // b waits for a's slot, which a (parked) holds until its event comes: only that could start b
    const report = await s.h.runtime.drain({ timeoutMs: 50 });
    expect(report).toEqual({
      drained: true,
      active: [],
      paused: [s.ids.get("a")],
      dropped: [s.ids.get("b")],
    });
    expect(s.dispatched.at(-1)).toEqual({
      outcome: "dropped",
      workflowId: "w",
      triggerId: "go",
      event: "job",
      payload: { id: "b", gate: true },
      runId: s.ids.get("b"),
      reason: "the runtime drained while it was queued behind a parked run holding its workflow's slot",
    });
    expect(statusOf(s, "b")).toBe("aborted");
    await s.h.runtime.detach(s.ids.get("a")!);
    // before the fix, detaching a handed its slot to b, which started only to be aborted by stop()
    expect(s.started).toEqual(["a"]);
  });
});

describe("drain(): documented edges", () => {
  it("drain() awaited from a run's onComplete (or a step) waits for that very run: only a limit ends it", async () => {
    let report: DrainReport | undefined;
    let s!: Setup;
    s = await setup(undefined, {
      onComplete: async () => {
        report = await s.h.runtime.drain({ timeoutMs: 50 });
      },
    });
    emitJob(s, { id: "a" });
    await until(() => report !== undefined);
    // deregister()/stop() are documented safe to await from onComplete; drain() lists its caller
    // as busy (with timeoutMs: Infinity the hook ends only through hookTimeoutMs, 30 s by default)
    expect(report).toEqual({ drained: false, active: [s.ids.get("a")], paused: [], dropped: [] });
  });

  it("the documented recipe (Promise.allSettled over detach) keeps every checkpoint it took when one detach fails", async () => {
    const s = await setup();
    emitJob(s, { id: "a", park: true });
    emitJob(s, { id: "b", park: true });
    await until(() => statusOf(s, "a") === "paused" && statusOf(s, "b") === "paused");
    s.h.runtime.signal(s.ids.get("b")!, { big: 1n } as never); // state JSON cannot hold
    const { paused } = await s.h.runtime.drain({ timeoutMs: 10_000 });
    const outcomes = await Promise.allSettled(paused.map((runId) => s.h.runtime.detach(runId)));
    const byRun = new Map(paused.map((runId, i) => [runId, outcomes[i]!]));
    expect(byRun.get(s.ids.get("a")!)).toMatchObject({
      status: "fulfilled",
      value: { runId: s.ids.get("a"), state: { id: "a", park: true, worked: true } },
    });
    expect(byRun.get(s.ids.get("b")!)).toMatchObject({
      status: "rejected",
      reason: { code: "INVALID_STATE" },
    });
    // b goes on waiting here (stop() aborts it); a's checkpoint is in hand
    expect(s.h.runtime.listAllRuns().map((r) => r.runId)).toEqual([s.ids.get("b")]);
  });
});

describe("drain(): modes, pauses, hooks and teardown", () => {
  it("transient with capacity: queued runs start as slots free and drain waits for them; later events are dropped", async () => {
    const s = await setup({ type: "transient", concurrency: 1, capacity: 1 });
    emitJob(s, { id: "a", gate: true });
    emitJob(s, { id: "b", gate: true });
    emitJob(s, { id: "c", gate: true }); // over capacity: dropped by the mode
    expect(s.dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "dropped"]);
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    emitJob(s, { id: "d" });
    expect(s.dispatched.at(-1)).toMatchObject({
      outcome: "dropped",
      reason: expect.stringContaining("draining"),
    });
    s.gates.open("work:a");
    await until(() => s.started.length === 2);
    expect(await within(draining, 30)).toBe("pending");
    s.gates.open("work:b");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(s.started).toEqual(["a", "b"]);
  });

  it("serialized: a queued run starts when the one before it parks, and drain waits for it", async () => {
    const s = await setup({ type: "serialized" });
    emitJob(s, { id: "a", gate: true, park: true });
    emitJob(s, { id: "b", gate: true });
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    s.gates.open("work:a");
    await until(() => s.started.length === 2);
    expect(await within(draining, 30)).toBe("pending");
    s.gates.open("work:b");
    expect(await draining).toEqual({ drained: true, active: [], paused: [s.ids.get("a")], dropped: [] });
  });

  it("singleton_loop drop/signal/replace: events reaching the trigger are dropped; the active run is neither signalled nor replaced", async () => {
    for (const onBusy of ["drop", "signal", "replace"] as const) {
      const s = await setup({ type: "singleton_loop", onBusy });
      emitJob(s, { id: "a", gate: true });
      const draining = s.h.runtime.drain({ timeoutMs: Infinity });
      emitJob(s, { id: "a", n: 7 });
      expect(s.dispatched.at(-1)).toMatchObject({ outcome: "dropped" });
      s.gates.open("work:a");
      expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
      expect(s.completed).toHaveLength(1);
      expect(s.completed[0]!.ok && s.completed[0]!.value).toMatchObject({ status: "completed" });
      expect(s.completed[0]!.ok && s.completed[0]!.value.state.n).toBeUndefined();
    }
  });

  it("exclusive reject: a queued-before-drain run does not exist, the active one is waited for", async () => {
    const s = await setup({ type: "exclusive", onBusy: "reject" });
    emitJob(s, { id: "a", gate: true });
    emitJob(s, { id: "b" });
    expect(s.dispatched.map((d) => d.outcome)).toEqual(["started", "rejected"]);
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    expect(await within(draining, 20)).toBe("pending");
    s.gates.open("work:a");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("exclusive queue_single: the pending run starts once the active run ends, and drain waits for it", async () => {
    const s = await setup({ type: "exclusive", onBusy: "queue_single" });
    emitJob(s, { id: "a", gate: true });
    emitJob(s, { id: "b", gate: true });
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    s.gates.open("work:a");
    await until(() => s.started.length === 2);
    expect(await within(draining, 20)).toBe("pending");
    s.gates.open("work:b");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("pauseWindowMs 0: a released run is reported paused, resumes (rebuilt) by resume(), and a second drain waits for it", async () => {
    const s = await setup(undefined, { pauseWindowMs: 0 });
    emitJob(s, { id: "a", park: true, after: true });
    await until(() => statusOf(s, "a") === "paused");
    await tick(5);
    const runId = s.ids.get("a")!;
    expect(await s.h.runtime.drain()).toEqual({ drained: true, active: [], paused: [runId], dropped: [] });
    const resumed = s.h.runtime.resume(runId, {});
    const again = s.h.runtime.drain({ timeoutMs: Infinity });
    expect(await within(again, 20)).toBe("pending");
    s.gates.open("after:a");
    expect(await again).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect((await resumed).ok).toBe(true);
  });

  it("a deadline firing during drain resumes the parked run, and drain waits for it", async () => {
    const s = await setup();
    emitJob(s, { id: "a", park: true, deadlineMs: 30, after: true });
    emitJob(s, { id: "b", gate: true });
    await until(() => statusOf(s, "a") === "paused");
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    await until(() => s.gates.isWaiting("after:a"));
    s.gates.open("work:b");
    expect(await within(draining, 30)).toBe("pending");
    s.gates.open("after:a");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(s.completed.map((r) => r.ok && r.value.state.pauseTimedOut)).toContain(true);
  });

  it("an event buffered while running resumes the run at its pause: drain does not count it parked", async () => {
    const s = await setup();
    emitJob(s, { id: "a", gate: true, park: true, selfEmit: true, after: true });
    await until(() => s.started.length === 1);
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    s.gates.open("work:a");
    await until(() => s.gates.isWaiting("after:a"));
    expect(await within(draining, 30)).toBe("pending");
    s.gates.open("after:a");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("a resume that waits for the onPause hook counts as busy until the run has gone on and ended", async () => {
    const hook = deferred();
    const s = await setup(undefined, { onPause: () => hook.promise });
    emitJob(s, { id: "a", park: true });
    await until(() => statusOf(s, "a") === "paused");
    const resumed = s.h.runtime.resume(s.ids.get("a")!, {});
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    expect(await within(draining, 30)).toBe("pending");
    hook.resolve();
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect((await resumed).ok).toBe(true);
  });

  it("control events on the bus: resume and signal still work, and drain waits for the resumed run", async () => {
    const s = await setup();
    emitJob(s, { id: "a", park: true, after: true });
    emitJob(s, { id: "b", gate: true });
    await until(() => statusOf(s, "a") === "paused");
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    s.h.bus.emit(ControlEvent.Signal, { runId: s.ids.get("b")!, patch: { n: 3 } });
    s.h.bus.emit(ControlEvent.Resume, { runId: s.ids.get("a")!, patch: { n: 5 } });
    s.gates.open("work:b");
    await until(() => s.completed.length === 1);
    expect(await within(draining, 30)).toBe("pending");
    s.gates.open("after:a");
    expect(await draining).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(s.completed.map((r) => r.ok && r.value.state.n).sort()).toEqual([3, 5]);
    expect(s.h.errors).toEqual([]);
  });

  it("retries: a step waiting between tries is busy", async () => {
    const s = await setup();
    emitJob(s, { id: "a", fails: 2 });
    const t0 = Date.now();
    const report = await s.h.runtime.drain({ timeoutMs: Infinity });
    expect(report).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(35);
    expect(s.completed[0]!.ok && s.completed[0]!.value.status).toBe("completed");
  });

  it("concurrent drains with different limits: each resolves on its own, the shorter one first", async () => {
    const s = await setup();
    emitJob(s, { id: "a", gate: true });
    const runId = s.ids.get("a")!;
    const long = s.h.runtime.drain({ timeoutMs: Infinity });
    const short = s.h.runtime.drain({ timeoutMs: 20 });
    const zero = s.h.runtime.drain({ timeoutMs: 0 });
    expect(await zero).toEqual({ drained: false, active: [runId], paused: [], dropped: [] });
    expect(await short).toEqual({ drained: false, active: [runId], paused: [], dropped: [] });
    expect(await within(long, 20)).toBe("pending");
    s.gates.open("work:a");
    expect(await long).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("leaves no timer behind once resolved (its limit's timer is cleared)", async () => {
    const s = await setup();
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    emitJob(s, { id: "a", gate: true });
    await tick(5);
    const before = timers();
    const draining = s.h.runtime.drain({ timeoutMs: 60_000 });
    expect(timers()).toBe(before + 1);
    s.gates.open("work:a");
    await draining;
    await tick(5);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it("deregister() during drain ends the workflow's runs, and drain resolves", async () => {
    const s = await setup({ type: "serialized" });
    emitJob(s, { id: "a", gate: true });
    emitJob(s, { id: "b", gate: true });
    emitJob(s, { id: "p", park: true }); // queued behind a
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    await s.h.runtime.deregister("w");
    expect(await within(draining, 50)).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("stop() during drain: drain resolves, nothing listed", async () => {
    const s = await setup();
    emitJob(s, { id: "a", gate: true });
    emitJob(s, { id: "p", park: true });
    await until(() => statusOf(s, "p") === "paused");
    const draining = s.h.runtime.drain({ timeoutMs: Infinity });
    await s.h.runtime.stop();
    expect(await within(draining, 50)).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("hooks that call stop(), deregister() or detach() during drain let it resolve", async () => {
    // onComplete → stop(), onCleanup → deregister()
    const teardowns: Array<(runtime: () => WorkflowRuntime) => RegisterOptions<S>> = [
      (runtime) => ({ onComplete: () => runtime().stop() }),
      (runtime) => ({ onCleanup: () => void runtime().deregister("w") }),
    ];
    for (const hooks of teardowns) {
      let s!: Setup;
      s = await setup(
        undefined,
        hooks(() => s.h.runtime),
      );
      emitJob(s, { id: "a", gate: true });
      emitJob(s, { id: "b", gate: true });
      const draining = s.h.runtime.drain({ timeoutMs: Infinity });
      s.gates.open("work:a");
      expect(await within(draining, 100)).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    }
    // onPause → detach() of its own run
    {
      let s!: Setup;
      s = await setup(undefined, { onPause: (ctx) => void s.h.runtime.detach(ctx.runId) });
      emitJob(s, { id: "a", gate: true, park: true });
      const draining = s.h.runtime.drain({ timeoutMs: Infinity });
      s.gates.open("work:a");
      expect(await within(draining, 100)).toEqual({ drained: true, active: [], paused: [], dropped: [] });
    }
    // onPause → drain() itself
    {
      let inner: Promise<DrainReport> | undefined;
      let s!: Setup;
      s = await setup(undefined, { onPause: () => void (inner = s.h.runtime.drain()) });
      emitJob(s, { id: "a", park: true });
      await until(() => inner !== undefined);
      expect(await inner).toEqual({ drained: true, active: [], paused: [s.ids.get("a")], dropped: [] });
    }
  });

  it("drain() from onDispatch of a started run: the held launch still starts and is waited for", async () => {
    let draining: Promise<DrainReport> | undefined;
    let s!: Setup;
    s = await setup(undefined, {
      onDispatch: (d) => {
        if (d.outcome === "started" && draining === undefined)
          draining = s.h.runtime.drain({ timeoutMs: Infinity });
      },
    });
    emitJob(s, { id: "a", gate: true });
    expect(s.started).toEqual(["a"]);
    expect(await within(draining!, 20)).toBe("pending");
    s.gates.open("work:a");
    expect(await draining!).toEqual({ drained: true, active: [], paused: [], dropped: [] });
  });

  it("invoke whose trigger map calls drain() is refused, and the map's run never starts", async () => {
    const h = await harness();
    current.push(h);
    await h.runtime.register({
      id: "m",
      triggers: {
        t: {
          event: "m",
          pipeline: "p",
          map: () => {
            void h.runtime.drain();
            return {};
          },
        },
      },
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "s", action: () => ({}) }] }] } },
    });
    const r = await h.runtime.invoke("m", "t", {});
    expect(!r.ok && r.error.code).toBe("INVALID_STATE");
    expect(h.runtime.listAllRuns()).toEqual([]);
  });
});
