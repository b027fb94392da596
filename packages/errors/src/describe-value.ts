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
