import { describeValue, quoteName } from "@sluice/errors";

/**
 * What a caller passed, for a "must be … (got …)" message: a primitive as itself (a string quoted
 * and cut at 80 characters), an object by its kind only (`an array of 3 items`, `an instance of
 * Map`, `an object`), never serialised: a patch or options object may be large or hold personal
 * data, and a hostile one may throw when read. Never throws. @internal
 */
export function kindOf(value: unknown): string {
  if (typeof value === "string") return quoteName(value);
  if (typeof value === "function") return "a function";
  if (typeof value !== "object" || value === null) return describeValue(value);
  try {
    if (Array.isArray(value)) return `an array of ${value.length} item${value.length === 1 ? "" : "s"}`;
    const name: unknown = (value as { constructor?: { name?: unknown } }).constructor?.name;
    return typeof name === "string" && name.length > 0 && name !== "Object"
      ? `an instance of ${name}`
      : "an object";
  } catch {
    return "an object";
  }
}
