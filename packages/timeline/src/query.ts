import { classNameOf, describeKind, describeThrown, isPlainObject, SystemError } from "@sluice/errors";
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
 * (a typo such as `runID` would otherwise silently match everything). A filter must be a plain
 * object (an object literal, `Object.create(null)`, `JSON.parse` output): anything else, such as a
 * `Map`, a class instance or `Object.create(proto)`, is rejected, and only its own fields count
 * (a key inherited from a prototype, `Object.prototype` included, is not read).
 */
export function validateQuery(filter: unknown): asserts filter is TimelineQuery | undefined {
  resolveQuery(filter);
}

/**
 * Validates `filter` like {@link validateQuery} and returns what an adapter needs to run it: the
 * filter fields (each read once from the caller's filter), the page size with the default applied,
 * and the decoded cursor position, in a new null-prototype object (so reading a field it does not
 * hold gives `undefined`, whatever `Object.prototype` carries). Run the query by what it returns,
 * not by the caller's filter.
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
  // Null-prototype results: an adapter reading `q.runId` of a query without one gets undefined
  // even when something added `runId` to Object.prototype.
  const out: ResolvedTimelineQuery = Object.create(null);
  out.limit = DEFAULT_QUERY_LIMIT;
  if (filter === undefined) return out;
  const f = readFilter(filter, QUERY_FIELDS, QUERY_SHAPE);
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
        `filter.limit must be an integer from 1 to ${MAX_QUERY_LIMIT}, got ${describeKind(limit)}`,
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
 * The filter must be a plain object; only its own fields count. An adapter should delete by what
 * {@link resolveDeleteFilter} returns rather than read the caller's filter again.
 */
export function validateDeleteFilter(filter: unknown): asserts filter is TimelineDeleteFilter {
  resolveDeleteFilter(filter);
}

/**
 * Validates `filter` like {@link validateDeleteFilter} and returns a copy of it holding the fields
 * it gives, each read once (a null-prototype object, as {@link resolveQuery}'s): what an adapter
 * deletes by. Reading the caller's filter again after the
 * check would let a getter (or a Proxy) pass the check with `{ runId: "r1" }` and then hand the
 * delete no `runId`, removing other runs' events.
 *
 * @example
 * ```ts
 * async delete(filter) {
 *   const f = resolveDeleteFilter(filter); // { runId?, workflowId?, before? }, at least one given
 *   return db.deleteWhere(f);
 * }
 * ```
 */
export function resolveDeleteFilter(filter: unknown): TimelineDeleteFilter {
  const f = readFilter(filter, DELETE_FIELDS, DELETE_SHAPE);
  const out: TimelineDeleteFilter = Object.create(null);
  const runId = optionalId(f, "runId");
  if (runId !== undefined) out.runId = runId;
  const workflowId = optionalId(f, "workflowId");
  if (workflowId !== undefined) out.workflowId = workflowId;
  const before = optionalTime(f, "before");
  if (before !== undefined) out.before = before;
  if (runId === undefined && workflowId === undefined && before === undefined) {
    throw invalid(
      "delete filter must give runId, workflowId and/or before; to delete everything pass { before: Infinity }",
      "filter",
    );
  }
  return out;
}

const QUERY_FIELDS: readonly string[] = ["runId", "workflowId", "from", "to", "limit", "next"];
const DELETE_FIELDS: readonly string[] = ["runId", "workflowId", "before"];

/** How a filter is named in messages: what it is and what to pass. */
interface FilterShape {
  /** The filter's name at the start of a message. */
  name: string;
  /** What to pass instead of something that is not a plain object. */
  expected: string;
  /** What a field of it is, for an unknown key. */
  field: string;
}

const QUERY_SHAPE: FilterShape = {
  name: "filter",
  expected: 'a plain object such as { runId: "r1", limit: 100 } (a TimelineQuery) or undefined',
  field: "a TimelineQuery field (runId, workflowId, from, to, limit, next)",
};
const DELETE_SHAPE: FilterShape = {
  name: "delete filter",
  expected:
    'a plain object such as { runId: "r1" } (a TimelineDeleteFilter: runId, workflowId and/or before); to delete everything pass { before: Infinity }',
  field: "a TimelineDeleteFilter field (runId, workflowId, before)",
};

/**
 * The fields `known` of `filter`, each read once from its own properties (an inherited key, such
 * as one added to `Object.prototype`, is not a filter field), into a new null-prototype object
 * holding only those given. Throws `INVALID_INPUT` when `filter` is not a plain object (a `Map`,
 * a class instance or `Object.create(proto)` would otherwise match everything, or match by keys it
 * inherits), when it has an own enumerable key that is not a field (a typo such as `runID` would
 * otherwise match everything), or when reading it throws (a getter, a Proxy), naming the field.
 */
function readFilter(filter: unknown, known: readonly string[], shape: FilterShape): Record<string, unknown> {
  let plain: boolean;
  let keys: string[];
  try {
    plain = isPlainObject(filter);
    keys = plain ? Object.keys(filter as object) : [];
  } catch (thrown) {
    throw unreadable(shape.name, "filter", thrown);
  }
  if (!plain)
    throw invalid(`${shape.name} must be ${shape.expected}, got ${describeFilter(filter)}`, "filter");
  const f = filter as Record<string, unknown>;
  const out: Record<string, unknown> = Object.create(null);
  for (const key of keys) {
    const value = readField(f, key);
    if (known.includes(key)) {
      if (value !== undefined) out[key] = value;
    } else if (value !== undefined) {
      throw invalid(`filter.${key} is not ${shape.field}`, `filter.${key}`);
    }
  }
  // Own fields that are not enumerable still count (Object.keys skips them).
  for (const key of known) {
    if (key in out) continue;
    let own: boolean;
    try {
      own = Object.hasOwn(f, key);
    } catch (thrown) {
      throw unreadable(`filter.${key}`, `filter.${key}`, thrown);
    }
    if (own) {
      const value = readField(f, key);
      if (value !== undefined) out[key] = value;
    }
  }
  return out;
}

function readField(f: Record<string, unknown>, key: string): unknown {
  try {
    return f[key];
  } catch (thrown) {
    throw unreadable(`filter.${key}`, `filter.${key}`, thrown);
  }
}

function unreadable(what: string, path: string, thrown: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${what} could not be read (reading it threw ${describeThrown(thrown)}); a filter must be a plain object whose fields can be read (no getters that throw, no Proxy objects)`,
    { cause: thrown, details: { path } },
  );
}

/**
 * What a filter that is not a plain object is, for a message. One without a class of its own
 * (`Object.create(proto)`) is also told why it is refused: matching it would read keys it inherits.
 */
function describeFilter(filter: unknown): string {
  const kind = describeKind(filter);
  return typeof filter === "object" && filter !== null && classNameOf(filter) === ""
    ? `${kind}, whose inherited keys a filter does not read`
    : kind;
}

/** `value instanceof Date`; false when its prototype cannot be read (a Proxy whose trap throws). */
function isDate(value: unknown): boolean {
  try {
    return value instanceof Date;
  } catch {
    return false;
  }
}

function optionalId(f: Record<string, unknown>, key: string): string | undefined {
  const value = f[key];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value.length === 0) {
    throw invalid(
      `filter.${key} must be a non-empty string when present, got ${describeKind(value)}`,
      `filter.${key}`,
    );
  }
  return value;
}

function optionalTime(f: Record<string, unknown>, key: string): number | undefined {
  const value = f[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number" || Number.isNaN(value)) {
    const hint = isDate(value) ? " (pass date.getTime())" : "";
    throw invalid(
      `filter.${key} must be a number (epoch milliseconds) when present, got ${describeKind(value)}${hint}`,
      `filter.${key}`,
    );
  }
  return value;
}

function invalid(message: string, path: string): SystemError {
  return new SystemError("INVALID_INPUT", message, { details: { path } });
}
