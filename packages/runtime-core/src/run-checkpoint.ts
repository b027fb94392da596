import { describeKind, describeValue, refuseUnknownKeys, SystemError } from "@sluice/errors";
import type { PipelineCheckpoint } from "@sluice/pipeline";
import type { RunState } from "./types.js";

/**
 * A paused run as plain JSON data: what `WorkflowRuntime.checkpoint()` and `detach()` return and
 * `adopt()` takes, in this process or another. The pipeline's checkpoint (where the run continues,
 * its state, its trigger payload, its waits, its timeline sequence) plus where the run belongs.
 */
export interface RunCheckpoint<S extends object = RunState> extends PipelineCheckpoint<S> {
  /** The workflow the run belongs to: `adopt()` needs a workflow of this id registered. */
  workflowId: string;
  /**
   * The trigger that started the run (`RunInfo.triggerId`). History only: `adopt()` keeps it as is,
   * also when the workflow registered there no longer has that trigger.
   */
  triggerId: string;
  /**
   * The run's idempotency key (`RunInfo.key`; absent when its trigger has no `key`). The adopted
   * run holds it there: `adopt()` refuses the checkpoint (`DUPLICATE_KEY`) while another
   * unfinished run of the workflow holds the same key.
   */
  key?: string;
  /** When the run started, epoch ms (`RunInfo.startedAt`). */
  startedAt: number;
  /**
   * `true` when a bus event started the run through its workflow's execution mode, `false` when
   * `invoke()` did. An adopted run that was dispatched holds its workflow's `singleton_loop` or
   * `exclusive` slot while it waits, as it did where it paused.
   */
  dispatched: boolean;
  /**
   * The run's concurrency key (its mode's `key`), for a dispatched run of a `transient` or
   * `serialized` workflow with one; absent otherwise. The adopted run takes that key's slot when it
   * resumes; without it (a checkpoint written before the field existed), only the workflow's.
   */
  concurrencyKey?: string;
  /**
   * The run's deadline, epoch ms: its `startedAt` plus the `runTimeoutMs` its workflow had where
   * the run was made. Absent for a run without one. A run adopted or recovered keeps it, whatever
   * `runTimeoutMs` the workflow has where it is adopted, and fails with `TIMEOUT` once it passes
   * (at once for one already past).
   */
  runDeadline?: number;
}

/** The fields a runtime adds to a pipeline checkpoint, read once from untrusted data. */
export interface RunCheckpointPlace {
  readonly workflowId: string;
  /** The pipeline's own field, read here to find the pipeline that checks the rest. */
  readonly pipelineId: string;
  readonly triggerId: string;
  readonly key: string | undefined;
  readonly startedAt: number;
  readonly dispatched: boolean;
  /** `undefined` when the run has none, or its checkpoint does not say. */
  readonly concurrencyKey: string | undefined;
  /** `undefined` when the run has no deadline. */
  readonly runDeadline: number | undefined;
}

/** The fields of a {@link RunCheckpoint}, in the order messages list them. */
const RUN_CHECKPOINT_KEYS: ReadonlySet<string> = new Set([
  "version",
  "runId",
  "workflowId",
  "triggerId",
  "key",
  "pipelineId",
  "nextStage",
  "nextStageId",
  "pausedAfterStageId",
  "state",
  "event",
  "pause",
  "seq",
  "startedAt",
  "dispatched",
  "concurrencyKey",
  "runDeadline",
]);

/**
 * The runtime method a checkpoint was given to, which its messages name: `recover` reads a
 * checkpoint as `adopt` does, but a message saying `adopt` would send its caller looking for a call
 * they never made.
 */
export type CheckpointReader = "adopt" | "recover";

function invalid(reader: CheckpointReader, field: string, message: string): SystemError {
  return new SystemError("INVALID_INPUT", `${reader}(checkpoint): checkpoint.${field} ${message}`, {
    details: { field },
  });
}

/**
 * What was passed instead of a checkpoint object, for the message: the two likely mistakes (the
 * JSON text itself, a whole saved list) named with what to do, and never quoted back, since they
 * hold whole checkpoints (megabytes of run state, perhaps personal data, in a log line).
 */
function describeNonCheckpoint(value: unknown, reader: CheckpointReader): string {
  if (typeof value === "string")
    return `a string of ${value.length} characters: pass JSON.parse(text), not the text`;
  if (Array.isArray(value))
    return `an array of ${value.length} item${value.length === 1 ? "" : "s"}: ${reader} each checkpoint on its own`;
  return describeKind(value);
}

/**
 * Reads where a run checkpoint belongs (`workflowId`, `pipelineId`, `triggerId`, `key`, `startedAt`,
 * `dispatched`, `concurrencyKey`) and its `runDeadline`, each field once; the pipeline checks the rest
 * (`Pipeline.readCheckpoint`).
 *
 * @throws SystemError `INVALID_INPUT` naming the field that is missing, of the wrong type, or not a
 * field of a run checkpoint; its message begins with `reader`, the method given the checkpoint.
 */
export function readCheckpointPlace(value: unknown, reader: CheckpointReader): RunCheckpointPlace {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new SystemError(
      "INVALID_INPUT",
      `${reader}(checkpoint): checkpoint must be an object that runtime.checkpoint() or detach() returned, or its JSON parsed (got ${describeNonCheckpoint(value, reader)})`,
    );
  }
  // a field this version does not know was written by something else (or misspelt): refused, not dropped
  refuseUnknownKeys(value, RUN_CHECKPOINT_KEYS, "checkpoint", { caller: `${reader}(checkpoint)` });
  const { workflowId, pipelineId, triggerId, key, startedAt, dispatched, concurrencyKey, runDeadline } =
    value as Record<string, unknown>;
  if (typeof workflowId !== "string" || workflowId.length === 0)
    throw invalid(reader, "workflowId", `must be a non-empty string (got ${describeValue(workflowId)})`);
  if (typeof pipelineId !== "string" || pipelineId.length === 0)
    throw invalid(reader, "pipelineId", `must be a non-empty string (got ${describeValue(pipelineId)})`);
  if (typeof triggerId !== "string" || triggerId.length === 0)
    throw invalid(reader, "triggerId", `must be a non-empty string (got ${describeValue(triggerId)})`);
  if (key !== undefined && (typeof key !== "string" || key.length === 0))
    throw invalid(
      reader,
      "key",
      `must be a non-empty string, or absent for a run without a key (got ${describeValue(key)})`,
    );
  if (typeof startedAt !== "number" || !Number.isFinite(startedAt) || startedAt < 0)
    throw invalid(reader, "startedAt", `must be an epoch time in ms (got ${describeValue(startedAt)})`);
  if (typeof dispatched !== "boolean")
    throw invalid(reader, "dispatched", `must be true or false (got ${describeValue(dispatched)})`);
  if (concurrencyKey !== undefined && (typeof concurrencyKey !== "string" || concurrencyKey.length === 0))
    throw invalid(
      reader,
      "concurrencyKey",
      `must be a non-empty string (a mode's key), or absent for a run without one (got ${describeValue(concurrencyKey)})`,
    );
  if (
    runDeadline !== undefined &&
    (typeof runDeadline !== "number" || !Number.isFinite(runDeadline) || runDeadline < 0)
  ) {
    throw invalid(
      reader,
      "runDeadline",
      `must be an epoch time in ms, or absent for a run without a deadline (got ${describeValue(runDeadline)})`,
    );
  }
  return { workflowId, pipelineId, triggerId, key, startedAt, dispatched, concurrencyKey, runDeadline };
}
