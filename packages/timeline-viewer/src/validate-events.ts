import { describeFault, quoteName, SystemError } from "@sluice/errors";
import type { TimelineEvent } from "@sluice/timeline";

/**
 * Everything the layout uses of one event, each field read exactly once: a getter cannot throw or
 * answer differently later, half-way through a layout. The fields after `data` come from inside it.
 */
export interface ReadEvent {
  id: string;
  runId: string;
  workflowId: string;
  type: string;
  seq: number;
  at: number;
  // Not checked (as before): typed as a TimelineEvent declares them.
  source: TimelineEvent["source"] | undefined;
  stage: string | undefined;
  step: string | undefined;
  level: TimelineEvent["level"];
  message: string | undefined;
  /** As recorded; log ticks hand it on without copying it. */
  data: unknown;
  /** `data.attempt`, when it is a finite number. */
  attempt: number | undefined;
  /** `data.error.message`, when it is a string: where the runtime records why something failed. */
  dataErrorMessage: string | undefined;
  /** `data.nextStage`, when it is a string: the stage a paused run continues with. */
  nextStage: string | undefined;
  /** A `run.resumed` event's `data.by`, when it is a string: what resumed the run. */
  resumedBy: string | undefined;
  /** A `run.resumed` event's `data.event`, when it is a string: the event concerned. */
  resumedByEvent: string | undefined;
}

/**
 * `Array.isArray(value)`, or undefined when asking throws (a revoked Proxy): such a value is then
 * read like any other and reported as unreadable.
 */
function isArrayIfKnown(value: unknown): boolean | undefined {
  try {
    return Array.isArray(value);
  } catch {
    return undefined;
  }
}

/** A value's `typeof` (`"null"` for null): what a refusal's `details.got` holds. */
export function typeName(value: unknown): string {
  return value === null ? "null" : typeof value;
}

function unreadable(what: string, path: string, thrown: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${what} could not be read (reading it threw ${describeFault(thrown)})`,
    {
      cause: thrown,
      details: { path },
    },
  );
}

function fieldError(path: string, field: string, what: string, value: unknown): SystemError {
  return new SystemError("INVALID_INPUT", `${path}: "${field}" must be ${what}`, {
    details: { path, field, got: typeName(value) },
  });
}

function own(value: unknown, key: string): unknown {
  return typeof value === "object" && value !== null && Object.hasOwn(value, key)
    ? (value as Record<string, unknown>)[key]
    : undefined;
}

// Own fields only: an event is plain data, and inherited ones could come from anywhere. Unchecked
// here (`checkFields` does that); one object literal keeps this hot loop fast on large inputs.
function readFields(event: object): ReadEvent {
  return {
    id: own(event, "id") as string,
    runId: own(event, "runId") as string,
    workflowId: own(event, "workflowId") as string,
    type: own(event, "type") as string,
    seq: own(event, "seq") as number,
    at: own(event, "at") as number,
    source: own(event, "source") as ReadEvent["source"],
    stage: own(event, "stage") as ReadEvent["stage"],
    step: own(event, "step") as ReadEvent["step"],
    level: own(event, "level") as ReadEvent["level"],
    message: own(event, "message") as ReadEvent["message"],
    data: own(event, "data"),
    attempt: undefined,
    dataErrorMessage: undefined,
    nextStage: undefined,
    resumedBy: undefined,
    resumedByEvent: undefined,
  };
}

/** Fills in what the layout uses from inside `read.data`. */
function readFromData(read: ReadEvent): void {
  const data = read.data;
  if (typeof data !== "object" || data === null) return;
  const attempt = own(data, "attempt");
  const message = own(own(data, "error"), "message");
  const nextStage = own(data, "nextStage");
  if (typeof attempt === "number" && Number.isFinite(attempt)) read.attempt = attempt;
  if (typeof message === "string") read.dataErrorMessage = message;
  if (typeof nextStage === "string") read.nextStage = nextStage;
  if (read.type !== "run.resumed") return;
  const by = own(data, "by");
  const event = own(data, "event");
  if (typeof by === "string") read.resumedBy = by;
  if (typeof event === "string") read.resumedByEvent = event;
}

function checkFields(read: ReadEvent, path: string): void {
  for (const field of ["id", "runId", "workflowId", "type"] as const) {
    const value: unknown = read[field];
    if (typeof value !== "string" || value === "") throw fieldError(path, field, "a non-empty string", value);
  }
  for (const field of ["seq", "at"] as const) {
    const value: unknown = read[field];
    if (typeof value !== "number" || !Number.isFinite(value))
      throw fieldError(path, field, "a finite number", value);
  }
}

/** `events[2] (id "a-1")`: where the event is and which one it is, for a message. */
function nameEvent(path: string, id: string): string {
  return `${path} (id ${quoteName(id)})`;
}

/**
 * Reads what the layout uses of `event`, once. Throws a `SystemError` coded `INVALID_INPUT` naming
 * the first malformed field, or, when reading the event or its `data` throws (a getter, a hostile
 * `Proxy`), naming the event, with what was thrown as `cause`.
 */
export function readTimelineEvent(event: unknown, path: string): ReadEvent {
  if (typeof event !== "object" || event === null || isArrayIfKnown(event) === true) {
    throw new SystemError("INVALID_INPUT", `${path} must be a TimelineEvent object`, {
      details: { path, got: typeName(event) },
    });
  }
  let read: ReadEvent;
  try {
    read = readFields(event);
  } catch (thrown) {
    throw unreadable(path, path, thrown);
  }
  checkFields(read, path);
  try {
    readFromData(read);
  } catch (thrown) {
    throw unreadable(`${nameEvent(path, read.id)}: "data"`, `${path}.data`, thrown);
  }
  return read;
}

/** Throws a `SystemError` coded `INVALID_INPUT` naming the first malformed field of `event`. */
export function assertTimelineEvent(event: unknown, path: string): asserts event is TimelineEvent {
  readTimelineEvent(event, path);
}

/**
 * Reads every event of `events` (see {@link readTimelineEvent}); throws a `SystemError` coded
 * `INVALID_INPUT` unless it is an array of timeline events that can be read.
 */
export function readTimelineEvents(events: unknown, path: string): ReadEvent[] {
  if (isArrayIfKnown(events) === false) {
    throw new SystemError("INVALID_INPUT", `${path} must be an array of TimelineEvent objects`, {
      details: { path, got: typeName(events) },
    });
  }
  const list = events as readonly unknown[];
  const read: ReadEvent[] = [];
  let length: number;
  try {
    length = list.length;
  } catch (thrown) {
    // A Proxy around an array passes Array.isArray and can still throw on any read.
    throw unreadable(path, path, thrown);
  }
  for (let i = 0; i < length; i++) {
    let event: unknown;
    try {
      event = list[i];
    } catch (thrown) {
      throw unreadable(`${path}[${i}]`, `${path}[${i}]`, thrown);
    }
    read.push(readTimelineEvent(event, `${path}[${i}]`));
  }
  return read;
}

/** Throws a `SystemError` coded `INVALID_INPUT` unless `events` is an array of timeline events. */
export function assertTimelineEvents(
  events: unknown,
  path: string,
): asserts events is readonly TimelineEvent[] {
  readTimelineEvents(events, path);
}
