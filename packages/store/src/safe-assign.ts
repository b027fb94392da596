import { SystemError } from "@sluice/errors";

/**
 * True for `__proto__`, `constructor` and `prototype`: keys that could reach an object's prototype
 * when assigned, never copied from untrusted input. @internal
 */
export function isUnsafeKey(key: string): boolean {
  // Every state write checks every key: comparing lengths first (9, 11, 9) settles almost all
  // keys without reading a character, which a Set lookup (a string hash) cannot do.
  const length = key.length;
  if (length === 9) return key === "__proto__" || key === "prototype";
  return length === 11 && key === "constructor";
}

/**
 * True when `value` is a plain object: made by an object literal, `Object.create(null)` or
 * `JSON.parse` (also from another realm, such as a `node:vm` context or an iframe). Arrays, class
 * instances, dates and maps are not, nor is an object whose prototype merely has a null prototype
 * (`Object.create(Object.create(null))`): its prototype's keys would be inherited.
 */
export function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== "object" || value === null) return false;
  const proto = Object.getPrototypeOf(value);
  // The rare third case lives in its own function, so this one stays small enough to inline into
  // every `set`.
  return proto === Object.prototype || proto === null || isForeignObjectPrototype(proto);
}

/**
 * True when `proto` is `Object.prototype` of another realm: its own prototype is null, its own
 * `constructor` is a function named "Object" whose `prototype` is `proto`, it has its own
 * `hasOwnProperty`, and it has no enumerable keys. A look-alike that carries enumerable keys
 * (which `for...in` over an object inheriting from it would visit) is refused, and so is one that
 * throws when read.
 */
function isForeignObjectPrototype(proto: object): boolean {
  try {
    if (Object.getPrototypeOf(proto) !== null) return false;
    const ctor: unknown = Object.getOwnPropertyDescriptor(proto, "constructor")?.value;
    if (typeof ctor !== "function" || ctor.name !== "Object" || ctor.prototype !== proto) return false;
    if (typeof Object.getOwnPropertyDescriptor(proto, "hasOwnProperty")?.value !== "function") return false;
    // for...in over proto visits exactly its own enumerable string keys (its prototype is null)
    for (const _ in proto) return false;
    return true;
  } catch {
    return false;
  }
}

/**
 * Copies the own enumerable string keys of an untrusted `patch` onto `target` and returns `target`.
 * Keys `__proto__`, `constructor` and `prototype` are skipped, so a patch such as
 * `JSON.parse('{"__proto__":{"polluted":1}}')` can never reach a prototype.
 *
 * @throws SystemError `INVALID_INPUT` when `patch` is not a plain object.
 */
export function safeAssign<T extends object>(target: T, patch: unknown): T {
  if (!isPlainObject(patch)) {
    throw new SystemError(
      "INVALID_INPUT",
      `safeAssign: the patch must be a plain object (got ${describe(patch)})`,
    );
  }
  const out = target as Record<string, unknown>;
  for (const key of Object.keys(patch)) {
    if (isUnsafeKey(key)) continue;
    out[key] = patch[key];
  }
  return target;
}

/**
 * A short description of a value's kind, for error messages. Never throws (a throwing
 * `constructor` getter or a hostile proxy reads as "an object"). @internal
 */
export function describe(value: unknown): string {
  if (value === null) return "null";
  if (typeof value !== "object") return typeof value;
  try {
    if (Array.isArray(value)) return "an array";
    const name: unknown = value.constructor?.name;
    return `an instance of ${typeof name === "string" ? name : "an unknown class"}`;
  } catch {
    return "an object";
  }
}
