import type { TimelineBatch } from "@sluice/timeline";

/** A report of lost timeline events lists at most this many run ids (its `runs` count is exact). */
export const MAX_LISTED_RUNS = 100;

/** Which runs a report of lost timeline events concerns: whose timelines now have gaps. */
export interface AffectedRuns {
  /** How many distinct runs had events among those lost. */
  runs: number;
  /** Their ids, in the order of their first lost event, at most {@link MAX_LISTED_RUNS}. */
  runIds: string[];
}

/**
 * The runs of `batch`'s events from index `from` up to (not including) `to`. Built only when events
 * are lost, so a host can mark those runs' timelines incomplete instead of guessing which.
 */
export function affectedRuns(batch: TimelineBatch, from = 0, to = batch.length): AffectedRuns {
  const seen = new Set<string>();
  const runIds: string[] = [];
  for (let i = from; i < to; i++) {
    const runId = batch.runIds[i]!;
    if (seen.has(runId)) continue;
    seen.add(runId);
    if (runIds.length < MAX_LISTED_RUNS) runIds.push(runId);
  }
  return { runs: seen.size, runIds };
}
