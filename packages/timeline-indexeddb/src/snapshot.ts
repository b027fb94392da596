import { SystemError } from "@sluice/errors";
import {
  isTimelineEventField,
  MAX_DATA_DEPTH,
  readTimelineEvents,
  type TimelineEvent,
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
  return readTimelineEvents(events, recordOf);
}

function recordOf(event: object, index: number): TimelineEvent {
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
  if (data !== undefined) record.data = copyData(data, 1, index);
  // A field that is not an event field is named in the record (not read) so that the validator
  // rejects it by name.
  for (const key in e) if (!isTimelineEventField(key) && Object.hasOwn(e, key)) record[key] = null;
  return record as unknown as TimelineEvent;
}

/**
 * A copy of `value`, an event's `data` not yet checked, without object properties whose value is
 * `undefined`. What is not plain JSON (a Date, a function, a BigInt, `undefined` in an array) is
 * kept as it is, for the validator to reject with its message.
 */
function copyData(value: unknown, depth: number, index: number): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (depth > MAX_DATA_DEPTH) throw tooDeep(index);
  if (Array.isArray(value)) {
    const length = value.length;
    const copy = new Array<unknown>(length);
    for (let i = 0; i < length; i++) copy[i] = copyData(value[i], depth + 1, index);
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
        value: copyData(item, depth + 1, index),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else copy[key] = copyData(item, depth + 1, index);
  }
  return copy;
}

/** Past MAX_DATA_DEPTH: too deep, or a cycle (when the validator does not find it on reading again). */
function tooDeep(index: number): SystemError {
  const path = `events[${index}].data`;
  return new SystemError("INVALID_INPUT", `${path} nests deeper than ${MAX_DATA_DEPTH} levels`, {
    details: { path },
  });
}
