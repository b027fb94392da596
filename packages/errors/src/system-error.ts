import type { ErrorCode } from "./codes.js";
import { describeThrown } from "./describe-thrown.js";

// A registry-wide symbol, so `SystemError.is` recognises errors made by another copy of this
// package (two versions installed side by side), where `instanceof` would not.
const BRAND = Symbol.for("sluice.SystemError");

/** Options accepted by the {@link SystemError} constructor. */
export interface SystemErrorOptions {
  /** The underlying error, if any. */
  cause?: unknown;
  /** Plain, JSON-serialisable facts about the failure (ids, paths, limits). */
  details?: Record<string, unknown>;
}

/**
 * The one error type Sluice raises. `code` is stable and machine-readable; `message` says what to
 * fix; `cause` carries the underlying error where there is one.
 *
 * @example
 * ```ts
 * try { await runtime.register(wf, {}); }
 * catch (e) { if (SystemError.is(e, "INVALID_DEFINITION")) console.error(e.message); }
 * ```
 */
export class SystemError extends Error {
  /** The stable error code. */
  readonly code: ErrorCode;
  /** Plain facts about the failure; absent when there are none. */
  readonly details: Record<string, unknown> | undefined;
  /** @internal brand for cross-copy recognition */
  readonly [BRAND] = true;

  constructor(code: ErrorCode, message: string, options: SystemErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "SystemError";
    this.code = code;
    this.details = options.details;
  }

  /**
   * True when `value` is a `SystemError` (from any copy of this package), optionally with `code`.
   * Never throws: a value that throws when read (a hostile proxy, a throwing getter) is not one.
   */
  static is(value: unknown, code?: ErrorCode): value is SystemError {
    if (typeof value !== "object" || value === null) return false;
    try {
      return (
        (value as Record<symbol, unknown>)[BRAND] === true &&
        (code === undefined || (value as SystemError).code === code)
      );
    } catch {
      return false;
    }
  }

  /**
   * Wraps anything thrown into a `SystemError`: a `SystemError` is returned unchanged, anything
   * else becomes the `cause` of a new error with `code` and the message `` `${context}: ${reason}` ``,
   * where `reason` is an `Error`'s `message`, a thrown plain object's JSON (cut at 200 characters),
   * or `String(value)` (see `describeThrown`).
   *
   * Never throws, whatever was thrown: when reading the reason throws (an `Object.create(null)`
   * value, a `toString` or `message` getter that throws, a hostile proxy), `reason` is
   * `Object.prototype.toString.call(value)` (such as `[object Object]`), and the value is still the
   * `cause`.
   */
  static from(value: unknown, code: ErrorCode, context: string): SystemError {
    if (SystemError.is(value)) return value;
    return new SystemError(code, `${context}: ${describeThrown(value)}`, { cause: value });
  }

  /** A plain-data form, safe to log or store. */
  toJSON(): { name: string; code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}
