import { SystemError } from "@sluice/errors";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { DEFAULT_QUERY_LIMIT, MAX_QUERY_LIMIT } from "./limits.js";
import type { TimelinePosition } from "./order.js";
import type { TimelineDeleteFilter, TimelineEvent, TimelinePage, TimelineQuery } from "./types.js";

/**
 * A validated query with its defaults applied and its cursor decoded: what an adapter runs.
 * Events match when every given field matches; the page holds the first `limit` matching events
 * that come strictly after `after` (when given) in the (`at`, `seq`, `id`) order.
 */
export interface ResolvedTimelineQuery {
  /** Only this run's events. */
  runId?: string;
  /** Only this workflow's events. */
  workflowId?: string;
  /** Inclusive lower bound on `at`. */
  from?: number;
  /** Exclusive upper bound on `at`. */
  to?: number;
  /** Page size: 1 to {@link MAX_QUERY_LIMIT}, {@link DEFAULT_QUERY_LIMIT} when the query gave none. */
  limit: number;
  /** The position of the previous page's last event, decoded from `next`. */
  after?: TimelinePosition;
}

/**
 * Checks a query filter; throws a `SystemError` coded `INVALID_INPUT` naming the field. `undefined`
 * and `{}` mean "every event". `runId`/`workflowId` are non-empty strings; `from`/`to` are numbers
 * (not NaN) with `from <= to`; `limit` is an integer from 1 to {@link MAX_QUERY_LIMIT}; `next` is a
 * cursor issued for the same `runId`, `workflowId`, `from` and `to`. Unknown fields are rejected
 * (a typo such as `runID` would otherwise silently match everything).
 */
export function validateQuery(filter: unknown): asserts filter is TimelineQuery | undefined {
  resolveQuery(filter);
}

/**
 * Validates `filter` like {@link validateQuery} and returns what an adapter needs to run it: the
 * filter fields, the page size with the default applied, and the decoded cursor position.
 *
 * @example
 * ```ts
 * async query(filter) {
 *   const q = resolveQuery(filter);
 *   const rows = await selectAfter(q, q.limit + 1); // in (at, seq, id) order
 *   return makeTimelinePage(rows, q);
 * }
 * ```
 */
export function resolveQuery(filter: unknown): ResolvedTimelineQuery {
  if (filter === undefined) return { limit: DEFAULT_QUERY_LIMIT };
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw invalid("filter must be an object (a TimelineQuery) or undefined", "filter");
  }
  const f = filter as Record<string, unknown>;
  rejectUnknown(f, QUERY_FIELDS, "a TimelineQuery field (runId, workflowId, from, to, limit, next)");
  const out: ResolvedTimelineQuery = { limit: DEFAULT_QUERY_LIMIT };
  const runId = optionalId(f, "runId");
  if (runId !== undefined) out.runId = runId;
  const workflowId = optionalId(f, "workflowId");
  if (workflowId !== undefined) out.workflowId = workflowId;
  const from = optionalTime(f, "from");
  if (from !== undefined) out.from = from;
  const to = optionalTime(f, "to");
  if (to !== undefined) out.to = to;
  if (from !== undefined && to !== undefined && from > to) {
    throw invalid(`filter.from (${from}) must not be after filter.to (${to})`, "filter.from");
  }
  const limit = f.limit;
  if (limit !== undefined) {
    if (typeof limit !== "number" || !Number.isInteger(limit) || limit < 1 || limit > MAX_QUERY_LIMIT) {
      throw invalid(
        `filter.limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${String(limit)}`,
        "filter.limit",
      );
    }
    out.limit = limit;
  }
  if (f.next !== undefined) out.after = decodeCursor(f.next, out);
  return out;
}

/**
 * Builds a page from up to `query.limit + 1` matching events in order: the first `limit` become
 * `events`, and `next` is set when there was one more. (Fetch one extra row so the last page
 * carries no `next`.)
 */
export function makeTimelinePage(rows: TimelineEvent[], query: ResolvedTimelineQuery): TimelinePage {
  if (rows.length <= query.limit) return { events: rows };
  rows.length = query.limit;
  return { events: rows, next: encodeCursor(rows[rows.length - 1]!, query) };
}

/**
 * Checks a delete filter; throws a `SystemError` coded `INVALID_INPUT` naming the field. At least
 * one of `runId`, `workflowId`, `before` is required: an empty filter is rejected so that nothing
 * is deleted by accident. To delete everything, say so: `delete({ before: Infinity })`.
 * `runId`/`workflowId` are non-empty strings, `before` a number (not NaN; `Infinity` allowed).
 */
export function validateDeleteFilter(filter: unknown): asserts filter is TimelineDeleteFilter {
  if (typeof filter !== "object" || filter === null || Array.isArray(filter)) {
    throw invalid(
      "delete filter must be an object with runId, workflowId and/or before; to delete everything pass { before: Infinity }",
      "filter",
    );
  }
  const f = filter as Record<string, unknown>;
  rejectUnknown(f, DELETE_FIELDS, "a TimelineDeleteFilter field (runId, workflowId, before)");
  const runId = optionalId(f, "runId");
  const workflowId = optionalId(f, "workflowId");
  const before = optionalTime(f, "before");
  if (runId === undefined && workflowId === undefined && before === undefined) {
    throw invalid(
      "delete filter must give runId, workflowId and/or before; to delete everything pass { before: Infinity }",
      "filter",
    );
  }
}

const QUERY_FIELDS: ReadonlySet<string> = new Set(["runId", "workflowId", "from", "to", "limit", "next"]);
const DELETE_FIELDS: ReadonlySet<string> = new Set(["runId", "workflowId", "before"]);

function rejectUnknown(f: Record<string, unknown>, known: ReadonlySet<string>, what: string): void {
  for (const key in f) {
    if (Object.hasOwn(f, key) && !known.has(key) && f[key] !== undefined) {
      throw invalid(`filter.${key} is not ${what}`, `filter.${key}`);
    }
  }
}

function optionalId(f: Record<string, unknown>, key: string): string | undefined {
  const value = f[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(`filter.${key} must be a non-empty string when present`, `filter.${key}`);
  }
  return value;
}

function optionalTime(f: Record<string, unknown>, key: string): number | undefined {
  const value = f[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    throw invalid(`filter.${key} must be a number (epoch milliseconds) when present`, `filter.${key}`);
  }
  return value;
}

function invalid(message: string, path: string): SystemError {
  return new SystemError("INVALID_INPUT", message, { details: { path } });
}
