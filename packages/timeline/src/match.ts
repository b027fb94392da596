import type { TimelineDeleteFilter, TimelineEvent, TimelineQuery } from "./types.js";

/**
 * True when `event` meets every field `filter` gives: `runId`, `workflowId`, `at >= from`,
 * `at < to`. `limit` and `next` are paging, not matching, and are ignored.
 */
export function matchesQuery(event: TimelineEvent, filter: TimelineQuery | undefined): boolean {
  if (filter === undefined) return true;
  if (filter.runId !== undefined && event.runId !== filter.runId) return false;
  if (filter.workflowId !== undefined && event.workflowId !== filter.workflowId) return false;
  if (filter.from !== undefined && !(event.at >= filter.from)) return false;
  if (filter.to !== undefined && !(event.at < filter.to)) return false;
  return true;
}

/**
 * True when a delete with `filter` removes `event`: every given field matches (`runId`,
 * `workflowId`, `at < before`). Validate the filter first ({@link validateDeleteFilter}): an empty
 * filter matches everything here.
 */
export function matchesDeleteFilter(event: TimelineEvent, filter: TimelineDeleteFilter): boolean {
  if (filter.runId !== undefined && event.runId !== filter.runId) return false;
  if (filter.workflowId !== undefined && event.workflowId !== filter.workflowId) return false;
  if (filter.before !== undefined && !(event.at < filter.before)) return false;
  return true;
}
