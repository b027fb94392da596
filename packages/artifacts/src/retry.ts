import type { ErrorCode, SystemError } from "@sluice/errors";
import type { RetryPolicy } from "./types.js";

/** A retry rule with every default filled in. */
export interface ResolvedRetry {
  readonly attempts: number;
  readonly backoffMs: number;
  readonly factor: number;
  readonly maxBackoffMs: number;
}

const DEFAULT_BACKOFF_MS = 25;
const DEFAULT_FACTOR = 2;
const DEFAULT_MAX_BACKOFF_MS = 1000;

/** Codes a retry cannot fix: the same call would fail the same way. */
const NOT_RETRYABLE: ReadonlySet<ErrorCode> = new Set<ErrorCode>([
  "CIRCULAR_DEPENDENCY",
  "DISPOSED",
  "INVALID_INPUT",
  "NOT_FOUND",
]);

/** Fills in the defaults of a template's `retries`; `undefined` when it never retries. */
export function resolveRetry(retries: number | RetryPolicy | undefined): ResolvedRetry | undefined {
  if (retries === undefined) return undefined;
  const policy = typeof retries === "number" ? { attempts: retries } : retries;
  if (policy.attempts === 0) return undefined;
  return {
    attempts: policy.attempts,
    backoffMs: policy.backoffMs ?? DEFAULT_BACKOFF_MS,
    factor: policy.factor ?? DEFAULT_FACTOR,
    maxBackoffMs: policy.maxBackoffMs ?? DEFAULT_MAX_BACKOFF_MS,
  };
}

/** The wait before retry number `retry` (1-based). */
export function backoffDelay(policy: ResolvedRetry, retry: number): number {
  return Math.min(policy.backoffMs * policy.factor ** (retry - 1), policy.maxBackoffMs);
}

/** Whether running the factory again could end differently than with `error`. */
export function isRetryable(error: SystemError): boolean {
  return !NOT_RETRYABLE.has(error.code);
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
