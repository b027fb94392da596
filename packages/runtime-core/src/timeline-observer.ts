import type { PipelineLifecycleEvent, PipelineObserver } from "@sluice/pipeline";
import { isPlainObject } from "@sluice/store";
import { logData } from "./log-data.js";
import type { TimelineWriter } from "./timeline-writer.js";

/** The observer that writes a workflow's pipeline events and `ctx.logger` calls to the timeline. */
export function createTimelineObserver(workflowId: string, writer: TimelineWriter): PipelineObserver {
  // The engine calls onFields (no event object); onEvent is there for the interface's sake.
  const observer: PipelineObserver = {
    onEvent(e: PipelineLifecycleEvent) {
      observer.onFields!(
        e.type,
        e.runId,
        e.pipelineId,
        e.seq,
        e.at,
        e.stage,
        e.step,
        e.attempt,
        e.level,
        e.message,
        e.data,
        e.error,
        e.durationMs,
      );
    },
    onFields(type, runId, _pipelineId, seq, at, stage, step, attempt, level, message, data, error) {
      if (type === "log") data = logData(data);
      // Only failures and retries carry extra facts, so the common step event allocates nothing.
      if (type !== "log" && (error !== undefined || (attempt !== undefined && attempt > 1))) {
        const extra: Record<string, unknown> =
          data === undefined ? {} : isPlainObject(data) ? { ...data } : { value: data };
        if (error !== undefined) {
          extra.error = { code: error.code, message: error.message };
          message ??= error.message;
        }
        if (attempt !== undefined && attempt > 1) extra.attempt = attempt;
        data = extra;
      }
      writer.write(
        runId,
        workflowId,
        seq,
        at,
        type === "log" ? "logger" : "pipeline",
        type,
        stage,
        step,
        level,
        message,
        data,
      );
    },
  };
  return observer;
}

/**
 * Writes `run.started` at `seq`, stamped `at`, for a run whose pipeline never executed (its
 * `onPrepare` failed, or its state store could not be made), through the workflow's own observer,
 * so that the event has the fields a normal run's has: every run's timeline begins with
 * `run.started`.
 */
export function writeRunStarted(
  observer: PipelineObserver | undefined,
  runId: string,
  pipelineId: string,
  seq: number,
  at: number,
): void {
  observer?.onFields?.(
    "run.started",
    runId,
    pipelineId,
    seq,
    at,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  );
}
