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
