import { SystemError } from "@sluice/errors";
import type { DispatchResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** Tells the workflow's `onDispatch` (if any) what became of a bus event; a throw is reported. */
export function reportDispatch(
  wf: WorkflowRecord,
  result: DispatchResult,
  report: (error: SystemError) => void,
): void {
  const hook = wf.options.onDispatch;
  if (hook === undefined) return;
  try {
    hook(result);
  } catch (error) {
    report(SystemError.from(error, "HOOK_FAILED", `workflow "${wf.id}": onDispatch threw`));
  }
}
