/**
 * A short rendering of an untrusted value for an error message. Never throws: BigInt, cycles and
 * hostile objects are described instead of serialised.
 */
export function describeValue(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    return typeof value === "object" && value !== null
      ? "an object that cannot be shown as JSON"
      : typeof value;
  }
}
