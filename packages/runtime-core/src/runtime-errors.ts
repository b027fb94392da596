import { describeValue, SystemError } from "@sluice/errors";

/** A call made after `stop()`. */
export function stoppedError(operation: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `${operation}: the runtime has been stopped; create a new WorkflowRuntime`,
  );
}

/** A call that would start new work made after `drain()`. */
export function drainingError(operation: string): SystemError {
  return new SystemError(
    "INVALID_STATE",
    `${operation}: the runtime is draining (drain() was called) and takes no new runs; stop() it and start new work on another WorkflowRuntime`,
  );
}

/** Why a runtime takes no new work: `drain()` or `stop()` was called. */
export function closedError(closed: "draining" | "stopped", operation: string): SystemError {
  return closed === "stopped" ? stoppedError(operation) : drainingError(operation);
}

/**
 * An id a host passed, for a message: a string in quotes, anything else described (hosts pass
 * anything, and a symbol or a hostile object in a template string would throw instead).
 */
export function idText(id: unknown): string {
  return typeof id === "string" ? `"${id}"` : `${describeValue(id)} (not a string)`;
}

/** An id no registered workflow has; `known` lists the ones that are. */
export function unknownWorkflowError(workflowId: string, known: readonly string[]): SystemError {
  return new SystemError(
    "NOT_FOUND",
    `workflow ${idText(workflowId)} is not registered${known.length > 0 ? ` (registered: ${known.join(", ")})` : ""}`,
    { details: { workflowId } },
  );
}

/** An id no unfinished run has. */
export function unknownRunError(runId: string): SystemError {
  return new SystemError(
    "NOT_FOUND",
    `no active run ${idText(runId)} (it never existed, or it has finished)`,
    {
      details: { runId },
    },
  );
}

/**
 * A run `detach()` is taking out of this runtime (it waits for the run's service cleanups): it has
 * not ended and goes on where its checkpoint is adopted, so it can no longer be steered here.
 */
export function detachedRunError(runId: string): SystemError {
  return new SystemError(
    "NOT_FOUND",
    `run ${idText(runId)} is being detached from this runtime (detach() was called): it has not ended and goes on where its checkpoint is adopted; abort it there`,
    { details: { runId, detached: true } },
  );
}
