import type { PipelineEventType, PipelineObserver } from "@sluice/pipeline";
import type { RunRecord } from "./run-record.js";

/**
 * The observer a run with a deadline (`runTimeoutMs`, or its checkpoint's `runDeadline`) executes
 * under: its workflow's (`inner`, the timeline's, if any), and before a stage or a step's attempt
 * starts, a look at the clock. The deadlines' timer can fire late (a busy event loop, or a timer
 * due in the same ms that was armed before it), and a run it has not failed yet would go on into
 * its next stage or attempt (charge a card) past its deadline. Once the deadline has passed,
 * `deadlinePassed` fails the run there, and the engine, failed from its observer on
 * `stage.started` or `step.started`, starts nothing of that stage or step.
 */
export function deadlineObserver(
  record: RunRecord,
  inner: PipelineObserver | undefined,
  deadlinePassed: (record: RunRecord) => void,
): PipelineObserver {
  const deadline = record.runDeadline!.at;
  const check = (type: PipelineEventType): void => {
    if (
      (type === "stage.started" || type === "step.started") &&
      deadline <= Date.now() &&
      !record.abortRequested
    )
      deadlinePassed(record);
  };
  return {
    onEvent(event) {
      try {
        inner?.onEvent(event);
      } finally {
        check(event.type);
      }
    },
    // what the engine calls (no event object); a workflow's observer, the timeline's, has it too
    onFields(
      type,
      runId,
      pipelineId,
      seq,
      at,
      stage,
      step,
      attempt,
      level,
      message,
      data,
      error,
      durationMs,
    ) {
      // written first (a run.failed follows its stage.started), and checked even when writing throws
      try {
        inner?.onFields?.(
          type,
          runId,
          pipelineId,
          seq,
          at,
          stage,
          step,
          attempt,
          level,
          message,
          data,
          error,
          durationMs,
        );
      } finally {
        check(type);
      }
    },
  };
}
