import { SystemError } from "@sluice/errors";
import { afterEach, describe, expect, it, vi } from "vitest";
import { Pipeline, type PipelineState } from "../src/index.js";
import { MemoryState, RecordingObserver } from "./helpers.js";

afterEach(() => {
  vi.useRealTimers();
});

describe("retries", () => {
  it("retries a failing step up to attempts, waiting backoff × factor^n capped by maxBackoffMs", async () => {
    vi.useFakeTimers();
    const attemptsAt: number[] = [];
    const start = Date.now();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "flaky",
              retry: { attempts: 4, backoffMs: 100, factor: 3, maxBackoffMs: 500 },
              action: (ctx) => {
                attemptsAt.push(Date.now() - start);
                if (ctx.attempt < 4) throw new Error(`try ${ctx.attempt}`);
                return { attempt: ctx.attempt };
              },
            },
          ],
        },
      ],
    });
    const observer = new RecordingObserver();
    const pending = pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), observer })
      .execute();
    await vi.runAllTimersAsync();
    const result = await pending;
    expect(result.ok && result.value.state).toEqual({ attempt: 4 });
    // waits: 100, 300, then 900 capped to 500
    expect(attemptsAt).toEqual([0, 100, 400, 900]);
    const retried = observer.events.filter((e) => e.type === "step.retried");
    expect(retried.map((e) => [e.attempt, e.data, e.error?.message.endsWith(`try ${e.attempt}`)])).toEqual([
      [1, { delayMs: 100, nextAttempt: 2 }, true],
      [2, { delayMs: 300, nextAttempt: 3 }, true],
      [3, { delayMs: 500, nextAttempt: 4 }, true],
    ]);
    expect(observer.trace().filter((t) => t === "step.failed:s/flaky")).toEqual([]);
  });

  it("caps a growing retry wait at 2147483647 ms, the longest timer, when maxBackoffMs is not set", async () => {
    vi.useFakeTimers();
    const longestTimer = 2_147_483_647;
    const attempts: number[] = [];
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "flaky",
              // 2^30 ms, then 2^32 ms: past the longest timer, which setTimeout would fire at once
              retry: { attempts: 3, backoffMs: 2 ** 30, factor: 4 },
              action: (ctx) => {
                attempts.push(ctx.attempt);
                if (ctx.attempt < 3) throw new Error(`try ${ctx.attempt}`);
                return { done: true };
              },
            },
          ],
        },
      ],
    });
    const observer = new RecordingObserver();
    const pending = pipeline
      .start({ runId: "r", state: new MemoryState<PipelineState>({}), observer })
      .execute();
    await vi.advanceTimersByTimeAsync(2 ** 30);
    expect(attempts).toEqual([1, 2]);
    const retried = observer.events.filter((e) => e.type === "step.retried");
    expect(retried.map((e) => e.data)).toEqual([
      { delayMs: 2 ** 30, nextAttempt: 2 },
      { delayMs: longestTimer, nextAttempt: 3 },
    ]);
    await vi.advanceTimersByTimeAsync(1_000);
    expect(attempts).toEqual([1, 2]);
    await vi.advanceTimersByTimeAsync(longestTimer);
    expect(attempts).toEqual([1, 2, 3]);
    const result = await pending;
    expect(result.ok && result.value.state).toEqual({ done: true });
  });

  it("fails with the last attempt's error once attempts are used up", async () => {
    let calls = 0;
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "down",
              retry: { attempts: 3, backoffMs: 1 },
              action: async () => {
                calls++;
                throw new Error(`call ${calls}`);
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(calls).toBe(3);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("STEP_FAILED");
    expect((result.error.cause as Error).message).toBe("call 3");
    expect(result.error.message).toContain("failed on attempt 3 of 3: call 3");
    expect(result.metadata.attempts).toBe(3);
  });

  it("passes a fresh context per attempt with the attempt number", async () => {
    const seen: number[] = [];
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 2 },
              action: (ctx) => {
                seen.push(ctx.attempt);
                if (ctx.attempt === 1) throw new Error("first");
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(result.ok).toBe(true);
    expect(seen).toEqual([1, 2]);
  });
});

describe("retries without a wait", () => {
  it("still yield one macrotask between attempts, so an abort from a timer lands", async () => {
    let tries = 0;
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              retry: { attempts: 100_000 },
              action: () => {
                tries++;
                throw new Error("transient");
              },
            },
          ],
        },
      ],
    });
    const run = pipeline.start({ runId: "r", state: new MemoryState({}) });
    let triesWhenTimerFired: number | undefined;
    setTimeout(() => {
      triesWhenTimerFired = tries;
      run.abort("stop");
    }, 0);
    const result = await run.execute();
    expect(result.ok && result.value.status).toBe("aborted");
    expect(triesWhenTimerFired).toBeLessThan(10);
    expect(tries).toBe(triesWhenTimerFired);
  });
});

describe("timeouts", () => {
  it("fails a step that runs past timeoutMs with TIMEOUT and fires its signal", async () => {
    let signal: AbortSignal | undefined;
    const pipeline = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "slow",
              timeoutMs: 20,
              action: (ctx) => {
                signal = ctx.signal;
                return new Promise<void>(() => {});
              },
            },
          ],
        },
      ],
    });
    const started = Date.now();
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}) }).execute();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.code).toBe("TIMEOUT");
    expect(result.error.message).toContain("pipelines.p.stages[0].steps[0]");
    expect(result.error.message).toContain("did not finish within 20 ms");
    expect(signal?.aborted).toBe(true);
    expect(SystemError.is(signal?.reason, "TIMEOUT")).toBe(true);
  });

  it("retries a timed-out attempt and ignores its late result", async () => {
    const state = new MemoryState<PipelineState>({});
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              timeoutMs: 20,
              retry: { attempts: 2 },
              action: async (ctx) => {
                if (ctx.attempt === 1) {
                  await new Promise((r) => setTimeout(r, 60));
                  return { from: "late first attempt" };
                }
                return { from: "second attempt" };
              },
            },
          ],
        },
      ],
    });
    const result = await pipeline.start({ runId: "r", state }).execute();
    expect(result.ok && result.value.state).toEqual({ from: "second attempt" });
    await new Promise((r) => setTimeout(r, 80));
    expect(state.get()).toEqual({ from: "second attempt" });
  });

  it("drops the later logs of a timed-out attempt: they would land in the next attempt or stage", async () => {
    const observer = new RecordingObserver();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              timeoutMs: 20,
              retry: { attempts: 2 },
              action: async (ctx) => {
                ctx.logger.info(`attempt ${ctx.attempt} starts`);
                if (ctx.attempt === 1) {
                  ctx.signal.addEventListener("abort", () => ctx.logger.warn("attempt 1 timed out"));
                  await new Promise((r) => setTimeout(r, 40));
                  ctx.logger.info("attempt 1, late");
                  return { from: "late first attempt" };
                }
                return { from: "second attempt" };
              },
            },
          ],
        },
        { id: "t", steps: [{ id: "y", action: () => new Promise((r) => setTimeout(r, 60)) }] },
      ],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState({}), observer }).execute();
    expect(result.ok && result.value.status).toBe("completed");
    expect(observer.events.filter((e) => e.type === "log").map((e) => e.message)).toEqual([
      "attempt 1 starts",
      "attempt 1 timed out", // while it times out, before step.retried: still its own
      "attempt 2 starts",
    ]);
    expect(observer.events.map((e) => e.seq)).toEqual(observer.events.map((_, i) => i + 1));
  });

  it("lets a step that finishes in time complete normally", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [{ id: "s", steps: [{ id: "x", timeoutMs: 1000, action: async () => ({ done: true }) }] }],
    });
    const result = await pipeline.start({ runId: "r", state: new MemoryState<PipelineState>({}) }).execute();
    expect(result.ok && result.value.state).toEqual({ done: true });
  });

  it("does not cover the when guard: a hung guard waits past timeoutMs, and abort ends it", async () => {
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "x",
              timeoutMs: 5,
              when: () => new Promise<boolean>(() => {}),
              action: () => ({ ran: true }),
            },
          ],
        },
      ],
    });
    const state = new MemoryState<PipelineState>({});
    const run = pipeline.start({ runId: "r", state });
    const pending = run.execute();
    let settled = false;
    void pending.then(() => {
      settled = true;
    });
    await new Promise((resolve) => setTimeout(resolve, 30));
    expect(settled).toBe(false);
    run.abort("guard hung");
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");
    expect(result.metadata.step).toBe("x");
    expect(state.get()).toEqual({});
  });
});
