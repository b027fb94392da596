import { err, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import type { RunRecord } from "./run-record.js";
import { idText } from "./runtime-errors.js";
import type { RunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * See `WorkflowRuntime.result`. A run this runtime holds is awaited through its finish waiters, the
 * ones `abort()`, `deregister()` and `stop()` use; the result of one that has ended is not kept, so
 * it cannot be answered.
 */
export function awaitRunResult(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runs: IdMap<RunRecord>,
  endingRuns: IdMap<RunRecord>,
  runId: string,
): Promise<RunResult> {
  const record = typeof runId === "string" ? (runs.get(runId) ?? endingRuns.get(runId)) : undefined;
  if (record === undefined) return Promise.resolve(notHeld(workflows, runId));
  // In its onComplete or onCleanup (maybe asked from them): its result is known; waiting for
  // those hooks to end would make a hook that asks wait for itself.
  if (record.decidedResult !== undefined) return Promise.resolve(record.decidedResult);
  return record
    .whenFinished()
    .then((result) => (result.ok && result.value.status === "paused" ? left(record) : result));
}

/** A run this runtime does not hold: never known, or ended and its result gone. */
function notHeld(workflows: ReadonlyMap<string, WorkflowRecord>, runId: string): RunResult {
  for (const wf of workflows.values()) {
    const info = typeof runId === "string" ? wf.registry.get(runId) : undefined;
    if (info === undefined) continue;
    return err(
      new SystemError(
        "NOT_FOUND",
        `result(${idText(runId)}): the run has ended (${info.status}) and its result is not kept; call result() while the run is queued, running or paused (from onDispatch, or once invoke() resolves paused), or read it in the workflow's onComplete`,
        { details: { runId, workflowId: wf.id, status: info.status } },
      ),
      { runId, workflowId: wf.id },
    );
  }
  return err(
    new SystemError(
      "NOT_FOUND",
      `result(${idText(runId)}): no such run in this runtime (it never existed here, or it ended and retention has dropped it)`,
      { details: { runId } },
    ),
    typeof runId === "string" ? { runId } : {},
  );
}

/** A run that left this runtime, paused, before it ended (`detach()`): its end happens elsewhere. */
function left(record: RunRecord): RunResult {
  return err(
    new SystemError(
      "NOT_FOUND",
      `result("${record.runId}"): the run was detached from this runtime before it ended; await its result in the runtime that adopts it`,
      { details: { runId: record.runId, detached: true } },
    ),
    { runId: record.runId, workflowId: record.workflow.id },
  );
}
