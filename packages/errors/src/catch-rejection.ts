import { isThenable } from "./is-thenable.js";

/**
 * Handles what a callback returned where nobody awaits it (an event handler, a listener, an
 * `onError`, a hook whose result is ignored): when it is a promise (any thenable), its rejection
 * goes to `onRejected` instead of becoming an unhandled rejection, which ends a Node process by
 * default. An `async` function is easy to pass where a synchronous one is expected, and its fault
 * must reach the caller's report, as a throw would. Returns true when `value` was a promise.
 *
 * Never throws: a value whose `then` cannot be read or called (a hostile getter, a Proxy) is not a
 * promise here. `onRejected` must not throw either (that would be an unhandled rejection in turn).
 * On a hot path, pass a function made once, or call this only for a result that is not `undefined`
 * (what most callbacks return), so that no closure is made per call for nothing.
 */
export function catchRejection(value: unknown, onRejected: (reason: unknown) => void): boolean {
  try {
    if (!isThenable(value)) return false;
    value.then(undefined, onRejected);
    return true;
  } catch {
    return false;
  }
}
