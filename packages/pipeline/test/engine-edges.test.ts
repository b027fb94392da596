import { afterEach, describe, expect, it, vi } from "vitest";
import { Pipeline, type PipelineRun, type PipelineState } from "../src/index.js";
import { MemoryState, RecordingObserver } from "./helpers.js";

// Edge cases a trial of the engine used directly found, each once a bug.

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

afterEach(() => {
  vi.useRealTimers();
});

describe("engine edge cases", () => {
  it("runs under a fake clock set to the epoch (Date.now() === 0): execute() resolves a result", async () => {
    vi.useFakeTimers({ now: 0 });
    const p = new Pipeline("p", { stages: [{ id: "s", steps: [{ id: "a", action: () => ({ x: 1 }) }] }] });
    const result = await p.start({ runId: "r", state: new MemoryState<PipelineState>({}) }).execute();
    expect(result.ok && result.value).toEqual({ status: "completed", state: { x: 1 } });
    expect(result.metadata).toMatchObject({ finishedAt: 0, durationMs: 0 });
  });

  it("a concurrent stage of twenty steps with timeouts and retries puts Node past no listener limit", async () => {
    const warnings: string[] = [];
    const onWarning = (warning: Error) => warnings.push(`${warning.name}: ${warning.message}`);
    process.on("warning", onWarning);
    try {
      const steps = Array.from({ length: 20 }, (_, i) => ({
        id: `s${i}`,
        timeoutMs: 1_000,
        retry: { attempts: 2, backoffMs: 1 },
        action: async (ctx: { attempt: number }) => {
          await sleep(2);
          if (ctx.attempt === 1) throw new Error("first attempt fails");
        },
      }));
      const p = new Pipeline("p", { stages: [{ id: "fan", concurrent: true, steps }] });
      for (let run = 0; run < 3; run++) {
        const result = await p
          .start({ runId: `r${run}`, state: new MemoryState<PipelineState>({}) })
          .execute();
        expect(result.ok).toBe(true);
      }
      await sleep(10);
    } finally {
      process.off("warning", onWarning);
    }
    expect(warnings).toEqual([]);
  });

  for (const on of ["step.failed", "stage.failed"]) {
    it(`an observer aborting the run on ${on} does not hide the failure`, async () => {
      let run: PipelineRun<PipelineState> | undefined;
      const p = new Pipeline("p", {
        stages: [
          {
            id: "s",
            steps: [
              {
                id: "a",
                action: () => {
                  throw new Error("boom");
                },
              },
            ],
          },
        ],
      });
      run = p.start({
        runId: "r",
        state: new MemoryState<PipelineState>({}),
        observer: {
          onEvent: (e) => {
            if (e.type === on) run!.abort("from the observer");
          },
        },
      });
      const result = await run.execute();
      expect(!result.ok && result.error.code).toBe("STEP_FAILED");
      expect(run.status).toBe("failed");
    });
  }

  it("withdrawPause with a predicate that throws leaves the requests as they were", async () => {
    let run: PipelineRun<PipelineState> | undefined;
    const p = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "a",
              action: () => {
                for (const id of ["a", "b", "c"]) run!.requestPause({ id });
                expect(() =>
                  run!.withdrawPause((request) => {
                    if (request.id === "c") throw new Error("predicate fails");
                    return request.id === "a";
                  }),
                ).toThrow("predicate fails");
              },
            },
          ],
        },
        { id: "t", steps: [{ id: "b", action: () => {} }] },
      ],
    });
    run = p.start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    const result = await run.execute();
    expect(
      result.ok && result.value.status === "paused" && result.value.checkpoint!.pause.map((r) => r.id),
    ).toEqual(["a", "b", "c"]);
  });

  it("a thenable whose then() throws fails the step and leaves no timeout timer behind", async () => {
    let signal: AbortSignal | undefined;
    const p = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "a",
              timeoutMs: 50,
              action: (ctx) => {
                signal = ctx.signal;
                return {
                  // biome-ignore lint/suspicious/noThenProperty: a hostile thenable is the point
                  then() {
                    throw new Error("bad thenable");
                  },
                };
              },
            },
          ],
        },
      ],
    });
    const timers = () => process.getActiveResourcesInfo().filter((r) => r === "Timeout").length;
    const before = timers();
    const result = await p.start({ runId: "r", state: new MemoryState<PipelineState>({}) }).execute();
    expect(!result.ok && result.error.code).toBe("STEP_FAILED");
    expect(timers()).toBe(before);
    await sleep(80);
    expect(signal!.aborted).toBe(false);
  });

  it("a retry delay is never NaN: a backoff of 0 stays 0 when the factor overflows", async () => {
    const observer = new RecordingObserver();
    const p = new Pipeline("p", {
      stages: [
        {
          id: "s",
          steps: [
            {
              id: "a",
              retry: { attempts: 4, backoffMs: 0, factor: 1e200 },
              action: () => {
                throw new Error("x");
              },
            },
          ],
        },
      ],
    });
    await p.start({ runId: "r", state: new MemoryState<PipelineState>({}), observer }).execute();
    const delays = observer.events
      .filter((e) => e.type === "step.retried")
      .map((e) => (e.data as { delayMs: number }).delayMs);
    expect(delays).toEqual([0, 0, 0]);
  });
});
