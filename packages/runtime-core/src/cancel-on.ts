import { quoteName, type SystemError } from "@sluice/errors";
import type { IdMap } from "@sluice/id-map";
import { matchesConditions } from "@sluice/pause";
import { matchable } from "./cancel-index.js";
import type { RunEnding } from "./run-ending.js";
import type { RunRecord } from "./run-record.js";
import { reportDropped } from "./trigger-dispatch.js";
import type { CancelBinding } from "./trigger-index.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** An event a trigger's `debounce` holds, or one waiting for its `throttle`, that a cancel drops. */
interface DroppedEvent {
  readonly workflow: WorkflowRecord;
  readonly triggerId: string;
  readonly event: string;
  readonly payload: unknown;
}

/**
 * Cancels the unfinished runs that the `cancelOn` rules `bindings` name for a bus `event` with
 * `payload`, as `abort(runId)` would, with the reason `cancelled by event "<event>"`, and drops the
 * events of those triggers not yet runs (held by a `debounce`, waiting for a `throttle`) whose
 * payload matches, reported `dropped` with the same reason. All are found before any is
 * cancelled: cancelling runs host code (a step's abort listeners, `onDispatch`), which must not
 * change what the event cancels.
 */
export function cancelRuns(
  bindings: readonly CancelBinding[],
  event: string,
  payload: unknown,
  runs: IdMap<RunRecord>,
  ending: RunEnding,
  report: (error: SystemError) => void,
): void {
  const found: RunRecord[] = [];
  const dropped: DroppedEvent[] = [];
  for (let b = 0; b < bindings.length; b++) {
    const { workflow, triggerId, rule, index } = bindings[b]!;
    if (workflow.deregistered) continue;
    if (rule.when !== undefined && !matchesConditions(payload, rule.when)) continue;
    const match = rule.match;
    const wanted = match === undefined ? undefined : matchable(payload, match);
    if (match !== undefined && wanted === undefined) continue;
    workflow.cancels!.collect(triggerId, index, wanted, found);
    const cancels = (held: unknown) => match === undefined || matchable(held, match) === wanted;
    // its throttled events first: they came through its debounce before the one it holds
    for (const held of workflow.throttles.get(triggerId)?.dropWhere(cancels) ?? [])
      dropped.push({ workflow, triggerId, event: held.event, payload: held.payload });
    for (const held of workflow.debounces.get(triggerId)?.dropWhere(cancels) ?? [])
      dropped.push({ workflow, triggerId, event: held.event, payload: held.payload });
  }
  if (found.length === 0 && dropped.length === 0) return;
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
    if (record.status !== "queued" && runs.get(record.runId) === record) ending.abortRun(record, reason);
  }
  for (const held of dropped)
    reportDropped(held.workflow, held.triggerId, held.event, held.payload, reason, report);
}
