import { describeValue, SystemError } from "@sluice/errors";
import {
  MAX_DATA_DEPTH,
  type TimelineEvent,
  validateTimelineEvent,
  validateTimelineEvents,
} from "@sluice/timeline";

// An append reads each event once, into the record it stores (`data` included, copied), checks
// that record and stores it. Checking the caller's objects and then letting IndexedDB's structured
// clone read them again would let a getter (or a Proxy) hand the store one value to check and
// another to store, or throw on the second read (a raw error, reported as STORAGE_FAILED); what is
// stored must be what was checked.

/**
 * The records to store for `events`: each field read once from the caller's event (absent and
 * `undefined` fields left out, so they read back absent), `data` copied without its object
 * properties whose value is `undefined` (as JSON drops them; a structured clone would keep them),
 * checked by the shared validator.
 *
 * @throws `SystemError` `INVALID_INPUT` as `validateTimelineEvents` does, also when reading the
 *   array or an event throws (naming `events[i]`, with what was thrown as `cause`).
 */
export function recordsOf(events: unknown): TimelineEvent[] {
  // Not an array: the validator says what it is instead.
  if (!Array.isArray(events)) validateTimelineEvents(events);
  const list = events as readonly unknown[];
  let length: number;
  try {
    length = list.length;
  } catch (thrown) {
    throw unreadable("events", thrown);
  }
  const records = new Array<unknown>(length);
  for (let i = 0; i < length; i++) {
    let event: unknown;
    try {
      event = list[i];
      records[i] = recordOf(event);
    } catch (thrown) {
      throw unreadableEvent(event, i, thrown);
    }
  }
  validateTimelineEvents(records);
  return records as TimelineEvent[];
}

function recordOf(event: unknown): unknown {
  // Not an object: the validator says what it is.
  if (typeof event !== "object" || event === null || Array.isArray(event)) return event;
  const e = event as Record<string, unknown>;
  const record: Record<string, unknown> = {
    id: e.id,
    runId: e.runId,
    workflowId: e.workflowId,
    seq: e.seq,
    at: e.at,
    source: e.source,
    type: e.type,
  };
  const stage = e.stage;
  if (stage !== undefined) record.stage = stage;
  const step = e.step;
  if (step !== undefined) record.step = step;
  const level = e.level;
  if (level !== undefined) record.level = level;
  const message = e.message;
  if (message !== undefined) record.message = message;
  const data = e.data;
  if (data !== undefined) record.data = copyData(data, 1);
  // A field that is not an event field is named in the record (not read) so that the validator
  // rejects it by name.
  for (const key in e) if (!isEventField(key) && Object.hasOwn(e, key)) record[key] = null;
  return record;
}

// Thrown by copyData past MAX_DATA_DEPTH: too deep, or a cycle.
const TOO_DEEP = Symbol("too deep");

/**
 * A copy of `value`, an event's `data` not yet checked, without object properties whose value is
 * `undefined`. What is not plain JSON (a Date, a function, a BigInt, `undefined` in an array) is
 * kept as it is, for the validator to reject with its message.
 */
function copyData(value: unknown, depth: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DATA_DEPTH) throw TOO_DEEP;
  if (Array.isArray(value)) {
    const length = value.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) copy[i] = copyData(value[i], depth + 1);
    return copy;
  }
  const proto = Object.getPrototypeOf(value);
  if (proto !== Object.prototype && proto !== null) return value;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    const item = (value as Record<string, unknown>)[key];
    if (item === undefined) continue;
    // A plain assignment to "__proto__" would set the copy's prototype instead of storing the data.
    if (key === "__proto__") {
      Object.defineProperty(copy, key, {
        value: copyData(item, depth + 1),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else copy[key] = copyData(item, depth + 1);
  }
  return copy;
}

function isEventField(key: string): boolean {
  switch (key) {
    case "id":
    case "runId":
    case "workflowId":
    case "seq":
    case "at":
    case "source":
    case "type":
    case "stage":
    case "step":
    case "level":
    case "message":
    case "data":
      return true;
    default:
      return false;
  }
}

/**
 * The `INVALID_INPUT` error for `events[index]` (the caller's `event`), whose reading threw
 * `thrown`. The shared validator reads it again to name the field at fault when it can (a getter
 * in `data` that throws again, data nested too deep or in a cycle); otherwise the error names the
 * event.
 */
function unreadableEvent(event: unknown, index: number, thrown: unknown): SystemError {
  try {
    validateTimelineEvent(event, index);
  } catch (found) {
    if (SystemError.is(found)) return found;
  }
  if (thrown === TOO_DEEP) {
    const path = `events[${index}].data`;
    return new SystemError("INVALID_INPUT", `${path} nests deeper than ${MAX_DATA_DEPTH} levels`, {
      details: { path },
    });
  }
  return unreadable(`events[${index}]`, thrown);
}

function unreadable(path: string, thrown: unknown): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${path} could not be read (reading it threw ${describeThrown(thrown)}); events must be plain objects ` +
      "whose fields can be read (no getters that throw, no Proxy objects)",
    { cause: thrown, details: { path } },
  );
}

/** A short description of something thrown, for a message; never throws itself. */
function describeThrown(thrown: unknown): string {
  let text: string;
  try {
    text = thrown instanceof Error ? `${thrown.name}: ${thrown.message}` : describeValue(thrown);
  } catch {
    text = "a value that cannot be described";
  }
  return text.length > 200 ? `${text.slice(0, 200)}…` : text;
}
