import type { EndedRunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/**
 * The results of a workflow's last `limit` ended runs (`RegisterOptions.keepResults`), by run id,
 * for `result()` to answer once the run is over. Bounded: past `limit` the oldest is evicted.
 */
export class KeptResults {
  /** By run id, oldest first: a `Map` iterates in insertion order, so its first key is the one to evict. */
  private readonly byRunId = new Map<string, EndedRunResult>();

  constructor(
    /** How many results are kept (≥ 1: a workflow that keeps none has no `KeptResults`). */
    readonly limit: number,
  ) {}

  /** Keeps the result run `runId` ended with, evicting the oldest kept one past `limit`. */
  keep(runId: string, result: EndedRunResult): void {
    const byRunId = this.byRunId;
    // (an adopted checkpoint may carry the id of a run that ended here before: it is the newest now)
    byRunId.delete(runId);
    byRunId.set(runId, result);
    if (byRunId.size > this.limit) byRunId.delete(byRunId.keys().next().value!);
  }

  /** The result run `runId` ended with, while it is kept. */
  get(runId: string): EndedRunResult | undefined {
    return this.byRunId.get(runId);
  }
}

/** The kept result of run `runId` in whichever registered workflow keeps it, or `undefined`. */
export function keptResult(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runId: string,
): EndedRunResult | undefined {
  for (const wf of workflows.values()) {
    const result = wf.keptResults?.get(runId);
    if (result !== undefined) return result;
  }
  return undefined;
}
