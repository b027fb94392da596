import { describeKind, describeThrown, SystemError } from "@sluice/errors";
import { isPlainObject, safeAssign } from "@sluice/store";
import type { RunState } from "./types.js";

/**
 * Reads an untrusted object once into a plain copy (own enumerable keys, unsafe keys skipped), so
 * getters or proxies that throw surface here as `INVALID_INPUT` naming `what`, and never mid-run.
 * Used for host patches, trigger payloads and resuming event payloads alike.
 */
export function copyUntrusted(value: unknown, what: string): RunState {
  try {
    if (isPlainObject(value)) return safeAssign({}, value);
  } catch (cause) {
    const reason = describeThrown(cause);
    throw new SystemError("INVALID_INPUT", `${what} could not be read: ${reason}`, { cause });
  }
  throw new SystemError("INVALID_INPUT", `${what} must be a plain object (got ${describeKind(value)})`);
}

/** `isPlainObject`, for a value already refused: a proxy whose traps throw counts as plain here, so the "could not be read" error it caused stands. */
export function readsAsPlainObject(value: unknown): boolean {
  try {
    return isPlainObject(value);
  } catch {
    return true;
  }
}
