import { isThenable } from "@sluice/errors";

/**
 * Handles what a host callback returned where the runtime does not await it (a trigger's `map`, a
 * wait's patch mapper, `onDispatch`, `onError`): when it is a promise (any thenable), its rejection
 * goes to `onRejected` instead of becoming an unhandled rejection, which ends a Node process by
 * default. An `async` callback is easy to write where a synchronous one is expected, and its fault
 * must stay with the workflow that made it. Returns true when `value` was a promise; never throws
 * (a value whose `then` cannot be read is not a promise here, and the caller's checks refuse it).
 */
export function catchUnawaited(value: unknown, onRejected: (reason: unknown) => void): boolean {
  try {
    if (!isThenable(value)) return false;
    value.then(undefined, onRejected);
    return true;
  } catch {
    return false;
  }
}

/** For a promise whose fault is reported otherwise (the caller refuses it as not synchronous). */
export function ignoreRejection(): void {}
