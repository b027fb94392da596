import type { ErrorCode } from "./codes.js";
import { describeThrown } from "./describe-thrown.js";
import { SystemError } from "./system-error.js";

/** The keys an options object takes: a `Set` (a cheap lookup, for per-call checks) or an array. */
export type KnownKeys = ReadonlySet<string> | readonly string[];

/** How {@link refuseUnknownKeys} words and codes its error. */
export interface RefuseUnknownKeysOptions {
  /** The error code. Default `"INVALID_INPUT"`; definitions use `"INVALID_DEFINITION"`. */
  readonly code?: ErrorCode;
  /**
   * The call the object was passed to. With it the message reads
   * `` `${caller}: ${path}.${key} is not an option (options: a, b)` `` (the style of argument
   * errors); without it `` `${path}.${key}: is not an option here (options: a, b)` `` (the style of
   * definition errors).
   */
  readonly caller?: string;
  /** Words the message itself, for a package with its own style; `options` is the list joined by ", ". */
  readonly message?: (key: string, options: string) => string;
  /** Merged into the error's `details` (which always has `path`: `` `${path}.${key}` ``). */
  readonly details?: Record<string, unknown>;
}

function list(known: KnownKeys): string {
  return (Array.isArray(known) ? known : Array.from(known as ReadonlySet<string>)).join(", ");
}

function unknownKeyError(key: string, known: KnownKeys, path: string, options: RefuseUnknownKeysOptions) {
  const at = `${path}.${key}`;
  const names = list(known);
  const message =
    options.message !== undefined
      ? options.message(key, names)
      : options.caller !== undefined
        ? `${options.caller}: ${at} is not an option (options: ${names})`
        : `${at}: is not an option here (options: ${names})`;
  return new SystemError(options.code ?? "INVALID_INPUT", message, {
    details: { ...options.details, path: at },
  });
}

const NO_OPTIONS: RefuseUnknownKeysOptions = {};

/**
 * Throws a coded {@link SystemError} when `value` has an own enumerable string key that is not in
 * `known`: a misspelt option (`condition` for `conditions`, `timeout` for `timeoutMs`) is refused,
 * named, with the keys the object takes, instead of being ignored silently. Only own keys count
 * (inherited ones are never read as options); symbol keys are not options and are not checked.
 * Values are never read, so a getter is not called. An object that cannot be enumerated (a proxy
 * whose trap throws) is refused with the same code, never with the raw error.
 *
 * Cheap enough for a per-call check: a `for...in` and a lookup per key, no allocation unless a key
 * is unknown. Pass a `Set` for `known` on hot paths.
 *
 * @param value - The object to check (callers check it is an object first).
 * @param known - The keys it takes, in the order the message lists them.
 * @param path - Names the object in the message: `"options"`, `"registration"`, `"options.timeline"`.
 * @throws SystemError `options.code` (default `INVALID_INPUT`), `details.path` naming the key.
 *
 * @example
 * ```ts
 * const KEYS = new Set(["maxEvents", "now"]);
 * refuseUnknownKeys({ maxEvent: 5 }, KEYS, "options", { caller: "createMemoryTimelineStore" });
 * // SystemError INVALID_INPUT:
 * // createMemoryTimelineStore: options.maxEvent is not an option (options: maxEvents)
 * ```
 */
export function refuseUnknownKeys(
  value: object,
  known: KnownKeys,
  path: string,
  options: RefuseUnknownKeysOptions = NO_OPTIONS,
): void {
  let unknown: string | undefined;
  try {
    const isSet = !Array.isArray(known);
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue;
      if (isSet ? (known as ReadonlySet<string>).has(key) : (known as readonly string[]).includes(key)) {
        continue;
      }
      unknown = key;
      break;
    }
  } catch (error) {
    throw new SystemError(
      options.code ?? "INVALID_INPUT",
      `${options.caller === undefined ? "" : `${options.caller}: `}${path} could not be read: ${describeThrown(error)}`,
      { cause: error, details: { ...options.details, path } },
    );
  }
  if (unknown !== undefined) throw unknownKeyError(unknown, known, path, options);
}
