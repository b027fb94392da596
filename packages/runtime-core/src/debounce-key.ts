import { readKey } from "./trigger-key.js";

/**
 * The key of the series a trigger's `debounce.key` puts `payload` in.
 *
 * @throws SystemError `INVALID_INPUT` when it throws or returns anything but a non-empty string
 * (a promise too), naming the workflow and the trigger.
 */
export function debounceKey(
  workflowId: string,
  triggerId: string,
  key: (payload: any) => string,
  payload: unknown,
): string {
  return readKey(
    {
      where: `workflow "${workflowId}" trigger "${triggerId}": debounce.key()`,
      name: "debounce.key",
      gives: "the key of the event's series",
      from: "payload",
    },
    { workflowId, triggerId },
    () => key(payload),
  );
}
