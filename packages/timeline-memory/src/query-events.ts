import {
  makeTimelinePage,
  type ResolvedTimelineQuery,
  type TimelineEvent,
  type TimelinePage,
  type TimelinePosition,
} from "@sluice/timeline";
import type { EventLog } from "./event-log.js";
import type { LogIndexes } from "./log-indexes.js";
import { storedEvent, storedId } from "./stored-events.js";
import { WORKFLOW_ID } from "./text-rows.js";

/**
 * The page of `log`'s events that the resolved query `q` asks for. It reads the narrowest index
 * (the run's, else the workflow's, else every event's), already in (`at`, `seq`, `id`) order, starts
 * with a binary search on `from` and the cursor, and stops at `to` or one event past `limit`;
 * a query by run and workflow skips the run's events of other workflows.
 */
export function queryEvents(log: EventLog, indexes: LogIndexes, q: ResolvedTimelineQuery): TimelinePage {
  const index =
    q.runId !== undefined
      ? indexes.find(indexes.runs, q.runId)
      : q.workflowId !== undefined
        ? indexes.find(indexes.workflows, q.workflowId)
        : indexes.everything();
  if (index === undefined) return { events: [] };
  indexes.prepare(index);
  const { positions, start } = index;
  const n = positions.length;
  let i = q.from === undefined ? start : firstAtOrAfter(log, positions, start, q.from);
  if (q.after !== undefined) i = Math.max(i, firstAfter(log, positions, start, q.after));
  const checkWorkflow = q.runId !== undefined && q.workflowId !== undefined;
  const to = q.to;
  const mask = log.mask;
  const rows: TimelineEvent[] = [];
  for (; i < n && rows.length <= q.limit; i++) {
    const position = positions[i]!;
    const slot = position & mask;
    if (to !== undefined && log.ats[slot]! >= to) break;
    if (checkWorkflow && log.rows.get(position, WORKFLOW_ID) !== q.workflowId) continue;
    rows.push(storedEvent(log, position));
  }
  return makeTimelinePage(rows, q);
}

/** First index in `positions` (prepared, from `start`) whose event has `at >= from`. */
function firstAtOrAfter(log: EventLog, positions: number[], start: number, from: number): number {
  let lo = start;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (log.ats[positions[mid]! & log.mask]! < from) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** First index in `positions` (prepared, from `start`) strictly after `after` in (`at`, `seq`, `id`) order. */
function firstAfter(log: EventLog, positions: number[], start: number, after: TimelinePosition): number {
  let lo = start;
  let hi = positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const position = positions[mid]!;
    const slot = position & log.mask;
    const at = log.ats[slot]!;
    const seq = log.seqs[slot]!;
    const beforeOrSame =
      at !== after.at
        ? at < after.at
        : seq !== after.seq
          ? seq < after.seq
          : storedId(log, position) <= after.id;
    if (beforeOrSame) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
