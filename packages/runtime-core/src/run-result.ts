import { err, SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { keptResultsOf } from "./kept-results.js";
import { finishedRunInfo } from "./run-lookup.js";
import type { RunRecord } from "./run-record.js";
import { idText } from "./runtime-errors.js";
import type { EndedRunResult, RunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * `WorkflowRuntime.result`: a run this runtime holds is awaited through its finish waiters (the
 * ones `abort()`, `deregister()` and `stop()` use), one per run however often it is asked; a run
 * that has ended is answered from its workflow's kept results (`keepResults`), else not at all.
 */
export class RunResults {
  /**
   * The one answer per run asked about: asking again adds no waiter to the run. (A host racing it
   * with a timer per poll still leaves a reaction on this promise per race, as any promise would:
   * the docs say to poll with `watch`.) Weak: a run that is never asked about pays nothing, and
   * one that has ended is forgotten with its record.
   */
  private readonly pending = new WeakMap<RunRecord, Promise<EndedRunResult>>();

  constructor(
    private readonly workflows: ReadonlyMap<string, WorkflowRecord>,
    private readonly runs: IdMap<RunRecord>,
    private readonly endingRuns: IdMap<RunRecord>,
    private readonly isStopped: () => boolean,
  ) {}

  /** See `WorkflowRuntime.result`. */
  result(runId: string): Promise<EndedRunResult> {
    const record =
      typeof runId === "string" ? (this.runs.get(runId) ?? this.endingRuns.get(runId)) : undefined;
    if (record === undefined) {
      const kept = typeof runId === "string" ? keptResultsOf(this.workflows, runId)?.get(runId) : undefined;
      return Promise.resolve(kept ?? this.notHeld(runId));
    }
    // In its onComplete or onCleanup (maybe asked from them): its result is known, and waiting
    // for those hooks to end would make a hook that asks wait for itself.
    if (record.finalResult !== undefined) return Promise.resolve(record.finalResult as EndedRunResult);
    let answer = this.pending.get(record);
    if (answer === undefined) {
      answer = record.whenFinished().then((result) => ended(record, result));
      this.pending.set(record, answer);
    }
    return answer;
  }

  /** A run this runtime does not hold: never known here, detached, or ended and its result not (or no longer) kept. */
  private notHeld(runId: string): EndedRunResult {
    const info = typeof runId === "string" ? finishedRunInfo(this.workflows, runId) : undefined;
    if (info !== undefined) {
      const workflowId = info.workflowId;
      const limit = this.workflows.get(workflowId)?.keptResults?.limit;
      const why =
        limit === undefined
          ? "its result is not kept; register the workflow with keepResults to keep the results of its last ended runs, ask before the run can end (from onDispatch, onPrepare or a step, by ctx.runId), or read results in the workflow's onComplete"
          : `its result is no longer kept (keepResults: ${limit} keeps the results of the workflow's last ${limit} ended runs)`;
      return err(
        new SystemError(
          "NOT_FOUND",
          `result(${idText(runId)}): the run has ended (${info.status}) and ${why}`,
          {
            details: { runId, workflowId, status: info.status },
          },
        ),
        { runId, workflowId },
      );
    }
    const why = this.isStopped()
      ? "this runtime has been stopped and holds no runs (ask before stop(): each waiting call then gets its run's end)"
      : "no such run in this runtime (it never existed here, it was detached from it, or it ended and retention has dropped it)";
    return err(
      new SystemError("NOT_FOUND", `result(${idText(runId)}): ${why}`, { details: { runId } }),
      typeof runId === "string" ? { runId } : {},
    );
  }
}

/**
 * What a waiter gets when the run is over here: its result, or, for a run that left paused
 * (`detach()`, whose waiters are told with the paused state), that its end happens elsewhere.
 */
function ended(record: RunRecord, result: RunResult): EndedRunResult {
  if (!result.ok || result.value.status !== "paused") return result as EndedRunResult;
  return err(
    new SystemError(
      "NOT_FOUND",
      `result(${idText(record.runId)}): the run was detached from this runtime before it ended; await its result in the runtime that adopts it`,
      { details: { runId: record.runId, detached: true } },
    ),
    { runId: record.runId, workflowId: record.workflow.id },
  );
}
