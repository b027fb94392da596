import { describeThrown, SystemError } from "@sluice/errors";
import { isPlainObject } from "@sluice/store";
import type { RunRecord } from "./run-record.js";
import type { PrepareContext, RunState } from "./types.js";

/** The context `onPrepare` and `onResume` get for a run with a live state store. */
export function hookContext(record: RunRecord): PrepareContext<RunState> {
  const store = record.store!;
  return {
    runId: record.runId,
    workflowId: record.workflow.id,
    triggerId: record.triggerId,
    pipelineId: record.pipeline.id,
    event: record.payload,
    get signal() {
      if (record.controller === undefined) {
        // made on first read: an abort that came earlier must still show on it
        record.controller = new AbortController();
        if (record.abortRequested) {
          record.controller.abort(new SystemError("ABORTED", `run ${record.runId} was aborted`));
        }
      }
      return record.controller.signal;
    },
    state: () => store.get(),
    set: (patch) => store.set(patch),
    use: (fn) => record.use(fn),
  };
}

/**
 * Calls the workflow's `onPrepare` for `record` and merges the patch it returns. Resolves the
 * `HOOK_FAILED` error that fails the run when the hook throws or returns something else than a
 * plain object or nothing; `undefined` when all went well.
 */
export async function runPrepareHook(record: RunRecord): Promise<SystemError | undefined> {
  const hook = record.workflow.options.onPrepare!;
  try {
    const patch = await hook(hookContext(record));
    if (patch !== undefined && patch !== null) {
      if (!isPlainObject(patch)) {
        return new SystemError(
          "HOOK_FAILED",
          `workflow "${record.workflow.id}": onPrepare must return a plain object patch or nothing`,
        );
      }
      record.store!.set(patch);
    }
    return undefined;
  } catch (error) {
    const reason = describeThrown(error);
    return new SystemError("HOOK_FAILED", `workflow "${record.workflow.id}": onPrepare threw: ${reason}`, {
      cause: error,
    });
  }
}
