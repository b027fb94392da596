import { SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";

function fieldError(path: string, field: string, what: string, value: unknown): SystemError {
  return new SystemError("INVALID_INPUT", `${path}: "${field}" must be ${what}`, {
    details: { path, field, got: value === null ? "null" : typeof value },
  });
}

/** Throws a `SystemError` coded `INVALID_INPUT` naming the first malformed field of `event`. */
export function assertTimelineEvent(event: unknown, path: string): asserts event is TimelineEvent {
  if (typeof event !== "object" || event === null || Array.isArray(event)) {
    throw new SystemError("INVALID_INPUT", `${path} must be a TimelineEvent object`, {
      details: { path, got: event === null ? "null" : typeof event },
    });
  }
  const e = event as Record<string, unknown>;
  for (const field of ["id", "runId", "workflowId", "type"] as const) {
    const value = Object.hasOwn(e, field) ? e[field] : undefined;
    if (typeof value !== "string" || value === "") throw fieldError(path, field, "a non-empty string", value);
  }
  for (const field of ["seq", "at"] as const) {
    const value = Object.hasOwn(e, field) ? e[field] : undefined;
    if (typeof value !== "number" || !Number.isFinite(value))
      throw fieldError(path, field, "a finite number", value);
  }
}

/** Throws a `SystemError` coded `INVALID_INPUT` unless `events` is an array of timeline events. */
export function assertTimelineEvents(
  events: unknown,
  path: string,
): asserts events is readonly TimelineEvent[] {
  if (!Array.isArray(events)) {
    throw new SystemError("INVALID_INPUT", `${path} must be an array of TimelineEvent objects`, {
      details: { path, got: events === null ? "null" : typeof events },
    });
  }
  for (let i = 0; i < events.length; i++) assertTimelineEvent(events[i], `${path}[${i}]`);
}
