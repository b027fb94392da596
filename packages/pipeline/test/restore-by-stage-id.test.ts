import { SystemError } from "@sluice/errors";
import { describe, expect, it } from "vitest";
import type { PipelineCheckpoint, PipelineState } from "../src/index.js";
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
