import { describe, expect, it } from "vitest";
import type { PipelineResult, PipelineState } from "../src/index.js";
import { deferred, MemoryState } from "./helpers.js";
import { Pipeline } from "./loops.js";

const twoStages = () =>
  new Pipeline("p", {
    stages: [
      { id: "a", steps: [{ id: "one", action: async () => ({ one: true }) }] },
      { id: "b", steps: [{ id: "two", action: async () => ({ two: true }) }] },
    ],
  });

describe("executeThen (the engine's promise-free way to run)", () => {
  it("tells the callback once, with the context given, and the run's result is what execute() gives", async () => {
    const state = new MemoryState<PipelineState>({});
    const run = twoStages().start({ runId: "r1", state });
    const results: PipelineResult<PipelineState>[] = [];
    const context = { name: "the engine's run record" };
    const contexts: unknown[] = [];
    const done = new Promise<void>((resolve) =>
      run.executeThen((ended, given) => {
        results.push(ended.result!);
        contexts.push(given);
        resolve();
      }, context),
    );
    await done;
    expect(contexts).toEqual([context]);
    expect(contexts[0]).toBe(context);
    expect(results).toHaveLength(1);
    const [result] = results;
    expect(result?.ok && result.value.status).toBe("completed");
    expect(result?.ok && result.value.state).toEqual({ one: true, two: true });
    // a later execute() gives the same result instead of running again
    expect(await run.execute()).toBe(result);
    expect(state.writes).toBe(2);
  });

  it("lets the engine read how the run ended without a result object: failed and paused runs", async () => {
    const ended = (run: ReturnType<Pipeline<PipelineState>["start"]>) =>
      new Promise<typeof run>((resolve) => run.executeThen((r) => resolve(r), undefined));
    const before = Date.now();
    const failing = await ended(
      new Pipeline("p", {
        stages: [{ id: "a", steps: [{ id: "boom", action: () => Promise.reject(new Error("no")) }] }],
      }).start({ runId: "f1", state: new MemoryState<PipelineState>({ x: 1 }) }),
    );
    expect(failing.status).toBe("failed");
    expect(failing.failure?.code).toBe("STEP_FAILED");
    expect(failing.finalState).toBeUndefined();
    expect(failing.finishedAt).toBeGreaterThanOrEqual(before);
    expect(failing.durationMs).toBeGreaterThanOrEqual(0);
    const failed = failing.result!;
    expect(failed.ok).toBe(false);
    if (!failed.ok) expect(failed.error).toBe(failing.failure);
    expect(failed.metadata).toMatchObject({ runId: "f1", stage: "a", step: "boom", attempts: 1 });

    let pausing: ReturnType<Pipeline<PipelineState>["start"]> | undefined;
    pausing = new Pipeline("p", {
      stages: [
        {
          id: "a",
          steps: [
            {
              id: "wait",
              action: () => {
                pausing!.requestPause({ event: "go" });
                return { waited: true };
              },
            },
          ],
        },
        { id: "b", steps: [{ id: "after", action: () => ({}) }] },
      ],
    }).start({ runId: "p1", state: new MemoryState<PipelineState>({}) });
    const paused = ended(pausing);
    const run = await paused;
    expect(run.status).toBe("paused");
    expect(run.finalState).toEqual({ waited: true });
    expect(run.checkpoint).toMatchObject({
      runId: "p1",
      nextStage: 1,
      nextStageId: "b",
      pause: [{ event: "go" }],
    });
    expect(run.result).toMatchObject({ ok: true, value: { status: "paused", checkpoint: run.checkpoint } });
  });

  it("never calls back inside executeThen, even when every step is synchronous", async () => {
    const run = new Pipeline("p", {
      stages: [{ id: "a", steps: [{ id: "sync", action: () => ({ done: true }) }] }],
    }).start({ runId: "r6", state: new MemoryState<PipelineState>({}) });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) =>
      run.executeThen((ended) => {
        seen.push(ended.result!.ok ? ended.status : "error");
        resolve();
      }, undefined),
    );
    seen.push("executeThen returned");
    await done;
    expect(seen).toEqual(["executeThen returned", "completed"]);
  });

  it("tells the callback after abort() has returned, never inside it", async () => {
    const gate = deferred<void>();
    const run = new Pipeline("p", {
      stages: [{ id: "a", steps: [{ id: "wait", action: () => gate.promise }] }],
    }).start({ runId: "r2", state: new MemoryState<PipelineState>({}) });
    const seen: string[] = [];
    const done = new Promise<void>((resolve) =>
      run.executeThen((ended) => {
        seen.push(ended.result!.ok ? ended.status : "error");
        resolve();
      }, undefined),
    );
    run.abort("stop");
    seen.push("abort returned");
    await done;
    expect(seen).toEqual(["abort returned", "aborted"]);
    gate.resolve();
  });

  it("settles a run aborted before it started in a later microtask", async () => {
    const run = twoStages().start({ runId: "r3", state: new MemoryState<PipelineState>({}) });
    run.abort();
    let status: string | undefined;
    const done = new Promise<void>((resolve) =>
      run.executeThen((ended) => {
        status = ended.result!.ok ? ended.status : "error";
        resolve();
      }, undefined),
    );
    expect(status).toBeUndefined();
    await done;
    expect(status).toBe("aborted");
  });

  it("refuses a second start with INVALID_STATE", async () => {
    const run = twoStages().start({ runId: "r4", state: new MemoryState<PipelineState>({}) });
    const first = run.execute();
    expect(() => run.executeThen(() => {}, undefined)).toThrow(
      expect.objectContaining({ code: "INVALID_STATE" }),
    );
    await first;
  });

  it("counts the duration from RunOptions.startedAt and reports when the run finished", async () => {
    const startedAt = Date.now() - 1000;
    const result = await twoStages()
      .start({ runId: "r5", state: new MemoryState<PipelineState>({}), startedAt })
      .execute();
    expect(result.metadata.durationMs).toBeGreaterThanOrEqual(1000);
    expect(result.metadata.finishedAt - result.metadata.durationMs).toBe(startedAt);
    expect(result.metadata.finishedAt).toBeLessThanOrEqual(Date.now());
  });
});
