import { describeValue } from "./describe-value.js";

/** The longest rendering {@link describeFault} gives of an `Error`, before its ellipsis. */
const MAX_DESCRIBED = 200;

/**
 * What an operation threw, named, for a message that says it threw (`reading it threw TypeError:
 * boom`): an `Error` as `String(error)` shows it, its `name`, a colon and its `message` (the name
 * alone when the message is empty, the message alone when the name is), cut at 200 characters with
 * an ellipsis; anything else as {@link describeValue} shows it (`"boom"`, `{"status":503}`, `42`).
 * `describeThrown` gives the message alone, for the `context: reason` of `SystemError.from`; this
 * one keeps the kind of error, which says what went wrong (a `TypeError` from a revoked Proxy, a
 * `RangeError` from a runaway recursion). Never throws: an `Error` whose `name` or `message` throws
 * when read is described as any other value.
 *
 * @example
 * ```ts
 * describeFault(new TypeError("boom")); // "TypeError: boom"
 * describeFault("boom"); // "\"boom\""
 * ```
 */
export function describeFault(fault: unknown): string {
  try {
    if (fault instanceof Error) {
      const name = String(fault.name);
      const message = String(fault.message);
      const text = name === "" ? message : message === "" ? name : `${name}: ${message}`;
      return text.length > MAX_DESCRIBED ? `${text.slice(0, MAX_DESCRIBED)}…` : text;
    }
  } catch {
    // a hostile error object (a getter or Proxy trap that throws): described as any value below
  }
  return describeValue(fault);
}
