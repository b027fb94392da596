import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import {
  type DependencyScope,
  Pipeline,
  type PipelineState,
  type StepAttempt,
  type StepContext,
  type UseDependencyContext,
} from "../src/index.js";
import { deferred, forever, MemoryState, RecordingObserver } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

/** A real dependency scope with no dependencies, which keeps the attempts `ctx.use` hands it. */
class AttemptRecordingScope implements DependencyScope<PipelineState> {
  readonly attempts: (StepAttempt | undefined)[] = [];

  use<R>(
    fn: (deps: UseDependencyContext<PipelineState>) => R | Promise<R>,
    attempt?: StepAttempt,
  ): Promise<R> {
    this.attempts.push(attempt);
    const deps: UseDependencyContext<PipelineState> = {
      resolve: async () => ({ ok: false as const, error: new SystemError("NOT_FOUND", "none") }),
      require: async () => {
        throw new SystemError("NOT_FOUND", "none");
      },
      select: (selector) => selector({}),
    };
    return Promise.resolve(fn(deps));
  }
}

/** The attempt a step's context is, as its dependency scope gets it. */
async function attemptOf(
  ctx: StepContext<PipelineState>,
  scope: AttemptRecordingScope,
): Promise<StepAttempt> {
  // ctx.use calls the scope at once: this call's attempt is the one pushed now (a concurrent
  // sibling's call may push another before this one resumes)
  const index = scope.attempts.length;
  await ctx.use(() => undefined);
  return scope.attempts[index]!;
}

describe("the attempt a step's ctx.use hands its dependency scope", () => {
  it("names the attempt, and is running until the attempt returns; a simple step's, until the run leaves it", async () => {
    const scope = new AttemptRecordingScope();
    const seen: Record<string, StepAttempt> = {};
    const during: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "simple",
              action: async (ctx) => {
                seen.simple = await attemptOf(ctx, scope);
                during.push(`simple ${seen.simple.status}`);
              },
            },
            {
              id: "retried",
              retry: { attempts: 2 },
              action: async (ctx) => {
                seen[`retried${ctx.attempt}`] = await attemptOf(ctx, scope);
                during.push(`retried ${ctx.attempt} ${seen[`retried${ctx.attempt}`]!.status}`);
                // the simple step's attempt is over: the run is at another step now
                during.push(`simple ${seen.simple!.status}`);
                if (ctx.attempt === 1) throw new Error("first try fails");
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(during).toEqual([
      "simple running",
      "retried 1 running",
      "simple ended",
      "retried 2 running",
      "simple ended",
    ]);
    const { simple, retried1, retried2 } = seen;
    expect([simple, retried1, retried2].map((a) => [a!.runId, a!.stage, a!.step, a!.attempt])).toEqual([
      ["r", "s", "simple", 1],
      ["r", "s", "retried", 1],
      ["r", "s", "retried", 2],
    ]);
    expect([simple!.status, retried1!.status, retried2!.status]).toEqual(["ended", "ended", "ended"]);
  });

  it("has its failure undone before step.retried, and a completed attempt's never", async () => {
    const scope = new AttemptRecordingScope();
    const observer = new RecordingObserver();
    const trace: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 3 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onFailure(() => trace.push(`undo ${ctx.attempt}`));
                if (ctx.attempt === 1) throw new Error("throws");
                // a patch the engine refuses fails the attempt too
                if (ctx.attempt === 2) return [1] as never;
                return { done: true };
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({
        runId: "r",
        state: new MemoryState<PipelineState>({}),
        dependencies: scope,
        observer: {
          onEvent: (event) => {
            observer.onEvent(event);
            if (event.type === "step.retried") trace.push(`step.retried ${event.attempt}`);
          },
        },
      })
      .execute();
    expect(result.ok && result.value.state).toEqual({ done: true });
    expect(trace).toEqual(["undo 1", "step.retried 1", "undo 2", "step.retried 2"]);
  });

  it("has a step that fails for good undone before step.failed", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                (await attemptOf(ctx, scope)).onFailure(() => trace.push(`undo ${ctx.attempt}`));
                throw new Error(`try ${ctx.attempt}`);
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({
        runId: "r",
        state: new MemoryState<PipelineState>({}),
        dependencies: scope,
        observer: { onEvent: (event) => void (event.type.startsWith("step.") && trace.push(event.type)) },
      })
      .execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(trace).toEqual([
      "step.started",
      "undo 1",
      "step.retried",
      "step.started",
      "undo 2",
      "step.failed",
    ]);
  });

  it("times out: undone at the timeout, timed-out from its signal on, and a later onFailure is ignored", async () => {
    vi.useFakeTimers();
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const late = deferred();
    let first: StepAttempt | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              timeoutMs: 100,
              retry: { attempts: 2 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                if (ctx.attempt === 2) return { second: true };
                first = attempt;
                attempt.onFailure(() => trace.push("undo 1"));
                ctx.signal.addEventListener("abort", () => trace.push(`signal: ${attempt.status}`));
                await late.promise;
                attempt.onFailure(() => trace.push("late undo"));
                trace.push(`late: ${attempt.status}`);
                return forever();
              },
            },
          ],
        },
      ],
    });
    const pending = pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    await vi.runAllTimersAsync();
    const result = await pending;
    expect(result.ok && result.value.state).toEqual({ second: true });
    late.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(trace).toEqual(["signal: timed-out", "undo 1", "late: timed-out"]);
    expect(first!.status).toBe("timed-out");
  });

  it("is ended once the run stops it: aborted, its undo not run (the run drops what the stage did)", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const started = deferred<StepAttempt>();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onFailure(() => trace.push("undo"));
                started.resolve(attempt);
                return forever();
              },
            },
          ],
        },
      ],
    });
    const run = pipeline.start({
      runId: "r",
      state: new MemoryState<PipelineState>({}),
      dependencies: scope,
    });
    const pending = run.execute();
    const attempt = await started.promise;
    expect(attempt.status).toBe("running");
    run.abort();
    expect((await pending).ok).toBe(true);
    expect(attempt.status).toBe("ended");
    expect(trace).toEqual([]);
  });

  it("in a concurrent stage, undoes the failed attempt of one step and not its sibling's", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const siblingDone = deferred();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          concurrent: true,
          steps: [
            {
              id: "flaky",
              retry: { attempts: 2 },
              action: async (ctx) => {
                (await attemptOf(ctx, scope)).onFailure(() => trace.push(`undo flaky ${ctx.attempt}`));
                // the sibling has registered its undo and is still running
                await siblingDone.promise;
                if (ctx.attempt === 1) throw new Error("first try fails");
              },
            },
            {
              id: "steady",
              action: async (ctx) => {
                (await attemptOf(ctx, scope)).onFailure(() => trace.push("undo steady"));
                siblingDone.resolve();
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(trace).toEqual(["undo flaky 1"]);
  });

  it("counts a when guard as the first attempt: ended once it has answered, undone if it throws", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    let passed: StepAttempt | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "guarded",
              when: async (ctx) => {
                passed = await attemptOf(ctx, scope);
                return true;
              },
              action: () => ({ ran: true }),
            },
            {
              id: "throwing",
              when: async (ctx) => {
                (await attemptOf(ctx, scope)).onFailure(() => trace.push("undo guard"));
                throw new Error("guard throws");
              },
              action: () => ({ never: true }),
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(passed!.status).toBe("ended");
    expect(trace).toEqual(["undo guard"]);
  });

  it("runs every undo even when one throws, then fails the run INVALID_STATE with what it threw", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const fault = new Error("undo fault");
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onFailure(() => {
                  trace.push("first undo");
                  throw fault;
                });
                attempt.onFailure(() => trace.push("second undo"));
                throw new Error("fails");
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(trace).toEqual(["first undo", "second undo"]);
    expect(!result.ok && result.error.code).toBe("INVALID_STATE");
    expect(!result.ok && result.error.cause).toBe(fault);
  });
});

/** A run of `pipeline` with `scope`, whose observer adds each step event's type and attempt to `trace`. */
function traced(pipeline: Pipeline<PipelineState>, scope: AttemptRecordingScope, trace: string[]) {
  return pipeline.start({
    runId: "r",
    state: new MemoryState<PipelineState>({}),
    dependencies: scope,
    observer: {
      onEvent: (event) => {
        if (event.type.startsWith("step.") || event.type.startsWith("run."))
          trace.push(event.attempt === undefined ? event.type : `${event.type} ${event.attempt}`);
      },
    },
  });
}

describe("the end of an attempt (onEnd)", () => {
  it("is told once, after the patch and before step.completed; after the undos and before step.retried", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const state = new MemoryState<PipelineState>({});
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 3 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onEnd((outcome) => trace.push(`end ${ctx.attempt} ${outcome} ${attempt.status}`));
                attempt.onFailure(() => trace.push(`undo ${ctx.attempt}`));
                attempt.onEnd(() => trace.push(`second end ${ctx.attempt} ${JSON.stringify(state.get())}`));
                if (ctx.attempt === 1) throw new Error("throws");
                if (ctx.attempt === 2) return [1] as never; // a refused patch fails the attempt
                return { done: true };
              },
            },
          ],
        },
      ],
    });
    const run = pipeline.start({
      runId: "r",
      state,
      dependencies: scope,
      observer: { onEvent: (event) => void (event.type.startsWith("step.") && trace.push(event.type)) },
    });
    const result = await run.execute();
    expect(result.ok && result.value.state).toEqual({ done: true });
    expect(trace).toEqual([
      "step.started",
      "undo 1",
      "end 1 failed ended",
      "second end 1 {}",
      "step.retried",
      "step.started",
      "undo 2",
      "end 2 failed ended",
      "second end 2 {}",
      "step.retried",
      "step.started",
      "end 3 completed ended",
      'second end 3 {"done":true}',
      "step.completed",
    ]);
  });

  it("of a step that fails for good, after its undos and before step.failed; a late onEnd is ignored", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    let attempt: StepAttempt | undefined;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 1 },
              timeoutMs: 1_000,
              action: async (ctx) => {
                attempt = await attemptOf(ctx, scope);
                attempt.onFailure(() => trace.push("undo"));
                attempt.onEnd((outcome) => trace.push(`end ${outcome}`));
                throw new Error("fails");
              },
            },
          ],
        },
      ],
    });
    const result = await traced(pipeline, scope, trace).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    attempt!.onEnd(() => trace.push("late end"));
    expect(trace).toEqual([
      "run.started",
      "step.started 1",
      "undo",
      "end failed",
      "step.failed 1",
      "run.failed",
    ]);
  });

  it("of a timed-out attempt, at the timeout with timed-out, after its undo; later calls are ignored", async () => {
    vi.useFakeTimers();
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const late = deferred();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              timeoutMs: 100,
              retry: { attempts: 2 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                if (ctx.attempt === 2) return { second: true };
                attempt.onFailure(() => trace.push("undo 1"));
                attempt.onEnd((outcome) => trace.push(`end 1 ${outcome} ${attempt.status}`));
                await late.promise;
                attempt.onEnd(() => trace.push("late end"));
                return forever();
              },
            },
          ],
        },
      ],
    });
    const pending = traced(pipeline, scope, trace).execute();
    await vi.advanceTimersByTimeAsync(99);
    expect(trace).toEqual(["run.started", "step.started 1"]);
    await vi.advanceTimersByTimeAsync(1);
    expect(trace).toEqual([
      "run.started",
      "step.started 1",
      "undo 1",
      "end 1 timed-out timed-out",
      "step.retried 1",
    ]);
    await vi.runAllTimersAsync();
    expect((await pending).ok).toBe(true);
    late.resolve();
    await vi.advanceTimersByTimeAsync(0);
    expect(trace.filter((entry) => entry.includes("end"))).toEqual(["end 1 timed-out timed-out"]);
  });

  for (const simple of [false, true])
    it(`of an attempt its run aborts, as the run ends (before run.aborted), though its action never returns; no undo (${simple ? "a simple step" : "retried"})`, async () => {
      const scope = new AttemptRecordingScope();
      const trace: string[] = [];
      const started = deferred<StepAttempt>();
      const pipeline = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "x",
                ...(!simple && { retry: { attempts: 2 } }),
                action: async (ctx) => {
                  const attempt = await attemptOf(ctx, scope);
                  attempt.onFailure(() => trace.push("undo"));
                  attempt.onEnd((outcome) => trace.push(`end ${outcome} ${attempt.status}`));
                  started.resolve(attempt);
                  return forever();
                },
              },
            ],
          },
        ],
      });
      const run = traced(pipeline, scope, trace);
      const pending = run.execute();
      const attempt = await started.promise;
      run.abort();
      expect((await pending).ok).toBe(true);
      attempt.onEnd(() => trace.push("late end"));
      expect(trace).toEqual(["run.started", "step.started 1", "end stopped ended", "run.aborted"]);
    });

  it("of a simple step's attempt (sequential stage): completed or failed, no undo, before its step event", async () => {
    for (const plain of [true, false]) {
      const scope = new AttemptRecordingScope();
      const trace: string[] = [];
      const listen = async (ctx: StepContext<PipelineState>) => {
        const attempt = await attemptOf(ctx, scope);
        attempt.onFailure(() => trace.push(`undo ${ctx.step}`));
        attempt.onEnd((outcome) => trace.push(`end ${ctx.step} ${outcome} ${attempt.status}`));
      };
      const pipeline = new Pipeline<PipelineState>("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "ok",
                action: async (ctx) => {
                  await listen(ctx);
                  return { ok: true };
                },
              },
              // not simple: the run goes through its general loop, which runs simple steps inline too
              ...(plain ? [] : [{ id: "retried", retry: { attempts: 2 }, action: () => undefined }]),
              {
                id: "refused",
                action: async (ctx) => {
                  await listen(ctx);
                  return "not a patch" as never;
                },
              },
            ],
          },
        ],
      });
      const result = await traced(pipeline, scope, trace).execute();
      expect(!result.ok && result.error.code).toBe("STEP_FAILED");
      expect(trace).toEqual([
        "run.started",
        "step.started 1",
        "end ok completed ended",
        "step.completed 1",
        ...(plain ? [] : ["step.started 1", "step.completed 1"]),
        "step.started 1",
        "end refused failed ended",
        "step.failed 1",
        "run.failed",
      ]);
    }
  });

  it("of a when guard's attempt, once it has answered", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "guarded",
              when: async (ctx) => {
                (await attemptOf(ctx, scope)).onEnd((outcome) => trace.push(`guard ${outcome}`));
                return true;
              },
              action: () => void trace.push("action"),
            },
          ],
        },
      ],
    });
    expect((await traced(pipeline, scope, trace).execute()).ok).toBe(true);
    expect(trace).toEqual([
      "run.started",
      "guard completed",
      "step.started 1",
      "action",
      "step.completed 1",
      "run.completed",
    ]);
  });

  it("of a concurrent step stopped by its sibling's failure: stopped, as the run fails", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const listening = deferred();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          concurrent: true,
          steps: [
            {
              id: "slow",
              action: async (ctx) => {
                (await attemptOf(ctx, scope)).onEnd((outcome) => trace.push(`end slow ${outcome}`));
                listening.resolve();
                return forever();
              },
            },
            {
              id: "failing",
              action: async () => {
                await listening.promise;
                throw new Error("fails");
              },
            },
          ],
        },
      ],
    });
    const result = await traced(pipeline, scope, trace).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(trace.slice(-3)).toEqual(["step.failed 1", "end slow stopped", "run.failed"]);
  });

  it("runs every callback even when one throws, then fails the run with what it threw (a completed attempt is not retried)", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const fault = new Error("end fault");
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onEnd(() => {
                  trace.push(`first end ${ctx.attempt}`);
                  throw fault;
                });
                attempt.onEnd(() => trace.push(`second end ${ctx.attempt}`));
                return { done: true };
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(trace).toEqual(["first end 1", "second end 1"]);
    expect(!result.ok && result.error.code).toBe("INVALID_STATE");
    expect(!result.ok && result.error.cause).toBe(fault);
  });
});

describe("the retry of an attempt (onRetry)", () => {
  it("is told the next attempt as it starts, before its action; given from an undo or an onEnd too", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 3 },
              action: async (ctx) => {
                trace.push(`action ${ctx.attempt}`);
                if (ctx.attempt === 3) return { done: true };
                const attempt = await attemptOf(ctx, scope);
                const follow = (next: StepAttempt) =>
                  trace.push(`retry of ${ctx.attempt}: ${next.step} ${next.attempt} ${next.status}`);
                attempt.onRetry(follow);
                if (ctx.attempt === 1) attempt.onFailure(() => attempt.onRetry(follow));
                else attempt.onEnd(() => attempt.onRetry(follow));
                throw new Error("throws");
              },
            },
          ],
        },
      ],
    });
    const result = await traced(pipeline, scope, trace).execute();
    expect(result.ok && result.value.state).toEqual({ done: true });
    expect(trace).toEqual([
      "run.started",
      "step.started 1",
      "action 1",
      "step.retried 1",
      "step.started 2",
      "retry of 1: x 2 running",
      "retry of 1: x 2 running",
      "action 2",
      "step.retried 2",
      "step.started 3",
      "retry of 2: x 3 running",
      "retry of 2: x 3 running",
      "action 3",
      "step.completed 3",
      "run.completed",
    ]);
  });

  it("is never told when the step is not retried: completed, failed for good, aborted in the backoff, or given too late", async () => {
    vi.useFakeTimers();
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const attempts: StepAttempt[] = [];
    const backingOff = deferred();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "completes",
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempt.onRetry(() => trace.push("retry of completes"));
              },
            },
            {
              id: "last",
              retry: { attempts: 2, backoffMs: 1_000 },
              action: async (ctx) => {
                const attempt = await attemptOf(ctx, scope);
                attempts.push(attempt);
                attempt.onRetry(() => trace.push(`retry of last ${ctx.attempt}`));
                if (ctx.attempt === 1) attempt.onFailure(() => void backingOff.resolve());
                throw new Error("throws");
              },
            },
          ],
        },
      ],
    });
    const run = traced(pipeline, scope, trace);
    const first = run.execute();
    await backingOff.promise;
    await vi.advanceTimersByTimeAsync(1_000);
    // the retry has started: the first attempt's later onRetry is not told
    attempts[0]!.onRetry(() => trace.push("too late"));
    const result = await first;
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(trace.filter((entry) => entry.includes("retry of") || entry === "too late")).toEqual([
      "retry of last 1",
    ]);

    const aborted: string[] = [];
    const again = traced(pipeline, scope, aborted);
    const pending = again.execute();
    await vi.advanceTimersByTimeAsync(500); // in the backoff
    again.abort();
    await vi.runAllTimersAsync();
    expect((await pending).ok).toBe(true);
    expect(aborted.some((entry) => entry.includes("retry of"))).toBe(false);
  });

  it("that aborts the run keeps the next attempt's action from running", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    let run!: ReturnType<typeof traced>;
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                trace.push(`action ${ctx.attempt}`);
                const attempt = await attemptOf(ctx, scope);
                attempt.onRetry(() => run.abort("enough"));
                throw new Error("throws");
              },
            },
          ],
        },
      ],
    });
    run = traced(pipeline, scope, trace);
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(trace).toEqual([
      "run.started",
      "step.started 1",
      "action 1",
      "step.retried 1",
      "step.started 2",
      "run.aborted",
    ]);
  });

  it("that throws fails the run with what it threw; the next attempt's action does not run", async () => {
    const scope = new AttemptRecordingScope();
    const trace: string[] = [];
    const fault = new SystemError("INVALID_STATE", "retry fault");
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: async (ctx) => {
                trace.push(`action ${ctx.attempt}`);
                const attempt = await attemptOf(ctx, scope);
                attempt.onRetry(() => {
                  throw fault;
                });
                attempt.onRetry(() => trace.push("second retry callback"));
                throw new Error("throws");
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), dependencies: scope })
      .execute();
    expect(!result.ok && result.error).toBe(fault);
    expect(trace).toEqual(["action 1", "second retry callback"]);
  });
});
