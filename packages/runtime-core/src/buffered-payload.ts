/** Deeper than any real event payload; past it a payload is kept as it is rather than copied. */
const MAX_SNAPSHOT_DEPTH = 64;

/** Thrown internally when a payload is not plain data: it is then kept by reference. */
const NOT_PLAIN: unique symbol = Symbol("sluice.notPlainData");

function copyPlain(value: unknown, depth: number, ancestors: Set<object>): unknown {
  if (typeof value !== "object" || value === null) {
    if (typeof value === "function") throw NOT_PLAIN;
    return value;
  }
  const proto = Object.getPrototypeOf(value);
  const isArray = Array.isArray(value) && proto === Array.prototype;
  if (!isArray && proto !== Object.prototype && proto !== null) throw NOT_PLAIN;
  if (depth >= MAX_SNAPSHOT_DEPTH || ancestors.has(value)) throw NOT_PLAIN;
  ancestors.add(value);
  const copy: object = isArray ? new Array((value as unknown[]).length) : Object.create(proto);
  for (const key of Object.getOwnPropertyNames(value)) {
    if (isArray && key === "length") continue;
    const descriptor = Object.getOwnPropertyDescriptor(value, key)!;
    // getters and hidden keys would not survive a copy as they are: keep such payloads as given
    if (!("value" in descriptor) || !descriptor.enumerable) throw NOT_PLAIN;
    Object.defineProperty(copy, key, {
      value: copyPlain(descriptor.value, depth + 1, ancestors),
      enumerable: true,
      writable: true,
      configurable: true,
    });
  }
  ancestors.delete(value);
  return copy;
}

/**
 * What a run's buffer keeps of an event payload: a deep copy when it is plain data (primitives,
 * plain objects and arrays of them), so that a host reusing or changing its object after `emit`
 * does not change an event already held, which is matched against the run's waits again when it
 * drains and merged into its state then. Anything else (class instances, `Map`, `Date`, getters,
 * proxies, cycles) is kept as it is: a copy would not be the same value.
 */
export function snapshotPayload(payload: unknown): unknown {
  if (typeof payload !== "object" || payload === null) return payload;
  try {
    return copyPlain(payload, 0, new Set());
  } catch {
    return payload;
  }
}
