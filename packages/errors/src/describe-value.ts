/** The longest rendering {@link describeValue} gives, before its ellipsis. */
const MAX_DESCRIBED = 200;

/**
 * A short rendering of an untrusted value for an error message. Never throws: BigInt, cycles and
 * hostile objects are described instead of serialised. `NaN`, `Infinity` and `-Infinity` are shown
 * as such (JSON would show them as `null`); a function as `a function` (never its source text);
 * anything else as JSON where it can be. Cut at 200 characters with an ellipsis, so that a large
 * value passed by mistake (a whole state, a megabyte string) does not make a huge message.
 */
export function describeValue(value: unknown): string {
  if (typeof value === "number" && !Number.isFinite(value)) return String(value);
  if (typeof value === "function") return "a function";
  let text: string;
  try {
    text = JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === "object" && value !== null
      ? "an object that cannot be shown as JSON"
      : typeof value;
  }
  return text.length > MAX_DESCRIBED ? `${text.slice(0, MAX_DESCRIBED - 1)}…` : text;
}

/**
 * The text of anything thrown, for a message: an `Error`'s `message` (its `name` when the message
 * is empty, as for `new RangeError()` or some `DOMException`s); an object whose `String()`
 * would say only `[object Object]` (`throw { status: 503 }`) as JSON, cut at 200 characters (the
 * whole object is serialised first, its `toJSON` and getters run); else `String(value)` (an array
 * of primitives reads `1,2`). Never throws: when those throw (an `Object.create(null)`
 * value, a `toString` or `message` getter that throws, a hostile proxy, a cyclic object) it falls
 * back to `Object.prototype.toString` (`[object Object]`), and failing that to a fixed phrase.
 */
export function describeThrown(value: unknown): string {
  try {
    if (value instanceof Error) {
      const message = String(value.message);
      // An empty message says nothing; the name does (Chromium's IndexedDB rejects a full quota
      // with a QuotaExceededError DOMException whose message is empty).
      return message !== "" ? message : String(value.name);
    }
    const text = String(value);
    if (text === "[object Object]" && typeof value === "object" && value !== null) {
      const json = JSON.stringify(value);
      if (json !== undefined) return json.length > 200 ? `${json.slice(0, 200)}…` : json;
    }
    return text;
  } catch {
    try {
      return Object.prototype.toString.call(value);
    } catch {
      return "a value that cannot be shown as text";
    }
  }
}

/**
 * A name or id that came from outside (a checkpoint, a step, a stored event), for a message:
 * JSON-quoted, so control characters and quotes are escaped, and cut at `max` characters with an
 * ellipsis, so a crafted 5 MB name does not make a 5 MB message.
 *
 * @example
 * ```ts
 * quoteName("approval"); // "\"approval\""
 * quoteName("x".repeat(100)).length; // 84: 80 characters, the ellipsis and the quotes
 * ```
 */
export function quoteName(name: string, max = 80): string {
  return JSON.stringify(name.length > max ? `${name.slice(0, max)}…` : name);
}
