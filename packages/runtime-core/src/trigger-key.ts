import { catchRejection, describeThrown, describeValue, quoteName, SystemError } from "@sluice/errors";
import type { RunRecord } from "./run-record.js";
import { payloadNotPlain } from "./trigger-payload.js";
import type { RunState, TriggerDefinition } from "./types.js";
import { ignoreRejection } from "./unawaited-result.js";
import { readsAsPlainObject } from "./untrusted-input.js";

/**
 * The idempotency key the trigger's `key` gives for `payload`.
 *
 * @throws SystemError `INVALID_INPUT` when `key` throws or returns anything but a non-empty string
 * (a promise too: the key must exist as the event is dispatched, when it is compared), the message
 * naming the trigger and what `key` returned (an `onDispatch` report carries the message only). A
 * payload the trigger could make no run of anyway (not a plain object, and no `map`) is refused as
 * that instead: `key` read a field of what was no order at all, and its failure would point at it.
 */
export function triggerKey(
  workflowId: string,
  triggerId: string,
  trigger: TriggerDefinition<any, RunState>,
  payload: unknown,
): string {
  try {
    return keyOf(workflowId, triggerId, trigger.key!, payload);
  } catch (error) {
    // (only once key has failed: a good event pays no second look at its payload)
    if (trigger.map === undefined && !readsAsPlainObject(payload))
      throw payloadNotPlain(workflowId, triggerId);
    throw error;
  }
}

/** What `key` gives for `payload`, or the `INVALID_INPUT` of {@link triggerKey} for what it did instead. */
function keyOf(
  workflowId: string,
  triggerId: string,
  key: (payload: any) => string,
  payload: unknown,
): string {
  let value: unknown;
  try {
    value = key(payload);
  } catch (cause) {
    throw new SystemError(
      "INVALID_INPUT",
      `workflow "${workflowId}" trigger "${triggerId}": key() threw: ${describeThrown(cause)}`,
      { cause, details: { workflowId, triggerId } },
    );
  }
  if (typeof value === "string" && value.length > 0) return value;
  if (catchRejection(value, ignoreRejection)) {
    throw new SystemError(
      "INVALID_INPUT",
      `workflow "${workflowId}" trigger "${triggerId}": key() returned a promise; key must be synchronous (the key is compared as the event is dispatched): compute it from the payload alone`,
      { details: { workflowId, triggerId } },
    );
  }
  throw new SystemError(
    "INVALID_INPUT",
    `workflow "${workflowId}" trigger "${triggerId}": key() must return a non-empty string, the run's idempotency key (got ${describeValue(value)})`,
    { details: { workflowId, triggerId } },
  );
}

/**
 * Why an event whose key an unfinished run holds made no run: the reason `onDispatch` gets with the
 * `duplicate` outcome, and the message of `invoke`'s `DUPLICATE_KEY`.
 */
export function duplicateReason(key: string, holder: string, record: RunRecord | undefined): string {
  return `key ${quoteName(key)} is held by run ${holder}${holderState(record)}: no second run starts under a key while the run holding it is unfinished`;
}

/** Where the run holding a key is, for messages: queued, running, paused, or ending (in its `onComplete`). */
export function holderState(record: RunRecord | undefined): string {
  if (record === undefined) return "";
  return ` (${record.finished ? "ending" : record.status})`;
}

/** What `invoke` resolves with (`{ ok: false }`) for a payload whose key an unfinished run holds. */
export function duplicateKeyError(
  workflowId: string,
  triggerId: string,
  key: string,
  holder: string,
  record: RunRecord | undefined,
): SystemError {
  return new SystemError(
    "DUPLICATE_KEY",
    `invoke("${workflowId}", "${triggerId}"): ${duplicateReason(key, holder, record)}; find it with findRun("${holder}") or await result("${holder}")`,
    { details: { workflowId, triggerId, key, runId: holder } },
  );
}
