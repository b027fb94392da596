import { catchRejection, describeThrown, SystemError } from "@sluice/errors";
import { isPlainObject } from "@sluice/store";
import type { RunState, TriggerDefinition } from "./types.js";
import { ignoreRejection } from "./unawaited-result.js";
import { copyUntrusted, readsAsPlainObject } from "./untrusted-input.js";

/** A trigger's payload that cannot become a run's initial state. */
export function payloadNotPlain(workflowId: string, triggerId: string): SystemError {
  return new SystemError(
    "INVALID_INPUT",
    `workflow "${workflowId}" trigger "${triggerId}": the event payload must be a plain object (it becomes the run's initial state); give the trigger a map(payload) to accept other payloads`,
  );
}

/** What a run's initial state is copied from: the payload, or what `map` made of it (checked, not copied). */
export function initialSource(
  workflowId: string,
  triggerId: string,
  trigger: TriggerDefinition<any, RunState>,
  payload: unknown,
): RunState {
  if (trigger.map !== undefined) {
    let mapped: unknown;
    try {
      mapped = trigger.map(payload);
    } catch (cause) {
      // the reason goes into the message: an onDispatch report carries the message, not the cause
      const reason = describeThrown(cause);
      throw new SystemError(
        "INVALID_INPUT",
        `workflow "${workflowId}" trigger "${triggerId}": map() threw: ${reason}`,
        { cause },
      );
    }
    if (catchRejection(mapped, ignoreRejection)) {
      // the state must exist as the bus delivers the event (the mode decides on it at once)
      throw new SystemError(
        "INVALID_INPUT",
        `workflow "${workflowId}" trigger "${triggerId}": map() returned a promise; map must be synchronous (it builds the run's initial state as the event is dispatched): do async work in onPrepare or in a first step`,
      );
    }
    let plain: boolean;
    try {
      plain = isPlainObject(mapped);
    } catch (cause) {
      throw new SystemError(
        "INVALID_INPUT",
        `${initialStateName(workflowId, triggerId, trigger)} could not be read: ${describeThrown(cause)}`,
        { cause },
      );
    }
    if (!plain) {
      throw new SystemError(
        "INVALID_INPUT",
        `workflow "${workflowId}" trigger "${triggerId}": map() must return a plain object (the run's initial state)`,
      );
    }
    return mapped as RunState;
  }
  // a payload that throws when read (a proxy) is left to the copy, which says it could not be read
  if (!readsAsPlainObject(payload)) throw payloadNotPlain(workflowId, triggerId);
  return payload as RunState;
}

/** A queued run's initial state: its own copy of the payload (or of what `map` made of it). */
export function initialRunState(
  workflowId: string,
  triggerId: string,
  trigger: TriggerDefinition<any, RunState>,
  payload: unknown,
  stateName: string,
): RunState {
  return copyUntrusted(initialSource(workflowId, triggerId, trigger, payload), stateName);
}

/**
 * What a run's initial state is made of, for messages: the event payload, or what the trigger's
 * `map` returned (a map's result that cannot be read is the map's fault, not the payload's).
 */
export function initialStateName(
  workflowId: string,
  triggerId: string,
  trigger: TriggerDefinition<any, RunState>,
): string {
  return `workflow "${workflowId}" trigger "${triggerId}": ${trigger.map === undefined ? "the event payload" : "what map() returned"}`;
}
