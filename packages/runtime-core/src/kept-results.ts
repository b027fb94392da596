import type { RunInfo } from "@sluice/pipeline";
import type { EndedRunResult } from "./types.js";
import type { WorkflowRecord } from "./workflow-record.js";

/** What is kept of one ended run: its result, and the `RunInfo` it ended with. */
interface KeptRun {
  readonly result: EndedRunResult;
  readonly info: RunInfo;
}

/**
 * The results of a workflow's last `limit` ended runs (`RegisterOptions.keepResults`), by run id,
 * for `result()` to answer once the run is over, and the `RunInfo` each ended with, for `watch()`
 * and `findRun()` to answer once the registry's retention has dropped it. Bounded: past `limit`
 * the oldest is evicted.
 */
export class KeptResults {
  /** By run id, oldest first: a `Map` iterates in insertion order, so its first key is the one to evict. */
  private readonly byRunId = new Map<string, KeptRun>();

  constructor(
    /** How many results are kept (≥ 1: a workflow that keeps none has no `KeptResults`). */
    readonly limit: number,
  ) {}

  /**
   * Keeps the result run `runId` ended with and its final `info` (which nothing else may hold),
   * evicting the oldest kept one past `limit`.
   */
  keep(runId: string, result: EndedRunResult, info: RunInfo): void {
    const byRunId = this.byRunId;
    // (an adopted checkpoint may carry the id of a run that ended here before: it is the newest now)
    byRunId.delete(runId);
    byRunId.set(runId, { result, info });
    if (byRunId.size > this.limit) byRunId.delete(byRunId.keys().next().value!);
  }

  /** Whether run `runId`'s result is kept. */
  has(runId: string): boolean {
    return this.byRunId.has(runId);
  }

  /** The result run `runId` ended with, while it is kept. */
  get(runId: string): EndedRunResult | undefined {
    return this.byRunId.get(runId)?.result;
  }

  /** A copy of the `RunInfo` run `runId` ended with, while its result is kept. */
  info(runId: string): RunInfo | undefined {
    const info = this.byRunId.get(runId)?.info;
    if (info === undefined) return undefined;
    const copy = { ...info };
    if (info.error !== undefined) copy.error = { ...info.error };
    return copy;
  }
}

/** The kept results of whichever registered workflow keeps run `runId`'s, or `undefined`. */
export function keptResultsOf(
  workflows: ReadonlyMap<string, WorkflowRecord>,
  runId: string,
): KeptResults | undefined {
  for (const wf of workflows.values()) {
    const kept = wf.keptResults;
    if (kept?.has(runId)) return kept;
  }
  return undefined;
}
