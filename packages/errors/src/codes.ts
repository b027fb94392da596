/**
 * Every stable error code a Sluice package may raise. Codes are part of the public API: a code is
 * never renamed or reused for another meaning. `docs/errors.md` lists each with its cause and fix.
 */
export const ErrorCode = {
  /** A key, id or service is registered twice (also: redefining a reserved service id). */
  DUPLICATE_KEY: "DUPLICATE_KEY",
  /** A workflow, trigger, run, artifact or store that does not exist was named. */
  NOT_FOUND: "NOT_FOUND",
  /** A workflow, pipeline, mode or template definition is malformed; the message names the path. */
  INVALID_DEFINITION: "INVALID_DEFINITION",
  /** An argument, patch, event payload or query is malformed. */
  INVALID_INPUT: "INVALID_INPUT",
  /**
   * The operation is not allowed in the target's current state (e.g. resuming a run that is running,
   * not paused; a run that has finished is no longer active: `NOT_FOUND`).
   */
  INVALID_STATE: "INVALID_STATE",
  /** A step, factory or operation did not finish within its `timeoutMs`. */
  TIMEOUT: "TIMEOUT",
  /** The operation was aborted (a run was aborted, or its signal fired). */
  ABORTED: "ABORTED",
  /** Artifacts depend on each other in a cycle; the message names the whole cycle. */
  CIRCULAR_DEPENDENCY: "CIRCULAR_DEPENDENCY",
  /** The container, store or adapter was used after `dispose()` / `close()`. */
  DISPOSED: "DISPOSED",
  /** A pipeline step threw; `cause` holds what it threw. */
  STEP_FAILED: "STEP_FAILED",
  /** An artifact or service factory threw; `cause` holds what it threw. */
  FACTORY_FAILED: "FACTORY_FAILED",
  /** A host hook (onPrepare, onComplete, …) threw; reported, never fatal to the run's bookkeeping. */
  HOOK_FAILED: "HOOK_FAILED",
  /** A storage adapter failed to read or write; `cause` holds the backend's error. */
  STORAGE_FAILED: "STORAGE_FAILED",
  /** A queue or capacity limit refused the work. */
  CAPACITY_EXCEEDED: "CAPACITY_EXCEEDED",
} as const;

/** The union of every stable error code. */
export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];
