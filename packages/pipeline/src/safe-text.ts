/**
 * @internal Text for messages, made from untrusted values (whatever a step throws or returns,
 * whatever a caller passes) without ever throwing: a message that cannot be built must not turn a
 * step's ordinary failure into a crash of the run.
 */

/**
 * `String(value)`; when that throws (an `Object.create(null)` value, a `toString` that throws, a
 * hostile proxy), `Object.prototype.toString.call(value)` (`[object Object]`), and failing that a
 * fixed phrase.
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

/** What kind of value this is, for "returned ..." messages: `null`, `an array`, `an instance of Map`, `number`. */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  try {
    if (Array.isArray(value)) return "an array";
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name.length > 0 ? `an instance of ${name}` : "an object";
  } catch {
    return "an object";
  }
}
