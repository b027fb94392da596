/**
 * The text of anything thrown, for a message: an `Error`'s `message` (its `name` when the message
 * is empty, as for `new RangeError()` or some `DOMException`s); an object whose `String()`
 * would say only `[object Object]` (`throw { status: 503 }`) as JSON, cut at 200 characters (the
 * whole object is serialised first, its `toJSON` and getters run); else `String(value)` (an array
 * of primitives reads `1,2`). Never throws: when those throw (an `Object.create(null)`
 * value, a `toString` or `message` getter that throws, a hostile proxy, a cyclic object) it falls
 * back to `Object.prototype.toString` (`[object Object]`), and failing that to a fixed phrase.
 * For a message saying what an operation threw, `describeFault` keeps the error's name too.
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
