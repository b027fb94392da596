import { classNameOf } from "./class-name.js";
import { describeValue } from "./describe-value.js";
import { isPlainObject } from "./plain-object.js";
import { quoteName } from "./quote-name.js";

/** How long a bigint's digits may run in a message before they are cut. */
const MAX_DIGITS = 80;

/**
 * What a caller passed, for a "must be … (got …)" message. A primitive reads as itself, so that
 * `"5"` and `5` never look alike: a string JSON-quoted and cut at 80 characters ({@link quoteName}),
 * a bigint with its `n`, other primitives as {@link describeValue} shows them (`-1`, `NaN`, `true`,
 * `undefined`, `null`, `Symbol(id)`). An object reads by its kind only, never serialised, since an
 * options object or a state patch may be large or hold personal data: `a function`,
 * `an array of 3 items`, `an instance of Map`, `an object` (a plain one), `an object whose
 * prototype is not Object.prototype (such as Object.create(proto))`, `a revoked Proxy`. Never
 * throws: an object that throws when read reads as `an object`.
 *
 * @example
 * ```ts
 * `options.retries must be a non-negative integer, got ${describeKind("3")}`;
 * // options.retries must be a non-negative integer, got "3"
 * describeKind(new Map()); // "an instance of Map"
 * describeKind([1, 2, 3]); // "an array of 3 items"
 * ```
 */
export function describeKind(value: unknown): string {
  switch (typeof value) {
    case "string":
      return quoteName(value);
    case "bigint": {
      const digits = String(value);
      return digits.length > MAX_DIGITS ? `${digits.slice(0, MAX_DIGITS)}…n` : `${digits}n`;
    }
    case "function":
      return "a function";
    case "object":
      return value === null ? "null" : describeObject(value);
    default:
      return describeValue(value);
  }
}

function describeObject(value: object): string {
  let isArray: boolean;
  try {
    isArray = Array.isArray(value);
  } catch {
    // the one case where Array.isArray throws
    return "a revoked Proxy";
  }
  const name = classNameOf(value);
  // A subclass of Array is told by its class: it is not the plain array a message asks for.
  if (isArray && (name === "Array" || name === "")) return describeArray(value as readonly unknown[]);
  if (name !== "") return `an instance of ${name}`;
  try {
    return isPlainObject(value)
      ? "an object"
      : "an object whose prototype is not Object.prototype (such as Object.create(proto))";
  } catch {
    return "an object"; // a Proxy whose prototype cannot be read
  }
}

function describeArray(array: readonly unknown[]): string {
  try {
    const length = array.length;
    return `an array of ${length} item${length === 1 ? "" : "s"}`;
  } catch {
    return "an array"; // a Proxy whose length cannot be read
  }
}
