import { describeThrown, describeValue, SystemError } from "@sluice/errors";
import type { RunPriority, RunState } from "./types.js";

/**
 * The priority the workflow's mode `priority` gives for a run's initial state.
 *
 * @throws SystemError `INVALID_INPUT` when `priority` throws or returns anything but a finite
 * number, naming the workflow and the trigger.
 */
export function runPriority(
  workflowId: string,
  triggerId: string,
  priority: RunPriority<any>,
  input: RunState,
): number {
  const where = `workflow "${workflowId}" mode.priority() (an event of trigger "${triggerId}")`;
  let value: unknown;
  try {
    value = priority(input, triggerId);
  } catch (cause) {
    throw new SystemError("INVALID_INPUT", `${where} threw: ${describeThrown(cause)}`, {
      cause,
      details: { workflowId, triggerId },
    });
  }
  if (typeof value === "number" && Number.isFinite(value)) return value;
  throw new SystemError(
    "INVALID_INPUT",
    `${where} must return a finite number (the run's place in the queue: higher starts first), got ${describeValue(value)}`,
    { details: { workflowId, triggerId } },
  );
}
