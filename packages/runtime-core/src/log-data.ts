import { describeThrown } from "@sluice/errors";
import { MAX_DATA_DEPTH } from "@sluice/timeline";

/**
 * A `ctx.logger` call's data as plain JSON, taken when the call is made: the timeline shows the
 * value as it was then (a later mutation by the step must not rewrite it), and what JSON cannot
 * hold is converted instead of losing the whole entry at the store. An `Error` (the usual
 * `logger.error("failed", err)`) keeps its name, message, code and stack; a BigInt becomes its
 * decimal string (`NaN` and `±Infinity` `null`, a function or symbol left out, as JSON does); data
 * that cannot be read, has a cycle or nests deeper than a timeline event's data may
 * (`MAX_DATA_DEPTH`, 256 levels) becomes `{ unserializable: reason }`: the entry is kept either way,
 * where a store would refuse it (and the writer lose it).
 */
export function logData(data: unknown): unknown {
  if (data === null || typeof data !== "object") return primitiveData(data);
  try {
    const flat = flatCopy(data);
    if (flat !== undefined) return flat;
    const text = JSON.stringify(data, jsonSafe);
    if (text === undefined) return undefined;
    const copy: unknown = JSON.parse(text);
    return nestsTooDeep(copy) ? TOO_DEEP : copy;
  } catch (fault) {
    return { unserializable: describeThrown(fault) };
  }
}

const TOO_DEEP = Object.freeze({
  unserializable: `nests deeper than ${MAX_DATA_DEPTH} levels (the timeline's limit for data)`,
});

/**
 * True when a parsed JSON value has an object or array deeper than `MAX_DATA_DEPTH`, counted as a
 * store counts it (the value itself at depth 1). Walked with a stack, not recursion: the value
 * may be as deep as `JSON.parse` could go.
 */
function nestsTooDeep(value: unknown): boolean {
  if (value === null || typeof value !== "object") return false;
  const values: object[] = [value];
  const depths: number[] = [1];
  while (values.length > 0) {
    const current = values.pop()!;
    const depth = depths.pop()!;
    if (depth > MAX_DATA_DEPTH) return true;
    for (const item of Array.isArray(current) ? current : Object.values(current)) {
      if (item !== null && typeof item === "object") {
        values.push(item);
        depths.push(depth + 1);
      }
    }
  }
  return false;
}

/**
 * A data value that is not an object, as JSON would hold it, so the entry is kept (a store refuses
 * an event whose `data` JSON cannot carry, and the logger call would be lost): a BigInt becomes its
 * decimal string, `NaN` and `±Infinity` become `null` (as JSON writes them inside an object), and a
 * function or symbol is left out (as JSON leaves it out of an object).
 */
function primitiveData(data: unknown): unknown {
  switch (typeof data) {
    case "bigint":
      return data.toString();
    case "number":
      return Number.isFinite(data) ? data : null;
    case "function":
    case "symbol":
      return undefined;
    default:
      return data;
  }
}

/**
 * The common case, `{ orderId, total }`: a plain object of strings, finite numbers, booleans and
 * nulls is copied key by key (what JSON would make of it, at a fraction of a stringify and parse).
 * `undefined` for anything else, which takes the JSON route.
 */
function flatCopy(data: object): Record<string, unknown> | undefined {
  if (Object.getPrototypeOf(data) !== Object.prototype) return undefined;
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(data)) {
    const value = (data as Record<string, unknown>)[key];
    if (value === undefined) continue;
    if (value !== null && typeof value === "object") return undefined;
    if (
      typeof value === "number"
        ? !Number.isFinite(value)
        : typeof value !== "string" && typeof value !== "boolean" && value !== null
    ) {
      return undefined;
    }
    // a "__proto__" key must stay an own data property, as JSON.parse makes it
    if (key === "__proto__")
      Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
    else copy[key] = value;
  }
  return copy;
}

function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return value.toString();
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return {
      name: value.name,
      message: value.message,
      ...(code !== undefined && { code }),
      ...(value.stack !== undefined && { stack: value.stack }),
    };
  }
  return value;
}
