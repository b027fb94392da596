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
    return payloadKey(IDEMPOTENCY_KEY, workflowId, triggerId, trigger.key!, payload);
  } catch (error) {
    // (only once key has failed: a good event pays no second look at its payload)
    if (trigger.map === undefined && !readsAsPlainObject(payload))
      throw payloadNotPlain(workflowId, triggerId);
    throw error;
  }
}

/** How a key function's `INVALID_INPUT` messages name it and say what it gives. */
export interface KeyFunctionNames {
  /** Where it is, as messages begin: `workflow "w" trigger "t": key()`. */
  where(workflowId: string, triggerId: string): string;
  /** The option's name, in "<name> must be synchronous". */
  readonly name: string;
  /** What it gives, in "must return a non-empty string, <gives>": `the run's idempotency key`. */
  readonly gives: string;
  /** What it reads: `payload` or `input`. */
  readonly from: string;
}

/** `where` for a trigger's own key functions: `workflow "w" trigger "t": rateLimit.key()`. */
function inTrigger(this: KeyFunctionNames, workflowId: string, triggerId: string): string {
  return `workflow "${workflowId}" trigger "${triggerId}": ${this.name}()`;
}

/** A trigger's idempotency `key`. */
export const IDEMPOTENCY_KEY: KeyFunctionNames = {
  where: inTrigger,
  name: "key",
  gives: "the run's idempotency key",
  from: "payload",
};
/** A trigger's `debounce.key`. */
export const DEBOUNCE_KEY: KeyFunctionNames = {
  where: inTrigger,
  name: "debounce.key",
  gives: "the key of the event's series",
  from: "payload",
};
/** A trigger's `batch.key`. */
export const BATCH_KEY: KeyFunctionNames = {
  where: inTrigger,
  name: "batch.key",
  gives: "the key of the batch the event joins",
  from: "payload",
};
/** A trigger's `throttle.key`. */
export const THROTTLE_KEY: KeyFunctionNames = {
  where: inTrigger,
  name: "throttle.key",
  gives: "the key its throttle counts the event under",
  from: "payload",
};
/** A trigger's `rateLimit.key`. */
export const RATE_LIMIT_KEY: KeyFunctionNames = {
  where: inTrigger,
  name: "rateLimit.key",
  gives: "the key its rate limit counts the event under",
  from: "payload",
};

/**
 * What a key function of a trigger's (named by `names`) gives for `payload`, or the
 * `INVALID_INPUT` of {@link checkedKey}. The messages are made only when it fails: a good event
 * pays for the call and a type check.
 */
export function payloadKey(
  names: KeyFunctionNames,
  workflowId: string,
  triggerId: string,
  key: (payload: any) => string,
  payload: unknown,
): string {
  let value: unknown;
  try {
    value = key(payload);
  } catch (cause) {
    throw keyThrew(names, workflowId, triggerId, cause);
  }
  return checkedKey(names, workflowId, triggerId, value);
}

/** The `INVALID_INPUT` for a key function (named by `names`) that threw `cause`. */
export function keyThrew(
  names: KeyFunctionNames,
  workflowId: string,
  triggerId: string,
  cause: unknown,
): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `${names.where(workflowId, triggerId)} threw: ${describeThrown(cause)}`,
    { cause, details: { workflowId, triggerId } },
  );
}

/**
 * `value`, what a key function (named by `names`) returned, when it is a non-empty string;
 * otherwise `INVALID_INPUT` saying what it returned (a promise is refused, its rejection caught:
 * a key must exist as the event is dispatched).
 */
export function checkedKey(
  names: KeyFunctionNames,
  workflowId: string,
  triggerId: string,
  value: unknown,
): string {
  if (typeof value === "string" && value.length > 0) return value;
  const where = names.where(workflowId, triggerId);
  const details = { workflowId, triggerId };
  if (catchRejection(value, ignoreRejection)) {
    throw new SystemError(
      "INVALID_INPUT",
      `${where} returned a promise; ${names.name} must be synchronous (the key is compared as the event is dispatched): compute it from the ${names.from} alone`,
      { details },
    );
  }
  throw new SystemError(
    "INVALID_INPUT",
    `${where} must return a non-empty string, ${names.gives} (got ${describeValue(value)})`,
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
