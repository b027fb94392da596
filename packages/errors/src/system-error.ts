import type { ErrorCode } from "./codes.js";

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

  /** True when `value` is a `SystemError` (from any copy of this package), optionally with `code`. */
  static is(value: unknown, code?: ErrorCode): value is SystemError {
    return (
      typeof value === "object" &&
      value !== null &&
      (value as Record<symbol, unknown>)[BRAND] === true &&
      (code === undefined || (value as SystemError).code === code)
    );
  }

  /**
   * Wraps anything thrown into a `SystemError`: a `SystemError` is returned unchanged, anything
   * else becomes the `cause` of a new error with `code` and a message built from `context`.
   */
  static from(value: unknown, code: ErrorCode, context: string): SystemError {
    if (SystemError.is(value)) return value;
    const reason = value instanceof Error ? value.message : String(value);
    return new SystemError(code, `${context}: ${reason}`, { cause: value });
  }

  /** A plain-data form, safe to log or store. */
  toJSON(): { name: string; code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details === undefined
      ? { name: this.name, code: this.code, message: this.message }
      : { name: this.name, code: this.code, message: this.message, details: this.details };
  }
}
