import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import type { PipelineDefinition, PipelineLifecycleEvent, PipelineRun, PipelineState } from "../src/index.js";
import { deferred, forever, MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

function threeStages(ran: string[], stepB: () => unknown = () => undefined) {
  return new Pipeline<PipelineState>("p", {
    stages: [
      { id: "one", steps: [{ id: "a", action: () => void ran.push("a") }] },
      {
        id: "two",
        steps: [
          {
            id: "b",
            action: async () => {
              ran.push("b");
              await stepB();
              return { lateB: true };
            },
          },
          { id: "b2", action: () => void ran.push("b2") },
        ],
      },
      { id: "three", steps: [{ id: "c", action: () => void ran.push("c") }] },
    ],
  });
}

describe("abort", () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it("before execute(): ends aborted without running anything", async () => {
    const ran: string[] = [];
    const pipeline = threeStages(ran);
    const observer = new RecordingObserver();
    const run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}), observer });
    run.abort("user cancelled");
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(ran).toEqual([]);
    expect(run.status).toBe("aborted");
    expect(observer.trace()).toEqual(["run.aborted"]);
    expect(observer.events[0]?.error?.code).toBe("ABORTED");
    expect(observer.events[0]?.error?.cause).toBe("user cancelled");
  });

  it("with an external signal that already fired: ends aborted without running anything", async () => {
    const ran: string[] = [];
    const pipeline = threeStages(ran);
    const controller = new AbortController();
    controller.abort();
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), signal: controller.signal })
      .execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(ran).toEqual([]);
  });

  it("before a stage: the next stage never starts", async () => {
    const ran: string[] = [];
    const pipeline = threeStages(ran);
    let run: PipelineRun<PipelineState> | undefined;
    const observer = new RecordingObserver();
    const aborting = {
      onEvent(event: Parameters<RecordingObserver["onEvent"]>[0]) {
        observer.onEvent(event);
        if (event.type === "stage.completed" && event.stage === "one") run?.abort();
      },
    };
    run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}), observer: aborting });
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(result.metadata.stage).toBe("one");
    expect(ran).toEqual(["a"]);
    expect(observer.trace()).toEqual([
      "run.started",
      "stage.started:one",
      "step.started:one/a",
      "step.completed:one/a",
      "stage.completed:one",
      "run.aborted:one",
    ]);
  });

  it("mid-step: fires the step's signal, resolves at once even if the step never settles, runs nothing after", async () => {
    const ran: string[] = [];
    const pipeline = threeStages(ran, forever); // ignores its signal and never settles
    const run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    const pending = run.execute();
    await new Promise((r) => setTimeout(r, 5));
    expect(ran).toEqual(["a", "b"]);
    run.abort(new Error("shutdown"));
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(result.ok && result.value.state).toEqual({});
    expect(result.metadata).toMatchObject({ stage: "two", step: "b" });
    expect(ran).toEqual(["a", "b"]);
  });

  it("mid-step: the step sees ctx.signal fire with an ABORTED reason; its late patch is dropped", async () => {
    const gate = deferred();
    let seen: AbortSignal | undefined;
    let reasonSeen: unknown;
    const state = new MemoryState<PipelineState>({});
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              action: async (ctx) => {
                seen = ctx.signal;
                ctx.signal.addEventListener("abort", () => {
                  reasonSeen = ctx.signal.reason;
                });
                await gate.promise;
                return { late: true };
              },
            },
            { id: "y", action: () => ({ y: true }) },
          ],
        },
      ],
    });
    const run = pipeline.start({ runId: "r", state });
    const pending = run.execute();
    await Promise.resolve();
    run.abort();
    const result = await pending;
    expect(seen?.aborted).toBe(true);
    expect(SystemError.is(reasonSeen, "ABORTED")).toBe(true);
    gate.resolve();
    await new Promise((r) => setTimeout(r, 5));
    expect(result.ok && result.value.status).toBe("aborted");
    expect(state.get()).toEqual({});
  });

  it("mid-step through the external signal", async () => {
    const controller = new AbortController();
    const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [{ id: "x", action: forever }] }] });
    const pending = pipeline
      .start({ runId: "r", state: new MemoryState({}), signal: controller.signal })
      .execute();
    await Promise.resolve();
    controller.abort("external");
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");
  });

  it("mid-step, after the step waited: run.aborted and the result's durationMs are stamped at the abort, not at the step's start", async () => {
    vi.useFakeTimers({ now: 1_000, toFake: ["Date"] });
    const observer = new RecordingObserver();
    const pipeline = new Pipeline("p", { stages: [{ id: "s", steps: [{ id: "x", action: forever }] }] });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}), observer });
    const pending = run.execute();
    await Promise.resolve();
    vi.setSystemTime(1_000 + 1_500); // the step has been waiting for 1.5 s
    run.abort();
    const result = await pending;
    const aborted = observer.events.find((e) => e.type === "run.aborted");
    expect(aborted?.at).toBe(2_500);
    expect(aborted?.durationMs).toBe(1_500);
    expect(result.metadata.durationMs).toBe(1_500);
    expect(result.metadata.finishedAt).toBe(2_500);
  });

  it("mid-step in a concurrent stage: every sibling's signal fires", async () => {
    const signals: AbortSignal[] = [];
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "fan",
          concurrent: true,
          steps: ["a", "b"].map((id) => ({
            id,
            action: (ctx: { signal: AbortSignal }) => {
              signals.push(ctx.signal);
              return forever();
            },
          })),
        },
      ],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    const pending = run.execute();
    await Promise.resolve();
    run.abort();
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(signals.map((s) => s.aborted)).toEqual([true, true]);
  });

  it("during a retry backoff: no further attempt runs", async () => {
    let attempts = 0;
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 5, backoffMs: 10_000 },
              action: () => {
                attempts++;
                throw new Error("nope");
              },
            },
          ],
        },
      ],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    const pending = run.execute();
    await new Promise((r) => setTimeout(r, 5));
    const before = Date.now();
    run.abort();
    const result = await pending;
    expect(Date.now() - before).toBeLessThan(1000);
    expect(result.ok && result.value.status).toBe("aborted");
    expect(attempts).toBe(1);
  });

  it("in a step with a timeout: aborted, not TIMEOUT", async () => {
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", timeoutMs: 10_000, action: forever }] }],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    const pending = run.execute();
    await Promise.resolve();
    run.abort();
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");
  });

  it("from inside a step with a timeout that then rejects: the rejection is handled, not left unhandled", async () => {
    const unhandled: unknown[] = [];
    const onUnhandled = (reason: unknown) => void unhandled.push(reason);
    process.on("unhandledRejection", onUnhandled);
    try {
      let run: PipelineRun<PipelineState> | undefined;
      const pipeline = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "self",
                timeoutMs: 1_000,
                // aborts its own run before it returns its promise, which then rejects
                action: async () => {
                  run?.abort("enough");
                  throw new Error("failed after the abort");
                },
              },
            ],
          },
        ],
      });
      run = pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}) });
      const result = await run.execute();
      expect(result.ok && result.value.status).toBe("aborted");
      await new Promise((resolve) => setTimeout(resolve, 10));
      expect(unhandled).toEqual([]);
    } finally {
      process.off("unhandledRejection", onUnhandled);
    }
  });

  it("after the run ended: does nothing", async () => {
    const pipeline = new Pipeline("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => undefined }] }],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    const result = await run.execute();
    run.abort();
    expect(run.status).toBe("completed");
    expect(result.ok && result.value.status).toBe("completed");
  });

  it("from inside a step: the step's later siblings do not run", async () => {
    const ran: string[] = [];
    let run: PipelineRun<PipelineState> | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "self",
              action: () => {
                ran.push("self");
                run?.abort("enough");
                return { written: true };
              },
            },
            { id: "next", action: () => void ran.push("next") },
          ],
        },
      ],
    });
    const state = new MemoryState<PipelineState>({});
    run = pipeline.start({ runId: "r", state });
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(ran).toEqual(["self"]);
    expect(state.get()).toEqual({});
  });

  describe("by an observer: no step starts after the event it aborted on", () => {
    const shapes: Record<string, (ran: string[]) => PipelineDefinition<PipelineState>> = {
      "a sequential stage": (ran) => ({
        stages: [{ id: "s", steps: [{ id: "a", action: () => void ran.push("a") }] }],
      }),
      "a step with retries": (ran) => ({
        stages: [{ id: "s", steps: [{ id: "a", retry: { attempts: 2 }, action: () => void ran.push("a") }] }],
      }),
      "a concurrent stage": (ran) => ({
        stages: [
          {
            id: "s",
            concurrent: true,
            steps: [
              { id: "a", action: () => void ran.push("a") },
              { id: "b", action: () => void ran.push("b") },
            ],
          },
        ],
      }),
      "a stage after a concurrent one": (ran) => ({
        stages: [
          { id: "first", concurrent: true, steps: [{ id: "z", action: () => undefined }] },
          { id: "s", steps: [{ id: "a", action: () => void ran.push("a") }] },
        ],
      }),
    };
    for (const [shape, define] of Object.entries(shapes)) {
      for (const on of ["stage.started", "step.started"] as const) {
        it(`${shape}, aborted on ${on}`, async () => {
          const ran: string[] = [];
          const state = new MemoryState<PipelineState>({});
          let run: PipelineRun<PipelineState> | undefined;
          const observer = {
            onEvent(event: PipelineLifecycleEvent) {
              const target = on === "stage.started" ? event.stage === "s" : event.step === "a";
              if (event.type === on && target) run?.abort("stop");
            },
          };
          run = new Pipeline<PipelineState>("p", define(ran)).start({ runId: "r", state, observer });
          const result = await run.execute();
          await new Promise((resolve) => setTimeout(resolve, 5));
          expect(result.ok && result.value.status).toBe("aborted");
          expect(ran).toEqual([]);
        });
      }
    }
  });
});
