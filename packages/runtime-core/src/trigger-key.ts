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
    return payloadKey(workflowId, triggerId, "key", "the run's idempotency key", trigger.key!, payload);
  } catch (error) {
    // (only once key has failed: a good event pays no second look at its payload)
    if (trigger.map === undefined && !readsAsPlainObject(payload))
      throw payloadNotPlain(workflowId, triggerId);
    throw error;
  }
}

/**
 * What a key function of a trigger's (its idempotency `key`, `debounce.key`, `rateLimit.key`)
 * gives for `payload`, or `INVALID_INPUT` (see {@link readKey}) naming the trigger and `option`,
 * the function's place in it (`"rateLimit.key"`), and saying what it `gives`.
 */
export function payloadKey(
  workflowId: string,
  triggerId: string,
  option: string,
  gives: string,
  key: (payload: any) => string,
  payload: unknown,
): string {
  return readKey(
    {
      where: `workflow "${workflowId}" trigger "${triggerId}": ${option}()`,
      name: option,
      gives,
      from: "payload",
    },
    { workflowId, triggerId },
    () => key(payload),
  );
}

/** How {@link readKey}'s messages name a key function and what it gives. */
export interface KeyFunctionNames {
  /** Where it is, as messages begin: `workflow "w" trigger "t": key()`. */
  readonly where: string;
  /** The option's name, in "<name> must be synchronous". */
  readonly name: string;
  /** What it gives, in "must return a non-empty string, <gives>": `the run's idempotency key`. */
  readonly gives: string;
  /** What it reads: `payload` or `input`. */
  readonly from: string;
}

/**
 * What `compute` gives, a non-empty string, or `INVALID_INPUT` for what it did instead (threw,
 * returned a promise or anything else), the message naming the key function by `names`.
 */
export function readKey(
  names: KeyFunctionNames,
  details: { workflowId: string; triggerId: string },
  compute: () => unknown,
): string {
  let value: unknown;
  try {
    value = compute();
  } catch (cause) {
    throw new SystemError("INVALID_INPUT", `${names.where} threw: ${describeThrown(cause)}`, {
      cause,
      details,
    });
  }
  if (typeof value === "string" && value.length > 0) return value;
  if (catchRejection(value, ignoreRejection)) {
    throw new SystemError(
      "INVALID_INPUT",
      `${names.where} returned a promise; ${names.name} must be synchronous (the key is compared as the event is dispatched): compute it from the ${names.from} alone`,
      { details },
    );
  }
  throw new SystemError(
    "INVALID_INPUT",
    `${names.where} must return a non-empty string, ${names.gives} (got ${describeValue(value)})`,
    { details },
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
