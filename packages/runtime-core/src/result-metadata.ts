import type { RunRecord } from "./run-record.js";
import type { FailedRunMetadata, StartedRunMetadata } from "./types.js";

/**
 * A run's result metadata. `stage` is `failedStage` (the stage a failed run failed in), else the
 * stage running now, if any (a run failed by the runtime mid-stage); `durationMs` (from the run's
 * start to the result) defaults to the time since the run started (never negative: see
 * `RunRecord.stamp`).
 */
export function resultMetadata(
  record: RunRecord,
  durationMs?: number,
  failedStage?: string,
): StartedRunMetadata {
  // Whole literals, one per shape: adding fields one by one moved every result through map
  // transitions at run time.
  const stage = failedStage ?? record.pipelineRun?.currentStage;
  const duration = durationMs ?? record.stamp() - record.startedAt;
  return stage === undefined
    ? {
        runId: record.runId,
        workflowId: record.workflow.id,
        pipelineId: record.pipeline.id,
        triggerId: record.triggerId,
        durationMs: duration,
      }
    : {
        runId: record.runId,
        workflowId: record.workflow.id,
        pipelineId: record.pipeline.id,
        triggerId: record.triggerId,
        stage,
        durationMs: duration,
      };
}

/**
 * The metadata of an aborted run's result: {@link resultMetadata} with why the run was aborted
 * (`abortReason`), when the runtime aborted it (`abort()`, a replacement, a deregistration).
 */
export function abortedMetadata(record: RunRecord, durationMs?: number): StartedRunMetadata {
  const metadata = resultMetadata(record, durationMs);
  // only on this rare path, so that the common result keeps one shape
  if (record.abortReason !== undefined) metadata.abortReason = record.abortReason;
  return metadata;
}

/**
 * The metadata of a run's failure: {@link resultMetadata} with the state the run failed with, when
 * it can be read (a state store that throws, the fault the run may have failed of, leaves it out).
 */
export function failureMetadata(
  record: RunRecord,
  durationMs?: number,
  failedStage?: string,
): StartedRunMetadata & FailedRunMetadata {
  const metadata: StartedRunMetadata & FailedRunMetadata = resultMetadata(record, durationMs, failedStage);
  try {
    metadata.state = record.currentState();
  } catch {
    // unreadable: the failure (or its cause) already says why
  }
  return metadata;
}
