import type { SystemError } from "./system-error.js";

/** Facts every result carries. Packages extend it (the runtime adds `runId`). */
export interface ResultMetadata {
  [key: string]: unknown;
}

/** A success: `ok` is `true` and `value` holds the outcome. */
export interface Ok<T, M extends ResultMetadata = ResultMetadata> {
  /** Always `true`: narrows a {@link Result} to this. */
  readonly ok: true;
  /** The outcome. */
  readonly value: T;
  /** Facts about the operation (the runtime's: run id, workflow, duration …). */
  readonly metadata: M;
}

/** A failure: `ok` is `false` and `error` says why. */
export interface Err<M extends ResultMetadata = ResultMetadata> {
  /** Always `false`: narrows a {@link Result} to this. */
  readonly ok: false;
  /** Why it failed, with a stable `code`. */
  readonly error: SystemError;
  /** Facts about the operation, as on a success. */
  readonly metadata: M;
}

/**
 * The outcome of an operation that reports failure as a value instead of rejecting.
 * Narrow with `if (result.ok)`.
 */
export type Result<T, M extends ResultMetadata = ResultMetadata> = Ok<T, M> | Err<M>;

/** Builds a success. */
export function ok<T, M extends ResultMetadata>(value: T, metadata: M): Ok<T, M> {
  return { ok: true, value, metadata };
}

/** Builds a failure. */
export function err<M extends ResultMetadata>(error: SystemError, metadata: M): Err<M> {
  return { ok: false, error, metadata };
}
