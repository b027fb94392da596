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
  const affected: AffectedRuns = { runs: 0, runIds: [] };
  addRuns(affected, new Set(), batch, from, to);
  return affected;
}

/**
 * The runs of every event of `batches`, in order (a run listed once, where its first event is):
 * for a loss spread over several batches, such as the append in flight and the events buffered
 * behind it when the store runs out of time at `stop()`.
 */
export function affectedRunsOf(batches: readonly TimelineBatch[]): AffectedRuns {
  const affected: AffectedRuns = { runs: 0, runIds: [] };
  const seen = new Set<string>();
  for (const batch of batches) addRuns(affected, seen, batch, 0, batch.length);
  return affected;
}

function addRuns(
  into: AffectedRuns,
  seen: Set<string>,
  batch: TimelineBatch,
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const runId = batch.runIds[i]!;
    if (seen.has(runId)) continue;
    seen.add(runId);
    into.runs++;
    if (into.runIds.length < MAX_LISTED_RUNS) into.runIds.push(runId);
  }
}
