import { isPlainObject, SystemError } from "@sluice/errors";
import type { TimelineDeleteFilter, TimelineEvent, TimelineQuery } from "./types.js";

/**
 * True when `event` meets every field `filter` gives: `runId`, `workflowId`, `at >= from`,
 * `at < to`. `limit` and `next` are paging, not matching, and are ignored. Only the filter's own
 * fields count; a filter that is not a plain object (a `Map`, a class instance,
 * `Object.create(proto)`) throws `INVALID_INPUT` rather than match everything. Validate the filter
 * first ({@link resolveQuery}) and match by what that returns.
 */
export function matchesQuery(event: TimelineEvent, filter: TimelineQuery | undefined): boolean {
  if (filter === undefined) return true;
  if (!isPlainObject(filter)) throw notPlain("a TimelineQuery");
  const runId = own(filter, "runId");
  if (runId !== undefined && event.runId !== runId) return false;
  const workflowId = own(filter, "workflowId");
  if (workflowId !== undefined && event.workflowId !== workflowId) return false;
  const from = own(filter, "from");
  if (from !== undefined && !(event.at >= (from as number))) return false;
  const to = own(filter, "to");
  if (to !== undefined && !(event.at < (to as number))) return false;
  return true;
}

/**
 * True when a delete with `filter` removes `event`: every given field matches (`runId`,
 * `workflowId`, `at < before`). Validate the filter first ({@link resolveDeleteFilter}): an empty
 * filter matches everything here. Only the filter's own fields count; a filter that is not a plain
 * object throws `INVALID_INPUT`.
 */
export function matchesDeleteFilter(event: TimelineEvent, filter: TimelineDeleteFilter): boolean {
  if (!isPlainObject(filter)) throw notPlain("a TimelineDeleteFilter");
  const runId = own(filter, "runId");
  if (runId !== undefined && event.runId !== runId) return false;
  const workflowId = own(filter, "workflowId");
  if (workflowId !== undefined && event.workflowId !== workflowId) return false;
  const before = own(filter, "before");
  if (before !== undefined && !(event.at < (before as number))) return false;
  return true;
}

function own(filter: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(filter, key) ? filter[key] : undefined;
}

function notPlain(what: string): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `filter must be a plain object (${what}), such as { runId: "r1" }`,
    {
      details: { path: "filter" },
    },
  );
}
