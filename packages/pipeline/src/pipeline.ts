import { refuseUnknownKeys, SystemError } from "@sluice/errors";
import { copyResumePatch, readCheckpoint, readResumeCause } from "./checkpoint.js";
import { type CompiledPipeline, compilePipeline } from "./compiled-pipeline.js";
import { PipelineRun } from "./pipeline-run.js";
import type {
  DependencyScope,
  PipelineCheckpoint,
  PipelineDefinition,
  PipelineObserver,
  PipelineState,
  RestoreOptions,
  ResumeCause,
  RunOptions,
  StateAccess,
} from "./types.js";
import { readPipeline } from "./validate-pipeline.js";

/**
 * The fields of `RunOptions`; `RestoreOptions` adds `patch` and `resumedBy` (keep in step with
 * `hasOnlyRunOptions`).
 */
const RUN_OPTIONS: ReadonlySet<string> = new Set([
  "runId",
  "state",
  "event",
  "dependencies",
  "observer",
  "signal",
  "onObserverError",
  "startedAt",
]);
const RESTORE_OPTIONS: ReadonlySet<string> = new Set([...RUN_OPTIONS, "patch", "resumedBy"]);

/**
 * Whether every own key of `options` is a run option (`patch` and `resumedBy` too when `restore`); false when it
 * cannot be enumerated. A runtime restores a run per resume: a switch, no lookup or allocation.
 */
function hasOnlyRunOptions(options: object, restore: boolean): boolean {
  try {
    for (const key in options) {
      switch (key) {
        case "runId":
        case "state":
        case "event":
        case "dependencies":
        case "observer":
        case "signal":
        case "onObserverError":
        case "startedAt":
          continue;
        case "patch":
        case "resumedBy":
          if (restore) continue;
      }
      if (Object.hasOwn(options, key)) return false;
    }
    return true;
  } catch {
    return false;
  }
}

function assertRunOptions<S extends object>(
  options: RunOptions<S>,
  pipelineId: string,
  known: ReadonlySet<string>,
): void {
  if (typeof options !== "object" || options === null) {
    throw new SystemError("INVALID_INPUT", `pipeline "${pipelineId}": run options must be an object`);
  }
  if (!hasOnlyRunOptions(options, known === RESTORE_OPTIONS)) {
    refuseUnknownKeys(options, known, "options", { caller: `pipeline "${pipelineId}"` });
  }
  if (typeof options.runId !== "string" || options.runId.length === 0) {
    throw new SystemError("INVALID_INPUT", `pipeline "${pipelineId}": "runId" must be a non-empty string`);
  }
  const state = options.state as Partial<RunOptions<S>["state"]> | undefined;
  if (typeof state?.get !== "function" || typeof state.set !== "function") {
    throw new SystemError(
      "INVALID_INPUT",
      `pipeline "${pipelineId}" run "${options.runId}": "state" must have get() and set(patch) methods`,
    );
  }
}

/**
 * A validated, precompiled pipeline definition that can run any number of times. It holds no
 * per-run data: each `start` / `restore` makes an independent {@link PipelineRun}.
 *
 * @example
 * ```ts
 * const pipeline = new Pipeline("fulfil", {
 *   stages: [{ id: "validate", steps: [{ id: "check", action: () => ({ valid: true }) }] }],
 * });
 * const result = await pipeline.start({ runId: "r1", state }).execute();
 * ```
 */
export class Pipeline<S extends object = PipelineState> {
  /** The pipeline's id (the key under `pipelines` in a workflow). */
  readonly id: string;
  /** Stage ids, in order. */
  readonly stageIds: readonly string[];
  private readonly compiled: CompiledPipeline<S>;

  /**
   * Validates `definition` (messages are prefixed `pipelines.<id>`) as it copies it, reading each
   * of its properties once, and compiles only the copy: a getter or Proxy cannot pass validation
   * with one value and be run with another, and later edits to the definition object (or to its
   * stages, steps and retries) do not change this pipeline. `action` and `when` are kept as given.
   *
   * @throws SystemError `INVALID_DEFINITION` naming the offending path, also for a part whose
   * reading throws (`pipelines.fulfil.stages[0].steps could not be read: …`, the thrown error as
   * `cause`).
   */
  // NoInfer: the state type comes from the explicit type argument (default PipelineState), never
  // from whatever the first step happens to return.
  constructor(id: string, definition: PipelineDefinition<NoInfer<S>>) {
    if (typeof id !== "string" || id.length === 0) {
      throw new SystemError("INVALID_DEFINITION", "pipelines: a pipeline id must be a non-empty string");
    }
    const path = `pipelines.${id}`;
    // the one read of the definition: checked as it is copied, and only the copy is compiled
    const read: PipelineDefinition<S> = readPipeline(definition, path);
    this.id = id;
    this.compiled = compilePipeline<S>(id, path, read);
    this.stageIds = Object.freeze(this.compiled.stages.map((stage) => stage.id));
  }

  /**
   * Prepares a fresh run from the first stage. Nothing runs until `execute()`.
   *
   * @throws SystemError `INVALID_INPUT` when `runId` or `state` is missing, or for a key `RunOptions`
   * does not have (`pipeline "fulfil": options.evnt is not an option (options: runId, state, …)`).
   */
  start(options: RunOptions<S>): PipelineRun<S> {
    assertRunOptions(options, this.id, RUN_OPTIONS);
    return new PipelineRun(
      this.compiled,
      options.runId,
      options.state,
      options.event,
      options.dependencies,
      options.observer,
      options.onObserverError,
      options.signal,
      options.startedAt,
      undefined,
    );
  }

  /**
   * @internal `start` for an engine that made every argument itself (no options object, no
   * checks): the runtime's hot path. A `startedAt` given here must have been read from the clock
   * in the same synchronous stretch as the `executeThen` that follows: the run's first events are
   * stamped with it.
   */
  startRun(
    runId: string,
    state: StateAccess<S>,
    event: unknown,
    dependencies: DependencyScope<S> | undefined,
    observer: PipelineObserver | undefined,
    startedAt: number | undefined,
  ): PipelineRun<S> {
    return new PipelineRun(
      this.compiled,
      runId,
      state,
      event,
      dependencies,
      observer,
      undefined,
      undefined,
      startedAt,
      undefined,
    );
  }

  /**
   * Checks that `checkpoint` is one this pipeline can continue from, without preparing a run: a
   * host reading checkpoints back from storage can refuse a bad one before doing anything else
   * with it. These are {@link Pipeline.restore}'s checks of the checkpoint itself (restore also
   * matches its `runId` with `options.runId`). Returns a new object with its fields, each read
   * once, and `nextStage` the index of the stage `nextStageId` names in this pipeline, which a new
   * version of the pipeline may have moved. For `nextStageId` `null`, `nextStage` and `nextStageId`
   * are those of the stage that follows `pausedAfterStageId` here (the number of stages and `null`
   * when none does, or when the checkpoint has no `pausedAfterStageId`). `state`, `event` and
   * `pause` are the checkpoint's own, not copies.
   *
   * @throws SystemError `INVALID_INPUT`, as {@link Pipeline.restore} does for a malformed checkpoint,
   * one of another pipeline, or one whose next stage (or, without one, the stage it paused in) this
   * pipeline does not have.
   */
  readCheckpoint(checkpoint: unknown): PipelineCheckpoint<S> {
    return readCheckpoint(checkpoint, this.compiled);
  }

  /**
   * Prepares the continuation of a paused run at the stage `checkpoint.nextStageId` names, wherever
   * it sits in this pipeline: a version of the pipeline that inserted, removed or reordered stages
   * since the run paused continues it at that stage, then runs the stages that follow it here.
   * `nextStageId` `null`: the run paused in its last stage, `checkpoint.pausedAfterStageId`, and
   * continues at the stage that follows that one here (one a new version appended), or completes
   * without running one when none does or the checkpoint has no `pausedAfterStageId` (made before
   * it existed). `checkpoint.nextStage`, the index the stage had, only has to be a non-negative
   * integer.
   *
   * The checkpoint's `state` is NOT written anywhere: `options.state` is the source of truth, so
   * when rebuilding a run in a fresh process, seed that store with `checkpoint.state` first. On
   * `execute()`, `options.patch` (a plain object, copied here without `__proto__` / `constructor` /
   * `prototype` keys) is merged into the state, `run.resumed` is emitted (`data: { nextStage, by,
   * event?, wait? }`: the stage's id and `options.resumedBy`, by default `{ by: "resume" }`), and
   * sequence numbers continue from `checkpoint.seq`.
   * `options.event` defaults to `checkpoint.event`. If `options.signal` has already fired, the run
   * ends `aborted` and nothing (not even the patch) is applied. The checkpoint's fields are read
   * once, here.
   *
   * @throws SystemError `INVALID_INPUT` when the checkpoint is malformed (its `seq` not an integer
   * from 0 to 2^52, for one: a larger one leaves the run's events no room before
   * `Number.MAX_SAFE_INTEGER`), belongs to another pipeline, names a next stage this pipeline does
   * not have (renamed or removed: `details: { field, nextStageId, stageIds }`; no other stage runs
   * in its place), has `nextStageId` `null` and a `pausedAfterStageId` this pipeline does not have
   * (`details: { field, pausedAfterStageId, stageIds }`: the run is neither continued nor
   * completed, since which stages follow a renamed one is not known) or that is not a non-empty
   * string, or throws when read; for a key `RestoreOptions` does not have; when
   * `options.runId` differs from `checkpoint.runId`; when `options.patch` is not a plain object
   * (an array, a `Map`, a `Date`, a class instance) or throws when read; when `options.resumedBy`
   * is not a {@link ResumeCause} (an unknown `by` or field, an empty `event`).
   */
  restore(checkpoint: PipelineCheckpoint<S>, options: RestoreOptions<S>): PipelineRun<S> {
    const read = readCheckpoint(checkpoint, this.compiled);
    assertRunOptions(options, this.id, RESTORE_OPTIONS);
    if (options.runId !== read.runId) {
      throw new SystemError(
        "INVALID_INPUT",
        `pipeline "${this.id}": checkpoint is for run "${read.runId}" but options.runId is "${options.runId}"`,
      );
    }
    const given: unknown = options.patch;
    const patch =
      given === undefined || given === null
        ? undefined
        : copyResumePatch<S>(given, `pipeline "${this.id}" run "${options.runId}"`);
    const resumedBy = readResumeCause(options.resumedBy, this.id, options.runId);
    return new PipelineRun(
      this.compiled,
      options.runId,
      options.state,
      options.event === undefined ? read.event : options.event,
      options.dependencies,
      options.observer,
      options.onObserverError,
      options.signal,
      options.startedAt,
      { startStage: read.nextStage, seq: read.seq, patch, resumedBy },
    );
  }
}
