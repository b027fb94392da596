import { describeValue, SystemError } from "@sluice/errors";
import type { CompiledPipeline } from "./compiled-pipeline.js";
import type { PauseRequest, PipelineCheckpoint } from "./types.js";
import { isUnsafeKey } from "./unsafe-keys.js";

function invalid(field: string, message: string): never {
  throw new SystemError("INVALID_INPUT", `checkpoint.${field}: ${message}`, { details: { field } });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * @internal Checks that `value` is a checkpoint this pipeline can continue from: well-formed, of
 * this pipeline, and pointing at the same stage id it had when it was taken (a definition whose
 * stages moved since then would otherwise continue at the wrong place).
 */
export function assertCheckpoint<S extends object>(
  value: unknown,
  pipeline: CompiledPipeline<S>,
): asserts value is PipelineCheckpoint<S> {
  if (!isRecord(value)) {
    throw new SystemError(
      "INVALID_INPUT",
      `checkpoint must be an object made by a paused run (got ${typeof value})`,
    );
  }
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
  const stageCount = pipeline.stages.length;
  const next = value.nextStage;
  if (typeof next !== "number" || !Number.isInteger(next) || next < 0 || next > stageCount) {
    invalid("nextStage", `must be an integer from 0 to ${stageCount} (got ${describeValue(next)})`);
  }
  const expectedId = next < stageCount ? pipeline.stages[next]!.id : null;
  if (value.nextStageId !== expectedId) {
    invalid(
      "nextStageId",
      `stage ${next} of pipeline "${pipeline.id}" is ${describeValue(expectedId)}, but the checkpoint expects ${describeValue(value.nextStageId)}; the pipeline's stages changed since the run paused`,
    );
  }
  if (!isRecord(value.state)) invalid("state", "must be an object");
  if (!Array.isArray(value.pause) || !value.pause.every(isRecord))
    invalid("pause", "must be an array of objects");
  if (typeof value.seq !== "number" || !Number.isInteger(value.seq) || value.seq < 0) {
    invalid("seq", "must be an integer ≥ 0");
  }
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
 * @internal A checkpoint of plain data. Detached from the live run: `state` is a shallow copy of the
 * state (its nested values are shared with the store), `pause` is a new array of the requests, each
 * shallowly copied unless frozen. Shared: `event`, the trigger event itself (not copied, to keep
 * pausing cheap; it must be treated as immutable).
 */
export function createCheckpoint<S extends object>(
  runId: string,
  pipeline: CompiledPipeline<S>,
  nextStage: number,
  state: Readonly<S>,
  event: unknown,
  pause: readonly PauseRequest[],
  seq: number,
): PipelineCheckpoint<S> {
  return {
    version: 1,
    runId,
    pipelineId: pipeline.id,
    nextStage,
    nextStageId: nextStage < pipeline.stages.length ? pipeline.stages[nextStage]!.id : null,
    state: { ...state } as S,
    event,
    pause: pause.map(detachRequest),
    seq,
  };
}

/**
 * @internal A copy of an untrusted patch without keys that could reach a prototype. Returns
 * `undefined` when the patch is not an object.
 */
export function sanitizePatch<S extends object>(patch: unknown): Partial<S> | undefined {
  if (!isRecord(patch)) return undefined;
  const clean: Record<string, unknown> = {};
  for (const key of Object.keys(patch)) {
    if (!isUnsafeKey(key)) clean[key] = patch[key];
  }
  return clean as Partial<S>;
}
