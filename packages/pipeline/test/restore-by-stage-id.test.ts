import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import type { PipelineCheckpoint, PipelineRun, PipelineState } from "../src/index.js";
import { MemoryState, RecordingObserver } from "./helpers.js";
import { Pipeline } from "./loops.js";

// A checkpoint names the stage its run waits to run; a new version of the pipeline (stages
// inserted, removed or reordered) continues it at that stage, wherever it now sits.

type S = PipelineState & { ran?: string[] };

/** A pipeline of `stages`, each adding its id to `state.ran`. */
function version(stages: string[]): Pipeline<S> {
  return new Pipeline<S>("p", {
    stages: stages.map((id) => ({
      id,
      steps: [{ id, action: (ctx) => ({ ran: [...(ctx.state().ran ?? []), id] }) }],
    })),
  });
}

/** What a run of ["a", "b", "c"] that paused after "a" checkpointed. */
const beforeB = (): PipelineCheckpoint<S> => ({
  version: 1,
  runId: "r",
  pipelineId: "p",
  nextStage: 1,
  nextStageId: "b",
  state: { ran: ["a"] },
  event: null,
  pause: [{}],
  seq: 4,
});

async function resumed(pipeline: Pipeline<S>, checkpoint: PipelineCheckpoint<S>) {
  const observer = new RecordingObserver();
  const result = await pipeline
    .restore(checkpoint, { runId: "r", state: new MemoryState<S>(checkpoint.state), observer })
    .execute();
  return {
    ran: result.ok ? result.value.state.ran : result.error,
    resumedAt: observer.events.find((e) => e.type === "run.resumed")?.data,
  };
}

function refusal(attempt: () => unknown): SystemError {
  try {
    attempt();
  } catch (error) {
    expect(SystemError.is(error, "INVALID_INPUT")).toBe(true);
    return error as SystemError;
  }
  throw new Error("accepted");
}

describe("restore continues at the stage the checkpoint names, wherever it now sits", () => {
  it.each([
    ["a stage inserted before it", ["a", "x", "b", "c"], 2, ["a", "b", "c"]],
    ["a stage removed before it", ["b", "c"], 0, ["a", "b", "c"]],
    ["the stages reordered", ["c", "a", "b"], 2, ["a", "b"]],
    ["a stage appended", ["a", "b", "c", "d"], 1, ["a", "b", "c", "d"]],
    ["the stages as they were", ["a", "b", "c"], 1, ["a", "b", "c"]],
  ])("%s: runs it and what follows it in this version", async (_, stages, index, ran) => {
    const pipeline = version(stages);
    expect(pipeline.readCheckpoint(beforeB())).toMatchObject({ nextStage: index, nextStageId: "b" });
    expect(await resumed(pipeline, beforeB())).toEqual({
      ran,
      resumedAt: { nextStage: "b", by: "resume" },
    });
  });

  it("takes the id over an index past this version's stages (the checkpoint's index is where the stage was)", async () => {
    const pipeline = version(["b"]);
    const checkpoint = { ...beforeB(), nextStage: 7 };
    expect(pipeline.readCheckpoint(checkpoint).nextStage).toBe(0);
    expect((await resumed(pipeline, checkpoint)).ran).toEqual(["a", "b"]);
  });

  it("a run that paused in its last stage (nextStageId null) completes without running a stage, whatever the stages now are", async () => {
    for (const stages of [["a", "b", "c"], ["x", "a", "b", "c"], ["a"], ["a", "b", "c", "d"]]) {
      const pipeline = version(stages);
      const checkpoint = { ...beforeB(), nextStage: 3, nextStageId: null, state: { ran: ["a", "b", "c"] } };
      expect(pipeline.readCheckpoint(checkpoint).nextStage).toBe(stages.length);
      expect(await resumed(pipeline, checkpoint)).toEqual({
        ran: ["a", "b", "c"],
        resumedAt: { nextStage: null, by: "resume" },
      });
    }
  });

  it("refuses a checkpoint whose stage this version lacks (renamed or removed), naming it and the stages there are: no other stage runs in its place", () => {
    for (const stages of [
      ["a", "renamed", "c"],
      ["a", "c"],
    ]) {
      const pipeline = version(stages);
      const error = refusal(() => pipeline.readCheckpoint(beforeB()));
      expect(error.message).toBe(
        `checkpoint.nextStageId: pipeline "p" has no stage "b" (stages: ${stages.join(", ")}), which the run waits to run: the pipeline's stages changed since the run paused, and no other stage is run in its place. Continue the run with a version of the pipeline that has stage "b", or set the checkpoint's nextStageId to the stage it should continue at (the checkpoint is plain JSON)`,
      );
      expect(error.details).toEqual({ field: "nextStageId", nextStageId: "b", stageIds: stages });
      expect(
        refusal(() => pipeline.restore(beforeB(), { runId: "r", state: new MemoryState<S>({}) })).message,
      ).toBe(error.message);
    }
  });

  it("a checkpoint moved to another stage by its host continues there", async () => {
    const pipeline = version(["a", "renamed", "c"]);
    expect((await resumed(pipeline, { ...beforeB(), nextStageId: "renamed" })).ran).toEqual([
      "a",
      "renamed",
      "c",
    ]);
  });

  it("still refuses a nextStage that is not an index, and a nextStageId that is neither a stage id nor null", () => {
    const pipeline = version(["a", "b", "c"]);
    for (const nextStage of [-1, 1.5, "1", null, Number.MAX_SAFE_INTEGER + 1]) {
      expect(refusal(() => pipeline.readCheckpoint({ ...beforeB(), nextStage })).message).toBe(
        `checkpoint.nextStage: must be a non-negative integer, the index the next stage had when the run paused (got ${
          typeof nextStage === "string" ? `"${nextStage}"` : String(nextStage)
        })`,
      );
    }
    for (const nextStageId of [undefined, "", 1]) {
      expect(refusal(() => pipeline.readCheckpoint({ ...beforeB(), nextStageId })).message).toBe(
        `checkpoint.nextStageId: must be the id of the stage to run next, or null when none is left (got ${
          nextStageId === "" ? '""' : String(nextStageId)
        })`,
      );
    }
  });
});

/**
 * A run of `stages` that paused at the end of `pauseIn` (its step asks to pause), as JSON text
 * parsed back: what a host stores and reads in another process.
 */
async function pausedIn(stages: string[], pauseIn: string): Promise<PipelineCheckpoint<S>> {
  let run: PipelineRun<S> | undefined;
  const pipeline = new Pipeline<S>("p", {
    stages: stages.map((id) => ({
      id,
      steps: [
        {
          id,
          action: (ctx) => {
            if (id === pauseIn) run?.requestPause({ event: "approved" });
            return { ran: [...(ctx.state().ran ?? []), id] };
          },
        },
      ],
    })),
  });
  run = pipeline.start({ runId: "r", state: new MemoryState<S>({}) });
  const result = await run.execute();
  expect(result.ok && result.value.status).toBe("paused");
  return JSON.parse(JSON.stringify(result.ok && result.value.checkpoint));
}

describe("a run that paused in its last stage continues after that stage in the version restoring it (pausedAfterStageId)", () => {
  it("the checkpoint names the stage the run paused in, beside the stage it waits to run", async () => {
    expect(await pausedIn(["a", "b", "c"], "a")).toMatchObject({
      nextStage: 1,
      nextStageId: "b",
      pausedAfterStageId: "a",
    });
    expect(await pausedIn(["a", "b"], "b")).toMatchObject({
      nextStage: 2,
      nextStageId: null,
      pausedAfterStageId: "b",
    });
  });

  it.each([
    ["a stage appended", ["a", "b", "notify"], 2, ["a", "b", "notify"]],
    [
      "stages appended, one inserted before",
      ["x", "a", "b", "notify", "archive"],
      3,
      ["a", "b", "notify", "archive"],
    ],
    ["the stages reordered (it now first)", ["b", "a"], 1, ["a", "b", "a"]],
  ])("%s: runs the stages that now follow it", async (_, stages, index, ran) => {
    const checkpoint = await pausedIn(["a", "b"], "b");
    const pipeline = version(stages);
    const read = pipeline.readCheckpoint(checkpoint);
    // where the run continues here, by index and by id: as a checkpoint that named the stage would say
    expect(read).toMatchObject({ nextStage: index, nextStageId: stages[index], pausedAfterStageId: "b" });
    expect(await resumed(pipeline, checkpoint)).toEqual({
      ran,
      resumedAt: { nextStage: stages[index], by: "resume" },
    });
  });

  it.each([
    ["the same stages", ["a", "b"]],
    ["a stage inserted before it", ["x", "a", "b"]],
    ["a stage removed before it", ["b"]],
  ])("%s, still last: completes without running a stage", async (_, stages) => {
    const checkpoint = await pausedIn(["a", "b"], "b");
    const pipeline = version(stages);
    expect(pipeline.readCheckpoint(checkpoint)).toMatchObject({
      nextStage: stages.length,
      nextStageId: null,
    });
    expect(await resumed(pipeline, checkpoint)).toEqual({
      ran: ["a", "b"],
      resumedAt: { nextStage: null, by: "resume" },
    });
  });

  it("a checkpoint that names its next stage goes on there, whatever follows the stage it paused in now", async () => {
    const checkpoint = await pausedIn(["a", "b", "c"], "a");
    const pipeline = version(["a", "x", "b", "c"]);
    expect(pipeline.readCheckpoint(checkpoint)).toMatchObject({ nextStage: 2, nextStageId: "b" });
    expect((await resumed(pipeline, checkpoint)).ran).toEqual(["a", "b", "c"]);
  });

  it("refuses one whose stage this version lacks (renamed or removed), naming it: neither a stage nor the run's end is guessed", async () => {
    const checkpoint = await pausedIn(["a", "b"], "b");
    for (const stages of [
      ["a", "approve", "notify"],
      ["a", "notify"],
    ]) {
      const pipeline = version(stages);
      const error = refusal(() => pipeline.readCheckpoint(checkpoint));
      expect(error.message).toBe(
        `checkpoint.pausedAfterStageId: pipeline "p" has no stage "b" (stages: ${stages.join(", ")}), which the run paused in and has no next stage after (nextStageId is null): the pipeline's stages changed since the run paused, so which of them follow it is not known, and the run is neither continued at another stage nor completed. Continue the run with a version of the pipeline that has stage "b", set the checkpoint's nextStageId to the stage it should continue at, or delete its pausedAfterStageId to complete it without running a stage (the checkpoint is plain JSON)`,
      );
      expect(error.details).toEqual({
        field: "pausedAfterStageId",
        pausedAfterStageId: "b",
        stageIds: stages,
      });
      expect(
        refusal(() => pipeline.restore(checkpoint, { runId: "r", state: new MemoryState<S>({}) })).message,
      ).toBe(error.message);
      // the host's migrations
      expect((await resumed(pipeline, { ...checkpoint, nextStageId: "notify" })).ran).toEqual([
        "a",
        "b",
        "notify",
      ]);
      const { pausedAfterStageId: _dropped, ...completing } = checkpoint;
      expect((await resumed(pipeline, completing)).ran).toEqual(["a", "b"]);
    }
  });

  it("a checkpoint without it (made by an older version, or by hand) completes as before, also when stages were appended", async () => {
    const { pausedAfterStageId: _dropped, ...old } = await pausedIn(["a", "b"], "b");
    for (const checkpoint of [
      old,
      { ...old, pausedAfterStageId: undefined } as unknown as PipelineCheckpoint<S>,
    ]) {
      const pipeline = version(["a", "b", "notify"]);
      const read = pipeline.readCheckpoint(checkpoint);
      expect(read).toMatchObject({ nextStage: 3, nextStageId: null });
      expect("pausedAfterStageId" in read).toBe(false);
      expect(await resumed(pipeline, checkpoint)).toEqual({
        ran: ["a", "b"],
        resumedAt: { nextStage: null, by: "resume" },
      });
    }
  });

  it("refuses a pausedAfterStageId that is not a non-empty string, also beside a nextStageId", () => {
    const pipeline = version(["a", "b", "c"]);
    for (const nextStageId of ["b", null]) {
      for (const pausedAfterStageId of ["", 1, null, ["a"]]) {
        const error = refusal(() =>
          pipeline.readCheckpoint({ ...beforeB(), nextStageId, pausedAfterStageId }),
        );
        expect(error.message).toBe(
          `checkpoint.pausedAfterStageId: must be the id of the stage the run paused in, or absent (got ${JSON.stringify(pausedAfterStageId)})`,
        );
        expect(error.details).toEqual({ field: "pausedAfterStageId" });
      }
    }
  });
});
