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
  addRuns(affected, new Set(), batch.runIds, from, to);
  return affected;
}

/**
 * The runs of a loss at `stop()`, when the store ran out of time: the first `inFlightEvents` events
 * of `inFlight`, the batch of the append the store has not settled, then every event of
 * `buffered`, behind it (a run listed once, where its first event is). `inFlight` was lent to the
 * store, which may have broken it against its contract (a column replaced or emptied): what of it
 * cannot be read as run ids is passed over, so that the report, and `stop()`, still get through.
 */
export function affectedRunsInFlightAndBuffered(
  inFlight: TimelineBatch,
  inFlightEvents: number,
  buffered: TimelineBatch,
): AffectedRuns {
  const affected: AffectedRuns = { runs: 0, runIds: [] };
  const seen = new Set<string>();
  try {
    const runIds: unknown = inFlight.runIds;
    if (Array.isArray(runIds)) addRuns(affected, seen, runIds, 0, Math.min(inFlightEvents, runIds.length));
  } catch {
    // a column behind a throwing getter or proxy: its runs are not known
  }
  addRuns(affected, seen, buffered.runIds, 0, buffered.length);
  return affected;
}

function addRuns(
  into: AffectedRuns,
  seen: Set<string>,
  runIds: readonly unknown[],
  from: number,
  to: number,
): void {
  for (let i = from; i < to; i++) {
    const runId = runIds[i];
    // (never otherwise: only in a batch the store broke)
    if (typeof runId !== "string" || seen.has(runId)) continue;
    seen.add(runId);
    into.runs++;
    if (into.runIds.length < MAX_LISTED_RUNS) into.runIds.push(runId);
  }
}
