import { isThenable, SystemError } from "@sluice/errors";
import { isPlainObject } from "@sluice/store";
import { hookFailed, hookTimedOut, settleWithin, TIMED_OUT } from "./hook-time-limit.js";
import type { HookWatchdog } from "./hook-watchdog.js";
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
          record.controller.abort(record.hookAbortError());
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
 * error that fails the run: `HOOK_FAILED` when the hook throws or returns something else than a
 * plain object or nothing, `TIMEOUT` when its promise outlasts the workflow's `hookTimeoutMs` (the
 * hook's `ctx.signal` then fires; a failure after that goes to `report`); `undefined` when all
 * went well.
 */
export async function runPrepareHook(
  record: RunRecord,
  watchdog: HookWatchdog,
  report: (error: SystemError) => void,
): Promise<SystemError | undefined> {
  const wf = record.workflow;
  const hook = wf.options.onPrepare!;
  try {
    let patch: unknown = hook(hookContext(record));
    if (isThenable(patch)) {
      const settled = await settleWithin(patch, wf.hookTimeoutMs, watchdog, (error) =>
        report(hookFailed(wf.id, record.runId, "onPrepare", error, true)),
      );
      if (settled === TIMED_OUT) {
        const timedOut = hookTimedOut(wf.id, record.runId, "onPrepare", wf.hookTimeoutMs);
        record.controller?.abort(timedOut);
        return timedOut;
      }
      patch = settled;
    }
    if (patch !== undefined && patch !== null) {
      if (!isPlainObject(patch)) {
        return new SystemError(
          "HOOK_FAILED",
          `workflow "${wf.id}": onPrepare of run ${record.runId} must return a plain object patch or nothing`,
          { details: { workflowId: wf.id, runId: record.runId, hook: "onPrepare" } },
        );
      }
      record.store!.set(patch);
    }
    return undefined;
  } catch (error) {
    return hookFailed(wf.id, record.runId, "onPrepare", error, false);
  }
}
