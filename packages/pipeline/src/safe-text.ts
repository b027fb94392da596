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

/**
 * What kind of value this is, for "must be a plain object (got ...)" messages: `null`, `an array`,
 * `an instance of Map`, `number`. An object made with `Object.create(proto)` reaches `Object` as its
 * constructor through `proto`: "an instance of Object" would read as the plain object asked for, so
 * it is said to inherit instead.
 */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  try {
    if (Array.isArray(value)) return "an array";
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    if (typeof name === "string" && name.length > 0 && name !== "Object") return `an instance of ${name}`;
    const proto: unknown = Object.getPrototypeOf(value);
    return proto !== null && proto !== Object.prototype
      ? "an object inheriting from a prototype other than Object.prototype"
      : "an object";
  } catch {
    return "an object";
  }
}
