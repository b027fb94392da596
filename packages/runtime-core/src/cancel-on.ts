import { quoteName } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { matchesConditions } from "@sluice/pause";
import type { RunEnding } from "./run-ending.js";
import type { RunRecord } from "./run-record.js";
import type { CancelBinding } from "./trigger-index.js";

/**
 * Cancels the unfinished runs that the `cancelOn` rules `bindings` name for a bus `event` with
 * `payload`, as `abort(runId)` would, with the reason `cancelled by event "<event>"`. All are found
 * before any is cancelled: cancelling runs host code (a step's abort listeners), which must not
 * change which runs the event cancels.
 */
export function cancelRuns(
  bindings: readonly CancelBinding[],
  event: string,
  payload: unknown,
  runs: IdMap<RunRecord>,
  ending: RunEnding,
): void {
  const found: RunRecord[] = [];
  for (let b = 0; b < bindings.length; b++) {
    const { workflow, triggerId, rule, index } = bindings[b]!;
    if (workflow.deregistered) continue;
    if (rule.when !== undefined && !matchesConditions(payload, rule.when)) continue;
    workflow.cancels!.collect(triggerId, index, payload, found);
  }
  if (found.length === 0) return;
  const reason = `cancelled by event ${quoteName(event)}`;
  // Queued runs first: a paused run cancelled ends at once and frees its mode's slot, which would
  // start the next queued run (its onPrepare and first step) only for it to be aborted here.
  for (const record of found) {
    if (record.status === "queued" && runs.get(record.runId) === record)
      ending.cancelQueuedRun(record.workflow, record.runId, reason, false);
  }
  for (const record of found) {
    // Host code run by an earlier cancel may have detached or ended this run (it is then no longer
    // this record in the table, or finished, which abortRun leaves alone).
    if (runs.get(record.runId) !== record) continue;
    if (record.status === "queued") ending.cancelQueuedRun(record.workflow, record.runId, reason, false);
    else ending.abortRun(record, reason);
  }
}
