import { SystemError } from "@sluice/errors";
import {
  unreadableEvent,
  unreadableEvents,
  validateTimelineEvent,
  validateTimelineEvents,
} from "./validate-event.js";

/**
 * For adapters that must store exactly what they checked: reads each event of `events` once,
 * through `read` (which builds the adapter's own copy of it, each field read once), then checks the
 * copies with {@link validateTimelineEvents} and returns them. Checking the caller's objects and
 * reading them again to store them would let a getter (or a Proxy) hand the store one value to
 * check and another to store, or throw a raw error on the second read.
 *
 * `read` is given only objects (anything else is left for the validator to name); it should name
 * a key that is not an event field in its copy (see `isTimelineEventField`) so that the
 * validator refuses it by name.
 *
 * @throws `SystemError` `INVALID_INPUT` as `validateTimelineEvents` does, also when reading the
 *   array or an event throws: the validator's own message when reading the event again shows what
 *   is wrong, else a `SystemError` that `read` threw, else one naming `events[i]` with what was
 *   thrown as the `cause`.
 */
export function readTimelineEvents<T>(events: unknown, read: (event: object, index: number) => T): T[] {
  // Not an array: the validator says what it is instead.
  if (!Array.isArray(events)) validateTimelineEvents(events);
  let length: number;
  try {
    length = (events as readonly unknown[]).length;
  } catch (thrown) {
    throw unreadableEvents(thrown);
  }
  const copies = new Array<unknown>(length);
  for (let i = 0; i < length; i++) {
    let event: unknown;
    try {
      event = (events as readonly unknown[])[i];
      copies[i] =
        typeof event !== "object" || event === null || Array.isArray(event) ? event : read(event, i);
    } catch (thrown) {
      throw unreadableTimelineEvent(event, i, thrown);
    }
  }
  validateTimelineEvents(copies);
  return copies as T[];
}

/**
 * The `INVALID_INPUT` error for `events[index]` (the caller's `event`), whose reading threw
 * `thrown`: the validator's own message when reading the event again shows what is wrong (a getter
 * in `data` that throws again, data nested too deep), else `thrown` itself when it is a
 * `SystemError`, else one naming the event with `thrown` as its `cause`.
 */
export function unreadableTimelineEvent(event: unknown, index: number, thrown: unknown): SystemError {
  try {
    validateTimelineEvent(event, index);
  } catch (found) {
    if (SystemError.is(found)) return found;
  }
  return SystemError.is(thrown) ? thrown : unreadableEvent(index, thrown);
}
