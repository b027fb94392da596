import { checkedKey, type KeyFunctionNames, keyThrew } from "./trigger-key.js";
import type { ConcurrencyKey, RunState } from "./types.js";

/** A mode's concurrency `key`, as its messages name it. */
const CONCURRENCY_KEY: KeyFunctionNames = {
  where: (workflowId, triggerId) =>
    `workflow "${workflowId}" mode.key() (an event of trigger "${triggerId}")`,
  name: "mode.key",
  gives: "the run's concurrency key",
  from: "input",
};

/**
 * The concurrency key the workflow's mode `key` gives for a run's initial state.
 *
 * @throws SystemError `INVALID_INPUT` when `key` throws or returns anything but a non-empty string
 * (a promise too: the key decides the run's place in line as the event is dispatched), naming the
 * workflow and the trigger.
 */
export function concurrencyKey(
  workflowId: string,
  triggerId: string,
  key: ConcurrencyKey<any>,
  input: RunState,
): string {
  let value: unknown;
  try {
    value = key(input, triggerId);
  } catch (cause) {
    throw keyThrew(CONCURRENCY_KEY, workflowId, triggerId, cause);
  }
  return checkedKey(CONCURRENCY_KEY, workflowId, triggerId, value);
}
