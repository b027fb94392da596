/**
 * @internal `String(value)`, for text made from an untrusted value (what a step passes its logger as
 * the message); when that throws (an `Object.create(null)` value, a `toString` that throws, a
 * hostile proxy), `Object.prototype.toString.call(value)` (`[object Object]`), and failing that a
 * fixed phrase. Never throws: a message that cannot be built must not turn a step's ordinary work
 * into a crash of the run.
 */
export function textOf(value: unknown): string {
  try {
    return String(value);
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "a value that cannot be shown as text";
    }
  }
}
