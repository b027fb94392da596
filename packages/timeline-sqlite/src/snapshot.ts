import { describeValue, SystemError } from "@sluice/errors";
import { type TimelineEvent, validateTimelineEvent, validateTimelineEvents } from "@sluice/timeline";

// An append reads each field of each event once, into a plain object, checks that object and
// writes it. Checking the caller's objects and then reading them again to write them would let a
// getter (or a Proxy) hand the store one value to check and another to store, or throw a raw error
// on the second read; what is stored must be what was checked.

/**
 * `events` as plain objects, each field read once from the caller's event, checked by the shared
 * validator. Every snapshot has all twelve fields (`undefined` where absent), so code reading them
 * sees one object shape.
 *
 * @throws `SystemError` `INVALID_INPUT` as `validateTimelineEvents` does, also when reading the
 *   array or an event throws (naming `events[i]`, with what was thrown as `cause`).
 */
export function snapshotEvents(events: unknown): TimelineEvent[] {
  // Not an array: the validator says what it is instead.
  if (!Array.isArray(events)) validateTimelineEvents(events);
  const list = events as readonly unknown[];
  let length: number;
  try {
    length = list.length;
  } catch (thrown) {
    throw unreadable("events", thrown);
  }
  const snapshots = new Array<unknown>(length);
  for (let i = 0; i < length; i++) {
    let event: unknown;
    try {
      event = list[i];
      snapshots[i] = snapshotOf(event);
    } catch (thrown) {
      throw unreadableEvent(event, i, thrown);
    }
  }
  validateTimelineEvents(snapshots);
  return snapshots as TimelineEvent[];
}

// Named reads, one per field: this runs for every event appended.
function snapshotOf(event: unknown): unknown {
  // Not an object: the validator says what it is.
  if (typeof event !== "object" || event === null || Array.isArray(event)) return event;
  const e = event as Record<string, unknown>;
  const snapshot: Record<string, unknown> = {
    id: e.id,
    runId: e.runId,
    workflowId: e.workflowId,
    seq: e.seq,
    at: e.at,
    source: e.source,
    type: e.type,
    stage: e.stage,
    step: e.step,
    level: e.level,
    message: e.message,
    data: e.data,
  };
  // A field that is not an event field is named in the snapshot (not read) so that the validator
  // rejects it by name. for-in walks V8's enum cache without allocating a key array.
  for (const key in e) if (!isEventField(key) && Object.hasOwn(e, key)) snapshot[key] = null;
  return snapshot;
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
 * in `data` that throws again, say); otherwise the error names the event.
 */
export function unreadableEvent(event: unknown, index: number, thrown: unknown): SystemError {
  try {
    validateTimelineEvent(event, index);
  } catch (found) {
    if (SystemError.is(found)) return found;
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
