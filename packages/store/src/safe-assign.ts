import { describeKind, isPlainObject, SystemError } from "@sluice/errors";

/**
 * The keys {@link isUnsafeKey} is true for, as a list: for looking each one up in an object (a
 * state handed over to a store) instead of testing every key the object has. @internal
 */
export const UNSAFE_KEYS: readonly string[] = Object.freeze(["__proto__", "constructor", "prototype"]);

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
      `safeAssign: the patch must be a plain object (got ${describeKind(patch)})`,
    );
  }
  const out = target as Record<string, unknown>;
  for (const key of Object.keys(patch)) {
    if (isUnsafeKey(key)) continue;
    out[key] = patch[key];
  }
  return target;
}
