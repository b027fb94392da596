import {
  describeKind,
  describeThrown,
  describeValue,
  isPlainObject,
  quoteName,
  SystemError,
} from "@sluice/errors";
import type { CompiledPipeline, CompiledStage } from "./compiled-pipeline.js";
import type { PauseRequest, PipelineCheckpoint, ResumeCause } from "./types.js";
import { isUnsafeKey } from "./unsafe-keys.js";

/**
 * The largest `seq` a checkpoint may carry: 2^52. A restored run numbers its events on from it, one
 * per event, and past `Number.MAX_SAFE_INTEGER` (2^53 - 1) adding 1 no longer changes the number:
 * every later event would share a seq (and an id, `runId:seq`), which a timeline store refuses. The
 * bound leaves a run 2^52 more events (a million a second for 140 years) and refuses only what no
 * run reaches: a checkpoint carrying more was corrupted or made up.
 */
export const MAX_CHECKPOINT_SEQ = 2 ** 52;

function invalid(field: string, message: string, details?: Record<string, unknown>): never {
  throw new SystemError("INVALID_INPUT", `checkpoint.${field}: ${message}`, {
    details: { field, ...details },
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @internal Checks that `value` is a checkpoint this pipeline can continue from: well-formed, of
 * this pipeline, and naming a stage it has (or none left). Returns a copy of its fields, each read
 * once, so a getter or proxy cannot answer differently later, with `nextStage` and `nextStageId`
 * where the run continues in this pipeline (see {@link continueAt}); a checkpoint that throws when
 * read is `INVALID_INPUT` like any other malformed one.
 */
export function readCheckpoint<S extends object>(
  value: unknown,
  pipeline: CompiledPipeline<S>,
): PipelineCheckpoint<S> {
  try {
    const checkpoint = copyFields(value);
    checkFields(checkpoint, pipeline);
    return checkpoint as unknown as PipelineCheckpoint<S>;
  } catch (thrown) {
    if (SystemError.is(thrown, "INVALID_INPUT")) throw thrown;
    throw new SystemError(
      "INVALID_INPUT",
      `checkpoint could not be read (${describeThrown(thrown)}); pass the object a paused run made, or its JSON (no getters that throw, no Proxy objects)`,
      { cause: thrown },
    );
  }
}

function copyFields(value: unknown): Record<string, unknown> {
  if (!isRecord(value)) {
    throw new SystemError(
      "INVALID_INPUT",
      `checkpoint must be an object made by a paused run (got ${typeof value})`,
    );
  }
  const copy: Record<string, unknown> = {
    version: value.version,
    runId: value.runId,
    pipelineId: value.pipelineId,
    nextStage: value.nextStage,
    nextStageId: value.nextStageId,
    state: value.state,
    event: value.event,
    pause: value.pause,
    seq: value.seq,
  };
  // absent stays absent: a checkpoint made before the field existed reads back as it was
  const pausedAfterStageId = value.pausedAfterStageId;
  if (pausedAfterStageId !== undefined) copy.pausedAfterStageId = pausedAfterStageId;
  return copy;
}

function checkFields<S extends object>(value: Record<string, unknown>, pipeline: CompiledPipeline<S>): void {
  if (value.version !== 1)
    invalid("version", `unsupported checkpoint version ${describeValue(value.version)}`);
  if (typeof value.runId !== "string" || value.runId.length === 0)
    invalid("runId", "must be a non-empty string");
  if (value.pipelineId !== pipeline.id) {
    invalid(
      "pipelineId",
      `checkpoint of pipeline ${describeValue(value.pipelineId)} cannot be restored into pipeline "${pipeline.id}"`,
    );
  }
  const next = value.nextStage;
  if (!Number.isSafeInteger(next) || (next as number) < 0) {
    invalid(
      "nextStage",
      `must be a non-negative integer, the index the next stage had when the run paused (got ${describeValue(next)})`,
    );
  }
  const nextId = value.nextStageId;
  if (nextId !== null && (typeof nextId !== "string" || nextId.length === 0)) {
    invalid(
      "nextStageId",
      `must be the id of the stage to run next, or null when none is left (got ${describeValue(nextId)})`,
    );
  }
  const pausedAfterId = value.pausedAfterStageId;
  if (pausedAfterId !== undefined && (typeof pausedAfterId !== "string" || pausedAfterId.length === 0)) {
    invalid(
      "pausedAfterStageId",
      `must be the id of the stage the run paused in, or absent (got ${describeValue(pausedAfterId)})`,
    );
  }
  const index = continueAt(pipeline, next as number, nextId, pausedAfterId);
  value.nextStage = index;
  // the stage after the one the run paused in is this pipeline's: the copy names it, so that what
  // is made of it (a restored run, a runtime's adopted run and its checkpoint) says where it goes on
  if (nextId === null && pausedAfterId !== undefined) value.nextStageId = pipeline.stages[index]?.id ?? null;
  if (!isRecord(value.state)) invalid("state", "must be an object");
  if (!Array.isArray(value.pause) || !value.pause.every(isRecord))
    invalid("pause", "must be an array of objects");
  // Room left for the resumed run's events (see MAX_CHECKPOINT_SEQ): a seq that is merely a safe
  // integer could still run past Number.MAX_SAFE_INTEGER, where every event gets the same seq.
  if (
    !Number.isSafeInteger(value.seq) ||
    (value.seq as number) < 0 ||
    (value.seq as number) > MAX_CHECKPOINT_SEQ
  ) {
    invalid(
      "seq",
      `must be an integer from 0 to ${MAX_CHECKPOINT_SEQ} (2^52: the resumed run numbers its events on from it, and past Number.MAX_SAFE_INTEGER they would share one seq) (got ${describeValue(value.seq)})`,
    );
  }
}

/**
 * Where the run continues in this pipeline: the index of the stage `nextStageId` names; when it is
 * `null` (the run paused in its last stage), the index after the stage `pausedAfterStageId` names,
 * so that stages a new version appended after it run; the number of stages (the run completes)
 * when that was the last one here, or when the checkpoint predates `pausedAfterStageId`. Ids
 * decide, not the checkpoint's index: a new version of the pipeline may have inserted, removed or
 * reordered stages since the run paused, and the run goes on from its stage, wherever it now sits.
 *
 * @throws SystemError `INVALID_INPUT` when this pipeline has no stage of that id: running another
 * in its place (or completing the run, which would skip the stages that follow a renamed one)
 * would do what the run never waited for.
 */
function continueAt<S extends object>(
  pipeline: CompiledPipeline<S>,
  nextStage: number,
  nextStageId: string | null,
  pausedAfterStageId: string | undefined,
): number {
  const stages = pipeline.stages;
  if (nextStageId !== null) {
    const index = indexOfStage(stages, nextStageId, nextStage);
    return index >= 0 ? index : refuseMissingStage(pipeline, "nextStageId", nextStageId);
  }
  if (pausedAfterStageId === undefined) return stages.length;
  const index = indexOfStage(stages, pausedAfterStageId, nextStage - 1);
  return index >= 0 ? index + 1 : refuseMissingStage(pipeline, "pausedAfterStageId", pausedAfterStageId);
}

/**
 * The index of the stage `id` names, or -1. `guess` (where the checkpoint says the stage was) is
 * tried first, so a run restored by the definition that paused it costs one comparison.
 */
function indexOfStage(stages: readonly { readonly id: string }[], id: string, guess: number): number {
  if (guess >= 0 && guess < stages.length && stages[guess]!.id === id) return guess;
  for (let i = 0; i < stages.length; i++) if (stages[i]!.id === id) return i;
  return -1;
}

/** Refuses a checkpoint whose `field` names a stage this pipeline does not have (see {@link continueAt}). */
function refuseMissingStage<S extends object>(
  pipeline: CompiledPipeline<S>,
  field: "nextStageId" | "pausedAfterStageId",
  stageId: string,
): never {
  const stageIds = pipeline.stages.map((stage) => stage.id);
  // (the id comes from stored text: quoted and cut, so a crafted one cannot make the message huge)
  const name = quoteName(stageId);
  const has = `pipeline "${pipeline.id}" has no stage ${name} (stages: ${stageIds.join(", ")})`;
  if (field === "nextStageId") {
    return invalid(
      field,
      `${has}, which the run waits to run: the pipeline's stages changed since the run paused, and no other stage is run in its place. Continue the run with a version of the pipeline that has stage ${name}, or set the checkpoint's nextStageId to the stage it should continue at (the checkpoint is plain JSON)`,
      { nextStageId: stageId, stageIds },
    );
  }
  return invalid(
    field,
    `${has}, which the run paused in and has no next stage after (nextStageId is null): the pipeline's stages changed since the run paused, so which of them follow it is not known, and the run is neither continued at another stage nor completed. Continue the run with a version of the pipeline that has stage ${name}, set the checkpoint's nextStageId to the stage it should continue at, or delete its pausedAfterStageId to complete it without running a stage (the checkpoint is plain JSON)`,
    { pausedAfterStageId: stageId, stageIds },
  );
}

/**
 * A pause request as the checkpoint keeps it. A frozen request (as `PauseService` sends) cannot
 * change, so it is shared; any other is copied shallowly, so the requester's later edits to its
 * fields do not reach the checkpoint. Requests are plain data: one level of copy detaches them.
 */
function detachRequest(request: PauseRequest): PauseRequest {
  return Object.isFrozen(request) ? request : { ...request };
}

/**
 * The state as the checkpoint keeps it. A frozen snapshot (as `@sluice/store`'s `get()` returns)
 * cannot change, so it is shared; any other state is copied shallowly, so later writes into it do
 * not reach the checkpoint. Sharing matters for a large state: a copy of a 1M-key object costs V8
 * a second or more (BENCHMARKS.md, tenth session).
 */
function detachState<S extends object>(state: Readonly<S>): S {
  return (Object.isFrozen(state) ? state : { ...state }) as S;
}

/**
 * @internal A checkpoint of plain data. Detached from the live run: `state` is the state itself when
 * it is frozen (a store's snapshot), else a shallow copy (its nested values are shared with the
 * store either way), `pause` is a new array of the requests, each shallowly copied unless frozen.
 * Shared: `event`, the trigger event itself (not copied, to keep pausing cheap; it must be treated
 * as immutable). `pausedIn` is the stage at whose end the run paused; the next stage is the one
 * after it.
 */
export function createCheckpoint<S extends object>(
  runId: string,
  pipeline: CompiledPipeline<S>,
  pausedIn: CompiledStage<S>,
  state: Readonly<S>,
  event: unknown,
  pause: readonly PauseRequest[],
  seq: number,
): PipelineCheckpoint<S> {
  const nextStage = pausedIn.index + 1;
  return {
    version: 1,
    runId,
    pipelineId: pipeline.id,
    nextStage,
    nextStageId: pipeline.stages[nextStage]?.id ?? null,
    pausedAfterStageId: pausedIn.id,
    state: detachState(state),
    event,
    pause: pause.map(detachRequest),
    seq,
  };
}

/**
 * @internal A copy of an untrusted resume patch (from a bus event), read once, without keys that
 * could reach a prototype. `what` names the run for messages.
 *
 * @throws SystemError `INVALID_INPUT` when the patch is not a plain object (a `Map`, a `Date`, a
 * class instance or an array has no fields a merge would take as meant) or throws when read.
 */
export function copyResumePatch<S extends object>(patch: unknown, what: string): Partial<S> {
  let plain: boolean;
  try {
    plain = isPlainObject(patch);
  } catch (cause) {
    throw unreadablePatch(what, cause);
  }
  if (!plain) {
    throw new SystemError(
      "INVALID_INPUT",
      `${what}: "patch" must be a plain object of the fields to merge, like { approved: true } (got ${describeKind(patch)})`,
    );
  }
  const clean: Record<string, unknown> = {};
  try {
    const source = patch as Record<string, unknown>;
    for (const key of Object.keys(source)) {
      if (!isUnsafeKey(key)) clean[key] = source[key];
    }
  } catch (cause) {
    throw unreadablePatch(what, cause);
  }
  return clean as Partial<S>;
}

function unreadablePatch(what: string, cause: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${what}: "patch" could not be read (${describeThrown(cause)}); pass a plain object whose fields can be read (no getters that throw, no Proxy objects)`,
    { cause },
  );
}

/** The values `ResumeCause.by` takes, in the order messages list them. */
const RESUMED_BY = ["event", "timeout", "resume", "control"] as const;

/** What `restore` takes a run without `resumedBy` to be resumed by: its host. */
const BY_HOST: ResumeCause = Object.freeze({ by: "resume" });

/**
 * @internal `RestoreOptions.resumedBy`, read once: a copy holding only the fields given (`{ by:
 * "resume" }` for `undefined`), which stays inside the run. `pipelineId` and `runId` name the run
 * in messages (the name is only built for one).
 *
 * @throws SystemError `INVALID_INPUT` for a value that is not an object, throws when read, has a
 * field `ResumeCause` does not, a `by` it does not take, or an `event` or `wait` that is not a
 * non-empty string.
 */
export function readResumeCause(value: unknown, pipelineId: string, runId: string): ResumeCause {
  if (value === undefined) return BY_HOST;
  // (once a run per resume: the message's run name is made only when it is needed)
  const what = () => `pipeline "${pipelineId}" run "${runId}"`;
  if (!isRecord(value)) {
    throw new SystemError(
      "INVALID_INPUT",
      `${what()}: "resumedBy" must be an object like { by: "event", event: "order.approved" } (got ${describeKind(value)})`,
    );
  }
  let by: unknown;
  let event: unknown;
  let wait: unknown;
  try {
    // for…in and not Object.keys: no array per resume (inherited keys are skipped as before)
    for (const key in value) {
      if (key !== "by" && key !== "event" && key !== "wait" && Object.hasOwn(value, key)) {
        throw new SystemError(
          "INVALID_INPUT",
          `${what()}: resumedBy.${key} is not a field of resumedBy (fields: by, event, wait)`,
          { details: { field: `resumedBy.${key}` } },
        );
      }
    }
    by = value.by;
    event = value.event;
    wait = value.wait;
  } catch (thrown) {
    if (SystemError.is(thrown, "INVALID_INPUT")) throw thrown;
    throw new SystemError(
      "INVALID_INPUT",
      `${what()}: "resumedBy" could not be read (${describeThrown(thrown)}); pass a plain object (no getters that throw, no Proxy objects)`,
      { cause: thrown },
    );
  }
  if (!RESUMED_BY.includes(by as ResumeCause["by"])) {
    throw new SystemError(
      "INVALID_INPUT",
      `${what()}: resumedBy.by must be one of ${RESUMED_BY.map((b) => `"${b}"`).join(", ")} (got ${describeValue(by)})`,
      { details: { field: "resumedBy.by" } },
    );
  }
  const cause: ResumeCause = { by: by as ResumeCause["by"] };
  if (event !== undefined) cause.event = nameOf(event, "event", what);
  if (wait !== undefined) cause.wait = nameOf(wait, "wait", what);
  return cause;
}

function nameOf(value: unknown, field: "event" | "wait", what: () => string): string {
  if (typeof value !== "string" || value.length === 0) {
    throw new SystemError(
      "INVALID_INPUT",
      `${what()}: resumedBy.${field} must be a non-empty string or absent (got ${describeValue(value)})`,
      { details: { field: `resumedBy.${field}` } },
    );
  }
  return value;
}
