import { MAX_DATA_DEPTH } from "@sluice/timeline";

/**
 * A deep copy of validated plain-JSON data (primitives are returned as they are: they need no
 * copy). Measured many times faster than `structuredClone` or a JSON round trip for typical
 * runtime events (see bench/append.bench.mjs). Properties whose value is `undefined` are dropped,
 * as JSON would. The store uses it for `data` it does not encode into its log, in and out.
 */
export function copyJson(value: unknown): unknown {
  if (typeof value !== "object" || value === null) return value;
  if (Array.isArray(value)) {
    const out = new Array(value.length);
    for (let i = 0; i < value.length; i++) out[i] = copyJson(value[i]);
    return out;
  }
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const keys = Object.keys(source);
  for (let i = 0; i < keys.length; i++) {
    const key = keys[i]!;
    const item = source[key];
    if (item === undefined) continue;
    if (key === "__proto__") {
      // plain assignment would set the copy's prototype instead of storing the data
      Object.defineProperty(out, key, {
        value: copyJson(item),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    } else {
      out[key] = typeof item === "object" && item !== null ? copyJson(item) : item;
    }
  }
  return out;
}

/** What {@link copyCommonJson} returns for data it leaves to the full validator. */
export const NOT_COMMON: unique symbol = Symbol("not common JSON");

const hasOwn = Object.prototype.hasOwnProperty;

/**
 * Checks and copies `data` in one walk, for the common case only: objects whose prototype is
 * `Object.prototype` and that hold no `__proto__` key and inherit no enumerable keys, arrays, strings,
 * booleans, finite numbers and `null`, at most `MAX_DATA_DEPTH` levels deep. It returns
 * {@link NOT_COMMON} for anything else, valid or not (null-prototype objects, `undefined` array
 * items, `NaN`, class instances, cycles, ...), so the caller can run `validateTimelineEvents` (which
 * throws the contract's error) and, for valid data, {@link copyJson}. Whatever it accepts, the
 * validator accepts too, and its copy equals {@link copyJson}'s.
 *
 * The store encodes common `data` into its log instead (see `DataCodec`); this is for common data
 * too large for that, which is then kept as a copy. One walk, not the validator's then a copy's:
 * each reads every property and the validator's allocates a key array per object.
 *
 * @param value - an object or array (not `null`)
 * @param depth - its nesting level; the event's `data` is level 1
 */
export function copyCommonJson(value: object, depth: number): unknown {
  if (depth > MAX_DATA_DEPTH) return NOT_COMMON;
  if (Array.isArray(value)) {
    // pushed, not preallocated: `length` is not validated yet
    const out: unknown[] = [];
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      switch (typeof item) {
        case "string":
        case "boolean":
          out.push(item);
          break;
        case "number":
          if (!Number.isFinite(item)) return NOT_COMMON;
          out.push(item);
          break;
        case "object": {
          if (item === null) {
            out.push(null);
            break;
          }
          const copy = copyCommonJson(item, depth + 1);
          if (copy === NOT_COMMON) return NOT_COMMON;
          out.push(copy);
          break;
        }
        default:
          return NOT_COMMON;
      }
    }
    return out;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_COMMON;
  const source = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  // for-in reads V8's enum cache without allocating a key array; an inherited key fails the
  // hasOwnProperty check (which V8 folds to a map check inside for-in) and is left to the validator
  for (const key in source) {
    if (!hasOwn.call(source, key) || key === "__proto__") return NOT_COMMON;
    const item = source[key];
    switch (typeof item) {
      case "string":
      case "boolean":
        out[key] = item;
        break;
      case "number":
        if (!Number.isFinite(item)) return NOT_COMMON;
        out[key] = item;
        break;
      case "object": {
        if (item === null) {
          out[key] = null;
          break;
        }
        const copy = copyCommonJson(item, depth + 1);
        if (copy === NOT_COMMON) return NOT_COMMON;
        out[key] = copy;
        break;
      }
      case "undefined":
        // allowed, and absent as in JSON
        break;
      default:
        return NOT_COMMON;
    }
  }
  return out;
}
