import { createEventBus, type EventBus } from "@sluice/events";
import { afterEach, describe, expect, it } from "vitest";
import { ControlEvent, type DispatchResult, type RunResult, type Workflow } from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

/** One stage, one step that records the state it ran with. */
const job: Workflow = {
  id: "job",
  triggers: { go: { event: "job.go", pipeline: "p" } },
  pipelines: {
    p: { stages: [{ id: "s", steps: [{ id: "x", action: (ctx) => ({ ran: ctx.state().n }) }] }] },
  },
};

/** `job` with a first stage that waits for `event` (parking the run), then a stage that finishes it. */
function parkingJob(event: string): Workflow {
  return {
    ...job,
    pipelines: {
      p: {
        stages: [
          {
            id: "wait",
            steps: [
              {
                id: "wait",
                action: async (ctx) => {
                  (await ctx.use((d) => d.require<any>("__pause_service__"))).register({ event });
                },
              },
            ],
          },
          { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
        ],
      },
    },
  };
}

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

/** Resolves when `promise` settles or `ms` pass: "settled" or "pending". */
function within(promise: Promise<unknown>, ms: number): Promise<"settled" | "pending"> {
  return Promise.race([promise.then(() => "settled" as const), tick(ms).then(() => "pending" as const)]);
}

describe("runtime calls from a run's own hooks", () => {
  it("awaiting abort() of the run itself in onComplete resolves at once, and the run finishes", async () => {
    h = await harness();
    const cleaned: string[] = [];
    await h.runtime.register(job, {
      onComplete: async (r) => {
        await h.runtime.abort(r.metadata.runId!);
      },
      onCleanup: (info) => void cleaned.push(info.status),
    });
    const result = h.runtime.invoke("job", "go", { n: 1 });
    expect(await within(result, 1_000)).toBe("settled");
    expect((await result).ok).toBe(true);
    expect(cleaned).toEqual(["completed"]);
  });

  it("awaiting abort() of the run itself in onCleanup resolves, also when deregister() or stop() aborted the run", async () => {
    for (const end of ["deregister", "stop"] as const) {
      h = await harness();
      const outcomes: string[] = [];
      await h.runtime.register(parkingJob("never"), {
        onCleanup: (info) =>
          h.runtime.abort(info.runId).then(
            () => void outcomes.push("resolved"),
            (error) => void outcomes.push(`rejected ${error.code}`),
          ),
      });
      expect(await h.runtime.invoke("job", "go", { n: 1 })).toMatchObject({ value: { status: "paused" } });
      // (the workflow's registry, which told of the finished run, was gone: NOT_FOUND)
      await (end === "deregister" ? h.runtime.deregister("job") : h.runtime.stop());
      expect(outcomes).toEqual(["resolved"]);
    }
  });

  it("awaiting deregister() in onComplete resolves; the run's onCleanup still runs, before the services are disposed", async () => {
    h = await harness();
    const order: string[] = [];
    const usesService: Workflow = {
      ...job,
      services: [
        {
          id: "svc",
          scope: "workflow",
          factory: (ctx) => {
            ctx.onCleanup(() => void order.push("disposed"));
            return {};
          },
        },
      ],
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [{ id: "x", action: async (ctx) => void (await ctx.use((d) => d.require("svc"))) }],
            },
          ],
        },
      },
    };
    await h.runtime.register(usesService, {
      onComplete: async () => {
        await h.runtime.deregister("job");
        order.push("deregistered");
      },
      onCleanup: () => void order.push("onCleanup"),
    });
    const result = h.runtime.invoke("job", "go", { n: 1 });
    expect(await within(result, 1_000)).toBe("settled");
    await expect.poll(() => order.length).toBe(3);
    expect(order).toEqual(["deregistered", "onCleanup", "disposed"]);
    expect(h.runtime.hasWorkflow("job")).toBe(false);
  });

  it("awaiting stop() in onComplete resolves, and the run finishes with its hooks", async () => {
    h = await harness();
    const order: string[] = [];
    await h.runtime.register(job, {
      onComplete: async () => {
        await h.runtime.stop();
        order.push("stopped");
      },
      onCleanup: () => void order.push("onCleanup"),
    });
    const result = h.runtime.invoke("job", "go", { n: 1 });
    expect(await within(result, 1_000)).toBe("settled");
    expect(order).toEqual(["stopped", "onCleanup"]);
  });

  it("a run aborted by deregister() or stop() may await the same call from its onComplete: neither hangs", async () => {
    for (const call of ["deregister", "stop"] as const) {
      h = await harness();
      const order: string[] = [];
      const slow: Workflow = {
        ...job,
        pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => tick(1_000) }] }] } },
      };
      await h.runtime.register(slow, {
        onComplete: async () => {
          await (call === "stop" ? h.runtime.stop() : h.runtime.deregister("job"));
          order.push("hook's call resolved");
        },
        onCleanup: () => void order.push("onCleanup"),
      });
      const run = h.runtime.invoke("job", "go", { n: 1 });
      await tick(5);
      const host = call === "stop" ? h.runtime.stop() : h.runtime.deregister("job");
      expect(await within(Promise.all([host, run]), 1_000)).toBe("settled");
      expect(order).toEqual(["hook's call resolved", "onCleanup"]);
    }
  });

  it("a later deregister() while the first drains resolves once the aborted runs' results are decided", async () => {
    h = await harness();
    const release = deferred();
    const slow: Workflow = {
      ...job,
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => tick(1_000) }] }] } },
    };
    // the run is running when deregister aborts it; its onComplete then holds the first call open
    await h.runtime.register(slow, { onComplete: () => release.promise });
    const run = h.runtime.invoke("job", "go", { n: 1 });
    await tick(5);
    const first = h.runtime.deregister("job");
    const second = h.runtime.deregister("job");
    expect(await within(second, 200)).toBe("settled");
    expect(await second).toBe(true);
    expect(await within(first, 20)).toBe("pending");
    release.resolve();
    expect(await first).toBe(true);
    await run;
  });

  it("stop() closes the global services only after a deregister() already under way is over", async () => {
    const order: string[] = [];
    h = await harness({
      services: [
        {
          id: "global",
          lazy: false,
          factory: (ctx) => {
            ctx.onCleanup(() => void order.push("global services disposed"));
            return {};
          },
        },
      ],
    });
    const release = deferred();
    const slow: Workflow = {
      ...job,
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => tick(1_000) }] }] } },
    };
    await h.runtime.register(slow, {
      onComplete: async () => {
        await release.promise;
        order.push("onComplete end");
      },
    });
    const run = h.runtime.invoke("job", "go", { n: 1 });
    await tick(5);
    const deregistered = h.runtime.deregister("job").then(() => order.push("deregister resolved"));
    await h.runtime.stop(); // resolves once the run's result is decided: its onComplete may be the caller
    release.resolve();
    await deregistered;
    await run;
    await expect.poll(() => order.length).toBe(3);
    expect(order).toEqual(["onComplete end", "deregister resolved", "global services disposed"]);
  });

  it("a run aborted by deregister() may await stop() from its onComplete", async () => {
    h = await harness();
    const order: string[] = [];
    const slow: Workflow = {
      ...job,
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => tick(1_000) }] }] } },
    };
    await h.runtime.register(slow, {
      onComplete: async () => {
        await h.runtime.stop();
        order.push("stop resolved in the hook");
      },
    });
    const run = h.runtime.invoke("job", "go", { n: 1 });
    await tick(5);
    const deregistered = h.runtime.deregister("job");
    expect(await within(Promise.all([deregistered, run]), 1_000)).toBe("settled");
    expect(order).toEqual(["stop resolved in the hook"]);
  });

  it("stop() awaited from onComplete leaves no subscription on the bus", async () => {
    h = await harness();
    const listening = () => h.bus.listenerCount();
    const waits = parkingJob("approve");
    const stopped = deferred();
    await h.runtime.register(waits, {
      onComplete: async () => {
        await h.runtime.stop();
        stopped.resolve();
      },
    });
    await h.runtime.invoke("job", "go", { n: 1 });
    h.bus.emit("approve", {});
    await stopped.promise;
    await expect.poll(listening).toBe(0);
  });

  /**
   * A runtime whose teardown is counted: unsubscriptions from the control events, and the cleanup
   * of a global service, which never settles, so that each disposal of the global services reports
   * one TIMEOUT (after the runtime's hookTimeoutMs of 50 ms).
   */
  async function countedTeardown() {
    const counts = { controlUnsubscribes: [] as string[], globalCleanups: 0 };
    const inner = createEventBus<any>();
    const bus: EventBus<any> = {
      emit: (type, payload) => inner.emit(type, payload),
      on: ((type: string, handler: (payload: unknown) => void) => {
        const off = inner.on(type, handler);
        return () => {
          if ((Object.values(ControlEvent) as string[]).includes(type)) counts.controlUnsubscribes.push(type);
          off();
        };
      }) as EventBus<any>["on"],
      listenerCount: (type) => inner.listenerCount(type),
    };
    h = await harness({
      bus,
      hookTimeoutMs: 50,
      services: [
        {
          id: "pool",
          lazy: false,
          factory: (ctx) => {
            ctx.onCleanup(() => {
              counts.globalCleanups++;
              return new Promise<void>(() => {});
            });
            return {};
          },
        },
      ],
    });
    return { bus, counts };
  }

  function expectTornDownOnce(counts: Awaited<ReturnType<typeof countedTeardown>>["counts"]): void {
    expect(counts.globalCleanups).toBe(1);
    // the global services were disposed (and waited for) once: the runtime's TIMEOUT, then the
    // container's ABORTED for the cleanup it left behind
    expect(h.errors.map((e) => e.code)).toEqual(["TIMEOUT", "ABORTED"]);
    expect(h.errors[0]!.message).toMatch(/^stop\(\): the global services did not finish their cleanups/);
    expect([...counts.controlUnsubscribes].sort()).toEqual(Object.values(ControlEvent).sort());
  }

  it("stop() called by a dropped queued run's onDispatch while stop() deregisters tears down once", async () => {
    const { bus, counts } = await countedTeardown();
    const order: string[] = [];
    let second: Promise<void> | undefined;
    const slow: Workflow = {
      ...job,
      pipelines: { p: { stages: [{ id: "s", steps: [{ id: "x", action: () => tick(1_000) }] }] } },
    };
    await h.runtime.register(slow, {
      mode: { type: "serialized" },
      onDispatch: (result) => {
        if (result.outcome === "dropped") second = h.runtime.stop();
      },
      onComplete: (result) => void order.push(`run ${result.ok ? result.value.status : "failed"}`),
    });
    bus.emit("job.go", { n: 1 }); // runs
    bus.emit("job.go", { n: 2 }); // queued behind it: dropped by stop(), reported to onDispatch
    await tick(5);
    const first = h.runtime.stop();
    expect(second).toBeDefined();
    void second!.then(() => order.push("second stop() resolved"));
    expect(await within(Promise.all([first, second]), 1_000)).toBe("settled");
    order.push("first stop() resolved");
    // the second call waits for the runs the first one aborted, as any later call does
    expect(order).toEqual(["run aborted", "second stop() resolved", "first stop() resolved"]);
    expectTornDownOnce(counts);
    await tick(80);
    expectTornDownOnce(counts);
  });

  it("stop() awaited by a parked run's onComplete, which stop() runs while it deregisters, tears down once and does not wait for itself", async () => {
    const { counts } = await countedTeardown();
    const order: string[] = [];
    await h.runtime.register(parkingJob("approve"), {
      hookTimeoutMs: 5_000,
      onComplete: async () => {
        order.push("parked run's onComplete");
        await h.runtime.stop();
        order.push("stop() resolved in onComplete");
      },
      onCleanup: () => void order.push("onCleanup"),
    });
    const parked = await h.runtime.invoke("job", "go", { n: 1 });
    expect(parked.ok && parked.value.status).toBe("paused");
    const first = h.runtime.stop();
    expect(order).toEqual(["parked run's onComplete"]); // run by the drain, synchronously
    expect(await within(first, 1_000)).toBe("settled");
    await expect.poll(() => counts.globalCleanups).toBe(1);
    expect(order).toEqual(["parked run's onComplete", "stop() resolved in onComplete", "onCleanup"]);
    expectTornDownOnce(counts);
    await tick(80);
    expectTornDownOnce(counts);
  });

  it("stop() called by onError, told that the bus's unsubscribe threw while stop() unsubscribes, does not unsubscribe again", async () => {
    const inner = createEventBus<any>();
    const offs: string[] = [];
    const bus: EventBus<any> = {
      emit: (type, payload) => inner.emit(type, payload),
      on: ((type: string, handler: (payload: unknown) => void) => {
        const off = inner.on(type, handler);
        return () => {
          offs.push(type);
          off();
          if (type === ControlEvent.Abort) throw new Error("bus unplugged");
        };
      }) as EventBus<any>["on"],
      listenerCount: (type) => inner.listenerCount(type),
    };
    let second: Promise<void> | undefined;
    const reported: string[] = [];
    h = await harness({
      bus,
      onError: (error) => {
        reported.push(error.code);
        second ??= h.runtime.stop();
      },
    });
    const first = h.runtime.stop();
    expect(second).toBeDefined();
    expect(await within(Promise.all([first, second]), 1_000)).toBe("settled");
    expect(reported).toEqual(["INVALID_STATE"]);
    expect(offs.sort()).toEqual(Object.values(ControlEvent).sort());
  });

  it("onPrepare's ctx.signal shows an abort that came before the hook first read it, and why", async () => {
    h = await harness();
    const seen = deferred<boolean>();
    let reason: unknown;
    const started = deferred();
    await h.runtime.register(job, {
      onPrepare: async (ctx) => {
        started.resolve();
        await tick(20);
        seen.resolve(ctx.signal.aborted);
        reason = ctx.signal.reason;
      },
    });
    const run = h.runtime.invoke("job", "go", { n: 1 });
    await started.promise;
    const runId = h.runtime.listAllRuns()[0]!.runId;
    void h.runtime.abort(runId);
    expect(await seen.promise).toBe(true);
    expect(reason).toMatchObject({
      code: "ABORTED",
      message: `run ${runId} was aborted: aborted by the host`,
    });
    const result = await run;
    expect(result.ok && result.value.status).toBe("aborted");
  });

  it("signal() to a run whose result is decided (in onComplete) is refused with INVALID_STATE", async () => {
    h = await harness();
    let refused: unknown;
    await h.runtime.register(job, {
      onComplete: (r) => {
        try {
          h.runtime.signal(r.metadata.runId!, { late: true });
        } catch (error) {
          refused = error;
        }
      },
    });
    await h.runtime.invoke("job", "go", { n: 1 });
    expect(refused).toMatchObject({ code: "INVALID_STATE" });
  });
});

describe("singleton_loop: an event while the active run is in its last hooks", () => {
  it("(replace) an event emitted from the replaced run's onComplete cannot make a second active run", async () => {
    h = await harness();
    const outcomes: string[] = [];
    let emitted = false;
    const parks = parkingJob("never");
    await h.runtime.register(parks, {
      mode: { type: "singleton_loop", onBusy: "replace" },
      onDispatch: (d) => void outcomes.push(d.outcome),
      onComplete: (r) => {
        if (!emitted && r.ok && r.value.status === "aborted") {
          emitted = true;
          h.bus.emit("job.go", { n: 3 });
        }
      },
    });
    h.bus.emit("job.go", { n: 1 });
    await tick(10);
    h.bus.emit("job.go", { n: 2 });
    await tick(20);
    expect(outcomes).toEqual(["started", "replaced", "replaced"]);
    const active = h.runtime.listAllRuns().filter((r) => r.status === "running" || r.status === "paused");
    expect(active).toHaveLength(1);
  });

  it("(signal) a signal the active run refuses is reported rejected with the reason", async () => {
    h = await harness({ env: {} });
    const reports: DispatchResult[] = [];
    const parks = parkingJob("never");
    await h.runtime.register(
      { ...parks, triggers: { go: { event: "job.go", pipeline: "p", map: (p: any) => p } } },
      {
        mode: { type: "singleton_loop", onBusy: "signal" },
        pauseWindowMs: 0,
        onDispatch: (d) => void reports.push(d),
      },
    );
    h.bus.emit("job.go", { n: 1 });
    await tick(20); // parked and released: its state is a JSON checkpoint now
    h.bus.emit("job.go", { big: 1n });
    expect(reports.map((d) => d.outcome)).toEqual(["started", "rejected"]);
    expect(reports[1]!.reason).toContain("JSON");
  });

  for (const onBusy of ["signal", "replace"] as const) {
    it(`(${onBusy}) an event right after the one that resumed the run to its end is queued, not ${onBusy === "signal" ? "signalled into the ended run and lost" : "reported as replacing the run, which completed"}`, async () => {
      h = await harness();
      const dispatched: DispatchResult[] = [];
      const completed: RunResult[] = [];
      await h.runtime.register(parkingJob("release"), {
        mode: { type: "singleton_loop", onBusy },
        onDispatch: (d) => void dispatched.push(d),
        onComplete: (r) => void completed.push(r),
      });
      h.bus.emit("job.go", { n: 1 });
      await tick(10);
      // its last stage is synchronous: the run's pipeline ends inside this emit, its result a
      // microtask later, and the next event comes in between
      h.bus.emit("release", {});
      h.bus.emit("job.go", { n: 2 });
      await expect.poll(() => completed.length).toBe(1);
      // the queued run started once the slot freed, and parks as the first did
      await expect.poll(() => h.runtime.listAllRuns().filter((r) => r.status === "paused").length).toBe(1);
      h.bus.emit("release", {});
      await expect.poll(() => completed.length).toBe(2);
      expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued"]);
      expect(completed.map((r) => r.ok && [r.value.status, r.value.state.n])).toEqual([
        ["completed", 1],
        ["completed", 2],
      ]);
    });
  }

  it("signal() right after the event that resumed the run to its end is refused, not lost", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(parkingJob("release"), { onComplete: (r) => void completed.push(r) });
    const parked = await h.runtime.invoke("job", "go", { n: 1 });
    h.bus.emit("release", {});
    expect(() => h.runtime.signal(parked.metadata.runId!, { late: true })).toThrow(
      expect.objectContaining({ code: "INVALID_STATE" }),
    );
    await expect.poll(() => completed.length).toBe(1);
  });

  for (const onBusy of ["signal", "replace", "drop"] as const) {
    it(`(${onBusy}) is queued and starts the next run once the slot frees: the loop keeps going`, async () => {
      h = await harness();
      const completed: RunResult[] = [];
      const dispatched: DispatchResult[] = [];
      await h.runtime.register(job, {
        mode: { type: "singleton_loop", onBusy },
        onDispatch: (d) => void dispatched.push(d),
        onComplete: (r) => {
          completed.push(r);
          const n = (r.ok && (r.value.state.n as number)) || 0;
          if (n < 3) h.bus.emit("job.go", { n: n + 1 });
        },
      });
      h.bus.emit("job.go", { n: 1 });
      await expect.poll(() => completed.length).toBe(3);
      expect(completed.map((r) => r.ok && r.value.status)).toEqual(["completed", "completed", "completed"]);
      expect(completed.map((r) => r.ok && r.value.state.ran)).toEqual([1, 2, 3]);
      expect(dispatched.map((d) => d.outcome)).toEqual(["started", "queued", "queued"]);
    });
  }
});

describe("onDispatch hears of a run before the run's first step", () => {
  it("reports started first, even when the step runs synchronously and emits the next event", async () => {
    h = await harness();
    const log: string[] = [];
    const chained: Workflow = {
      ...job,
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    const n = ctx.state().n as number;
                    log.push(`step ${n}`);
                    if (n < 2) h.bus.emit("job.go", { n: n + 1 });
                  },
                },
              ],
            },
          ],
        },
      },
    };
    const ids = new Map<string, number>();
    await h.runtime.register(chained, {
      mode: { type: "transient", concurrency: 1, capacity: 10 },
      onDispatch: (d) => {
        ids.set(d.runId!, ids.size + 1);
        log.push(`${d.outcome} run${ids.get(d.runId!)}`);
      },
    });
    h.bus.emit("job.go", { n: 1 });
    await expect.poll(() => log.length).toBe(4);
    expect(log).toEqual(["started run1", "step 1", "queued run2", "step 2"]);
  });

  it("runs decided one after another start in that order, also one decided from the first's onDispatch", async () => {
    h = await harness();
    const started: number[] = [];
    const waits: Workflow = {
      ...job,
      pipelines: {
        p: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "x",
                  action: (ctx) => {
                    started.push(ctx.state().n as number);
                    return new Promise<void>(() => {});
                  },
                },
              ],
            },
          ],
        },
      },
    };
    const reports: string[] = [];
    await h.runtime.register(waits, {
      // two runs of customer c1 may execute at once: both start, in arrival order
      mode: { type: "transient", concurrency: 5, key: (input) => String(input.customer), keyConcurrency: 2 },
      onDispatch: (d) => {
        const n = (d.payload as { n: number }).n;
        reports.push(`${d.outcome} ${n}`);
        if (n === 1) h.bus.emit("job.go", { n: 2, customer: "c1" });
      },
    });
    h.bus.emit("job.go", { n: 1, customer: "c1" });
    await expect.poll(() => started.length).toBe(2);
    expect(reports).toEqual(["started 1", "started 2"]);
    expect(started).toEqual([1, 2]);
  });

  it("a run aborted from onDispatch before it launched gives its slot back", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    let first = true;
    await h.runtime.register(job, {
      mode: { type: "transient", concurrency: 1, capacity: 10 },
      onDispatch: (d) => {
        if (first && d.outcome === "started") {
          first = false;
          void h.runtime.abort(d.runId!);
        }
      },
      onComplete: (r) => void completed.push(r),
    });
    h.bus.emit("job.go", { n: 1 });
    h.bus.emit("job.go", { n: 2 });
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state.ran).toBe(2);
    expect(
      h.runtime
        .listAllRuns()
        .map((r) => r.status)
        .sort(),
    ).toEqual(["aborted", "completed"]);
  });
});

describe("a run of another workflow started while a dispatch decision is taken", () => {
  it("is launched, or released when aborted, against its own workflow's mode", async () => {
    h = await harness();
    await h.runtime.register(
      { ...job, id: "B", triggers: { go: { event: "b.go", pipeline: "p" } } },
      { mode: { type: "exclusive", onBusy: "reject" } },
    );
    const parks: Workflow = {
      ...parkingJob("never"),
      id: "A",
      triggers: { go: { event: "a.go", pipeline: "p" } },
    };
    await h.runtime.register(parks, {
      mode: { type: "exclusive", onBusy: "queue_single" },
      onDispatch: (d) => {
        if (d.outcome !== "dropped") return;
        // told, inside A's decision on a newer event, that the pending A run was superseded: it
        // kicks a B run, then cancels it before A's dispatch has finished
        h.bus.emit("b.go", {});
        const b = h.runtime.listAllRuns().find((r) => r.workflowId === "B" && r.status === "queued");
        if (b !== undefined) void h.runtime.abort(b.runId);
      },
    });
    h.bus.emit("a.go", {});
    await tick(10);
    h.bus.emit("a.go", {});
    h.bus.emit("a.go", {});
    await tick(10);
    for (let i = 0; i < 3; i++) {
      h.bus.emit("b.go", {});
      await tick(10);
    }
    const b = h.runtime
      .listAllRuns()
      .filter((r) => r.workflowId === "B")
      .map((r) => r.status);
    expect(b.sort()).toEqual(["aborted", "completed", "completed", "completed"]);
  });
});

describe("onPrepare awaiting the end of its own run", () => {
  for (const call of ["abort", "deregister", "stop"] as const) {
    it(`awaiting ${call}() of its own run: the run ends aborted, the hook's call resolves`, async () => {
      h = await harness();
      const order: string[] = [];
      await h.runtime.register(job, {
        onPrepare: async (ctx) => {
          if (call === "abort") await h.runtime.abort(ctx.runId);
          else if (call === "deregister") await h.runtime.deregister("job");
          else await h.runtime.stop();
          order.push("hook's call resolved");
        },
        onCleanup: () => void order.push("onCleanup"),
      });
      const run = h.runtime.invoke("job", "go", { n: 1 });
      expect(await within(run, 1_000)).toBe("settled");
      const result = await run;
      expect(result.ok && result.value.status).toBe("aborted");
      await expect.poll(() => order).toEqual(["onCleanup", "hook's call resolved"]);
    });
  }
});

describe("a wait's patch mapper that calls back into its own run", () => {
  /** `parkingJob("approve")` whose wait's mapper runs `call` with the run id before shaping the patch. */
  function mappedJob(call: (runId: string) => void, emitWhileRunning = false): Workflow {
    return {
      ...job,
      pipelines: {
        p: {
          stages: [
            {
              id: "wait",
              steps: [
                {
                  id: "wait",
                  action: async (ctx) => {
                    const pause = await ctx.use((d) => d.require<any>("__pause_service__"));
                    pause.register({
                      event: "approve",
                      patch: () => {
                        call(ctx.runId);
                        return { viaEvent: true };
                      },
                    });
                    // buffered: the run drains it as it pauses, calling the mapper then
                    if (emitWhileRunning) h.bus.emit("approve", {});
                  },
                },
              ],
            },
            { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
          ],
        },
      },
    };
  }

  for (const [name, pauseWindowMs, emitWhileRunning] of [
    ["parked with its live context", 30_000, false],
    ["parked past its pause window", 0, false],
    ["draining its buffer as it pauses", 30_000, true],
  ] as const) {
    it(`resume() of its own run from the mapper (${name}): the run goes on, resumed once, not failed`, async () => {
      h = await harness();
      const results: RunResult[] = [];
      await h.runtime.register(
        mappedJob((runId) => void h.runtime.resume(runId, { viaResume: true }), emitWhileRunning),
        { pauseWindowMs, onComplete: (r) => void results.push(r) },
      );
      const first = await h.runtime.invoke("job", "go", { n: 1 });
      expect(first.ok && first.value.status).toBe("paused");
      if (!emitWhileRunning) {
        await tick(5); // the pause window (0) releases the run's context
        h.bus.emit("approve", {});
      }
      await expect.poll(() => results.length).toBe(1);
      await tick(20);
      expect(results).toHaveLength(1);
      const result = results[0]!;
      expect(result.ok && result.value.status).toBe("completed");
      expect(result.ok && result.value.state).toEqual({ n: 1, viaResume: true, done: true });
      expect(h.errors).toEqual([]);
      expect(h.storeRegistry.size).toBe(0);
    });
  }

  it("abort() of its own run from the mapper: the run ends aborted, nothing resumes it or runs its next stage", async () => {
    h = await harness();
    const results: RunResult[] = [];
    const stages: string[] = [];
    await h.runtime.register(
      mappedJob((runId) => void h.runtime.abort(runId)),
      {
        // its result is decided at once, its bookkeeping waits for this hook
        onComplete: async (r) => {
          results.push(r);
          await tick(5);
        },
        onResume: () => void stages.push("resumed"),
      },
    );
    const first = await h.runtime.invoke("job", "go", { n: 1 });
    expect(first.ok && first.value.status).toBe("paused");
    h.bus.emit("approve", {});
    await expect.poll(() => results.length).toBe(1);
    await tick(20);
    expect(results.map((r) => r.ok && r.value.status)).toEqual(["aborted"]);
    expect(results[0]!.ok && results[0]!.value.state).toEqual({ n: 1 });
    expect(stages).toEqual([]);
    expect(h.errors).toEqual([]);
  });
});
