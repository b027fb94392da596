import { describeKind, type SystemError } from "@sluice/errors";

/**
 * How deep a plain-JSON value may nest. Far beyond any real state patch; it keeps a runaway
 * structure from exhausting the stack while it is checked and copied.
 */
export const MAX_JSON_DEPTH = 32;

const ALLOWED = "plain objects and arrays of strings, finite numbers, booleans and null";

function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null;
}

function keyPath(path: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `${path}.${key}` : `${path}[${JSON.stringify(key)}]`;
}

/**
 * Checks and copies plain JSON data: state patches kept in checkpoints must come back from
 * `JSON.parse(JSON.stringify(x))` unchanged, so anything JSON would drop, turn into `null` or
 * flatten (`Infinity`, `Date`, `Map`, class instances, cycles) is refused rather than lost later.
 * The copy is frozen all the way down.
 */
class JsonCopier {
  readonly #ancestors = new Set<object>();

  constructor(readonly describeError: (path: string, problem: string) => SystemError) {}

  copy(value: unknown, path: string, depth: number): unknown {
    switch (typeof value) {
      case "string":
      case "boolean":
        return value;
      case "number":
        if (!Number.isFinite(value)) throw this.notJson(path, value);
        // JSON writes -0 as 0: copy it as 0 so the value is the same before and after a round trip.
        return value + 0;
      case "object":
        if (value === null) return null;
        return this.copyContainer(value, path, depth);
      default:
        throw this.notJson(path, value);
    }
  }

  private copyContainer(value: object, path: string, depth: number): unknown {
    if (this.#ancestors.has(value)) {
      throw this.describeError(path, "refers back to an enclosing object (a cycle); JSON cannot hold cycles");
    }
    if (depth >= MAX_JSON_DEPTH) {
      throw this.describeError(path, `nests deeper than ${MAX_JSON_DEPTH} levels`);
    }
    this.#ancestors.add(value);
    const copy = Array.isArray(value)
      ? this.copyArray(value, path, depth)
      : this.copyObject(value, path, depth);
    this.#ancestors.delete(value);
    // Frozen as it is made (its children already are): the copy goes into a frozen wait, which
    // is handed out as it is (the pipeline's checkpoint, the runtime's onPause), so no holder of
    // the wait can change what a run times out with.
    return Object.freeze(copy);
  }

  private copyArray(array: unknown[], path: string, depth: number): unknown[] {
    if (Object.getPrototypeOf(array) !== Array.prototype) throw this.notJson(path, array);
    const copy = new Array<unknown>(array.length);
    for (let i = 0; i < array.length; i++) {
      const at = `${path}[${i}]`;
      // JSON turns undefined (and holes) in an array into null.
      if (array[i] === undefined) throw this.notJson(at, undefined);
      copy[i] = this.copy(array[i], at, depth + 1);
    }
    return copy;
  }

  private copyObject(object: object, path: string, depth: number): Record<string, unknown> {
    if (!isPlainObject(object)) throw this.notJson(path, object);
    const copy: Record<string, unknown> = {};
    for (const key of Object.keys(object)) {
      const value = (object as Record<string, unknown>)[key];
      // JSON leaves such keys out; leaving them out here too keeps the copy and its JSON alike.
      if (value === undefined) continue;
      const copied = this.copy(value, keyPath(path, key), depth + 1);
      // An own "__proto__" key (as JSON.parse makes) must stay a key, not become the prototype.
      if (key === "__proto__") {
        Object.defineProperty(copy, key, {
          value: copied,
          enumerable: true,
          writable: true,
          configurable: true,
        });
      } else {
        copy[key] = copied;
      }
    }
    return copy;
  }

  private notJson(path: string, value: unknown): SystemError {
    return this.describeError(path, `must be plain JSON: ${ALLOWED} (got ${describeKind(value)})`);
  }
}

/**
 * @internal A deep copy of `value`, frozen all the way down (every object and array in it), if it
 * is a plain JSON object: plain objects and arrays of strings, finite numbers, booleans and `null`,
 * no cycles, at most {@link MAX_JSON_DEPTH} levels. Object keys whose value is `undefined` are left
 * out, as `JSON.stringify` does; `undefined` in an array is refused (JSON would turn it into
 * `null`). A caller that needs to change it (to merge it into a run's state, say) copies it.
 *
 * @param describeError - builds the error for the first offending `path` (e.g. `x.a[0]`).
 */
export function copyJsonObject(
  value: unknown,
  path: string,
  describeError: (path: string, problem: string) => SystemError,
): Record<string, unknown> {
  if (typeof value !== "object" || value === null || Array.isArray(value) || !isPlainObject(value)) {
    throw describeError(path, `must be a plain object (got ${describeKind(value)})`);
  }
  return new JsonCopier(describeError).copy(value, path, 0) as Record<string, unknown>;
}
