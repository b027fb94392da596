import { SystemError } from "@sluice/errors";

/** A call made after `stop()`. */
export function stoppedError(operation: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `${operation}: the runtime has been stopped; create a new WorkflowRuntime`,
  );
}

/** An id no registered workflow has; `known` lists the ones that are. */
export function unknownWorkflowError(workflowId: string, known: readonly string[]): SystemError {
  return new SystemError(
    "NOT_FOUND",
    `workflow "${workflowId}" is not registered${known.length > 0 ? ` (registered: ${known.join(", ")})` : ""}`,
    { details: { workflowId } },
  );
}

/** An id no unfinished run has. */
export function unknownRunError(runId: string): SystemError {
  return new SystemError("NOT_FOUND", `no active run "${runId}" (it never existed, or it has finished)`, {
    details: { runId },
  });
}
