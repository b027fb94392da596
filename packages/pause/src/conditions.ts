import { describeKind, type ErrorCode, refuseUnknownKeys, SystemError } from "@sluice/errors";

/** The comparison a {@link Condition} applies. */
export type ConditionOperator = "==" | "!=" | ">" | ">=" | "<" | "<=" | "exists";

/**
 * One test on an event payload: the value at the dotted `path` compared with `value` by `op`.
 *
 * - `==` / `!=`: strict equality (`===`), no coercion: `"1"` does not equal `1`. `value` must be a
 *   string, finite number, boolean or `null`. A missing path is not equal to anything, so `!=`
 *   matches it.
 * - `>`, `>=`, `<`, `<=`: true only when both sides are numbers, or both are strings (compared by
 *   UTF-16 code units); anything else is `false`. `value` must be a finite number or a string.
 *
 * Values must be finite because conditions are checkpointed as JSON, which turns `Infinity`,
 * `-Infinity` and `NaN` into `null`.
 * - `exists`: the path is found (own properties only) and its value is not `undefined` (`null`
 *   exists). Takes no `value`.
 */
export interface Condition {
  /** A dotted path into the payload, e.g. `"order.items.0.sku"` (array elements by index). */
  path: string;
  /** The comparison. */
  op: ConditionOperator;
  /** What to compare with (absent for `exists`). */
  value?: unknown;
}

const OPERATORS: ReadonlySet<string> = new Set(["==", "!=", ">", ">=", "<", "<=", "exists"]);
const ORDERING: ReadonlySet<string> = new Set([">", ">=", "<", "<="]);
const UNSAFE_SEGMENTS: ReadonlySet<string> = new Set(["__proto__", "constructor", "prototype"]);

// Compiled paths, so a path string is split once however many events are matched against it.
// Bounded: cleared when full, so arbitrary paths from payload-driven code cannot grow memory.
const PATH_CACHE_LIMIT = 1024;
const pathCache = new Map<string, readonly string[] | null>();

/** Splits a dotted path; `null` when it is malformed or names a prototype segment. */
function compilePath(path: unknown): readonly string[] | null {
  if (typeof path !== "string") return null;
  const cached = pathCache.get(path);
  if (cached !== undefined) return cached;
  const segments = path.split(".");
  let compiled: readonly string[] | null = segments;
  for (const segment of segments) {
    if (segment.length === 0 || UNSAFE_SEGMENTS.has(segment)) {
      compiled = null;
      break;
    }
  }
  if (pathCache.size >= PATH_CACHE_LIMIT) pathCache.clear();
  pathCache.set(path, compiled);
  return compiled;
}

const NOT_FOUND: unique symbol = Symbol("sluice.pause.notFound");
const hasOwn = Object.prototype.hasOwnProperty;

/** Walks own properties only; returns NOT_FOUND instead of allocating a result object. */
function walk(root: unknown, segments: readonly string[]): unknown {
  let current = root;
  for (let i = 0; i < segments.length; i++) {
    if (typeof current !== "object" || current === null) return NOT_FOUND;
    const segment = segments[i]!;
    if (!hasOwn.call(current, segment)) return NOT_FOUND;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/**
 * Reads the dotted `path` from `value`, following own properties only (array elements by index:
 * `"items.0.id"`). Segments `__proto__`, `constructor` and `prototype`, empty segments, a path into a
 * primitive, or a property getter that throws all give `{ found: false }`. Never throws.
 *
 * @example
 * ```ts
 * readPath({ a: { b: [{ c: 1 }] } }, "a.b.0.c"); // { found: true, value: 1 }
 * readPath({}, "constructor");                   // { found: false, value: undefined }
 * ```
 */
export function readPath(value: unknown, path: string): { found: boolean; value: unknown } {
  const segments = compilePath(path);
  if (segments === null) return { found: false, value: undefined };
  let result: unknown;
  try {
    result = walk(value, segments);
  } catch {
    result = NOT_FOUND;
  }
  return result === NOT_FOUND ? { found: false, value: undefined } : { found: true, value: result };
}

function isComparable(a: unknown, b: unknown): boolean {
  return (typeof a === "number" && typeof b === "number") || (typeof a === "string" && typeof b === "string");
}

function matchesCondition(payload: unknown, condition: Condition): boolean {
  if (typeof condition !== "object" || condition === null) return false;
  const segments = compilePath(condition.path);
  if (segments === null) return false;
  const actual = walk(payload, segments);
  const expected = condition.value;
  switch (condition.op) {
    case "==":
      return actual !== NOT_FOUND && actual === expected;
    case "!=":
      return actual === NOT_FOUND || actual !== expected;
    case ">":
      return isComparable(actual, expected) && (actual as number) > (expected as number);
    case ">=":
      return isComparable(actual, expected) && (actual as number) >= (expected as number);
    case "<":
      return isComparable(actual, expected) && (actual as number) < (expected as number);
    case "<=":
      return isComparable(actual, expected) && (actual as number) <= (expected as number);
    case "exists":
      return actual !== NOT_FOUND && actual !== undefined;
    default:
      return false;
  }
}

/**
 * True when `payload` meets every condition (AND). `undefined` or an empty list matches everything.
 * Never throws, whatever the payload (null, primitives, cycles, throwing getters, proxies) or the
 * conditions (an unvalidated, malformed condition is simply not met).
 *
 * @example
 * ```ts
 * matchesConditions({ orderId: "A1", total: 120 }, [
 *   { path: "orderId", op: "==", value: "A1" },
 *   { path: "total", op: ">=", value: 100 },
 * ]); // true
 * ```
 */
export function matchesConditions(payload: unknown, conditions: readonly Condition[] | undefined): boolean {
  if (conditions === undefined || conditions === null) return true;
  if (!Array.isArray(conditions)) return false;
  try {
    for (let i = 0; i < conditions.length; i++) {
      if (!matchesCondition(payload, conditions[i] as Condition)) return false;
    }
    return true;
  } catch {
    // A hostile payload (throwing getter, proxy trap) or condition simply does not match.
    return false;
  }
}

function fail(code: ErrorCode, message: string, path: string): never {
  throw new SystemError(code, message, { details: { path } });
}

const CONDITION_KEYS: readonly string[] = ["path", "op", "value"];

/** Whether `condition` has an own key other than path, op, value (or cannot be enumerated). */
function hasUnknownField(condition: object): boolean {
  try {
    for (const key in condition) {
      if (key === "path" || key === "op" || key === "value") continue;
      if (Object.hasOwn(condition, key)) return true;
    }
    return false;
  } catch {
    return true;
  }
}

/**
 * Checks that `value` is a dotted path such as `"order.id"` that {@link readPath} can follow: a
 * non-empty string of non-empty segments, none of them `__proto__`, `constructor` or `prototype`.
 * Throws `code` (a `SystemError` whose `details.path` is `at`, naming `at` in its message) otherwise.
 *
 * @example
 * ```ts
 * checkPath("order.id", "match", "INVALID_DEFINITION");  // passes
 * checkPath("a..b", "match", "INVALID_DEFINITION");      // throws: match: "a..b" has an empty segment
 * ```
 */
export function checkPath(value: unknown, at: string, code: ErrorCode): asserts value is string {
  if (typeof value !== "string" || value.length === 0) {
    fail(code, `${at}: must be a non-empty dotted path such as "order.id" (got ${describeKind(value)})`, at);
  }
  for (const segment of value.split(".")) {
    if (segment.length === 0) fail(code, `${at}: "${value}" has an empty segment; use "a.b.0"`, at);
    if (UNSAFE_SEGMENTS.has(segment)) {
      fail(code, `${at}: segment "${segment}" is not allowed (paths cannot reach prototypes)`, at);
    }
  }
}

/**
 * Checks a conditions list, throwing `code` with a message naming `${path}[i].field`, and returns
 * a frozen, plain copy of it (`-0` as `0`, as JSON gives it back); a key a condition does not
 * have is refused (`${path}[0].vaule: is not an option here (options: path, op, value)`). Each
 * element and field is read once: a getter or proxy cannot pass the checks and then give the copy
 * something else. @internal
 */
export function readConditions(conditions: unknown, path: string, code: ErrorCode): Condition[] {
  if (!Array.isArray(conditions)) {
    fail(code, `${path}: must be an array of conditions (got ${describeKind(conditions)})`, path);
  }
  const copies: Condition[] = [];
  for (let i = 0; i < conditions.length; i++) {
    const at = `${path}[${i}]`;
    const condition: unknown = conditions[i];
    if (typeof condition !== "object" || condition === null || Array.isArray(condition)) {
      fail(code, `${at}: must be an object { path, op, value? } (got ${describeKind(condition)})`, at);
    }
    if (hasUnknownField(condition)) refuseUnknownKeys(condition, CONDITION_KEYS, at, { code });
    const { path: conditionPath, op, value } = condition as Record<string, unknown>;
    checkPath(conditionPath, `${at}.path`, code);
    if (typeof op !== "string" || !OPERATORS.has(op)) {
      fail(
        code,
        `${at}.op: must be one of ==, !=, >, >=, <, <=, exists (got ${describeKind(op)})`,
        `${at}.op`,
      );
    }
    if (op === "exists") {
      if (value !== undefined) {
        fail(code, `${at}.value: "exists" takes no value; remove it`, `${at}.value`);
      }
    } else if (ORDERING.has(op)) {
      if (!(typeof value === "string" || Number.isFinite(value))) {
        fail(
          code,
          `${at}.value: "${op}" needs a finite number or a string (got ${describeKind(value)})`,
          `${at}.value`,
        );
      }
    } else if (
      !(value === null || typeof value === "string" || typeof value === "boolean" || Number.isFinite(value))
    ) {
      fail(
        code,
        `${at}.value: "${op}" needs a string, finite number, boolean or null (got ${describeKind(value)}); comparison is strict, without coercion`,
        `${at}.value`,
      );
    }
    copies.push(
      Object.freeze(
        op === "exists"
          ? { path: conditionPath, op }
          : // JSON writes -0 as 0: keep it as 0 so the checkpoint reads back the same
            { path: conditionPath, op: op as ConditionOperator, value: value === 0 ? 0 : value },
      ),
    );
  }
  return Object.freeze(copies) as Condition[];
}

/**
 * Asserts that `conditions` is a well-formed list of {@link Condition}s (JSON-safe, so it can be
 * checkpointed: values are strings, finite numbers, booleans or `null`). `path` names the list in
 * error messages (default `"conditions"`).
 *
 * @throws SystemError `INVALID_DEFINITION` naming the first bad field, e.g.
 * `triggers.vip.when[1].op: must be one of ==, !=, >, >=, <, <=, exists (got "=")`.
 */
export function validateConditions(
  conditions: unknown,
  path = "conditions",
): asserts conditions is Condition[] {
  readConditions(conditions, path, "INVALID_DEFINITION");
}
