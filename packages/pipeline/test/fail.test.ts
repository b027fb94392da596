import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import type { PipelineRun, PipelineState } from "../src/index.js";
import { deferred, forever, MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

/** A deadline a host keeps for a whole run: what `fail()` is for. */
const deadlinePassed = () =>
  new SystemError("TIMEOUT", "the run's deadline passed", { details: { stage: "two" } });

function twoStages(ran: string[], stepB: () => unknown = () => undefined) {
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
    ],
  });
}

describe("fail(error): a run failed from outside", () => {
  it("mid-step: the step's signal fires with the error, execute() resolves failed at once with it, nothing runs after", async () => {
    const ran: string[] = [];
    const gate = deferred();
    let reasonSeen: unknown;
    const state = new MemoryState<PipelineState>({});
    const observer = new RecordingObserver();
    const pipeline = new Pipeline<PipelineState>("p", {
      stages: [
        { id: "one", steps: [{ id: "a", action: () => void ran.push("a") }] },
        {
          id: "two",
          steps: [
            {
              id: "b",
              action: async (ctx) => {
                ran.push("b");
                ctx.signal.addEventListener("abort", () => {
                  reasonSeen = ctx.signal.reason;
                });
                await gate.promise; // ignores its signal
                return { late: true };
              },
            },
            { id: "b2", action: () => void ran.push("b2") },
          ],
        },
      ],
    });
    const run = pipeline.start({ runId: "r", state, observer });
    const pending = run.execute();
    await new Promise((r) => setTimeout(r, 5));
    const error = deadlinePassed();
    run.fail(error);
    const result = await pending;
    expect(reasonSeen).toBe(error);
    expect(result.ok).toBe(false);
    expect(!result.ok && result.error).toBe(error);
    expect(result.metadata).toMatchObject({ stage: "two", step: "b" });
    expect(run.status).toBe("failed");
    expect(run.failure).toBe(error);
    // the step's late result is dropped
    gate.resolve();
    await new Promise((r) => setTimeout(r, 5));
    expect(state.get()).toEqual({});
    expect(ran).toEqual(["a", "b"]);
    // run.failed ends the step and stage it was in, as run.aborted does
    expect(observer.trace().slice(-3)).toEqual(["stage.started:two", "step.started:two/b", "run.failed:two"]);
    expect(observer.events.at(-1)?.error).toBe(error);
  });

  it("ends a step that never settles", async () => {
    const ran: string[] = [];
    const run = twoStages(ran, forever).start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    const pending = run.execute();
    await new Promise((r) => setTimeout(r, 5));
    run.fail(deadlinePassed());
    const result = await pending;
    expect(!result.ok && result.error.code).toBe("TIMEOUT");
  });

  it("through executeThen: the engine reads the failure from the run, in a later microtask", async () => {
    const run = twoStages([], forever).start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    const ended = new Promise<PipelineRun<PipelineState>>((resolve) =>
      run.executeThen((r) => resolve(r), undefined),
    );
    await new Promise((r) => setTimeout(r, 5));
    let called = false;
    void ended.then(() => {
      called = true;
    });
    const error = deadlinePassed();
    run.fail(error);
    expect(called).toBe(false);
    const done = await ended;
    expect(done.status).toBe("failed");
    expect(done.failure).toBe(error);
  });

  it("before execute(): ends failed without running anything, its only event run.failed", async () => {
    const ran: string[] = [];
    const observer = new RecordingObserver();
    const run = twoStages(ran).start({ runId: "r", state: new MemoryState<PipelineState>({}), observer });
    const error = deadlinePassed();
    run.fail(error);
    const result = await run.execute();
    expect(!result.ok && result.error).toBe(error);
    expect(ran).toEqual([]);
    expect(observer.trace()).toEqual(["run.failed"]);
    expect(observer.events[0]?.error).toBe(error);
  });

  it("after the run ended, after an abort, or once a step has failed for good: does nothing", async () => {
    const done = twoStages([]).start({ runId: "r1", state: new MemoryState<PipelineState>({}) });
    const completed = await done.execute();
    done.fail(deadlinePassed());
    expect(done.status).toBe("completed");
    expect(await done.execute()).toBe(completed);

    const aborted = twoStages([], forever).start({ runId: "r2", state: new MemoryState<PipelineState>({}) });
    const pending = aborted.execute();
    aborted.abort("cancelled");
    aborted.fail(deadlinePassed());
    const result = await pending;
    expect(result.ok && result.value.status).toBe("aborted");

    let failing: PipelineRun<PipelineState> | undefined;
    const observer = {
      onEvent(event: { type: string }) {
        if (event.type === "step.failed") failing?.fail(deadlinePassed());
      },
    };
    failing = new Pipeline<PipelineState>("p", {
      stages: [{ id: "s", steps: [{ id: "x", action: () => Promise.reject(new Error("boom")) }] }],
    }).start({ runId: "r3", state: new MemoryState<PipelineState>({}), observer });
    const failed = await failing.execute();
    expect(!failed.ok && failed.error.code).toBe("STEP_FAILED");
  });

  it("refuses an error that is not a SystemError with INVALID_INPUT", () => {
    const run = twoStages([]).start({ runId: "r", state: new MemoryState<PipelineState>({}) });
    expect(() => run.fail(new Error("plain") as SystemError)).toThrow(
      expect.objectContaining({ code: "INVALID_INPUT" }),
    );
    expect(run.status).toBe("idle");
  });
});
