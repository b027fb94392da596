import { createEventBus } from "@sluice/events";
import type { PauseService } from "@sluice/pause";
import { StoreRegistry } from "@sluice/store";
import { afterEach, describe, expect, it } from "vitest";
import {
  ControlEvent,
  type ControlEventMap,
  type RunResult,
  type Workflow,
  WorkflowRuntime,
} from "../src/index.js";
import { deferred, type Harness, harness, tick } from "./helpers.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** placed → validate → wait for approval of this order → ship */
const approval: Workflow = {
  id: "orders",
  triggers: { placed: { event: "order.placed", pipeline: "fulfil" } },
  pipelines: {
    fulfil: {
      stages: [
        { id: "validate", steps: [{ id: "check", action: () => ({ valid: true }) }] },
        {
          id: "approval",
          steps: [
            {
              id: "wait",
              action: async (ctx) => {
                const pause = await pauseOf(ctx);
                pause.register({
                  event: "order.approved",
                  conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                });
              },
            },
          ],
        },
        {
          id: "ship",
          steps: [{ id: "ship", action: (ctx) => ({ shipped: ctx.state().approvedBy !== undefined }) }],
        },
      ],
    },
  },
};

let h: Harness;
afterEach(async () => {
  await h?.runtime.stop();
});

describe("pause and resume through the bus", () => {
  it("parks at the stage boundary and resumes on the matching event only", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(approval, { onComplete: (r) => void completed.push(r) });
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(paused.ok && paused.value.status).toBe("paused");
    const runId = paused.metadata.runId!;
    expect(h.runtime.watch("orders", runId)).toMatchObject({ status: "paused", stage: "ship" });

    h.bus.emit("order.approved", { orderId: "other", approvedBy: "eve" });
    await tick(5);
    expect(h.runtime.watch("orders", runId)?.status).toBe("paused");

    h.bus.emit("order.approved", { orderId: "o1", approvedBy: "ann" });
    await expect.poll(() => completed.length).toBe(1);
    const r = completed[0]!;
    expect(r.ok && r.value).toMatchObject({
      status: "completed",
      state: { approvedBy: "ann", shipped: true, valid: true },
    });
    expect(h.runtime.watch("orders", runId)?.status).toBe("completed");
  });

  it("buffers a matching event that arrives before the pause takes effect, and drains it on pause", async () => {
    h = await harness();
    await h.runtime.register({
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
                    (await pauseOf(ctx)).register({ event: "order.approved" });
                    // the approval arrives while the stage is still running
                    h.bus.emit("order.approved", { approvedBy: "early" });
                  },
                },
                { id: "slow", action: () => tick(5) },
              ],
            },
            { id: "ship", steps: [{ id: "ship", action: (ctx) => ({ shippedBy: ctx.state().approvedBy }) }] },
          ],
        },
      },
    });
    const result = await h.runtime.invoke("orders", "placed", { orderId: "o2" });
    expect(result.ok && result.value).toMatchObject({ status: "completed", state: { shippedBy: "early" } });
  });

  it("buffers events between resume cycles and drains them when the run pauses again", async () => {
    h = await harness();
    const gate = deferred();
    const ticks: unknown[] = [];
    const waitTick = {
      id: "wait",
      action: async (ctx: any) => {
        (await pauseOf(ctx)).register({ event: "tick", patch: (p: { n: number }) => ({ lastTick: p.n }) });
      },
    };
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        id: "loop",
        triggers: { go: { event: "loop.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              { id: "wait1", steps: [waitTick] },
              {
                id: "work1",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) => {
                      ticks.push(ctx.state().lastTick);
                      await gate.promise;
                    },
                  },
                ],
              },
              { id: "wait2", steps: [{ ...waitTick, id: "wait-again" }] },
              { id: "work2", steps: [{ id: "w2", action: (ctx) => void ticks.push(ctx.state().lastTick) }] },
            ],
          },
        },
      },
      { onComplete: (r) => void completed.push(r) },
    );
    const first = await h.runtime.invoke("loop", "go", {});
    expect(first.ok && first.value.status).toBe("paused");
    h.bus.emit("tick", { n: 1 });
    await expect.poll(() => ticks).toEqual([1]);
    h.bus.emit("tick", { n: 2 }); // arrives while work1 runs: buffered
    gate.resolve();
    await expect.poll(() => completed.length).toBe(1);
    expect(ticks).toEqual([1, 2]);
  });

  it("a wait without an event is resumed by resume(runId, patch)", async () => {
    h = await harness();
    await h.runtime.register({
      ...approval,
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "ask",
              steps: [{ id: "w", action: async (ctx) => void (await pauseOf(ctx)).register({}) }],
            },
            { id: "after", steps: [{ id: "a", action: (ctx) => ({ answer: `got ${ctx.state().input}` }) }] },
          ],
        },
      },
    });
    const paused = await h.runtime.invoke("orders", "placed", {});
    const runId = paused.metadata.runId!;
    const again = await h.runtime.resume(runId, { input: 42 });
    expect(again.ok && again.value).toMatchObject({ status: "completed", state: { answer: "got 42" } });
    const late = await h.runtime.resume(runId, {});
    expect(!late.ok && late.error.code).toBe("NOT_FOUND");
  });

  it("refuses to resume a run that is not paused", async () => {
    h = await harness();
    const gate = deferred();
    await h.runtime.register({
      ...approval,
      pipelines: { fulfil: { stages: [{ id: "s", steps: [{ id: "w", action: () => gate.promise }] }] } },
    });
    const running = h.runtime.invoke("orders", "placed", {});
    await tick(1);
    const runId = h.runtime.listAllRuns()[0]!.runId;
    const r = await h.runtime.resume(runId, {});
    expect(!r.ok && r.error.code).toBe("INVALID_STATE");
    gate.resolve();
    await running;
  });

  it("resumes with the timeout patch when a wait's timeoutMs passes", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        ...approval,
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) =>
                      void (await pauseOf(ctx)).register({ event: "never", timeoutMs: 20 }),
                  },
                ],
              },
              {
                id: "after",
                steps: [
                  { id: "a", action: (ctx) => ({ branch: ctx.state().pauseTimedOut ? "timeout" : "ok" }) },
                ],
              },
            ],
          },
        },
      },
      { onComplete: (r) => void completed.push(r) },
    );
    const paused = await h.runtime.invoke("orders", "placed", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    await expect.poll(() => completed.length, { timeout: 10_000 }).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state.branch).toBe("timeout");
  });
});

describe("cancel() withdraws a registration", () => {
  it("a wait cancelled in its stage does not pause the run; the other waits still do", async () => {
    h = await harness();
    const withWaits = (cancel: "one" | "all"): Workflow => ({
      id: `cancel-${cancel}`,
      triggers: { go: { event: `cancel-${cancel}.go`, pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "wait",
                  action: async (ctx) => {
                    const pause = await pauseOf(ctx);
                    const first = pause.register({ event: "first" });
                    pause.register({ event: "second" });
                    if (cancel === "one") first.cancel();
                    else pause.cancel();
                  },
                },
              ],
            },
            { id: "end", steps: [{ id: "done", action: () => ({ done: true }) }] },
          ],
        },
      },
    });
    await h.runtime.register(withWaits("all"));
    await h.runtime.register(withWaits("one"));
    const all = await h.runtime.invoke("cancel-all", "go", {});
    expect(all.ok && all.value).toEqual({ status: "completed", state: { done: true } });
    const one = await h.runtime.invoke("cancel-one", "go", {});
    expect(one.ok && one.value.status).toBe("paused");
    const waits = h.runtime.checkpoint(one.metadata.runId!)?.pause as Array<{ event?: string }>;
    expect(waits.map((w) => w.event)).toEqual(["second"]);
    h.bus.emit("first", {});
    expect(h.runtime.watch("cancel-one", one.metadata.runId!)?.status).toBe("paused");
    h.bus.emit("second", {});
    await expect.poll(() => h.runtime.watch("cancel-one", one.metadata.runId!)?.status).toBe("completed");
  });
});

describe("pause window", () => {
  it("releases the live context after the window and rebuilds it from the checkpoint on resume", async () => {
    h = await harness();
    let builds = 0;
    const disposed: number[] = [];
    await h.runtime.register(
      {
        ...approval,
        services: [
          {
            id: "session",
            scope: "run",
            factory: (ctx) => {
              const n = ++builds;
              ctx.onCleanup(() => void disposed.push(n));
              return { n };
            },
          },
        ],
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) => {
                      const session = await ctx.use((d) => d.require<{ n: number }>("session"));
                      (await pauseOf(ctx)).register({ event: "answer" });
                      return { before: session.n };
                    },
                  },
                ],
              },
              {
                id: "after",
                steps: [
                  {
                    id: "a",
                    action: async (ctx) => ({
                      after: (await ctx.use((d) => d.require<{ n: number }>("session"))).n,
                    }),
                  },
                ],
              },
            ],
          },
        },
      },
      { pauseWindowMs: 0 },
    );
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o9" });
    const runId = paused.metadata.runId!;
    await expect.poll(() => disposed).toEqual([1]); // live context released: run services disposed
    expect(h.storeRegistry.has(runId)).toBe(false);

    const checkpoint = h.runtime.checkpoint(runId)!;
    expect(JSON.parse(JSON.stringify(checkpoint))).toEqual(checkpoint);
    expect(checkpoint).toMatchObject({ nextStageId: "after", state: { orderId: "o9", before: 1 } });
    // the whole checkpoint, rebuilt from what the released run keeps
    expect(checkpoint).toMatchObject({
      version: 1,
      runId,
      pipelineId: "fulfil",
      nextStage: 1,
      event: { orderId: "o9" },
      pause: [expect.objectContaining({ event: "answer" })],
    });
    expect(checkpoint.seq).toBeGreaterThan(0);

    h.runtime.signal(runId, { note: "signalled while parked" });
    expect(h.runtime.checkpoint(runId)?.state).toMatchObject({ note: "signalled while parked" });
    await h.runtime.abort(runId);
    expect(h.runtime.watch("orders", runId)?.status).toBe("aborted");
    expect(h.runtime.checkpoint(runId)).toBeUndefined();
  });

  it("checkpoint() of a released run is the same JSON as of the live run, and each copy is the caller's own", async () => {
    h = await harness();
    await h.runtime.register(
      {
        ...approval,
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) => {
                      (await pauseOf(ctx)).register({
                        event: "answer",
                        conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                        timeoutMs: 60_000,
                        timeoutPatch: { late: { by: "clock" } },
                      });
                      return { items: [{ sku: "a" }] };
                    },
                  },
                ],
              },
              { id: "after", steps: [{ id: "a", action: () => ({ done: true }) }] },
            ],
          },
        },
      },
      { pauseWindowMs: 30 },
    );
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o7", meta: { n: 1 } });
    const runId = paused.metadata.runId!;
    const live = h.runtime.checkpoint(runId)!;
    expect(h.storeRegistry.has(runId)).toBe(true);
    await expect.poll(() => h.storeRegistry.has(runId)).toBe(false); // the pause window released it
    const released = h.runtime.checkpoint(runId)!;
    // the same plain data, key order included
    expect(JSON.stringify(released)).toBe(JSON.stringify(live));
    expect(released).toEqual(JSON.parse(JSON.stringify(released)));
    // the caller owns it: editing it (nested values and waits too) changes neither the run nor a later copy
    (released.state as { items: Array<{ sku: string }> }).items[0]!.sku = "edited";
    (released.event as { meta: { n: number } }).meta.n = 2;
    (released.pause[0] as { timeoutPatch: { late: { by: string } } }).timeoutPatch.late.by = "edited";
    released.pause.length = 0;
    expect(JSON.stringify(h.runtime.checkpoint(runId))).toBe(JSON.stringify(live));
    h.bus.emit("answer", { orderId: "o7" });
    await expect.poll(() => h.runtime.watch("orders", runId)?.status).toBe("completed");
  });

  it("a bus-started run and a released run rebuilt on resume keep their own state, also with a registry that always copies", async () => {
    // (a registry whose create takes no options, as an older @sluice/store's: the runtime then copies)
    class CopyingRegistry extends StoreRegistry {
      override create<S extends object>(id: string, initial: S) {
        return super.create(id, initial);
      }
    }
    for (const storeRegistry of [new StoreRegistry(), new CopyingRegistry()]) {
      h = await harness({ storeRegistry });
      const completed: RunResult[] = [];
      await h.runtime.register(
        {
          ...approval,
          pipelines: {
            fulfil: {
              stages: [
                {
                  id: "ask",
                  steps: [
                    {
                      id: "w",
                      action: async (ctx) => {
                        (await pauseOf(ctx)).register({ event: "answer" });
                        return { asked: true };
                      },
                    },
                  ],
                },
                {
                  id: "after",
                  steps: [{ id: "a", action: (ctx) => ({ n: (ctx.state().n as number) + 1 }) }],
                },
              ],
            },
          },
        },
        { pauseWindowMs: 0, onComplete: (r) => void completed.push(r) },
      );
      const payload = { orderId: "o8", n: 1, nested: { k: 1 } };
      h.bus.emit("order.placed", payload);
      await expect.poll(() => h.runtime.listAllRuns()[0]?.status).toBe("paused");
      const runId = h.runtime.listAllRuns()[0]!.runId;
      await expect.poll(() => h.storeRegistry.has(runId)).toBe(false); // released
      h.runtime.signal(runId, { signalled: true });
      await h.runtime.resume(runId, { n: 10 });
      expect(completed.map((r) => r.ok && r.value.state)).toEqual([
        { orderId: "o8", n: 11, nested: { k: 1 }, asked: true, signalled: true },
      ]);
      // the trigger payload is the emitter's: never written into nor frozen
      expect(payload).toEqual({ orderId: "o8", n: 1, nested: { k: 1 } });
      expect(Object.isFrozen(payload)).toBe(false);
      await h.runtime.stop();
    }
  });

  it("resumes a released run through the bus with services re-injected and onResume told", async () => {
    h = await harness();
    let builds = 0;
    const resumes: Array<{ restored: boolean; nextStage: string | null }> = [];
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        ...approval,
        services: [{ id: "session", scope: "run", factory: () => ({ n: ++builds }) }],
        pipelines: {
          fulfil: {
            stages: [
              {
                id: "ask",
                steps: [
                  {
                    id: "w",
                    action: async (ctx) => {
                      (await pauseOf(ctx)).register({ event: "answer" });
                      return { before: (await ctx.use((d) => d.require<{ n: number }>("session"))).n };
                    },
                  },
                ],
              },
              {
                id: "after",
                steps: [
                  {
                    id: "a",
                    action: async (ctx) => ({
                      after: (await ctx.use((d) => d.require<{ n: number }>("session"))).n,
                    }),
                  },
                ],
              },
            ],
          },
        },
      },
      {
        pauseWindowMs: 0,
        onResume: (ctx) => void resumes.push({ restored: ctx.restored, nextStage: ctx.nextStage }),
        onComplete: (r) => void completed.push(r),
      },
    );
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o9" });
    const runId = paused.metadata.runId!;
    await expect.poll(() => h.storeRegistry.has(runId)).toBe(false);
    h.runtime.signal(runId, { note: "while parked" });
    h.bus.emit("answer", { answer: "yes" });
    await expect.poll(() => completed.length).toBe(1);
    expect(resumes).toEqual([{ restored: true, nextStage: "after" }]);
    const r = completed[0]!;
    expect(r.ok && r.value.state).toMatchObject({
      orderId: "o9",
      before: 1,
      after: 2,
      note: "while parked",
      answer: "yes",
    });
  });

  it("keeps the live context within the window (onResume restored: false)", async () => {
    h = await harness();
    const resumes: boolean[] = [];
    await h.runtime.register(approval, {
      pauseWindowMs: 60_000,
      onResume: (ctx) => void resumes.push(ctx.restored),
    });
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(h.storeRegistry.has(paused.metadata.runId!)).toBe(true);
    const r = await h.runtime.resume(paused.metadata.runId!, { approvedBy: "host" });
    expect(r.ok && r.value.state.shipped).toBe(true);
    expect(resumes).toEqual([false]);
  });
});

describe("abort and signal", () => {
  it("aborts a paused run: onComplete sees aborted, the run leaves the active set", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(approval, { onComplete: (r) => void completed.push(r) });
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    await h.runtime.abort(paused.metadata.runId!);
    expect(completed[0]!.ok && completed[0]!.value.status).toBe("aborted");
    expect(h.runtime.watch("orders", paused.metadata.runId!)?.status).toBe("aborted");
    h.bus.emit("order.approved", { orderId: "o1" });
    await tick(2);
    expect(completed.length).toBe(1);
    await expect(h.runtime.abort("never-existed")).rejects.toMatchObject({ code: "NOT_FOUND" });
  });

  it("aborts a running run: the step sees its signal and no later stage starts", async () => {
    h = await harness();
    const reached: string[] = [];
    await h.runtime.register({
      ...approval,
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "long",
              steps: [
                {
                  id: "l",
                  action: (ctx) =>
                    new Promise((_, reject) => {
                      reached.push("long");
                      ctx.signal.addEventListener("abort", () => reject(new Error("stopped")));
                    }),
                },
              ],
            },
            { id: "never", steps: [{ id: "n", action: () => void reached.push("never") }] },
          ],
        },
      },
    });
    const running = h.runtime.invoke("orders", "placed", {});
    await expect.poll(() => reached).toEqual(["long"]);
    await h.runtime.abort(h.runtime.listAllRuns()[0]!.runId);
    const r = await running;
    expect(r.ok && r.value.status).toBe("aborted");
    expect(reached).toEqual(["long"]);
  });

  it("control events abort, signal and resume runs through the bus", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(approval, { onComplete: (r) => void completed.push(r) });
    const a = await h.runtime.invoke("orders", "placed", { orderId: "a" });
    const b = await h.runtime.invoke("orders", "placed", { orderId: "b" });
    h.bus.emit(ControlEvent.Signal, { runId: b.metadata.runId, patch: { approvedBy: "bus" } });
    h.bus.emit(ControlEvent.Resume, { runId: b.metadata.runId });
    h.bus.emit(ControlEvent.Abort, { runId: a.metadata.runId });
    await expect.poll(() => completed.length).toBe(2);
    const byId = new Map(completed.map((r) => [r.metadata.runId, r]));
    const ra = byId.get(a.metadata.runId)!;
    const rb = byId.get(b.metadata.runId)!;
    expect(ra.ok && ra.value.status).toBe("aborted");
    expect(rb.ok && rb.value.state).toMatchObject({ approvedBy: "bus", shipped: true });
    h.bus.emit(ControlEvent.Abort, { nope: true });
    expect(h.errors.at(-1)?.code).toBe("INVALID_INPUT");
    // named as the well-formed ones' reports are, so one filter on details.event sees them all
    expect(h.errors.at(-1)?.message).toBe(
      'control event "sluice.run.abort": payload must be { runId: string }, got {"nope":true}',
    );
    expect(h.errors.at(-1)?.details).toEqual({ event: ControlEvent.Abort });
  });

  it("control events typecheck on a bus typed with ControlEventMap", async () => {
    const bus = createEventBus<{ "order.placed": { orderId: string } } & ControlEventMap>();
    const completed: RunResult[] = [];
    const runtime = new WorkflowRuntime({ bus, storeRegistry: new StoreRegistry(), env: {} });
    await runtime.register(approval, { onComplete: (r) => void completed.push(r) });
    const run = await runtime.invoke("orders", "placed", { orderId: "t" });
    bus.emit(ControlEvent.Resume, { runId: run.metadata.runId!, patch: { approvedBy: "typed" } });
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state).toMatchObject({ approvedBy: "typed" });
    // @ts-expect-error: a signal carries a patch
    bus.emit(ControlEvent.Signal, { runId: "x" });
    await runtime.stop();
  });

  it("signal() patches a running run's state; bad input and unknown runs throw with codes", async () => {
    h = await harness();
    const gate = deferred();
    await h.runtime.register({
      ...approval,
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "s",
              steps: [
                {
                  id: "w",
                  action: async (ctx) => {
                    await gate.promise;
                    return { saw: ctx.state().flag };
                  },
                },
              ],
            },
          ],
        },
      },
    });
    const running = h.runtime.invoke("orders", "placed", {});
    await tick(1);
    const runId = h.runtime.listAllRuns()[0]!.runId;
    h.runtime.signal(runId, { flag: "up" });
    expect(() => h.runtime.signal(runId, "x" as never)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(() => h.runtime.signal("nope", {})).toThrow(expect.objectContaining({ code: "NOT_FOUND" }));
    gate.resolve();
    const r = await running;
    expect(r.ok && r.value.state.saw).toBe("up");
  });
});

describe("review fixes", () => {
  it("onResume already sees the resume patch", async () => {
    h = await harness();
    const seen: unknown[] = [];
    await h.runtime.register(approval, { onResume: (ctx) => void seen.push(ctx.state().approvedBy) });
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    expect(paused.ok && paused.value.status).toBe("paused");
    h.bus.emit("order.approved", { orderId: "o1", approvedBy: "ann" });
    await expect.poll(() => seen).toEqual(["ann"]);
  });

  it("a later stage can register a wait with the same explicit id", async () => {
    h = await harness();
    const waitWithId = {
      id: "w",
      action: async (ctx: any) => void (await pauseOf(ctx)).register({ id: "approval", event: "ok" }),
    };
    await h.runtime.register({
      ...approval,
      pipelines: {
        fulfil: {
          stages: [
            { id: "first", steps: [waitWithId] },
            { id: "second", steps: [{ ...waitWithId, id: "w2" }] },
            { id: "end", steps: [{ id: "e", action: () => ({ done: true }) }] },
          ],
        },
      },
    });
    const paused = await h.runtime.invoke("orders", "placed", {});
    const again = await h.runtime.resume(paused.metadata.runId!, {});
    expect(again.ok && again.value.status).toBe("paused");
    const done = await h.runtime.resume(paused.metadata.runId!, {});
    expect(done.ok && done.value).toMatchObject({ status: "completed", state: { done: true } });
  });
});

describe("buffering filters by the wait's conditions", () => {
  it("a running run buffers only events that meet its waits, so other runs' events never overflow it", async () => {
    h = await harness({ maxBufferedEventsPerRun: 4 });
    const gate = deferred();
    await h.runtime.register({
      ...approval,
      pipelines: {
        fulfil: {
          stages: [
            {
              id: "ask",
              steps: [
                {
                  id: "w",
                  action: async (ctx) => {
                    (await pauseOf(ctx)).register({
                      event: "order.approved",
                      conditions: [{ path: "orderId", op: "==", value: ctx.state().orderId }],
                    });
                    await gate.promise; // still running while approvals for other orders arrive
                  },
                },
              ],
            },
            { id: "ship", steps: [{ id: "s", action: (ctx) => ({ shippedBy: ctx.state().approvedBy }) }] },
          ],
        },
      },
    });
    const running = h.runtime.invoke("orders", "placed", { orderId: "mine" });
    await tick(1);
    for (let i = 0; i < 20; i++) h.bus.emit("order.approved", { orderId: `other-${i}`, approvedBy: "x" });
    h.bus.emit("order.approved", { orderId: "mine", approvedBy: "ann" });
    gate.resolve();
    const result = await running;
    expect(result.ok && result.value).toMatchObject({ status: "completed", state: { shippedBy: "ann" } });
    expect(h.errors.filter((e) => e.code === "CAPACITY_EXCEEDED")).toEqual([]);
  });
});

describe("hostile resuming payloads", () => {
  it("a wait event whose payload throws when read is reported and ignored; the run stays parked", async () => {
    h = await harness();
    await h.runtime.register(approval);
    const paused = await h.runtime.invoke("orders", "placed", { orderId: "o1" });
    const hostile = Object.defineProperty({ orderId: "o1" }, "approvedBy", {
      enumerable: true,
      get() {
        throw new Error("getter exploded");
      },
    });
    expect(() => h.bus.emit("order.approved", hostile)).not.toThrow();
    expect(h.errors.at(-1)).toMatchObject({
      code: "INVALID_INPUT",
      message: expect.stringMatching(
        /resuming event was ignored: the event payload could not be read: getter exploded/,
      ),
    });
    expect(h.runtime.watch("orders", paused.metadata.runId!)?.status).toBe("paused");
    h.bus.emit("order.approved", { orderId: "o1", approvedBy: "ann" });
    await expect.poll(() => h.runtime.watch("orders", paused.metadata.runId!)?.status).toBe("completed");
  });
});
