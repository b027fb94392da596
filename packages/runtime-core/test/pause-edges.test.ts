import type { PauseService } from "@sluice/pause";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ControlEvent, type RunResult, type Workflow } from "../src/index.js";
import { type Harness, harness, tick } from "./helpers.js";

const pauseOf = (ctx: { use: (fn: (d: any) => any) => Promise<any> }) =>
  ctx.use((d) => d.require("__pause_service__")) as Promise<PauseService>;

/** One stage whose step runs `waitStep`, then a stage that records the state it continues with. */
function waiting(waitStep: (ctx: any) => unknown): Workflow {
  return {
    id: "w",
    triggers: { go: { event: "w.go", pipeline: "p" } },
    pipelines: {
      p: {
        stages: [
          { id: "wait", steps: [{ id: "wait", action: waitStep as never }] },
          { id: "after", steps: [{ id: "after", action: () => ({ after: true }) }] },
        ],
      },
    },
  };
}

let h: Harness;
afterEach(async () => {
  vi.restoreAllMocks();
  await h?.runtime.stop();
});

describe("pause edge cases", () => {
  it("a wait timeout longer than a timer can take (~24.8 days) arms one capped timer, not one per millisecond", async () => {
    h = await harness();
    const spy = vi.spyOn(globalThis, "setTimeout");
    await h.runtime.register(
      waiting(async (ctx) => {
        (await pauseOf(ctx)).register({ event: "never", timeoutMs: 30 * 24 * 3600 * 1000 });
      }),
      { pauseWindowMs: 40 * 24 * 3600 * 1000 },
    );
    const paused = await h.runtime.invoke("w", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    await tick(50);
    const long = spy.mock.calls.filter(([, delay]) => (delay ?? 0) > 1_000_000);
    // the wait deadline and the pause window: each capped at 2^31 - 1 ms and armed once
    expect(long.map(([, delay]) => delay)).toEqual([2 ** 31 - 1, 2 ** 31 - 1]);
    expect(spy.mock.calls.length).toBeLessThan(10);
    expect(h.runtime.watch("w", paused.metadata.runId!)?.status).toBe("paused");
  });

  it("with several waits expired, the run resumes with the patch of the earliest deadline", async () => {
    h = await harness();
    const completed: RunResult[] = [];
    await h.runtime.register(
      waiting(async (ctx) => {
        const pause = await pauseOf(ctx);
        pause.register({ event: "x", timeoutMs: 60, timeoutPatch: { which: "late" } });
        pause.register({ event: "y", timeoutMs: 10, timeoutPatch: { which: "early" } });
        await tick(100); // the stage outlasts both deadlines
      }),
      { onComplete: (r) => void completed.push(r) },
    );
    await h.runtime.invoke("w", "go", {});
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state).toMatchObject({ which: "early", after: true });
  });

  it("the same payload object emitted twice while the run is running is buffered twice", async () => {
    h = await harness();
    const tickEvent = { kind: "tick" };
    const completed: RunResult[] = [];
    await h.runtime.register(
      {
        id: "w",
        triggers: { go: { event: "w.go", pipeline: "p" } },
        pipelines: {
          p: {
            stages: [
              {
                id: "one",
                steps: [
                  {
                    id: "one",
                    action: async (ctx) => {
                      (await pauseOf(ctx)).register({ event: "tick" });
                      h.bus.emit("tick", tickEvent);
                      h.bus.emit("tick", tickEvent);
                    },
                  },
                ],
              },
              {
                id: "two",
                steps: [
                  {
                    id: "two",
                    action: async (ctx) => {
                      (await pauseOf(ctx)).register({ event: "tick" });
                    },
                  },
                ],
              },
              { id: "done", steps: [{ id: "done", action: () => ({ done: true }) }] },
            ],
          },
        },
      },
      { onComplete: (r) => void completed.push(r) },
    );
    await h.runtime.invoke("w", "go", {});
    // the second emit drains into the second pause: no third event is needed
    await expect.poll(() => completed.length).toBe(1);
    expect(completed[0]!.ok && completed[0]!.value.state).toMatchObject({ done: true });
  });

  it("a wait on a runtime control event is refused with INVALID_INPUT", async () => {
    h = await harness();
    let refused: unknown;
    await h.runtime.register(
      waiting(async (ctx) => {
        try {
          (await pauseOf(ctx)).register({ event: ControlEvent.Abort });
        } catch (error) {
          refused = error;
        }
      }),
    );
    const result = await h.runtime.invoke("w", "go", {});
    expect(refused).toMatchObject({ code: "INVALID_INPUT" });
    expect((refused as Error).message).toContain("control event");
    // nothing was registered, so the run does not pause
    expect(result.ok && result.value.status).toBe("completed");
  });

  it("signal with a patch JSON cannot hold, to a run released past its pause window, is INVALID_INPUT and changes nothing", async () => {
    h = await harness();
    await h.runtime.register(
      waiting(async (ctx) => {
        (await pauseOf(ctx)).register({ event: "never" });
      }),
      { pauseWindowMs: 0 },
    );
    const paused = await h.runtime.invoke("w", "go", { n: 1 });
    const runId = paused.metadata.runId!;
    await tick(10); // the window passes: only the JSON checkpoint is kept
    expect(() => h.runtime.signal(runId, { big: 1n })).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(h.runtime.checkpoint(runId)?.state).toEqual({ n: 1 });
  });
});

describe("a pause handle kept past its pause", () => {
  it("cancelling it in a later stage does not withdraw that stage's wait with the same id", async () => {
    h = await harness();
    let first: { cancel(): void } | undefined;
    const wf: Workflow = {
      id: "w",
      triggers: { go: { event: "w.go", pipeline: "p" } },
      pipelines: {
        p: {
          stages: [
            {
              id: "a",
              steps: [
                {
                  id: "a",
                  action: async (ctx) => void (first = (await pauseOf(ctx)).register({ id: "approval" })),
                },
              ],
            },
            {
              id: "b",
              steps: [
                {
                  id: "b",
                  action: async (ctx) => {
                    (await pauseOf(ctx)).register({ id: "approval" });
                    first!.cancel(); // the first wait was resumed long ago: nothing to withdraw
                  },
                },
              ],
            },
            { id: "c", steps: [{ id: "c", action: () => ({ reachedC: true }) }] },
          ],
        },
      },
    };
    await h.runtime.register(wf);
    const paused = await h.runtime.invoke("w", "go", {});
    expect(paused.ok && paused.value.status).toBe("paused");
    const again = await h.runtime.resume(paused.metadata.runId!, {});
    expect(again.ok && again.value.status).toBe("paused");
    expect(h.runtime.checkpoint(paused.metadata.runId!)?.nextStageId).toBe("c");
  });
});
